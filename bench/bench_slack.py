"""Benchmark: signed `/comply` questions at a local `complybot serve`, at a fixed arrival rate.

Starts a fake Slack Web API in this process (loopback, port 0) and `complybot serve` as its own process
pointed at it, then sends `--requests` slash commands at `--rate` per second (open loop: each request
leaves on schedule whether or not earlier ones finished), each signed as Slack signs it. Prints
requests/s and p50/p99 of two latencies:
  ack     — until the server's HTTP answer (Slack needs it within 3 s);
  answer  — until the answer reaches the response URL (what the person waits for).
With `--fail-rate 0.1` the fake fails 10% of its Web API and response URL calls (429, 500, 503 or a
dropped connection, seeded) after the warm-up; it then also prints how many answers never arrived
(goal 0) and the server's /healthz counts of retried and lost answers.
Loopback only, bounded: it never talks to anything but 127.0.0.1.

    .venv/bin/python bench/bench_slack.py [--rate 200] [--requests 2000] [--fail-rate 0.1] [--hold-lock 5]

`--hold-lock 5` has another sqlite3 connection hold the database's write lock (BEGIN IMMEDIATE) for
the first 5 s of the run, as a backup tool or a second process might.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.stats import percentile  # noqa: E402
from tests.fakes.slack_api import BOT_TOKEN, SIGNING_SECRET, FakeSlackAPI, SignedSlack  # noqa: E402
from tests.serving import ServeProcess  # noqa: E402

QUESTIONS = (
    "what ISO control maps to CC 6.1?",
    "what SOC 2 criteria map to A.8.5?",
    "disk encryption",
    "how long does a Type 1 take?",
    "what is A.8.28?",
    "A.9.4.2 in 2022?",
    "which framework for a US startup selling to enterprises?",
    "status",
)
USERS = tuple(f"U0BENCH{i}" for i in range(10))


ANSWER_WAIT_SECONDS = 60  # retries of a failed answer take seconds; what has not come by then is lost


async def hold_write_lock(db_path: Path, seconds: float) -> None:
    """An outside connection holding the write lock for `seconds`, from now."""
    outside = sqlite3.connect(db_path, isolation_level=None)
    outside.execute("BEGIN IMMEDIATE")
    try:
        await asyncio.sleep(seconds)
    finally:
        outside.execute("ROLLBACK")
        outside.close()


async def drive(url: str, api: FakeSlackAPI, rate: float, count: int, fail_rate: float,
                lock: tuple[Path, float] | None = None) -> None:
    sent_at: dict[str, float] = {}
    ack_ms: list[float] = []
    errors = 0

    async with SignedSlack(url, SIGNING_SECRET, api) as slack:
        for i in range(len(USERS)):  # warm up: people are fetched once, the answer engine loads
            await slack.command(USERS[i], QUESTIONS[i % len(QUESTIONS)], hook=f"warm{i}")
        await api.wait_for("response_url", len(USERS), timeout=30)
        api.calls.clear()
        api.fail_rate = fail_rate

        async def one(i: int) -> None:
            nonlocal errors
            hook = f"b{i}"
            started = time.perf_counter()
            sent_at[f"/respond/{hook}"] = started
            status, _ = await slack.command(USERS[i % len(USERS)], QUESTIONS[i % len(QUESTIONS)], hook=hook)
            ack_ms.append((time.perf_counter() - started) * 1000)
            errors += status != 200

        begin = time.perf_counter()
        held = asyncio.ensure_future(hold_write_lock(*lock)) if lock else None
        tasks = []
        for i in range(count):
            delay = begin + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.ensure_future(one(i)))
        await asyncio.gather(*tasks)
        acked = time.perf_counter() - begin
        if held is not None:
            await held
        try:
            await api.wait_for("response_url", count, timeout=ANSWER_WAIT_SECONDS)
        except AssertionError:
            pass  # counted as lost below
        elapsed = time.perf_counter() - begin
        async with slack.session.get(f"{url}/healthz") as health:
            health_counts = (await health.json()).get("slack", {})

    # the fake stamps each response URL's first arrival with this process's clock
    answer_ms = [(arrived - sent_at[path]) * 1000 for path, arrived in api.arrival_times.items() if path in sent_at]
    failed_calls = sum("!" in call.method for call in api.calls)
    print(f"slack /comply: {count} signed requests offered at {rate:.0f}/s, acknowledged over {acked:.2f} s "
          f"-> {count / acked:.1f} requests/s, {errors} errors; all answers in {elapsed:.2f} s"
          + (f"; an outside write lock held for the first {lock[1]:g} s" if lock else ""))
    print(f"  faults: fail rate {fail_rate:.0%}, {failed_calls} of {len(api.calls)} calls to the fake failed; "
          f"answers lost {count - len(answer_ms)} of {count} (goal 0); "
          f"server /healthz slack {json.dumps(health_counts)}")
    print(f"  ack    p50 {statistics.median(ack_ms):6.1f} ms   p99 {percentile(ack_ms, 0.99):6.1f} ms   "
          f"max {max(ack_ms):6.1f} ms")
    print(f"  answer p50 {statistics.median(answer_ms):6.1f} ms   p99 {percentile(answer_ms, 0.99):6.1f} ms   "
          f"max {max(answer_ms):6.1f} ms   (target p99 < 100 ms)")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rate", type=float, default=200.0, help="requests per second offered (default 200)")
    parser.add_argument("--requests", type=int, default=2000, help="how many requests (default 2000)")
    parser.add_argument("--fail-rate", type=float, default=0.0,
                        help="share of Web API and response URL calls the fake fails (default 0)")
    parser.add_argument("--hold-lock", type=float, default=0.0, metavar="SECONDS",
                        help="another connection holds the write lock for the run's first SECONDS")
    args = parser.parse_args()
    count = max(1, min(args.requests, 100_000))
    api = await FakeSlackAPI().start()
    for user in USERS:
        api.add_user(user, user.title())
    with tempfile.TemporaryDirectory() as workdir, ServeProcess(
        Path(workdir), SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=SIGNING_SECRET, SLACK_API_URL=api.base_url,
        COMPLYBOT_LOG_LEVEL="WARNING", COMPLYBOT_SCHEDULER="on",
    ) as server:
        try:
            lock = (Path(workdir) / "complybot.db", min(args.hold_lock, 60.0)) if args.hold_lock > 0 else None
            await drive(server.url, api, args.rate, count, min(max(args.fail_rate, 0.0), 0.9), lock)
        finally:
            server.terminate()
            await api.stop()
        used = resource.getrusage(resource.RUSAGE_CHILDREN)
        print(f"  server CPU {(used.ru_utime + used.ru_stime) * 1000 / (count + len(USERS)):.2f} ms per request "
              f"(start-up included); this machine has {os.cpu_count()} cores")


if __name__ == "__main__":
    asyncio.run(main())
