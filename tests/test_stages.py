"""Every stage of the pipeline answers its own kind of question: one question per stage, and `explain` names
the stage that answered it. A stage added to STAGES without a case here fails the last test."""
from __future__ import annotations

import pytest

from knowledge.answer import STAGES, answer, explain

CASES = {  # stage -> (question, the answer's kind)
    "empty": ("   ", "empty"),
    "too_long": ("why " * 1200, "too_long"),
    "other_framework": ("what does PCI DSS require for passwords?", "abstain"),
    "writing": ("write me an information security policy", "abstain"),
    "refs": ("CC6.1 iso", "iso_for_soc2"),
    "faq_exact": ("What is a Statement of Applicability?", "faq"),
    "recommend": ("which framework for a US startup?", "recommend"),
    "category": ("which ISO controls cover availability", "define"),
    "two_questions": ("how long does SOC 2 take and how much does it cost?", "faq"),
    "asked_mapping": ("We replicate our database to a standby in another zone. What does that map to?", "control"),
    "topic": ("what is confidentiality", "faq"),
    "title": ("information security roles and responsibilities", "soc2_for_iso"),
    "same_as": ("Is a SOC 1 report the same thing as a SOC 2 report?", "faq"),
    "faq": ("how long does an iso audit take", "faq"),
    "control": ("disk encryption", "control"),
    "title_near": ("secure coding rules", "unmapped_iso"),
    "context": ("What does an ISO 27001 audit cost, roughly? Finance wants a figure for the budget.", "faq"),
    "described": ("we're a startup selling to US banks", "recommend"),
    "faq_near": ("Can SOC 2 and ISO 27001 be run together, or do we need two separate programmes?", "faq"),
}


@pytest.mark.parametrize("stage", sorted(CASES))
def test_each_stage_answers_its_case(stage):
    question, kind = CASES[stage]
    why = explain(question)
    assert (why.stage, why.answer.kind) == (stage, kind), why.answer.text
    assert why.answer == answer(question)  # explain answers as answer does


def test_the_follow_up_stage_answers_about_the_previous_subject():
    previous = answer("MFA in SOC 2?").subject
    why = explain("and for ISO?", previous)
    assert why.stage == "follow_up" and why.answer.kind == "control"


def test_explain_lists_the_later_stages_that_would_answer():
    why = explain("what is system operations in soc 2")
    assert why.stage == "topic" and "control" in [stage for stage, _, _ in why.runners_up]
    assert all(0.0 <= confidence <= 1.0 for _, _, confidence in why.runners_up)


def test_nothing_answered_is_the_abstention():
    why = explain("how do I make pasta")
    assert why.stage == "abstain" and why.answer.kind == "abstain" and not why.runners_up


def test_every_stage_has_a_case():
    assert {name for name, _ in STAGES} == set(CASES) | {"follow_up"}
