"""`complybot ask`: answer one question, or one question per line of standard input.

    complybot ask "what ISO control maps to CC6.1?"    # the answer as a person reads it
    complybot ask --json < questions.txt                # one JSON object per line, same order
    complybot ask --csv < questionnaire.txt > out.csv   # the same as a spreadsheet
    complybot ask --explain "..."                       # which stage answered, its score, the runners-up

Batch mode reads standard input as bytes and decodes it leniently, so an empty line, a 40,000-character
line, binary junk or emoji each get exactly one answer (or a polite refusal) on their own output line.
This path imports only the knowledge layer (and `handlers.types.clean_text`, the edge's normalisation):
no Slack, Teams or server code, for a fast start.
"""
from __future__ import annotations

import argparse
import csv
import json
import sys

from handlers.types import clean_text

FIELDS = ("question", "answer", "kind", "confidence", "refs", "sources", "suggestions")
ECHO_CHARS = 1000  # a question is echoed in --json/--csv output up to this length


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("question", nargs="*", help="the question (omit it to read one question per line from stdin)")
    form = parser.add_mutually_exclusive_group()
    form.add_argument("--json", action="store_true", help="one JSON object per question (answer, kind, confidence, ...)")
    form.add_argument("--csv", action="store_true", help="CSV with a header row, one row per question")
    parser.add_argument("--explain", action="store_true",
                        help="also say which stage of the engine answered, its score and the runners-up")


def _record(question: str, result, why=None) -> dict:
    record = {
        "question": question if len(question) <= ECHO_CHARS else question[:ECHO_CHARS] + "…",
        "answer": result.text,
        "kind": result.kind,
        "confidence": result.confidence,
        "refs": list(result.refs),
        "sources": list(result.sources),
        "suggestions": list(result.suggestions),
    }
    if why is not None:
        record["stage"] = why.stage
        record["runners_up"] = [{"stage": s, "kind": k, "confidence": c} for s, k, c in why.runners_up]
    return record


def _explanation(why) -> str:
    others = ", ".join(f"{s} ({k} {c:.2f})" for s, k, c in why.runners_up) or "none"
    return f"[stage: {why.stage} ({why.answer.kind} {why.answer.confidence:.2f}); runners-up: {others}]"


def _questions(args) -> list[str] | None:
    """The one question of the command line, or None to read standard input line by line."""
    if args.question:  # argv may carry undecodable bytes as surrogates
        return [clean_text(" ".join(args.question))]
    return None


def _stdin_lines():
    for raw in sys.stdin.buffer:
        yield clean_text(raw.rstrip(b"\r\n").decode("utf-8", errors="replace"))


def _human(result) -> str:
    text = result.text
    if result.suggestions:
        text += "\n\nYou could also ask: " + " | ".join(result.suggestions)
    return text


def _answer_safely(answer, question: str, explain=None):
    """(answer, explanation or None); should the engine ever fail on one line, a refusal that keeps the batch
    aligned."""
    try:
        if explain:
            why = explain(question)
            return why.answer, why
        return answer(question), None
    except Exception as error:  # one bad line must not cost the answers of the others
        from knowledge.answer import Answer

        print(f"complybot ask: could not answer one question ({type(error).__name__})", file=sys.stderr)
        return Answer("Sorry, I could not answer that question. Please rephrase it.", "error", 0.0), None


def run(args: argparse.Namespace) -> int:
    from knowledge.answer import answer, explain

    if args.json or args.csv:
        sys.stdout.reconfigure(encoding="utf-8", errors="replace")
    else:
        sys.stdout.reconfigure(errors="replace")
    given = _questions(args)
    questions = given if given is not None else _stdin_lines()
    out = sys.stdout
    writer = None
    if args.csv:
        writer = csv.DictWriter(out, fieldnames=FIELDS, lineterminator="\n")
        writer.writeheader()
    for question in questions:
        result, why = _answer_safely(answer, question, explain if args.explain else None)
        if args.json:
            out.write(json.dumps(_record(question, result, why), ensure_ascii=False) + "\n")
        elif writer:
            row = _record(question, result)
            if why is not None:
                row["answer"] += "\n" + _explanation(why)
            writer.writerow({k: "; ".join(v) if isinstance(v, list) else v for k, v in row.items()})
        else:
            text = _human(result) + ("\n" + _explanation(why) if why is not None else "")
            out.write(text + ("\n\n" if given is None else "\n"))
        if given is None:
            out.flush()
    return 0
