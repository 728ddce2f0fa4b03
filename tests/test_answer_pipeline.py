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
