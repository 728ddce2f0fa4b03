"""Benchmark: the slowest 4,000-character inputs found by the red team, through the shared router, by CPU
time (a busy machine does not inflate it). The handlers run on the server's event loop, so every second
here is a second in which no Slack ack, Teams request or /healthz is answered.

    .venv/bin/python bench/bench_adversarial.py

Before the fix: "we sell to US US ..." 1.7 s, "? ? ? ..." 1.2 s, "U.S.U.S. ..." 1.2 s (10 such messages held
every route 12 s). Target: each well under 0.1 s of CPU, like any ordinary 4,000-character question.
"""
from __future__ import annotations

import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from handlers.router import handle  # noqa: E402
from handlers.types import MAX_MESSAGE_CHARS, Message  # noqa: E402

UNITS = ("US ", "U.S. ", "USA ", "the US ", "? ", "U.S.", "a ", "CC6.1 ", "in 2 weeks ", "please ", "thanks ")
PREFIXES = ("", "we sell to ", "why ", "how much ", "status ", "what is ", "soa set ", "assign ")


def cpu_seconds(text: str) -> float:
    started = time.process_time()
    handle(Message("bench", "T1", "U1", text))
    return time.process_time() - started


def main() -> None:
    handle(Message("bench", "T1", "U1", "warm up: load the catalogue and the FAQ"))
    timings = []
    for prefix in PREFIXES:
        for unit in UNITS:
            body = f"{uuid.uuid4().hex[:8]} {prefix}"  # a new text each time: nothing remembered
            text = body + unit * ((MAX_MESSAGE_CHARS - 10 - len(body)) // len(unit))
            timings.append((cpu_seconds(text), prefix + unit * 3 + "…"))
    timings.sort(reverse=True)
    print(f"{len(timings)} inputs of ~{MAX_MESSAGE_CHARS:,} characters; slowest by CPU time:")
    for seconds, shown in timings[:8]:
        print(f"  {seconds * 1000:8.1f} ms  {shown!r}")


if __name__ == "__main__":
    main()
