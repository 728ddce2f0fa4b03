"""An FAQ entry by its words, in any phrasing."""
from __future__ import annotations

from knowledge.answer import bars, build, rank
from knowledge.answer.build import Answer
from knowledge.answer.question import Question
from knowledge.answer.stages.control import control_fits


def faq(q: Question) -> Answer | None:
    entry, score = q.faq
    if score < bars.FAQ_BAR:
        return None
    control = q.control_score
    preferred = q.question_form and (control < bars.CONTROL_SURE or score >= control) and (
        control < bars.CONTROL_BAR or rank.speaks_of(q.ix, entry, q.controls[0][0], q.tokens))
    return build.faq(q.ix, entry, score) if preferred or not control_fits(q) else None
