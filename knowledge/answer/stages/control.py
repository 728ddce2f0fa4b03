"""A control of the table named (typos, synonyms, inside context), or an ISO control or clause by its title."""
from __future__ import annotations

from dataclasses import replace

from knowledge.answer import bars, build, rank
from knowledge.answer import words as W
from knowledge.answer.build import Answer
from knowledge.answer.question import Question
from knowledge.references import Ref


def control_fits(q: Question) -> bool:
    """A control is what the question names: well enough, not far below the best FAQ entry, and (when an
    FAQ entry answers too) holding half of the question's words."""
    score, faq = q.control_score, q.faq_score
    return score >= bars.CONTROL_BAR and score >= faq - bars.CONTROL_FAQ_MARGIN and (
        faq < bars.FAQ_BAR or rank.covers_half(q.ix, q.controls[0][0], q.tokens))


def control(q: Question) -> Answer | None:
    if not control_fits(q):
        return None
    if W.FIGURE_ASKED.search(q.text):  # "how much does a pentest cost": we know its mapping, no figure
        name = q.controls[0][0]
        return build.abstain(0.0, f"I know how {name} maps to SOC 2 and ISO 27001, not what it costs, how long "
                                  "it takes or how often it is done. ", (name,))
    return build.controls(q.ix, q.controls)


def title(q: Question) -> Answer | None:
    """An ISO title word for word, or a clause asked for by its title ("which iso clause covers leadership")."""
    titles = q.titles
    if titles and titles[0][1] >= bars.TITLE_EXACT > max(q.control_score, q.faq_score):
        return build.mapping(q.ix, titles[0][0])
    clauses = [(ref, score) for ref, score in titles if ref.startswith("Clause")] if W.CLAUSE_ASKED.search(
        q.text) else []
    if clauses and clauses[0][1] >= bars.CLAUSE_BAR and q.control_score < bars.CONTROL_SURE:
        from knowledge.answer.stages.refs import answer_refs
        tied = [Ref("clause", ref) for ref, score in clauses if score >= clauses[0][1] - 1e-9]
        return answer_refs(q, tied[:2])
    return None


def title_near(q: Question) -> Answer | None:
    """"secure coding": an Annex A control or a clause by most of its title, when nothing else answered."""
    if q.titles and q.titles[0][1] >= bars.TITLE_NEAR:
        found = build.mapping(q.ix, q.titles[0][0])
        return replace(found, confidence=round(q.titles[0][1] * bars.TITLE_CONFIDENCE, 3))
    return None
