"""Two questions joined by "and" ("how long does SOC 2 take and how much does it cost?"): both FAQ answers."""
from __future__ import annotations

from knowledge.answer import build
from knowledge.answer import words as W
from knowledge.answer.build import Answer
from knowledge.answer.question import Question


_JOINTS = ("and", "also", "plus", "&")  # words.SECOND_QUESTION splits only at one of these


def two_questions(q: Question) -> Answer | None:
    """Each half a question of its own that an FAQ entry answers (the framework named once counts for both)."""
    from knowledge.answer import answer_words

    low = q.text.lower()
    if not any(joint in low for joint in _JOINTS):  # no word the split could be made at
        return None
    halves = W.SECOND_QUESTION.split(q.text, maxsplit=1)
    if len(halves) != 2:
        return None
    first = q.half(halves[0])
    head = answer_words(first)
    if head.kind != "faq":  # (the second half is not read then)
        return None
    named = [t for t in first.tokens if t in W.FRAMEWORK_WORD]
    second = q.half(halves[1])
    if not any(t in W.FRAMEWORK_WORD for t in second.tokens):
        second = q.half(f"{halves[1]} {' '.join(named)}")
    parts = [head, answer_words(second)]
    if parts[1].kind != "faq" or parts[0].text == parts[1].text:
        return None
    return build.merge(parts, "\n\n".join(part.text for part in parts))
