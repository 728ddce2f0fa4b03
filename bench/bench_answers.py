"""Benchmark: the answer engine in one process, and the cold start of `complybot ask`.

Answers a mixed set of questions (every kind: mappings both ways, unmapped, define, 2013 numbers,
named controls with typos and synonyms, FAQ phrasings, recommendations, out of scope, junk) round after
round on one core, and prints answers/s and the p50/p99 latency of one answer, by the wall clock and
by CPU time (which a busy machine does not inflate). Then runs
`complybot ask "..."` as a fresh process several times and prints the median wall time (cold start:
interpreter, imports, loading and indexing the data, one answer).

    .venv/bin/python bench/bench_answers.py [--rounds 200] [--cold-runs 7]

Targets (issue 11): >= 5,000 answers/s on one core and p99 < 1 ms (CPU time) on both mixes, cold start < 0.5 s.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.stats import percentile  # noqa: E402
from knowledge.answer import answer, index  # noqa: E402

QUESTIONS = (
    "what ISO control maps to CC 6.1?",
    "iso for cc 8.1",
    "P 4.3 iso controls",
    "A 1.2 iso",
    "what SOC 2 criteria map to A.8.16?",
    "annex a 5.24 soc2",
    "Clause 6.1.3 soc 2",
    "does A.8.30 map to SOC 2?",
    "what is CC6.6?",
    "what is A.5.23",
    "A.9.4.2 in the 2022 version?",
    "CC9.9 iso",
    "Disk Encryption",
    "multi factor authentication",
    "backgroud check",
    "firewal rules",
    "user acces reviews",
    "what's the best way to do access reviews",
    "tls",
    "offboarding",
    "How long does a SOC 2 Type 1 take?",
    "What does ISO 27001 certification cost?",
    "how often is iso 27001 recertified",
    "what is the difference between soc 2 type 1 and type 2",
    "what's a statement of applicability",
    "does iso replace soc 2",
    "SOC 2 vs ISO for EU customer?",
    "Which should a US SaaS startup pick first, SOC 2 or ISO 27001?",
    "We have customers in the US and in the UK. Which framework?",
    "how do I make pasta",
    "qwertyuiop",
    "🙂🙂🙂",
    "",
    "x" * 40_000,
)
# how people actually write: context first, parentheses, lists, two questions in one, typos (mean >= 80 chars)
LONG_QUESTIONS = (
    "Hi all, we're a 40-person SaaS company selling mostly to US hospitals. Which framework should we start with?",
    "Our SOC 2 report already covers encryption at rest; which ISO 27001 controls does that give us for free?",
    "Someone on the board mentioned NIS2 last week, but honestly how much does ISO 27001 certification cost?",
    "Backups (nightly snapshots, plus a copy in a second region) - which SOC 2 and ISO controls does that cover?",
    "We're finally locking down production access, only the two on-call engineers get in. What does that satisfy?",
    "Our three biggest prospects won't sign until they see a SOC 2 report. How long does a Type 1 usually take?",
    "quick q for the compliance folks: do we actually need a penetration test for SOC 2 or is a vuln scan enough?",
    "Is a SOC 2 Type 2 the same thing as ISO 27001 certification, or are they really different in practice?",
    "We got ISO 27001 certified back in 2019 under the 2013 version; what is A.9.4.2 called in the 2022 version?",
    "hey complybot, our auditor keeps mentioning CC6.1 in the readiness call, what ISO controls map to it? thanks",
    "We sell to banks in Germany and to a few US retailers as well, so do we need both frameworks or just one?",
    "How many Annex A controls are there in ISO 27001:2022 now, compared with the 2013 version of the standard?",
    "For the asset inventory (laptops, cloud accounts, SaaS tools) which Annex A control is the right reference?",
    "Our MDM enforces disk encryption on every laptop, mostly FileVault and BitLocker; which criteria is that?",
    "the auditor asked about our vendor management process (we review SOC reports yearly). what does it map to?",
    "What is the difference between a SOC 2 Type 1 and a Type 2 report, and how long does each one take us?",
    "We are a fintech startup in London with customers across Europe and a couple in Canada, which one first?",
    "Does A.8.16 monitoring activities map to anything in SOC 2, and is it the same as CC7.2 in practice?",
    "I keep hearing about a Statement of Applicability from our consultant, what is it and who writes it?",
    "We already do quarterly user access reviews in Okta and document them in Jira; which controls is that?",
)


def bench_engine(name: str, questions: tuple[str, ...], rounds: int) -> None:
    """Wall-clock and CPU-time figures: on a busy machine the wall clock also counts the time this
    process waited for the core, the CPU time only the work of answering."""
    for question in questions:  # warm-up: lazy caches, the speller's memory
        answer(question)
    wall, cpu = [], []
    wall_clock, cpu_clock = time.perf_counter, time.thread_time
    started, started_cpu = wall_clock(), cpu_clock()
    for _ in range(rounds):
        for question in questions:
            before, before_cpu = wall_clock(), cpu_clock()
            answer(question)
            cpu.append(cpu_clock() - before_cpu)
            wall.append(wall_clock() - before)
    elapsed, elapsed_cpu = wall_clock() - started, cpu_clock() - started_cpu
    count = len(wall)
    mean = statistics.mean(len(q) for q in questions)
    print(f"{name}: {count:,} answers over {len(questions)} questions (mean {mean:.0f} characters); "
          f"load average {os.getloadavg()[0]:.2f}")
    print(f"               {'wall clock':>12} {'CPU time':>12}")
    print(f"  answers/s    {count / elapsed:12,.0f} {count / elapsed_cpu:12,.0f}")
    for name, fraction in (("p50", 0.5), ("p99", 0.99)):
        print(f"  {name}          {percentile(wall, fraction) * 1e3:9.3f} ms {percentile(cpu, fraction) * 1e3:9.3f} ms")
    print(f"  max          {max(wall) * 1e3:9.3f} ms {max(cpu) * 1e3:9.3f} ms")
    slowest = max(questions, key=lambda q: _time_one(answer, q))
    print(f"  slowest question: {slowest[:60]!r}")


def _time_one(answer, question: str, repeat: int = 50) -> float:
    before = time.thread_time()
    for _ in range(repeat):
        answer(question)
    return time.thread_time() - before


def bench_cold_start(runs: int) -> None:
    command = shutil.which("complybot", path=str(Path(sys.executable).parent)) or shutil.which("complybot")
    if not command:
        print("cold start: complybot is not installed (pip install -e .)")
        return
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="0")
    subprocess.run([command, "ask", "warm the bytecode cache"], capture_output=True, env=env, check=True)
    times = []
    for _ in range(runs):
        before = time.perf_counter()
        subprocess.run([command, "ask", "what ISO control maps to CC 6.1?"], capture_output=True, env=env, check=True)
        times.append(time.perf_counter() - before)
    print(f"cold start of `complybot ask \"...\"`: median {statistics.median(times):.3f} s "
          f"(min {min(times):.3f}, max {max(times):.3f}, {runs} runs)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--cold-runs", type=int, default=7)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core
    before = time.perf_counter()
    index()
    print(f"engine load and indexing: {(time.perf_counter() - before) * 1e3:.0f} ms")
    bench_engine("short mix", QUESTIONS, args.rounds)
    bench_engine("long real-style mix", LONG_QUESTIONS, args.rounds)
    bench_cold_start(args.cold_runs)


if __name__ == "__main__":
    main()
