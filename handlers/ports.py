"""What handlers need from the runtime, as protocols. `bot/` implements them (the SQLite store, the
real clock, the platform senders); tests may pass a fixed clock."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Protocol

from handlers.types import Outgoing


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(timezone.utc)


class Sender(Protocol):
    """Delivers a message the bot starts by itself (a nudge, a digest) on one platform. It may also
    have `async prepare(outgoing) -> Outgoing` for the steps that deliver nothing (opening a DM),
    which bot/delivery.py runs before it records that the message is about to leave."""

    async def send(self, outgoing: Outgoing) -> None: ...


@dataclass
class Context:
    """Everything a handler may touch for one message or clock tick."""

    store: Any  # bot.store.Store (see the protocols the task handlers declare)
    clock: Clock = field(default_factory=SystemClock)
    admins: tuple[str, ...] = ()  # platform user ids or emails configured as admins
    resolve_user: Callable[[str, str], Any] | None = None  # (workspace, mention) -> person, set by adapters
