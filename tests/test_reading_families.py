"""Families of real messages the pipeline reads by mechanism, not by wording: each case is a wording of our own
(in no question set), and each family is a rule a stage or the ranking follows."""
from __future__ import annotations

import pytest

from knowledge.answer import answer, explain


@pytest.mark.parametrize("question, control", [
    ("How do SOC 2 and ISO 27001 treat segregation of duties at a small startup (approvals need two people)?",
     "Segregation of Duties"),
    ("How do the frameworks handle background checks at a small company (we need contractors vetted too)?",
     "Background Check"),
])
def test_an_aside_asks_no_choice(question, control):
    """A "need" or "small" inside parentheses is context: "how do they cover X" stays a question about X."""
    why = explain(question)
    assert why.stage != "recommend" and why.answer.kind == "control" and control in why.answer.text, why.answer.text


@pytest.mark.parametrize("question, entry_words", [
    ("Who certifies ISO 27001 in practice? We already have disk encryption and MFA everywhere.",
     "certification body"),
    ("Who audits us for SOC 2 in the end? Security training and background checks are already running.", "CPA"),
])
def test_controls_named_in_the_context_do_not_answer_the_asked_clause(question, entry_words):
    """The asking clause alone fits an FAQ entry better than the context names a control: the entry answers."""
    found = answer(question)
    assert found.kind == "faq" and entry_words in found.text, found.text
