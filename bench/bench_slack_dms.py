"""Nudge mornings in one big Slack workspace: how many `conversations.open` calls (Tier 3, ~50 a
minute) the real server makes. 2,000 people, each owning two tasks; three working mornings (the
server restarted each time) through the real scheduler, delivery and Slack sender, against the fake
Web API on 127.0.0.1. Without the kept DM channel ids every nudge would open its DM first.

    .venv/bin/python bench/bench_slack_dms.py [--people 2000] [--visitors 500]

`--visitors` people opened the App Home (or wrote to the bot) before the first morning: their DM
channel id came with that event, so they cost no open at all.
"""
from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import time_machine  # noqa: E402

from bot.store import Store  # noqa: E402
from tests.fakes.slack_api import SIGNING_SECRET, TEAM_ID, FakeSlackAPI, SignedSlack, start_slack_server  # noqa: E402

BERLIN = ZoneInfo("Europe/Berlin")
MORNINGS = (datetime(2027, 1, 18, 9, 5, tzinfo=BERLIN), datetime(2027, 1, 19, 9, 5, tzinfo=BERLIN),
            datetime(2027, 1, 25, 9, 5, tzinfo=BERLIN))
TIER3_PER_MINUTE = 50


def seed(db_path: Path, people: list[str]) -> None:
    store = Store.open(db_path)
    store.upsert_person(TEAM_ID, "U0BOSS", name="Boss", tz="UTC", platform="slack")
    with store.transaction():
        for user in people:
            store.upsert_person(TEAM_ID, user, name=user, tz="Europe/Berlin", platform="slack")
            store.create_task(TEAM_ID, "Backup Schedule", user, "U0BOSS", due=date(2027, 1, 19))
            store.create_task(TEAM_ID, "Disk Encryption", user, "U0BOSS", due=date(2027, 1, 25))
    store.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--people", type=int, default=2000)
    parser.add_argument("--visitors", type=int, default=500)
    args = parser.parse_args()
    people = [f"U0P{n:05d}" for n in range(max(1, min(args.people, 20_000)))]
    api = await FakeSlackAPI().start()
    with tempfile.TemporaryDirectory() as workdir:
        db = Path(workdir) / "complybot.db"
        seed(db, people)
        server = await start_slack_server(db, api)  # scheduler off: the visits only
        async with SignedSlack(server.url, SIGNING_SECRET, api) as slack:
            for user in people[:max(0, min(args.visitors, len(people)))]:
                await slack.app_home_opened(user, tab="messages")
        await server.settle()
        await server.stop()
        before = 0
        for day, morning in enumerate(MORNINGS, start=1):
            opens_before = len(api.to("conversations.open"))
            with time_machine.travel(morning, tick=True):
                started = time.perf_counter()
                server = await start_slack_server(db, api, COMPLYBOT_SCHEDULER="on")
                try:
                    await api.wait_for("chat.postMessage", count=len(people) * day, timeout=600)
                finally:
                    await server.stop()
                seconds = time.perf_counter() - started
            sent = len(api.to("chat.postMessage")) - before
            before += sent
            opened = len(api.to("conversations.open")) - opens_before
            print(f"morning {day}: {sent:5d} nudges in {seconds:5.1f} s, conversations.open {opened:5d} "
                  f"(without the kept ids: {sent}; Tier 3 allows ~{TIER3_PER_MINUTE}/min)")
    total = len(api.to("conversations.open"))
    print(f"all mornings: conversations.open {total} for {len(people)} people "
          f"({len({c.body['users'] for c in api.to('conversations.open')})} distinct)")
    await api.stop()


if __name__ == "__main__":
    asyncio.run(main())
