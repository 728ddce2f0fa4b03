"""Every spelling of a reference people type is read deterministically and written canonically."""
from __future__ import annotations

import pytest

from knowledge.references import Ref, find_refs


@pytest.mark.parametrize(
    "typed, kind, canonical",
    [
        # SOC 2 common criteria
        ("CC6.1", "soc2", "CC6.1"),
        ("cc 6.1", "soc2", "CC6.1"),
        ("CC-6.1", "soc2", "CC6.1"),
        ("CC 6.1", "soc2", "CC6.1"),
        ("cc6.1", "soc2", "CC6.1"),
        ("CC 9 . 2", "soc2", "CC9.2"),
        ("CC6-1", "soc2", "CC6.1"),
        ("CC 06.1", "soc2", "CC6.1"),
        ("cc6,1", "soc2", "CC6.1"),  # a decimal comma
        ("pi1-5", "soc2", "PI1.5"),
        # SOC 2 Availability is A1.x: no dot after the A
        ("A1.2", "soc2", "A1.2"),
        ("A 1.2", "soc2", "A1.2"),
        ("a1.3", "soc2", "A1.3"),
        ("A-1.1", "soc2", "A1.1"),
        # Processing Integrity, Privacy, Confidentiality
        ("PI1.5", "soc2", "PI1.5"),
        ("PI 1.5", "soc2", "PI1.5"),
        ("pi-1.4", "soc2", "PI1.4"),
        ("P4.2", "soc2", "P4.2"),
        ("P 8.1", "soc2", "P8.1"),
        ("C1.1", "soc2", "C1.1"),
        ("c 1.2", "soc2", "C1.2"),
        # ISO 27001:2022 Annex A
        ("A.8.1", "iso", "A.8.1"),
        ("a.8.19", "iso", "A.8.19"),
        ("Annex A 8.1", "iso", "A.8.1"),
        ("Annex A.8.9.", "iso", "A.8.9"),
        ("annex a.5.23", "iso", "A.5.23"),
        ("A 8.1", "iso", "A.8.1"),
        ("A8.1", "iso", "A.8.1"),
        ("A-8.5", "iso", "A.8.5"),
        ("A.5.1", "iso", "A.5.1"),
        # an ISO-style A.1.x (dot after A, or "Annex") is ISO, never SOC 2 Availability
        ("A.1.2", "iso", "A.1.2"),
        ("Annex A 1.2", "iso", "A.1.2"),
        # clauses
        ("Clause 6.1.3", "clause", "Clause 6.1.3"),
        ("clause.7.3", "clause", "Clause 7.3"),
        ("Clause.5.2", "clause", "Clause 5.2"),
        ("clause 9.2", "clause", "Clause 9.2"),
        ("section 8.2", "clause", "Clause 8.2"),
        ("§ 6.1.2", "clause", "Clause 6.1.2"),
        # ISO 27001:2013: three numbers
        ("A.9.4.2", "iso2013", "A.9.4.2"),
        ("A.12.6.1", "iso2013", "A.12.6.1"),
        ("Annex A 9.2.1", "iso2013", "A.9.2.1"),
        ("a.5.1.1", "iso2013", "A.5.1.1"),
        # well-formed but unknown: parsed, the engine says it does not know them
        ("CC9.9", "soc2", "CC9.9"),
        ("A.9.99", "iso", "A.9.99"),
        ("A.8.99", "iso", "A.8.99"),
    ],
)
def test_spelling_is_read_canonically(typed, kind, canonical):
    assert find_refs(typed) == [Ref(kind, canonical)]
    assert find_refs(f"what maps to {typed}?") == [Ref(kind, canonical)]


def test_a_bare_three_part_number_is_a_possible_clause():
    assert find_refs("what does 6.1.3 map to") == [Ref("clause", "Clause 6.1.3", bare=True)]


@pytest.mark.parametrize(
    "text",
    [
        "ISO 27001:2022 vs SOC 2 Type 1.",
        "SOC 2 Type 2 takes 2.5 months",
        "data 8.1",  # an "a" inside a word is no Annex A
        "soc 2.1",  # "c" inside "soc" is no Confidentiality criterion
        "10.0.0.1",  # an address is no clause
        "CC6.1.3",  # no such shape
        "version 2024.01.05",
        "CC6, 7 and 8",  # a comma and a space list series, not a criterion
        "",
    ],
)
def test_text_without_references(text):
    assert find_refs(text) == []


def test_several_references_in_order_without_repeats():
    found = find_refs("A.5.1.1 and A.8.5, cc6.1, CC 6.1 and Clause 9.2.1")
    assert [r.ref for r in found] == ["A.5.1.1", "A.8.5", "CC6.1", "Clause 9.2.1"]
    assert [r.kind for r in found] == ["iso2013", "iso", "soc2", "clause"]


def test_the_article_table_spellings():
    assert [r.ref for r in find_refs("CC 2.1, CC 6.1, C 1.1")] == ["CC2.1", "CC6.1", "C1.1"]
    assert [r.ref for r in find_refs("CC 7.5, A 1.2, PI 1.5")] == ["CC7.5", "A1.2", "PI1.5"]
    assert [r.ref for r in find_refs("Annex A.8.9., Annex A.8.19")] == ["A.8.9", "A.8.19"]
    assert [r.ref for r in find_refs("Annex A.5.4, Annex A.6.4, Clause.7.3")] == ["A.5.4", "A.6.4", "Clause 7.3"]
