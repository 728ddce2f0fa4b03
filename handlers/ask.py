"""Questions: the neutral reply for anything that is not a command, from `knowledge.answer`.

Mapping answers come back as sections too (one line per control, e.g. "Disk Encryption: A.8.1"), so
Block Kit and Adaptive Cards can show them as lists; `Reply.text` alone stays the complete answer.
Suggested follow-up questions become buttons whose value is the question itself. `previous` is the
`Reply.subject` of the last answer in the same conversation ("and for ISO?" is read as about it); the
reply carries its own subject for the next turn.
"""
from __future__ import annotations

from handlers.types import Action, Reply, Section
from knowledge.answer import Answer, answer

REFUSALS = ("empty", "too_long", "error")


def reply_for(text: str, previous: str | None = None) -> Reply:
    return reply_from(answer(text, previous))


def reply_from(result: Answer) -> Reply:
    sections = tuple(Section(title=g.title, lines=g.lines) for g in result.groups)
    actions = tuple(Action(label=s[:75], value=s) for s in result.suggestions)
    return Reply(
        text=result.text,
        sections=sections,
        actions=actions,
        ephemeral=result.kind in REFUSALS,
        kind=result.kind,
        outcome="refused" if result.kind in REFUSALS else "ok",
        subject=result.subject,
    )
