"""The answer engine: a question in plain words -> an exact `Answer`, as a pipeline of stages.

A `Question` is read once (question.py) against an `Index` built once at load (index.py). Each stage
(stages/) answers it or passes; the first that answers wins, most certain first:
refusals, references, an exact FAQ phrasing, a recommendation, a SOC 2 category, two questions in one,
then the words: a topic, an ISO title, an FAQ entry, a named control, a description of the company.
Nothing good enough -> say so and what can be asked (such an answer names no reference and no figure).
`explain(text)` says which stage answered, with its score, and what the others would have said.
Thresholds live in bars.py, each with its reason.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Callable

from knowledge.answer import build, rank
from knowledge.answer.bars import MAX_QUESTION_CHARS  # noqa: F401  (the router's and the CLI's limit)
from knowledge.answer.build import Answer, Group  # noqa: F401
from knowledge.answer.index import Index, build_index
from knowledge.answer.question import Question
from knowledge.answer.stages import category, context, control, faq, faq_exact, follow_up, recommend, refs, refuse
from knowledge.answer.stages import two_questions
from knowledge.catalog import Catalog, catalog
from knowledge.faq import Knowledge, knowledge

Stage = Callable[[Question], "Answer | None"]

# the words of a question, once refusals, references, recommendations and categories had their say
WORD_STAGES: list[tuple[str, Stage]] = [
    ("faq_exact", faq_exact.exact),
    ("topic", category.topic),
    ("title", control.title),
    ("same_as", faq.same_as),
    ("faq", faq.faq),
    ("control", control.control),
    ("title_near", control.title_near),
]
STAGES: list[tuple[str, Stage]] = [
    ("empty", refuse.empty),
    ("too_long", refuse.too_long),
    ("follow_up", follow_up.follow_up),
    ("other_framework", refuse.other_framework),
    ("writing", refuse.writing),
    ("refs", refs.refs),
    ("faq_exact", faq_exact.faq_exact),
    ("recommend", recommend.recommend),
    ("category", category.category),
    ("two_questions", two_questions.two_questions),
    ("asked_mapping", context.asked_mapping),
    *WORD_STAGES,
    ("context", context.context),
    ("described", recommend.described),
    ("faq_near", faq.faq_near),
]


@functools.cache
def index() -> Index:
    """The shipped data, indexed once."""
    return build_index(catalog(), knowledge())


def answer(text: str, previous: str | None = None, ix: Index | None = None) -> Answer:
    """Answer one question. `previous`: the `subject` of the last answer in this conversation, if any."""
    return run(Question(ix or index(), text, previous), STAGES)


def run(q: Question, stages: list[tuple[str, Stage]]) -> Answer:
    found = first_answer(q, stages)
    return found if found is not None else build.abstain(max(q.faq_score, q.control_score))


def first_answer(q: Question, stages: list[tuple[str, Stage]]) -> Answer | None:
    for _, stage in stages:
        found = stage(q)
        if found is not None:
            return found
    return None


def answer_words(q: Question) -> Answer:
    return run(q, WORD_STAGES)


@dataclass(frozen=True)
class Explained:
    stage: str  # the stage that answered ("abstain" when none did)
    answer: Answer
    runners_up: tuple[tuple[str, str, float], ...]  # (stage, kind, confidence) of the later stages that would answer


def explain(text: str, previous: str | None = None, ix: Index | None = None) -> Explained:
    """Which stage answered, its answer (with its score, the confidence), and what each later stage would say."""
    q = Question(ix or index(), text, previous)
    answered: list[tuple[str, Answer]] = []
    for name, stage in STAGES:
        found = stage(q)
        if found is not None:
            answered.append((name, found))
    if not answered:
        return Explained("abstain", build.abstain(max(q.faq_score, q.control_score)), ())
    (name, first), rest = answered[0], answered[1:]
    return Explained(name, first, tuple((n, a.kind, a.confidence) for n, a in rest))


def rank_controls(text: str, partial: bool = False) -> list[tuple[str, float]]:
    """Control names best matching `text`, best first, 0..1 (shared with `knowledge.matching`)."""
    return rank.rank_controls(index(), text, partial)


class Engine:
    """The engine over other data than the shipped files (tests): the same pipeline on its own index."""

    def __init__(self, cat: Catalog, kn: Knowledge):
        self.index = build_index(cat, kn)

    def answer(self, text: str, previous: str | None = None) -> Answer:
        return answer(text, previous, self.index)

    def explain(self, text: str, previous: str | None = None) -> Explained:
        return explain(text, previous, self.index)
