"""One of our FAQ phrasings, word for word (with any "the", "please", "thanks" around it)."""
from __future__ import annotations

from knowledge import lexicon
from knowledge.answer import build
from knowledge.answer import words as W
from knowledge.answer.build import Answer
from knowledge.answer.index import key
from knowledge.answer.question import Question


def exact(q: Question) -> Answer | None:
    """The whole text, or its asking clause ("Which controls are new in ISO 27001:2022? I need the list for our
    plan."), is one of our phrasings word for word."""
    found = q.ix.faq_exact.get(key(q.tokens))
    if not found and q.asked != q.text and _own_subject(q.asked_tokens):
        found = q.ix.faq_exact.get(key(q.asked_tokens))
    return build.faq(q.ix, q.ix.faq_by_id[found], 1.0) if found else None


def _own_subject(tokens: list[str]) -> bool:
    """Words beyond frameworks and mapping: "SOC 2 and ISO mapping for that?" is about the clause before it."""
    return any(t not in W.MAPPING_WORDS and t not in W.MAPPING_ASK for t in lexicon.content(tokens))


def faq_exact(q: Question) -> Answer | None:
    """Before a recommendation only when no choice is asked ("why would a customer ask for iso 27001")."""
    return None if W.CHOOSING.search(q.text) else exact(q)
