"""Benchmark: Teams activities through the real server (create_app on 127.0.0.1) and a fake Bot
Connector, both in this process, Bot Framework auth off (local mode, as in the end-to-end tests).

Prints, for `--messages` activities sent `--concurrency` at a time (questions and `tasks`, in channels
and personal chats): messages/s and p50/p99 latency until the server's 201, by which time the reply has
reached the fake connector (Teams waits for the bot's HTTP answer up to 15 s). Then proactive sends/s
through `app[RUNTIME].senders["teams"]` to saved conversation references, and the import cost of botbuilder
(what Teams adds to a server's start; `complybot ask` never pays it). Loopback only.

    .venv/bin/python bench/bench_teams.py [--messages 400] [--concurrency 16] [--proactive 200]
"""
from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aiohttp import ClientSession  # noqa: E402

from bench.stats import percentile  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.runtime import RUNTIME  # noqa: E402
from bot.server import create_app  # noqa: E402
from handlers.types import Outgoing, Reply  # noqa: E402
from tests.fakes.bot_connector import FakeBotConnector, TeamsActivities, new_user  # noqa: E402
from tests.fakes.loopback import serve_on_loopback  # noqa: E402

TEXTS = ("what ISO control maps to CC 6.1?", "A.8.5 in SOC 2?", "disk encryption", "tasks",
         "how long does a Type 1 take?")


def import_seconds(module: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", f"import {module}"], cwd=ROOT, check=True)
    return time.perf_counter() - started


async def run(messages: int, concurrency: int, proactive: int) -> None:
    connector = await FakeBotConnector().start()
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings.from_env({"COMPLYBOT_DB": f"{folder}/bench.db", "COMPLYBOT_HOST": "127.0.0.1",
                                      "COMPLYBOT_TEAMS_LOCAL": "1"})
        app = create_app(settings)
        runner, url = await serve_on_loopback(app)
        teams = TeamsActivities(connector.service_url)
        people = [new_user(f"Person {n}") for n in range(20)]
        connector.add_members(*people)  # Teams answers the bot's one question about each new person
        activities = [
            (teams.channel if n % 2 else teams.personal)(people[n % len(people)], TEXTS[n % len(TEXTS)])
            for n in range(messages)
        ]
        latencies: list[float] = []
        gate = asyncio.Semaphore(concurrency)
        async with ClientSession() as session:
            async def post(activity: dict) -> None:
                async with gate:
                    started = time.perf_counter()
                    async with session.post(f"{url}api/messages", json=activity) as response:
                        await response.read()
                        assert response.status == 201, response.status
                    latencies.append(time.perf_counter() - started)

            started = time.perf_counter()
            await asyncio.gather(*(post(a) for a in activities))
            elapsed = time.perf_counter() - started
        replies = len(connector.calls)
        print(f"messages: {messages} in {elapsed:.2f} s = {messages / elapsed:.0f}/s "
              f"(concurrency {concurrency}); latency p50 {statistics.median(latencies) * 1000:.1f} ms, "
              f"p99 {percentile(latencies, 0.99) * 1000:.1f} ms; replies at the connector: {replies}")

        sender = app[RUNTIME].senders["teams"]
        started = time.perf_counter()
        for n in range(proactive):
            person = people[n % len(people)]
            await sender.send(Outgoing(workspace=teams.tenant_id, user=person.aad_object_id,
                                       reply=Reply(f"Reminder {n}"), platform="teams"))
        elapsed = time.perf_counter() - started
        print(f"proactive: {proactive} sends in {elapsed:.2f} s = {proactive / elapsed:.0f}/s "
              f"(continue_conversation on a saved reference)")
        await runner.cleanup()
    await connector.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--proactive", type=int, default=200)
    args = parser.parse_args()
    asyncio.run(run(args.messages, args.concurrency, args.proactive))
    cli, teams = import_seconds("bot.cli"), import_seconds("bot.teams")
    print(f"import: bot.cli {cli * 1000:.0f} ms, bot.teams (botbuilder) {teams * 1000:.0f} ms "
          "(each a fresh interpreter, interpreter start included)")


if __name__ == "__main__":
    main()
