"""Benchmark: a policy published to 10,000 people in one Slack workspace.

On a temporary SQLite file: publish (the audience written), then the ticks of one working morning
through the real scheduler code (`bot.scheduler.campaign_drafts` + `bot.delivery.claim_all`) until
every first DM is claimed, and the claimed DMs sent by the real Slack sender to a fake Slack Web API on
127.0.0.1. Prints the time to claim all DMs (the claiming work itself, and the wall-clock schedule
ASKS_PER_TICK imposes to stay within Slack's limits), the messages/s the fake received, and the time
of `policy status` on 10,000 people (target < 100 ms).

    .venv/bin/python bench/bench_campaigns.py [--people 10000]
"""
from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.stats import percentile  # noqa: E402
from bot.delivery import Senders, claim_all, send_batch  # noqa: E402
from bot.scheduler import TICK_SECONDS, campaign_drafts  # noqa: E402
from bot.slack.sender import SlackSender, web_client  # noqa: E402
from bot.store import Store  # noqa: E402
from handlers.campaigns import ASKS_PER_TICK  # noqa: E402
from handlers.ports import Context  # noqa: E402
from handlers.router import handle  # noqa: E402
from handlers.types import Message  # noqa: E402
from tests.fakes.slack_api import BOT_TOKEN, TEAM_ID, FakeSlackAPI  # noqa: E402

UTC = timezone.utc
MORNING = datetime(2027, 1, 18, 9, 0, tzinfo=UTC)  # a Monday, everyone's working morning (UTC)
SLACK_TIER3_PER_MINUTE = 50  # conversations.open (one per person never DMed: all of them here): Tier 3, "50+ per minute"


class Clock:
    def __init__(self, now: datetime):
        self.current = now

    def now(self) -> datetime:
        return self.current


def seed(store: Store, people: int) -> Context:
    store.upsert_person(TEAM_ID, "U0ADMIN", name="ada", tz="UTC", platform="slack")
    store.learn_people(TEAM_ID, [(f"U{n:06d}", f"person {n}", "", "UTC") for n in range(people - 1)])
    return Context(store=store, clock=Clock(MORNING - timedelta(hours=1)))


async def main(people: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(Path(tmp) / "bench.db")
        ctx = seed(store, people)
        say = lambda text: handle(Message("slack", TEAM_ID, "U0ADMIN", text), ctx)  # noqa: E731
        started = time.perf_counter()
        reply = say('policy publish "Acceptable Use Policy" https://docs.example.com/aup version 3 to everyone')
        publish_ms = (time.perf_counter() - started) * 1000
        assert reply.kind == "policy_publish", reply.text

        api = await FakeSlackAPI().start()
        sender = SlackSender(lambda _workspace: _client(api))
        senders = Senders({"slack": sender})
        claim_s, ticks, claimed_ids = 0.0, 0, []
        now = MORNING
        while len(claimed_ids) < people:
            started = time.perf_counter()
            drafts = await campaign_drafts(store, senders, {}, now)
            claimed_ids += claim_all(store, drafts, now)
            claim_s += time.perf_counter() - started
            ticks += 1
            now += timedelta(seconds=TICK_SECONDS)
            if not drafts:
                break

        to_send = claimed_ids[:2000]  # the sending rate, on a sample
        started = time.perf_counter()
        sent = await send_batch(store, senders, to_send, now)
        send_s = time.perf_counter() - started
        posted = len(api.to("chat.postMessage"))
        await api.stop()

        runs = []
        for _ in range(30):
            started = time.perf_counter()
            status = say('policy status "Acceptable Use Policy"')
            runs.append((time.perf_counter() - started) * 1000)
        assert f"of {people} accepted" in status.text, status.text
        store.close()

    paced_minutes = ticks * TICK_SECONDS / 60
    print(f"people: {people:,}")
    print(f"publish (audience written): {publish_ms:.0f} ms")
    print(f"first DMs claimed: {len(claimed_ids):,} in {ticks} ticks of at most {ASKS_PER_TICK}; claiming work "
          f"{claim_s * 1000:.0f} ms in all ({claim_s * 1000 / max(ticks, 1):.1f} ms per tick)")
    print(f"paced schedule: all asked after {paced_minutes:.0f} min of ticks ({ASKS_PER_TICK * 60 / TICK_SECONDS:.0f} "
          f"DMs/min; Slack's conversations.open, one per new person, is Tier 3: ~{SLACK_TIER3_PER_MINUTE}/min)")
    print(f"sending to the fake Web API: {sent:,} DMs ({posted:,} chat.postMessage) in {send_s:.2f} s = "
          f"{sent / send_s:.0f} messages/s unpaced (each DM to a new person: conversations.open + chat.postMessage)")
    print(f"policy status on {people:,} people: median {statistics.median(runs):.1f} ms, "
          f"p99 {percentile(runs, 0.99):.1f} ms (target < 100 ms)")


_clients: dict = {}


async def _client(api: FakeSlackAPI):
    if "client" not in _clients:
        _clients["client"] = web_client(api.base_url, BOT_TOKEN)
    return _clients["client"]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=10_000)
    asyncio.run(main(parser.parse_args().people))
