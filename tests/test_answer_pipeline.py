"""The answer engine as a pipeline (knowledge/answer/): the index is built in one pure pass, every stage
answers its own kind of question, `explain` says which stage answered."""
from __future__ import annotations

import dataclasses

import pytest

from knowledge.answer import STAGES, answer, explain, index
from knowledge.answer.index import Index


def test_the_index_is_frozen_and_the_speller_knows_every_word_of_our_data():
    ix = index()
    assert isinstance(ix, Index)
    with pytest.raises(dataclasses.FrozenInstanceError):
        ix.faq = None  # type: ignore[misc]
    # "System Operations" is a SOC 2 category: its words are ours, never spell-fixed into others
    assert ix.speller.fix("operations") == "operations"


def test_a_category_word_is_not_fixed_into_another_word_of_ours():
    result = answer("what is system operations in soc 2")
    assert result.kind == "define" and "CC7 is a SOC 2 series (System Operations)" in result.text, result.text


def test_a_reviewed_control_keeps_the_tables_references_and_adds_one_review_note():
    result = answer("encryption at rest")
    table, *notes = result.text.split("\nReview note: ")
    assert table == "Encryption at Rest — SOC 2: CC6.1, PI1.5 · ISO 27001:2022: A.5.34"
    assert len(notes) == 1 and notes[0].startswith("our review of the table adds Encryption at Rest: A.8.24, ")
    assert "cryptography" in notes[0] and "A.8.24" not in result.refs  # refs stay the table's


def test_a_mapping_answer_notes_the_review_only_on_the_side_it_lists():
    iso_side = answer("CC6.1 iso").text
    assert iso_side.count("Review note:") == 1 and "Disk Encryption: A.8.24" in iso_side.split("Review note:")[1]
    assert "Review note:" not in answer("A.8.24 soc 2").text  # the review adds no SOC 2 criterion there


def test_a_control_the_review_leaves_alone_has_no_note():
    assert "Review note:" not in answer("background check").text


@pytest.mark.parametrize("typed, ours", [("per", "peru"), ("uses", "users"), ("critical", "criminal"),
                                         ("march", "match"), ("slide", "side"), ("fines", "finds"),
                                         ("product", "production"), ("treat", "threat"), ("reset", "rest")])
def test_everyday_words_are_not_fixed_into_words_of_ours(typed, ours):
    assert index().speller.fix(typed) == typed != ours


def test_a_row_of_a_spreadsheet_is_no_market():
    result = answer("Where would our asset register (a sheet with one owner per row) fit in SOC 2 and ISO 27001?")
    assert "peru" not in result.text.lower()
