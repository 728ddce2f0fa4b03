"""Red-team findings in the answer engine (after issue 10): adversarial 4,000-character questions."""
from __future__ import annotations

import uuid

import pytest

from knowledge import lexicon

# -- the answer engine: 4,000 characters of a word it looks around took seconds of the event loop -------

ADVERSARIAL_QUESTIONS = (
    "we sell to " + "US " * 1326,  # every "US" read the whole text before and after it again
    "why " + "U.S. " * 797,
)


@pytest.mark.parametrize("question", ADVERSARIAL_QUESTIONS, ids=["US", "U.S."])
def test_redteam_a_long_question_is_read_a_bounded_number_of_times(monkeypatch, question):
    """The work is counted, not timed: the characters the engine normalises for one question. Before the
    fix ~800-2,700 times the question (1.2-1.7 s of CPU on the event loop for one message, measured by
    bench/bench_adversarial.py); after it ~35 times, in small pieces (word by word): linear."""
    from knowledge.answer import answer

    read = []
    real_normalize = lexicon.normalize

    def counting(text: str) -> str:
        read.append(len(text))
        return real_normalize(text)

    monkeypatch.setattr(lexicon, "normalize", counting)
    question = f"{uuid.uuid4().hex} {question}"[:3990]  # never an answer remembered from before
    answer(question)
    assert sum(read) <= 50 * len(question), f"{len(read)} reads, {sum(read):,} characters"
