"""Follow-ups: `answer(text, previous=subject)` reads "and for ISO?", "the SOC 2 side of that", "why?" and
"what about A.8.24" as about the previous answer's subject; every answer carries its subject."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from handlers.ask import reply_for
from knowledge.answer import answer
from knowledge.catalog import catalog
from tests.judge import judge


def turns(*questions):
    previous, found = None, []
    for question in questions:
        result = answer(question, previous)
        found.append(result)
        previous = result.subject
    return found


def test_every_answer_has_a_compact_json_subject():
    for question, kind, key in [("MFA in SOC 2?", "control", "controls"), ("CC6.1 iso", "iso_for_soc2", "refs"),
                                ("how long does SOC 2 take?", "faq", "faq"), ("", "empty", "kind")]:
        text = answer(question).subject
        subject = json.loads(text)
        assert subject["kind"] == kind and subject[key], (question, subject)
        assert text == json.dumps(subject, separators=(",", ":"))  # compact


def test_and_for_iso_after_a_control_leads_with_its_iso_side():
    first, second = turns("MFA in SOC 2?", "and for ISO?")
    mfa = catalog().control("Multi-Factor Authentication")
    assert second.kind == "control"
    assert second.text.startswith(f"ISO 27001:2022 for Multi-Factor Authentication: {', '.join(mfa.iso)}")
    assert "ISO/IEC 27001 is an internationally recognised" not in second.text
    alone = answer("and for ISO?")  # without a previous subject: a question of its own
    assert alone.kind == "faq" and "ISO/IEC 27001" in alone.text


def test_the_soc2_side_of_a_mapping_answers_the_same_reference():
    first, second = turns("what about A.8.24", "the SOC 2 side of that")
    assert second.kind == "soc2_for_iso" and second.refs == first.refs


def test_and_for_iso_after_an_faq_answers_the_same_question_of_iso():
    first, second = turns("how long does a SOC 2 Type 2 take?", "and for ISO?")
    assert first.kind == second.kind == "faq"
    assert json.loads(second.subject)["faq"] != json.loads(first.subject)["faq"]
    assert "ISO 27001" in second.text.split(".")[0]


def test_why_after_a_recommendation_gives_its_reasons():
    first, second = turns("we are a US startup, which framework?", "why?")
    assert first.kind == second.kind == "recommend"
    assert second.text.startswith("SOC 2 is the usual first choice")


def test_what_about_a_reference_after_a_control_says_whether_the_table_maps_them():
    first, second = turns("encryption at rest", "what about A.8.24")
    assert second.kind == "soc2_for_iso"
    assert second.text.startswith("No: the table does not map Encryption at Rest to A.8.24.")
    first, second = turns("disk encryption", "what about A.8.1")
    assert second.text.startswith("Yes: the table maps Disk Encryption to A.8.1.")


@pytest.mark.parametrize("previous", ["", "not json", "[1, 2]", '{"kind": "control", "controls": ["Nope"]}'])
def test_an_unreadable_or_unknown_subject_is_no_subject(previous):
    assert answer("and for ISO?", previous).text == answer("and for ISO?").text


def test_a_question_of_its_own_ignores_the_previous_subject():
    previous = answer("MFA in SOC 2?").subject
    assert answer("how much does ISO 27001 cost?", previous).text == answer("how much does ISO 27001 cost?").text


def test_the_chat_reply_passes_the_subject_through():
    first = reply_for("MFA in SOC 2?")
    assert json.loads(first.subject)["controls"][0] == "Multi-Factor Authentication"
    second = reply_for("and for ISO?", previous=first.subject)
    assert second.text.startswith("ISO 27001:2022 for Multi-Factor Authentication")


def _pairs() -> list[dict]:
    path = Path(__file__).parent / "data" / "follow_ups.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.mark.parametrize("pair", _pairs(), ids=lambda pair: f"{pair['first']} -> {pair['then']}")
def test_the_follow_up_set_is_answered_about_the_first_turn(pair):
    """tests/data/follow_ups.jsonl: the second turn, given the first turn's subject, judged by the scorer's rules."""
    previous = answer(pair["first"]).subject
    result = answer(pair["then"], previous)
    assert judge({**pair, "first": pair.get("expect_first")}, result.text), result.text
