"""An FAQ entry by its words, in any phrasing."""
from __future__ import annotations

import re
from dataclasses import replace

from knowledge.answer import bars, build, rank
from knowledge.answer.build import Answer
from knowledge.answer.question import Question
from knowledge.answer.stages.control import control_fits


def faq(q: Question) -> Answer | None:
    entry, score = q.faq
    if score < bars.FAQ_BAR:
        return None
    clause = _asked_clause_instead(q, entry, score)
    if clause is not None:
        return clause
    control = q.control_score
    preferred = q.question_form and (control < bars.CONTROL_SURE or score >= control) and (
        control < bars.CONTROL_BAR or rank.speaks_of(q.ix, entry, q.controls[0][0], q.tokens))
    if not (preferred or not control_fits(q)):
        return None
    return _is_it_the_same(q, entry, score) or build.faq(q.ix, entry, score)


_YES_NO = re.compile(r"\W*(is|are|was|were)\b", re.I)
_SAME = re.compile(r"\b(same|identical|equivalent|interchangeable)\b", re.I)
_SAME_WORDS = frozenset({"same", "identical", "equivalent", "interchangeable", "thing"})
_DIFFERENCE = frozenset({"difference", "differ", "vs", "versus", "compare"})


def _is_it_the_same(q: Question, entry, score: float) -> Answer | None:
    """"Is X the same as Y?": no, and how they differ. Read as "the difference between X and Y", the entry on
    their difference answers, led by "No:", when our phrasings of it speak of a difference."""
    if not (_YES_NO.match(q.asked) and _SAME.search(q.asked)):
        return None
    reworded = [t for t in q.tokens if t not in _SAME_WORDS] + ["difference"]
    other, other_score = rank.best_faq(q.ix, reworded)
    if other is None or other_score < bars.FAQ_BAR or _DIFFERENCE.isdisjoint(q.ix.faq_words[other.id]):
        return None
    found = build.faq(q.ix, other, min(score, other_score))
    if other.id != entry.id:  # the likeness entry is a button away
        found = replace(found, suggestions=(entry.questions[0], *found.suggestions)[:bars.MAX_SUGGESTIONS])
    return replace(found, text=f"No: {found.text}")


def _asked_clause_instead(q: Question, entry, score: float) -> Answer | None:
    """The asking clause alone fits another entry clearly better than the whole message does ("Legal asked us
    this today. Does a SOC 2 report expire?"): context informs, it does not pick the entry."""
    if q.asked == q.text:
        return None
    alone = q.half(q.asked)
    other, other_score = alone.faq
    if other is None or other.id == entry.id or other_score < score + bars.FAQ_CLAUSE_LEAD:
        return None
    return build.faq(q.ix, other, other_score * bars.CONTEXT_FACTOR)


def faq_near(q: Question) -> Answer | None:
    """Nothing else answered: a question framed by SOC 2 or ISO 27001 whose words a long message dilutes still
    gets the one FAQ entry that clearly leads the others (context words we cannot place weigh against every
    entry alike), a little less sure."""
    entry, score = q.faq
    if entry is None or not (q.framed and q.question_form) or score < bars.FAQ_NEAR or (
            q.faq_margin < bars.FAQ_NEAR_LEAD):
        return None
    return build.faq(q.ix, entry, score)
