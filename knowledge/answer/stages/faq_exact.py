"""One of our FAQ phrasings, word for word (with any "the", "please", "thanks" around it)."""
from __future__ import annotations

from knowledge.answer import build
from knowledge.answer import words as W
from knowledge.answer.build import Answer
from knowledge.answer.index import key
from knowledge.answer.question import Question


def exact(q: Question) -> Answer | None:
    found = q.ix.faq_exact.get(key(q.tokens))
    return build.faq(q.ix, q.ix.faq_by_id[found], 1.0) if found else None


def faq_exact(q: Question) -> Answer | None:
    """Before a recommendation only when no choice is asked ("why would a customer ask for iso 27001")."""
    return None if W.CHOOSING.search(q.text) else exact(q)
