"""Task store figures: 100,000 tasks in 100 workspaces, then `tasks overdue`, `status iso`, `gap iso`
(targets < 50 ms each), the SoA export of one workspace (< 1 s) and assignments per second (>= 1,000).

    .venv/bin/python bench/bench_tasks.py [--tasks 100000] [--workspaces 100]
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.store import Store  # noqa: E402
from handlers.exports import soa  # noqa: E402
from handlers.ports import Context  # noqa: E402
from handlers.router import handle  # noqa: E402
from handlers.types import Message  # noqa: E402
from knowledge.catalog import catalog  # noqa: E402

NOW = datetime(2026, 6, 1, 12, tzinfo=timezone.utc)


class Clock:
    def now(self):
        return NOW


def populate(store: Store, tasks: int, workspaces: int) -> None:
    rng = random.Random(7)
    names = [c.name for c in catalog().controls]
    rows, people, spaces = [], [], []
    stamp = NOW.isoformat()
    for w in range(workspaces):
        ws = f"T{w:03d}"
        spaces.append((ws, "slack", "", "{}", stamp))
        people.extend((ws, f"U{p}", f"person{p}", "", "UTC", "admin" if p == 0 else "member", 0, stamp)
                      for p in range(20))
        for number in range(1, tasks // workspaces + 1):
            status = rng.choice(("open", "open", "in_progress", "blocked", "done", "done"))
            due = date(2026, 1, 1) + timedelta(days=rng.randrange(365))
            rows.append((ws, number, rng.choice(names), f"U{rng.randrange(20)}", "U0", due.isoformat(), None, status,
                         "", "", None, "[]", None, stamp, stamp, stamp if status == "done" else None))
    with store.transaction():
        store.db.conn.executemany("INSERT INTO workspaces VALUES (?, ?, ?, ?, ?)", spaces)
        store.db.conn.executemany("INSERT INTO people VALUES (?, ?, ?, ?, ?, ?, ?, ?)", people)
        store.db.conn.executemany("INSERT INTO tasks VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)


def timed(label: str, action, repeat: int = 20, target_ms: float | None = None) -> None:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        samples.append((time.perf_counter() - start) * 1000)
    verdict = "" if target_ms is None else ("  OK" if statistics.median(samples) < target_ms else "  SLOW")
    print(f"{label:<28} p50 {statistics.median(samples):8.2f} ms   max {max(samples):8.2f} ms"
          f"{f'   (target < {target_ms:g} ms)' if target_ms else ''}{verdict}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--workspaces", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        store = Store.open(Path(folder) / "bench.db")
        start = time.perf_counter()
        populate(store, args.tasks, args.workspaces)
        print(f"populated {store.db.execute('SELECT COUNT(*) FROM tasks').fetchone()[0]:,} tasks in "
              f"{args.workspaces} workspaces in {time.perf_counter() - start:.1f} s")
        ctx = Context(store=store, clock=Clock())

        def command(text: str):
            return lambda: handle(Message("slack", "T042", "U0", text), ctx)

        timed("tasks overdue", command("tasks overdue"), target_ms=50)
        timed("status iso", command("status iso"), target_ms=50)
        timed("gap iso", command("gap iso"), target_ms=50)
        timed("SoA export (rows)", lambda: soa(store, "T042"), repeat=5, target_ms=1000)

        def export_xlsx():
            from bot.commands.export import write_xlsx

            header, rows = soa(store, "T042")
            write_xlsx(str(Path(folder) / "soa.xlsx"), "SoA", header, rows)

        timed("SoA export (xlsx file)", export_xlsx, repeat=5, target_ms=1000)
        names = [c.name for c in catalog().controls]
        spaces = [f"BENCH{i}" for i in range(11)]  # a control is owned once per workspace: spread over several
        for ws in spaces:
            store.upsert_person(ws, "U0", name="admin", platform="slack")
            store.upsert_person(ws, "U1", name="owner")
        handle(Message("slack", spaces[0], "U0", "assign Restore to <@U1> due 2026-12-15"), ctx)  # warm imports
        count, start = 0, time.perf_counter()
        for ws in spaces[1:]:  # through the whole grammar: parse, control, person, date, transaction, event
            for name in names:
                reply = handle(Message("slack", ws, "U0", f"assign {name} to <@U1> due 2026-12-15"), ctx)
                assert reply.kind == "assign", reply.text
                count += 1
        elapsed = time.perf_counter() - start
        print(f"{'assign via the router':<28} {count / elapsed:8.0f} assignments/s over {count:,} "
              f"(target >= 1,000){'  OK' if count / elapsed >= 1000 else '  SLOW'}")
        start, raw = time.perf_counter(), 2000
        for i in range(raw):
            store.create_task(spaces[0], names[i % len(names)], "U1", "U0")
        print(f"{'store.create_task':<28} {raw / (time.perf_counter() - start):8.0f} assignments/s")
        store.close()


if __name__ == "__main__":
    main()
