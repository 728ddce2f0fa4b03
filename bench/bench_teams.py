"""Benchmark: Teams activities at `complybot serve` (its own process, Bot Framework auth off: local mode,
as in the end-to-end tests) and a fake Bot Connector in this process; all on 127.0.0.1.

The scenario (as before the move to the Agents SDK): `--messages` activities sent `--concurrency` at a
time (questions and `tasks`, alternately in a channel and in personal chats, from 20 people), after one
warm-up message per person. Printed: messages/s, p50/p99 latency until the server's 201 (by then the
reply has reached the fake connector; Teams waits up to 15 s) and the server process's CPU per message
over the measured phase (user + system, from /proc: Linux).

In the same run, for comparison on the same machine:
  --baseline DIR --baseline-python PY   the same scenario against another checkout (e.g. a `git worktree`
                                        of main, still on botbuilder) served by that Python
  the Slack yard-stick                  bench_slack's signed /comply requests at its own server, CPU per
                                        request measured the same way (--slack-requests 0 skips it)
The Teams checkouts take turns `--rounds` times and their medians are compared. Then the ratios,
proactive sends/s (this checkout, in-process through `app[RUNTIME].senders["teams"]`) and the import
time of the Teams package (fresh interpreters, interpreter start included).

    .venv/bin/python bench/bench_teams.py [--messages 400] [--concurrency 16] [--proactive 200]
        [--baseline /tmp/main --baseline-python /tmp/main-venv/bin/python] [--slack-requests 1000] [--rounds 3]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aiohttp import ClientSession, TCPConnector  # noqa: E402

from bench.stats import percentile  # noqa: E402
from tests.fakes.bot_connector import FakeBotConnector, TeamsActivities, new_user  # noqa: E402
from tests.serving import ServeProcess  # noqa: E402

TEXTS = ("what ISO control maps to CC 6.1?", "A.8.5 in SOC 2?", "disk encryption", "tasks",
         "how long does a Type 1 take?")
PEOPLE = 20
TICKS = os.sysconf("SC_CLK_TCK")


JSON = {"Content-Type": "application/json"}


def encoded(activity: dict) -> bytes:
    return json.dumps(activity).encode()


def own_cpu() -> float:
    """User + system CPU of this process so far."""
    times = os.times()
    return times.user + times.system


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far (/proc/<pid>/stat fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


@dataclass
class Figures:
    label: str
    per_second: float
    p50_ms: float
    p99_ms: float
    cpu_ms: float  # server CPU per message
    server_cores: float = 0.0  # the server's CPU over the measured span / its wall time
    client_cores: float = 0.0  # the same for this process (the client and the fake connector)

    def line(self) -> str:
        return (f"{self.label}: {self.per_second:.0f} messages/s, latency p50 {self.p50_ms:.1f} ms, "
                f"p99 {self.p99_ms:.1f} ms, server CPU {self.cpu_ms:.2f} ms per message; busy cores: "
                f"server {self.server_cores:.2f}, client + fake connector {self.client_cores:.2f}")


def serve(python: str, checkout: Path, workdir: Path, **settings: str) -> ServeProcess:
    """`python -m bot.cli serve` of a checkout on loopback, its logs at WARNING."""
    return ServeProcess(workdir, program=(python, "-m", "bot.cli"), PYTHONPATH=str(checkout),
                        COMPLYBOT_HOST="127.0.0.1", COMPLYBOT_LOG_LEVEL="WARNING", **settings)


async def teams_scenario(label: str, python: str, checkout: Path, messages: int, concurrency: int) -> Figures:
    connector = await FakeBotConnector().start()
    with tempfile.TemporaryDirectory() as folder:
        with serve(python, checkout, Path(folder), COMPLYBOT_TEAMS_LOCAL="1") as server:
            teams = TeamsActivities(connector.service_url)
            people = [new_user(f"Person {n}") for n in range(PEOPLE)]
            connector.add_members(*people)  # Teams answers the bot's one question about each new person
            latencies: list[float] = []
            gate = asyncio.Semaphore(concurrency)
            url = f"{server.url}/api/messages"
            # The client kept cheap so the server is what is measured: one keep-alive connection per
            # concurrent sender, bodies encoded before the clock starts.
            async with ClientSession(connector=TCPConnector(limit=concurrency), headers=JSON) as session:
                async def post(body: bytes, timed: bool = True) -> None:
                    async with gate:
                        started = time.perf_counter()
                        async with session.post(url, data=body) as response:
                            await response.read()
                            assert response.status == 201, response.status
                        if timed:
                            latencies.append(time.perf_counter() - started)

                await asyncio.gather(*(post(encoded(teams.personal(person, "hello")), timed=False)
                                       for person in people))
                bodies = [encoded((teams.channel if n % 2 else teams.personal)(people[n % PEOPLE], TEXTS[n % len(TEXTS)]))
                          for n in range(messages)]
                cpu_before, started, own_before = cpu_seconds(server.process.pid), time.perf_counter(), own_cpu()
                await asyncio.gather(*(post(body) for body in bodies))
                elapsed, cpu = time.perf_counter() - started, cpu_seconds(server.process.pid) - cpu_before
                own = own_cpu() - own_before
            assert len(connector.calls) == messages + PEOPLE, len(connector.calls)  # every reply arrived
            server.terminate()
    await connector.stop()
    return Figures(label, messages / elapsed, statistics.median(latencies) * 1000,
                   percentile(latencies, 0.99) * 1000, cpu * 1000 / messages, cpu / elapsed, own / elapsed)


async def slack_scenario(requests: int) -> Figures:
    """bench_slack's scenario (signed /comply questions at 200/s), its server's CPU measured as above."""
    from bench import bench_slack
    from tests.fakes.slack_api import BOT_TOKEN, SIGNING_SECRET, FakeSlackAPI

    api = await FakeSlackAPI().start()
    for user in bench_slack.USERS:
        api.add_user(user, user.title())
    with tempfile.TemporaryDirectory() as folder:
        with serve(sys.executable, ROOT, Path(folder), SLACK_BOT_TOKEN=BOT_TOKEN,
                   SLACK_SIGNING_SECRET=SIGNING_SECRET, SLACK_API_URL=api.base_url) as server:
            cpu_before, started = cpu_seconds(server.process.pid), time.perf_counter()
            await bench_slack.drive(server.url, api, 200.0, requests, 0.0)  # no faults; prints its own lines
            elapsed, cpu = time.perf_counter() - started, cpu_seconds(server.process.pid) - cpu_before
            server.terminate()
    await api.stop()
    warm = len(bench_slack.USERS)  # drive() warms up with one request per user inside the measured span
    return Figures("slack /comply", requests / elapsed, 0, 0, cpu * 1000 / (requests + warm))


async def proactive(count: int) -> None:
    from bot.config import Settings
    from bot.runtime import RUNTIME
    from bot.server import create_app
    from handlers.types import Outgoing, Reply
    from tests.fakes.loopback import serve_on_loopback

    connector = await FakeBotConnector().start()
    with tempfile.TemporaryDirectory() as folder:
        app = create_app(Settings.from_env({"COMPLYBOT_DB": f"{folder}/bench.db", "COMPLYBOT_HOST": "127.0.0.1",
                                            "COMPLYBOT_TEAMS_LOCAL": "1"}))
        runner, url = await serve_on_loopback(app)
        teams = TeamsActivities(connector.service_url)
        people = [new_user(f"Person {n}") for n in range(PEOPLE)]
        connector.add_members(*people)
        async with ClientSession() as session:
            for person in people:
                async with session.post(f"{url}api/messages", json=teams.personal(person, "hello")) as response:
                    assert response.status == 201
        sender = app[RUNTIME].senders["teams"]
        started = time.perf_counter()
        for n in range(count):
            await sender.send(Outgoing(workspace=teams.tenant_id, user=people[n % PEOPLE].aad_object_id,
                                       reply=Reply(f"Reminder {n}"), platform="teams"))
        elapsed = time.perf_counter() - started
        print(f"proactive: {count} sends in {elapsed:.2f} s = {count / elapsed:.0f}/s "
              "(continue_conversation on a saved reference)")
        await runner.cleanup()
    await connector.stop()


def import_ms(python: str, checkout: Path, module: str, runs: int = 5) -> float:
    """The median wall time of `import module` in a fresh interpreter (interpreter start included)."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([python, "-c", f"import {module}"], cwd=checkout, check=True,
                       env={**os.environ, "PYTHONPATH": str(checkout)})
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def listening_ms(python: str, checkout: Path, runs: int = 5, **settings: str) -> float:
    """The median time from starting `complybot serve` until its port accepts connections."""
    times = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as folder:
            started = time.perf_counter()
            with serve(python, checkout, Path(folder), **settings) as server:
                times.append(time.perf_counter() - started)
                server.terminate()
    return statistics.median(times) * 1000


def median_figures(rounds: list[Figures]) -> Figures:
    return Figures(rounds[0].label + f" (median of {len(rounds)})",
                   *(statistics.median(getattr(f, name) for f in rounds)
                     for name in ("per_second", "p50_ms", "p99_ms", "cpu_ms", "server_cores", "client_cores")))


async def run(args: argparse.Namespace) -> None:
    """The checkouts take turns, `--rounds` times, so a busy moment of the machine hits both alike."""
    runs: dict[str, list[Figures]] = {"sdk": [], "old": []}
    for _ in range(args.rounds):
        runs["sdk"].append(await teams_scenario("teams (Agents SDK)", sys.executable, ROOT, args.messages,
                                                args.concurrency))
        print(runs["sdk"][-1].line())
        if args.baseline:
            runs["old"].append(await teams_scenario("teams (baseline)", args.baseline_python, Path(args.baseline),
                                                    args.messages, args.concurrency))
            print(runs["old"][-1].line())
    sdk = median_figures(runs["sdk"])
    old = median_figures(runs["old"]) if runs["old"] else None
    print(sdk.line())
    if old:
        print(old.line())
    slack = await slack_scenario(args.slack_requests) if args.slack_requests else None
    if slack:
        print(f"slack /comply: server CPU {slack.cpu_ms:.2f} ms per request (measured as for Teams)")
    if old:
        print(f"ratio: messages/s {sdk.per_second / old.per_second:.1f}x the baseline's (target >= 4x); "
              f"CPU per message {sdk.cpu_ms / old.cpu_ms:.2f}x the baseline's")
    if slack:
        print(f"ratio: Teams server CPU per message {sdk.cpu_ms / slack.cpu_ms:.1f}x Slack's (target <= 3x)"
              + (f"; the baseline's {old.cpu_ms / slack.cpu_ms:.1f}x" if old else ""))
    if args.proactive:
        await proactive(args.proactive)
    checkouts = [("this checkout", sys.executable, ROOT)]
    if args.baseline:
        checkouts.append(("the baseline", args.baseline_python, Path(args.baseline)))
    for label, python, checkout in checkouts:  # the server's own imports (aiohttp, the store) are in both
        teams, server = import_ms(python, checkout, "bot.teams"), import_ms(python, checkout, "bot.server")
        print(f"import ({label}): bot.teams {teams:.0f} ms (target <= 300 ms), bot.server {server:.0f} ms: "
              f"Teams adds {teams - server:.0f} ms to a server's start "
              "(medians of 5 fresh interpreters, interpreter start included)")
        if checkout == ROOT:  # any import of the SDK's core runs its package __init__, which imports all of it
            floor = import_ms(python, checkout, "microsoft_agents.hosting.core")
            print(f"import ({label}): the SDK's floor, microsoft_agents.hosting.core alone, {floor:.0f} ms: "
                  f"ours adds {teams - floor:.0f} ms to it (aiohttp, the store and our modules)")
        with_teams, without = listening_ms(python, checkout, COMPLYBOT_TEAMS_LOCAL="1"), listening_ms(python, checkout)
        print(f"start-up ({label}): `complybot serve` listening after {with_teams:.0f} ms with Teams configured, "
              f"{without:.0f} ms without (medians of 5)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--proactive", type=int, default=200)
    parser.add_argument("--baseline", help="another checkout to run the same scenario against (e.g. main)")
    parser.add_argument("--baseline-python", default=sys.executable, help="the Python with that checkout's packages")
    parser.add_argument("--slack-requests", type=int, default=1000, help="the Slack yard-stick's requests (0: skip)")
    parser.add_argument("--rounds", type=int, default=3, help="turns of each Teams checkout (medians are compared)")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
