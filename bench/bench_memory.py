"""Benchmark: what conversation memory adds to a question (handlers/memory.py on a real SQLite file).

Remembers and then recalls a subject for `--people` people across `--threads` threads, and prints the
p50/p99 of each by the wall clock and by CPU time, with the machine's load beside them; then the cost of
the save that deletes a window's worth of expired rows (`--expired`) from a table of `--rows`.

    .venv/bin/python bench/bench_memory.py [--turns 2000] [--people 200] [--threads 50] [--rows 100000]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.stats import percentile  # noqa: E402
from bot.store import Store  # noqa: E402
from handlers import memory  # noqa: E402
from handlers.ask import reply_for  # noqa: E402
from handlers.ports import Context  # noqa: E402
from handlers.types import Message  # noqa: E402


class MovableClock:
    def __init__(self, moment: datetime):
        self.moment = moment

    def now(self) -> datetime:
        return self.moment


def timed(step) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    step()
    return (time.perf_counter() - wall) * 1e6, (time.process_time() - cpu) * 1e6


def report(name: str, samples: list[tuple[float, float]]) -> None:
    walls, cpus = [w for w, _ in samples], [c for _, c in samples]
    print(f"{name:<34} wall p50 {percentile(walls, 0.5):7.0f} µs  p99 {percentile(walls, 0.99):7.0f} µs   "
          f"CPU p50 {percentile(cpus, 0.5):6.0f} µs  p99 {percentile(cpus, 0.99):6.0f} µs   "
          f"load average {os.getloadavg()[0]:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=2000)
    parser.add_argument("--people", type=int, default=200)
    parser.add_argument("--threads", type=int, default=50)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--expired", type=int, default=1_000)
    args = parser.parse_args()
    reply = reply_for("MFA in SOC 2?")
    with tempfile.TemporaryDirectory() as folder:
        store = Store.open(Path(folder) / "memory.db")
        clock = MovableClock(datetime(2027, 3, 1, 9, 0, tzinfo=timezone.utc))
        ctx = Context(store=store, clock=clock)
        turns = [Message("slack", "T1", f"U{n % args.people}", "and for ISO?", channel="C1",
                         thread=f"17000000{n % args.threads}") for n in range(args.turns)]
        report("remember (one commit)", [timed(lambda m=m: memory.remember(m, ctx, reply)) for m in turns])
        report("recall (one indexed read)", [timed(lambda m=m: memory.recall(m, ctx)) for m in turns])
        assert all(memory.recall(m, ctx) == reply.subject for m in turns[:10])

        old = clock.moment.timestamp() - memory.FOLLOW_UP_WINDOW.total_seconds()
        with store.transaction():  # a busy day: many rows, a window's worth of them just expired
            store.db.conn.executemany(
                "INSERT INTO conversation_subjects VALUES (?, ?, ?, ?, ?)",
                [("T2", f"c{n}", "U1", reply.subject, old + (-1 if n < args.expired else 3600))
                 for n in range(args.rows)])
        samples = [timed(lambda: memory.remember(turns[0], ctx, reply))]
        left = store.db.execute("SELECT COUNT(*) FROM conversation_subjects WHERE workspace = 'T2'").fetchone()[0]
        report(f"remember, {args.expired:,} of {args.rows:,} expired", samples)
        print(f"rows left in the other workspace: {left:,} (of {args.rows:,})")
        store.close()


if __name__ == "__main__":
    main()
