"""Reading the asking clause apart from its context. `asked_mapping`: an asking clause that asks for controls
names one itself, or points back to the clause that does ("Backups (nightly snapshots) - which controls is
that?"). `context`: when the whole message found no answer, the asking clause alone ("..., but how long does a
Type 1 take?"). Context informs; it never vetoes the asked clause. Such an answer is less sure and says which
of the message's words it could not place."""
from __future__ import annotations

import re
from dataclasses import replace

from knowledge.answer import bars, build
from knowledge.answer.build import Answer
from knowledge.answer.question import Question, without_parentheses
from knowledge.answer.index import control_words
from knowledge.answer.stages.control import control_fits

_POINTING = re.compile(r"\b(that|this|it|these|those|them|they)\b", re.I)
_NAMES = {"soc2": "SOC 2", "iso": "ISO 27001"}


def context(q: Question) -> Answer | None:
    if len(q.clauses) < 2:
        return None
    from knowledge.answer import WORD_STAGES, first_answer

    asked = q.asked  # (an asking clause that points back for a mapping was read by asked_mapping)
    named = " ".join(_NAMES[f] for f in sorted(q.frameworks))
    alone = q.half(asked)
    alone = alone if alone.frameworks or not named else q.half(f"{asked} ({named})")
    found = first_answer(alone, WORD_STAGES)
    if found is not None and found.kind == "control" and not q.mapping_asked and (
            alone.control_score < bars.CONTROL_SURE):
        found = None  # "can you explain how a Type 2 differs ... in terms of ...": no control asked or named
    if found is None:
        return None
    return _less_sure(found, q)


def asked_mapping(q: Question) -> Answer | None:
    """A message with a clause asking for controls ("... What does that map to?", "Which SOC 2 criteria is
    offboarding tied to?", "... enough? whats the mapping"): the control that clause names, or, when it points
    back or names nothing of its own, the one another clause names best; before any FAQ entry the whole
    message's words resemble."""
    if len(q.clauses) < 2 and "(" not in q.text:
        return None
    from knowledge.answer import WORD_STAGES, first_answer

    asking = [part for part in q.clauses if q.asks_mapping(part)]
    answered = set()  # clauses naming no control that the words stages answer alone
    for part in asking:  # the clause, then without its asides ("(AWS, Stripe, etc.)"), read as the words stages
        named = bool(control_words(q.half(part).tokens))  # naming none, it gives no control answer: whether
        if not named and _POINTING.search(part):  # it is answered matters only when it does not point back
            continue
        for alone in dict.fromkeys((q.half(part), q.half(without_parentheses(part)))):  # would read it alone
            if alone.text == q.text:
                continue
            fits = named and control_fits(alone)
            if named and not fits:  # no control answer, and nothing else about this clause matters below
                continue
            found = first_answer(alone, WORD_STAGES)
            if found is not None and found.kind == "control" and fits:
                return _less_sure(found, q)
            if found is not None:
                answered.add(part)
    pointing = [part for part in asking if _POINTING.search(part) or (
        part not in answered and not control_words(q.half(part).tokens))]
    found = _pointed_back(q, pointing[-1]) if pointing else None
    return _less_sure(found, q) if found else None


def _pointed_back(q: Question, asked: str) -> Answer | None:
    """"Backups (nightly snapshots) - which controls is that?": the other clause that names a control best,
    read together with the question."""
    best = None
    for part in q.clauses:
        if part == asked:
            continue
        pointed = q.joined(asked, without_parentheses(part))  # asked first: it is a question to us
        if pointed.control_score >= bars.POINTED_BAR and (best is None or pointed.control_score > best.control_score):
            best = pointed
    return build.controls(q.ix, best.controls) if best else None


def _less_sure(found: Answer, q: Question) -> Answer:
    unplaced = list(dict.fromkeys(q.unplaced))[:4]
    note = f"\n(I could not place: {', '.join(unplaced)}.)" if unplaced else ""
    return replace(found, text=found.text + note, confidence=round(found.confidence * bars.CONTEXT_FACTOR, 3))
