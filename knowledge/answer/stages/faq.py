"""An FAQ entry by its words, in any phrasing."""
from __future__ import annotations

import re
from dataclasses import replace

from knowledge import lexicon
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
    return build.faq(q.ix, entry, score)


_SAME_WORDS = frozenset({"same", "identical", "equivalent", "interchangeable", "thing"})
_DIFFERENCE = frozenset({"difference", "differ", "vs", "versus", "compare"})


def same_as(q: Question) -> Answer | None:
    """"Is X the same as Y?" Read as "the difference between X and Y", the entry on their difference answers,
    led by "No:", when our phrasings of it speak of a difference (the likeness entry a button away); else the
    entry that speaks of both X and Y ("is a readiness assessment the same thing as a gap analysis?": the one
    that says they are one step by two names). The context of the message does not pick the entry."""
    if not _LIKE_WORD.search(q.asked):  # (the cheap look first)
        return None
    sides = next((found for pattern in _SAME_SIDES if (found := pattern.match(q.asked))), None)
    if sides is None:
        return None
    asked = [t for t in q.asked_tokens if t not in _SAME_WORDS]
    other, other_score = rank.best_faq(q.ix, [*asked, "difference"])
    if other is not None and other_score >= bars.FAQ_BAR and not _DIFFERENCE.isdisjoint(q.ix.faq_words[other.id]):
        entry, score = rank.best_faq(q.ix, asked)
        found = build.faq(q.ix, other, other_score if entry is None else min(score, other_score))
        if entry is not None and entry.id != other.id:
            found = replace(found, suggestions=(entry.questions[0], *found.suggestions)[:bars.MAX_SUGGESTIONS])
        return replace(found, text=f"No: {found.text}")
    entry, score = rank.best_faq(q.ix, asked)
    if entry is None or score < bars.FAQ_BAR:
        return None
    said = q.ix.faq_words[entry.id]
    both = all(not said.isdisjoint(lexicon.content(q.ix.tokens(side))) for side in sides.group("x", "y"))
    return build.faq(q.ix, entry, score) if both else None


_LIKE = r"(?:the\s+)?(?:same|identical|equivalent|interchangeable)\b"
_LIKE_WORD = re.compile(r"\b(?:same|identical|equivalent|interchangeable)\b", re.I)
_SAME_SIDES = (  # "is X the same (thing) as Y", "are X and Y the same (standard)"
    re.compile(rf"\W*(?:is|are|was|were)\s+(?P<x>.+?)\s+{_LIKE}(?:\s+thing)?\s+(?:as|to|with)\s+(?P<y>[^?,.;]+)", re.I),
    re.compile(rf"\W*(?:is|are|was|were)\s+(?P<x>[^?,.;]+?)\s+and\s+(?P<y>[^?,.;]+?)\s+{_LIKE}", re.I))


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
