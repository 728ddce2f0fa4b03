"""A follow-up about the previous answer's subject: "and for ISO?", "what about A.8.24", "the SOC 2 side of
that", "why?". Only a short question that names nothing of its own is read as one."""
from __future__ import annotations

from knowledge.answer.build import Answer
from knowledge.answer.question import Question


def follow_up(q: Question) -> Answer | None:
    return None
