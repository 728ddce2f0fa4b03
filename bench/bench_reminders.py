"""Reminder and digest figures: one scheduler tick over 100,000 open tasks in 100 workspaces (target
< 1 s) and composing the weekly digest of a workspace with 10,000 tasks (target < 200 ms).

Worst case for the tick: everybody works in one time zone and the tick runs in their working morning,
so every workspace is awake; due dates spread from 90 days overdue to 90 days ahead (about half the
tasks are overdue). Each tick selects, decides, claims and "sends" (to a sender that does nothing):
  - the first tick after importing 100,000 tasks: every task's current rung at once (a one-off);
  - the next morning's tick: one day of new rungs (every third overdue day, 7/1/0 days before, the
    escalations of tasks turning 7 days overdue): the busiest tick of an ordinary day;
  - a steady tick later that morning: everything already claimed, nothing to send (runs every minute);
  - a tick outside anyone's morning (most ticks of the day).

    .venv/bin/python bench/bench_reminders.py [--tasks 100000] [--workspaces 100] [--digest-tasks 10000]
"""
from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.delivery import Senders  # noqa: E402
from bot.scheduler import run_tick  # noqa: E402
from bot.store import Store  # noqa: E402
from handlers import digest  # noqa: E402
from knowledge.catalog import catalog  # noqa: E402

TZ = "Europe/Berlin"
MORNING = datetime(2027, 1, 18, 9, 5, tzinfo=ZoneInfo(TZ))  # a Monday
PEOPLE = 20


class Nowhere:
    """A sender that accepts everything at once: the platform's own latency is not ours to time."""

    def __init__(self):
        self.messages = 0

    async def send(self, outgoing) -> None:
        self.messages += 1


def populate(store: Store, tasks: int, workspaces: int, statuses: tuple[str, ...] = ("open", "in_progress")) -> None:
    rng = random.Random(11)
    names = [c.name for c in catalog().controls]
    stamp = (MORNING - timedelta(days=200)).astimezone(timezone.utc).isoformat(timespec="seconds")
    today = MORNING.date()
    spaces, people, rows = [], [], []
    for w in range(workspaces):
        ws = f"T{w:03d}"
        spaces.append((ws, "slack", "", "{}", stamp))
        people.extend((ws, f"U{p}", f"person{p}", "", TZ, "admin" if p == 0 else "member", 0, stamp) for p in range(PEOPLE))
        for number in range(1, tasks // workspaces + 1):
            status = rng.choice(statuses)
            due = today + timedelta(days=rng.randint(-90, 90))
            done_at = (MORNING - timedelta(days=rng.randint(0, 30))).astimezone(timezone.utc).isoformat(timespec="seconds")
            rows.append((ws, number, rng.choice(names), f"U{rng.randrange(1, PEOPLE)}", "U0", due.isoformat(), None,
                         status, "", "", None, "[]", None, stamp, stamp, done_at if status == "done" else None))
    with store.transaction():
        store.db.conn.executemany("INSERT INTO workspaces (id, platform, name, settings, created_at) VALUES (?, ?, ?, ?, ?)", spaces)
        store.db.conn.executemany(
            "INSERT INTO people (workspace, user_id, name, email, tz, role, is_bot, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            people)
        store.db.conn.executemany(
            "INSERT INTO tasks (workspace, id, control, owner, assigner, due, recurrence, status, note, blocked_reason,"
            " snoozed_until, evidence, previous_id, created_at, updated_at, done_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    store.db.execute("ANALYZE")


def timed_tick(store: Store, sender: Nowhere, now: datetime) -> tuple[float, int, int]:
    started = time.perf_counter()
    result = asyncio.run(run_tick(store, Senders({"slack": sender}), now))
    return (time.perf_counter() - started) * 1000, len(result.claimed), result.sent


def verdict(ms: float, target: float) -> str:
    return f"(target < {target:g} ms)  {'OK' if ms < target else 'SLOW'}"


def bench_tick(tasks: int, workspaces: int, folder: Path) -> None:
    store = Store.open(folder / "tick.db")
    started = time.perf_counter()
    populate(store, tasks, workspaces)
    print(f"populated {tasks:,} open tasks, {workspaces * PEOPLE:,} people in {workspaces} workspaces "
          f"in {time.perf_counter() - started:.1f} s")
    sender = Nowhere()
    first, claimed, sent = timed_tick(store, sender, MORNING)
    keys = store.db.execute("SELECT COUNT(*) FROM sent_log").fetchone()[0]
    print(f"first tick after import {first:8.1f} ms  — every task's current rung at once: {keys:,} nudges in "
          f"{claimed:,} messages, {sent:,} sent")
    next_day, claimed, sent = timed_tick(store, sender, MORNING + timedelta(days=1))
    new_keys = store.db.execute("SELECT COUNT(*) FROM sent_log").fetchone()[0] - keys
    print(f"next morning's tick    {next_day:8.1f} ms  {verdict(next_day, 1000)}  — a day of new rungs: {new_keys:,} "
          f"nudges in {claimed:,} messages, {sent:,} sent")
    sent_before = sender.messages
    steady = [timed_tick(store, sender, MORNING + timedelta(days=1, minutes=m))[0] for m in range(1, 8)]
    print(f"steady tick (p50 of 7) {statistics.median(steady):8.1f} ms  {verdict(statistics.median(steady), 1000)}"
          f"  — max {max(steady):.1f} ms, sent {sender.messages - sent_before} more (must be 0)")
    night = [timed_tick(store, sender, MORNING + timedelta(hours=12, minutes=m))[0] for m in range(7)]
    print(f"tick outside mornings  {statistics.median(night):8.1f} ms  {verdict(statistics.median(night), 1000)}")
    store.close()


def bench_digest(tasks: int, folder: Path) -> None:
    store = Store.open(folder / "digest.db")
    populate(store, tasks, 1, statuses=("open", "open", "in_progress", "blocked", "done", "done"))
    digest.compose(store, "T000", MORNING, TZ)  # warm-up: catalogue and index caches
    samples = []
    for _ in range(15):
        started = time.perf_counter()
        reply = digest.compose(store, "T000", MORNING, TZ)
        samples.append((time.perf_counter() - started) * 1000)
    ms = statistics.median(samples)
    print(f"digest of {tasks:,} tasks    {ms:8.1f} ms  {verdict(ms, 200)}  — max {max(samples):.1f} ms, "
          f"{len(reply.sections)} sections, {len(reply.text):,} characters")
    store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--workspaces", type=int, default=100)
    parser.add_argument("--digest-tasks", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        bench_tick(args.tasks, args.workspaces, Path(folder))
        bench_digest(args.digest_tasks, Path(folder))


if __name__ == "__main__":
    main()
