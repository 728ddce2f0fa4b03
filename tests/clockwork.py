"""Helpers for the reminder and digest tests: a recording Sender (a fake of the chat platform) and a
driver that moves the clock with time-machine through a schedule, running the real tick at each step."""
from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import time_machine

from bot.delivery import Senders
from bot.scheduler import run_tick

UTC = timezone.utc


class RecordingSender:
    """Stands in for the chat platform: remembers what was sent and when."""

    def __init__(self):
        self.sent: list[tuple[datetime, object]] = []

    async def send(self, outgoing) -> None:
        self.sent.append((datetime.now(UTC), outgoing))


def at(text: str, tz: str = "UTC") -> datetime:
    """An aware moment: `at("2027-01-18T09:05", "Europe/Berlin")`."""
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(tz))


def run_schedule(store, start: datetime, end: datetime, step=timedelta(minutes=30), platform="slack",
                 sender=None) -> RecordingSender:
    """Tick every `step` from `start` to `end` with the clock moved there; what reached the platform."""
    sender = sender or RecordingSender()
    senders = Senders({platform: sender})
    with time_machine.travel(start, tick=False) as traveller:
        moment = start
        while moment <= end:
            traveller.move_to(moment, tick=False)
            asyncio.run(run_tick(store, senders, datetime.now(UTC)))
            moment += step
    return sender
