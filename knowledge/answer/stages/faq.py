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


def faq_near(q: Question) -> Answer | None:
    """Nothing else answered: a question framed by SOC 2 or ISO 27001 whose words a long message dilutes still
    gets the one FAQ entry that clearly leads the others (context words we cannot place weigh against every
    entry alike), a little less sure."""
    entry, score = q.faq
    if entry is None or not (q.framed and q.question_form) or score < bars.FAQ_NEAR or (
            q.faq_margin < bars.FAQ_NEAR_LEAD):
        return None
    return build.faq(q.ix, entry, score)
