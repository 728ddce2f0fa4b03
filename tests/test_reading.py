"""Reading what is asked (issue 11, items 2 and 3): the asking clause decides, context informs and never
vetoes, the answer leads with what the question's form asks for. Each case is a pattern, in our own words."""
from __future__ import annotations

import pytest

from knowledge.answer import answer, explain
from knowledge.answer.question import Question, asking_clause, clauses, form_of
from knowledge.answer import index


@pytest.mark.parametrize("text, asked", [
    ("someone mentioned PCI at lunch, but how long does SOC 2 take?", "but how long does SOC 2 take?"),
    ("Backups (nightly, two regions) - which controls is that?", "which controls is that?"),
    ("We run a small shop. Our SOC 2 is done; which ISO controls does that give us?",
     "which ISO controls does that give us?"),
    ("what is CC6.1", "what is CC6.1"),
])
def test_the_asking_clause_is_found_among_the_context(text, asked):
    assert asking_clause(clauses(text)) == asked


@pytest.mark.parametrize("asked, form", [
    ("do we need a pen test for SOC 2?", "yes_no"), ("how long does a Type 2 take?", "how_long"),
    ("how much is ISO 27001?", "how_much"), ("is SOC 2 the same as ISO 27001?", "compare"),
    ("what is an ISMS", "define"), ("which controls cover backups?", "which"),
])
def test_the_form_of_a_question(asked, form):
    assert form_of(asked) == form


@pytest.mark.parametrize("text", [
    "Our SOC 2 report covers disk encryption; which ISO 27001 controls does that give us?",
    "We have SOC 2 and ISO 27001 in scope. Which Annex A control is the right reference for the asset inventory?",
])
def test_two_framework_names_and_a_which_ask_no_choice_when_controls_are_asked(text):
    result = answer(text)
    assert result.kind == "control", (result.kind, result.text)


def test_a_choice_asked_is_still_a_recommendation():
    assert answer("We sell in the US and in Germany; which framework should we pick first?").kind == "recommend"
    assert answer("SOC 2 or ISO 27001 for a US startup?").kind == "recommend"


def test_a_comparison_of_the_two_is_no_choice():
    why = explain("Is a SOC 2 Type 2 the same as ISO 27001 certification, or are they different?")
    assert why.stage == "same_as" and why.answer.text.startswith("No: "), why.answer.text


@pytest.mark.parametrize("text, lead", [
    ("my boss keeps saying HIPAA, but how much does ISO 27001 cost?", "$50,000"),
    ("We might need PCI DSS later. What ISO controls map to CC6.6?", "CC6.6 is a SOC 2 criterion"),
])
def test_a_framework_we_know_nothing_of_in_the_context_does_not_refuse_the_question(text, lead):
    result = answer(text)
    assert result.kind != "abstain" and lead in result.text, result.text
    assert result.text.rstrip().endswith("so I left it aside.)")
    assert result.confidence < answer(text.split(". ", 1)[-1].split("but ", 1)[-1]).confidence


def test_a_framework_we_know_nothing_of_in_the_asking_clause_is_still_refused():
    for text in ("HIPAA equivalent of CC6.1", "we have SOC 2 already, but what does HIPAA require?"):
        result = answer(text)
        assert result.kind == "abstain" and "I hold no facts about HIPAA" in result.text, text


@pytest.mark.parametrize("text, control", [
    ("Backups (nightly snapshots, one copy in another region) - which controls is that?", "Backup Schedule"),
    ("Laptops all get FileVault now (IT enforces it via MDM). What does that map to?", "Disk Encryption"),
])
def test_a_control_named_in_the_context_is_what_a_pointing_question_asks_about(text, control):
    result = answer(text)
    assert result.kind == "control" and result.text.replace("Closest controls in the mapping table:\n• ", "").startswith(
        control), result.text


def test_a_pointing_question_alone_names_no_control():
    assert answer("Ok thanks. Which controls is that?").kind == "abstain"


@pytest.mark.parametrize("text, lead", [
    ("do we need a pen test for SOC 2?",
     "Not by name: SOC 2 names no Penetration Test requirement; the article's table maps it to CC4.1 (SOC 2)."),
    ("is MFA mandatory?", "Not by name: neither SOC 2 nor ISO 27001 names a Multi-Factor Authentication"),
    ("does disk encryption count for ISO 27001?", "Yes: the article's table maps Disk Encryption to A.8.1"),
])
def test_a_yes_no_question_about_a_control_leads_with_the_answer(text, lead):
    result = answer(text)
    assert result.text.startswith(lead), result.text
    assert result.kind == "control"


def test_a_question_that_is_not_yes_no_gets_no_yes_or_no():
    assert answer("disk encryption").text.startswith("Disk Encryption — SOC 2")
    assert not answer("is a vulnerability scan enough for SOC 2?").text.startswith(("Yes", "No"))


def test_the_question_is_read_once_and_its_rankings_kept():
    q = Question(index(), "hey complybot, how long does SOC 2 take? thanks")
    assert q.text == "how long does SOC 2 take?" and q.form == "how_long" and q.frameworks == {"soc2"}
    assert q.faq_lead is q.faq_lead and q.controls is q.controls  # computed once, on first use


def test_a_category_asked_for_what_it_holds_lists_its_series():
    result = answer("what does the system operations category in SOC 2 include?")
    assert result.kind == "define" and result.text.startswith("CC7 is a SOC 2 series (System Operations)")


@pytest.mark.parametrize("text", [
    "Can you recommend a good SOC 2 auditor near Boston? Ideally one used to startups.",
    "Which compliance tool should we pick for SOC 2?",
])
def test_choosing_an_auditor_or_a_tool_is_no_framework_recommendation(text):
    assert answer(text).kind != "recommend"


def test_where_something_fits_in_is_a_mapping_not_a_choice():
    result = answer("Where would our laptop inventory (a spreadsheet, one owner each) fit in SOC 2 and ISO 27001?")
    assert result.kind == "control" and "Asset Inventory" in result.text, result.text


def test_a_demand_said_in_other_words_is_followed():
    result = answer("Our contract says ISO 27001 but the team already started SOC 2 prep. What should we do?")
    assert result.kind == "recommend" and result.text.startswith("ISO 27001 first."), result.text
    both = answer("Our US customers require SOC 2, while our EU distributor asks for ISO 27001. What's the plan?")
    assert both.text.startswith("Both"), both.text


def test_a_short_follow_on_question_does_not_take_over_the_asking():
    assert asking_clause(clauses("What does a SOC 2 audit cost, roughly? Is that normal?")) == (
        "What does a SOC 2 audit cost, roughly?")


def test_the_asking_clause_alone_names_no_control_by_a_stray_word():
    result = answer("Our auditor kept saying it in the kickoff. Can you explain how a Type 2 differs from a "
                    "Type 1 in terms of what is tested?")
    assert result.kind != "control", result.text


@pytest.mark.parametrize("text, lead", [
    ("our two largest prospects won't sign until they see a SOC 2 report", "SOC 2 first."),
    ("a bank we are onboarding with wants to see an ISO 27001 certificate first", "ISO 27001 first."),
])
def test_a_demand_said_indirectly_is_followed(text, lead):
    assert answer(text).text.startswith(lead)


def test_how_many_now_and_before_gives_both_numbers():
    result = answer("How many Annex A controls did the 2013 version have, and how many does 2022 have?")
    assert "114" in result.text and "93" in result.text, result.text


@pytest.mark.parametrize("text, words", [
    ("is SOC 2 the same as ISO 27001?", "ISMS"), ("is a type 1 the same as a type 2?", "operating effectiveness"),
])
def test_is_x_the_same_as_y_answers_no_and_how_they_differ(text, words):
    result = answer(text)
    assert result.text.startswith("No: ") and words in result.text, result.text


def test_a_trailing_mapping_question_reads_the_question_before_it():
    result = answer("do we need a VPN for soc 2 or is a bastion host enough? whats the mapping")
    assert result.kind == "control" and "Virtual Private Network — SOC 2" in result.text, result.text


def test_an_aside_in_parentheses_does_not_hide_the_control():
    result = answer("Which controls cover reviewing our vendors' own SOC 2 reports each year (AWS, Stripe, etc.)?")
    assert result.kind == "control" and "Third-Party SOC 2 Reviews" in result.text, result.text


def test_a_mapping_word_does_not_take_a_question_an_faq_entry_answers():
    result = answer("Which controls are new in ISO 27001:2022? I need the list for our transition plan.")
    assert result.kind == "faq" and "A.5.7" in result.text, result.text


def test_the_asking_clause_picks_the_faq_entry_when_it_fits_another_clearly_better():
    whole = "Last time you said a SOC 2 Type 1 takes about 45 days. Now for ISO 27001: how long does certification take?"
    assert answer(whole).text.startswith("Plan for two months to two years"), answer(whole).text
