"""The FAQ entries beyond the article (what auditors and the standards settle): each is reached by a
natural question, names a public primary source, gives both figures where the article's differs, and
leaves legal advice and frameworks we hold no facts on "outside what I know"."""
from __future__ import annotations

import re

import pytest

from knowledge.answer import answer
from knowledge.faq import knowledge

# entry id -> a question as people ask it (none of them is one of the entry's own phrasings)
NATURAL = {
    "iso-stage1-stage2": "what's the difference between the stage 1 and stage 2 audit for iso 27001?",
    "iso-transition-deadline": "what was the deadline to transition our certificate to iso 27001:2022?",
    "soc2-report-opinions": "our auditor said we might get a qualified opinion, what does that mean?",
    "soc2-bridge-letter": "a customer asked us for a bridge letter, what is that?",
    "soc2-subservice-organizations": "should we use the carve-out method for AWS in our soc 2?",
    "soc2-cuecs": "what are the CUECs listed in our vendor's soc 2 report?",
    "soc2-management-assertion": "who signs management's assertion in a soc 2?",
    "readiness-who-performs": "is our soc 2 auditor allowed to run the readiness assessment too?",
    "soc2-observation-period-minimum": "is three months long enough for our first soc 2 type 2 observation period?",
    "iso-27002": "how is iso 27002 different from iso 27001?",
    "iso-major-minor-nonconformity": "what's the difference between a major and minor finding in an iso audit?",
    "iso-internal-audit-requirements": "who is allowed to perform the internal audit for iso 27001?",
    "iso-management-review": "what goes on the agenda of the management review?",
    "soa-contents": "what must our soa contain?",
    "soc2-optional-categories": "which of the soc 2 categories are we required to include?",
    "iso-surveillance-timing": "how soon after we get certified is the first surveillance audit?",
}
PRIMARY = re.compile(r"ISO/IEC 27001:2022|ISO/IEC 27002|ISO/IEC 17021-1|IAF MD|AICPA|AT-C \d{3}")
# (entry, the article's figure, the primary source's) where the two differ or the source adds one
BOTH_FIGURES = (
    ("soc2-observation-period-minimum", "six months to a year", "no minimum"),
    ("soc2-bridge-letter", "at least annually", "no expiry"),
    ("iso-surveillance-timing", "each year", "12 months after the certification decision"),
    ("iso-stage1-stage2", "two months to two years", "no gap"),
)


def _entries():
    return {entry.id: entry for entry in knowledge().faq}


@pytest.mark.parametrize("entry_id", NATURAL)
def test_a_natural_question_reaches_its_entry(entry_id):
    entry = _entries()[entry_id]
    assert NATURAL[entry_id].casefold() not in {q.casefold() for q in entry.questions}
    reply = answer(NATURAL[entry_id])
    assert reply.kind == "faq" and entry.answer in reply.text, reply.text[:200]


def test_the_new_entries_come_after_the_old_ones_and_name_a_primary_source():
    ids = [entry.id for entry in knowledge().faq]
    assert ids[-len(NATURAL):] == list(NATURAL)  # appended: the earlier entries keep their order
    for entry_id in NATURAL:
        assert PRIMARY.search(_entries()[entry_id].source), entry_id


@pytest.mark.parametrize("entry_id, article, primary", BOTH_FIGURES, ids=[row[0] for row in BOTH_FIGURES])
def test_where_the_article_and_a_standard_differ_both_are_said(entry_id, article, primary):
    text = _entries()[entry_id].answer
    assert article in text and primary in text


def test_the_transition_deadline_is_the_iaf_one():
    entry = _entries()["iso-transition-deadline"]
    assert "31 October 2025" in entry.answer and "IAF MD 26" in entry.source


@pytest.mark.parametrize("question", [
    "is a bridge letter legally binding?",  # legal advice, even on a topic we now hold
    "are we legally liable if our vendor leaks data?",
    "what is iso 27701",  # an ISO standard no entry names
    "what does NIS2 require from us?",
])
def test_the_rest_stays_outside_what_i_know(question):
    reply = answer(question)
    assert reply.kind == "abstain" and "outside what I know" in reply.text
