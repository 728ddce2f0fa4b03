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


@pytest.mark.parametrize("question, control", [
    ("Our admins all carry YubiKeys now. What does that map to in ISO?", "Multi-Factor Authentication"),
    ("we turned on dependabot for every repo last week; which soc 2 control is it?", "Patch Management"),
    ("Managers recertify access for their teams twice a year - which controls is that?", "User Access Review"),
])
def test_tools_and_everyday_names_of_a_control(question, control):
    """A tool or an everyday name of a control (synonyms.toml) names it like its own name does."""
    found = answer(question)
    assert found.kind == "control" and control in found.text, found.text


@pytest.mark.parametrize("question, control", [
    ("Our office doors all need a badge now. Which controls cover that in both frameworks?", "Physical Access"),
    ("Laptops lock after ten idle minutes now; what are the controls for that in each framework?",
     "Workstation Lockout"),
])
def test_both_frameworks_named_as_where_asks_no_choice(question, control):
    """"in both frameworks" says where a mapping is asked, not that a framework is to be chosen."""
    why = explain(question)
    assert why.stage != "recommend" and why.answer.kind == "control" and control in why.answer.text, why.answer.text


@pytest.mark.parametrize("question, entry_words", [
    ("what is a bridge letter, in two sentences", "management"),
    ("What is ISO 27001 in one sentence", "certification"),
])
def test_a_length_asked_for_is_no_part_of_the_question(question, entry_words):
    """"in two sentences", "in a couple of lines": how short to answer, not what is asked."""
    found = answer(question)
    assert found.kind == "faq" and entry_words in found.text, found.text


@pytest.mark.parametrize("question, entry_words", [
    ("what is soc 2, explained for two founders", "attestation report"),
    ("what's ISO 27001, one paragraph for our CEO", "internationally recognised"),
])
def test_what_is_defined_ends_where_an_aside_begins(question, entry_words):
    """"what is X, <an aside that asks nothing>": X is what is asked; the aside's words pick no other entry."""
    found = answer(question)
    assert found.kind == "faq" and entry_words in found.text, found.text


def test_an_aside_that_asks_again_is_a_second_question():
    found = answer("What is SOC 2, and how long does a Type 1 take?")
    assert "attestation" in found.text and "45 days" in found.text, found.text


@pytest.mark.parametrize("question, control", [
    ("We locked down production last month: just three people have the keys now. Which controls does that give us?",
     "Privileged Access"),
    ("only the DBAs can reach the prod database these days - what control is that", "Privileged Access"),
    ("our new hires do phishing training in week one, which criteria does that meet?", "Security Training"),
])
def test_a_control_described_before_the_asking_clause_is_what_it_asks_about(question, control):
    """Production locked down to a few people, or training done, said before ", which controls is that?" (a
    question for controls after a comma asks about what came before it), is the control asked about."""
    found = answer(question)
    assert found.kind == "control" and control in found.text, found.text


@pytest.mark.parametrize("question, entry_words", [
    ("Is a gap analysis the same thing as a readiness assessment? A consultant is pitching us one.", "readiness"),
    ("Are ISO 27001 and ISO 27002 the same standard? Our auditor keeps citing the second one.", "guidance"),
])
def test_is_x_the_same_as_y_answers_from_the_entry_on_both(question, entry_words):
    """"Is X the same as Y?" whose message's other words pull elsewhere: the asking clause is read alone, by the
    entry on their difference, or else the one that speaks of both X and Y."""
    why = explain(question)
    assert why.stage == "same_as" and entry_words in why.answer.text, why.answer.text
