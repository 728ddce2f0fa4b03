"""Refusals before reading: nothing asked, too long, a framework we hold no facts on, a document to write."""
from __future__ import annotations

from dataclasses import replace

from knowledge.answer import bars, build
from knowledge.answer import words as W
from knowledge.answer.build import Answer
from knowledge.answer.question import Question


def empty(q: Question) -> Answer | None:
    if q.raw:
        return None
    return build.refusal(
        "empty",
        "Please ask me a question, for example: which ISO 27001 controls match a SOC 2 criterion, "
        "how a control such as disk encryption maps, or how long a SOC 2 Type 1 takes.",
    )


def too_long(q: Question) -> Answer | None:
    if len(q.raw) <= bars.MAX_QUESTION_CHARS:
        return None
    return build.refusal(
        "too_long",
        f"That question is {len(q.raw):,} characters long; I read up to {bars.MAX_QUESTION_CHARS:,}. "
        "Please ask a shorter question.",
    )


def other_framework(q: Question) -> Answer | None:
    """A framework we hold no facts on, named by its longest spelling found ("PCI DSS", not "PCI"). Named in
    the asking clause, it is what is asked; named only in the context ("someone mentioned NIS2, but how much
    does ISO 27001 cost?"), the rest is answered, less sure, saying what was left aside."""
    other = _others(q, q.text, q.tokens)
    if not other:
        return None
    name = max(other, key=len)
    refusal = build.abstain(0.0, f"I hold no facts about {name}. ")
    rest = [part for part in q.clauses if not _others(q, part, q.ix.tokens(part))]
    if not rest or len(rest) == len(q.clauses) or _others(q, q.asked, q.asked_tokens):
        return refusal
    from knowledge.answer import STAGES, run

    found = run(q.half(" ".join(rest)), STAGES)
    if found.kind == "abstain":
        return refusal
    return replace(found, text=f"{found.text}\n(I hold no facts about {name}, so I left it aside.)",
                   confidence=round(found.confidence * bars.CONTEXT_FACTOR, 3))


def _others(q: Question, text: str, tokens: list[str]) -> list[str]:
    """Frameworks we hold no facts on, named in `text`: an ISO standard an FAQ entry is about is not one."""
    return q.ix.other_frameworks.hits(tokens) or [
        f"ISO {n}" for n in W.OTHER_ISO.findall(text) if n not in q.ix.known_iso]


def writing(q: Question) -> Answer | None:
    """"write me an information security policy": we answer questions, we do not write documents."""
    if not W.WRITING_ASKED.search(q.text):
        return None
    named = [name for name, score in q.controls[:2] if score >= bars.CONTROL_BAR]
    return build.abstain(0.0, "I don't write documents such as policies, plans or templates. ", tuple(named))
