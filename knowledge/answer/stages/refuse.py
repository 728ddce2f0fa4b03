"""Refusals before reading: nothing asked, too long, a framework we hold no facts on, a document to write."""
from __future__ import annotations

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
    """A framework we hold no facts on, named by its longest spelling found ("PCI DSS", not "PCI")."""
    other = q.ix.other_frameworks.hits(q.tokens) or [f"ISO {n}" for n in W.OTHER_ISO.findall(q.text)]
    if not other:
        return None
    return build.abstain(0.0, f"I hold no facts about {max(other, key=len)}. ")


def writing(q: Question) -> Answer | None:
    """"write me an information security policy": we answer questions, we do not write documents."""
    if not W.WRITING_ASKED.search(q.text):
        return None
    named = [name for name, score in q.controls[:2] if score >= bars.CONTROL_BAR]
    return build.abstain(0.0, "I don't write documents such as policies, plans or templates. ", tuple(named))
