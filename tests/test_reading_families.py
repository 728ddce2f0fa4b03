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


# families of this round, one row per wording: (family, question, the control or FAQ words the answer holds)
# - tools: a tool or an everyday name of a control (synonyms.toml) names it like its own name does
# - where: "in both frameworks" says where a mapping is asked, not that a framework is to be chosen
# - described: a control described before ", which controls is that?" (a question for controls after a comma
#   asks about what came before it) is the control asked about
CONTROL_FAMILIES = [
    ("tools", "Our admins all carry YubiKeys now. What does that map to in ISO?", "Multi-Factor Authentication"),
    ("tools", "we turned on dependabot for every repo last week; which soc 2 control is it?", "Patch Management"),
    ("tools", "Managers recertify access for their teams twice a year - which controls is that?", "User Access Review"),
    ("where", "Our office doors all need a badge now. Which controls cover that in both frameworks?", "Physical Access"),
    ("where", "Laptops lock after ten idle minutes now; what are the controls for that in each framework?",
     "Workstation Lockout"),
    ("described", "We locked down production last month: just three people have the keys now. Which controls does "
     "that give us?", "Privileged Access"),
    ("described", "only the DBAs can reach the prod database these days - what control is that", "Privileged Access"),
    ("described", "our new hires do phishing training in week one, which criteria does that meet?", "Security Training"),
]


@pytest.mark.parametrize("family, question, control", CONTROL_FAMILIES)
def test_a_control_named_by_how_people_say_it(family, question, control):
    why = explain(question)
    assert why.stage != "recommend" and why.answer.kind == "control" and control in why.answer.text, (
        family, why.answer.text)


# - length: "in two sentences", "in one line" say how short to answer, not what is asked
# - hedge: words of how people ask ("honestly", "actually", "typically") that no phrasing uses weigh nothing
#   against an entry, unlike a word of another subject
# - aside: "what is X, <an aside that asks nothing>": X is what is asked; the aside's words pick no other entry
FAQ_FAMILIES = [
    ("length", "what is a bridge letter, in two sentences", "management"),
    ("length", "What is ISO 27001 in one sentence", "certification"),
    ("hedge", "honestly, what are the biggest ISO 27001 mistakes people make going in?", "one-and-done"),
    ("hedge", "is soc 2 honestly worth it for a tiny startup or just a sales thing", "customer trust"),
    ("aside", "what is soc 2, explained for two founders", "attestation report"),
    ("aside", "what's ISO 27001, one paragraph for our CEO", "internationally recognised"),
]


@pytest.mark.parametrize("family, question, entry_words", FAQ_FAMILIES)
def test_an_faq_entry_asked_with_words_around_it(family, question, entry_words):
    found = answer(question)
    assert found.kind == "faq" and entry_words in found.text, (family, found.text)


def test_an_aside_that_asks_again_is_a_second_question():
    found = answer("What is SOC 2, and how long does a Type 1 take?")
    assert "attestation" in found.text and "45 days" in found.text, found.text


@pytest.mark.parametrize("question, entry_words", [
    ("Is a gap analysis the same thing as a readiness assessment? A consultant is pitching us one.", "readiness"),
    ("Are ISO 27001 and ISO 27002 the same standard? Our auditor keeps citing the second one.", "guidance"),
])
def test_is_x_the_same_as_y_answers_from_the_entry_on_both(question, entry_words):
    """"Is X the same as Y?" whose message's other words pull elsewhere: the asking clause is read alone, by the
    entry on their difference, or else the one that speaks of both X and Y."""
    why = explain(question)
    assert why.stage == "same_as" and entry_words in why.answer.text, why.answer.text
