"""A control of the table named (typos, synonyms, inside context), or an ISO control or clause by its title."""
from __future__ import annotations

import re
from dataclasses import replace

from knowledge.answer import bars, build, rank
from knowledge.answer import words as W
from knowledge.answer.build import Answer
from knowledge.answer.question import Question
from knowledge.references import Ref


def control_fits(q: Question) -> bool:
    """A control is what the question names: well enough, not far below the best FAQ entry, and (when an
    FAQ entry answers too) holding half of the question's words."""
    score = q.control_score
    if score < bars.CONTROL_BAR:  # (the FAQ ranking is not needed then)
        return False
    faq = q.faq_score
    return score >= faq - bars.CONTROL_FAQ_MARGIN and (
        faq < bars.FAQ_BAR or rank.covers_half(q.ix, q.controls[0][0], q.tokens))


def control(q: Question) -> Answer | None:
    if not control_fits(q) or _asked_elsewhere(q):
        return None
    if W.FIGURE_ASKED.search(q.text):  # "how much does a pentest cost": we know its mapping, no figure
        name = q.controls[0][0]
        return build.abstain(0.0, f"I know how {name} maps to SOC 2 and ISO 27001, not what it costs, how long "
                                  "it takes or how often it is done. ", (name,))
    return yes_or_no(q, build.controls(q.ix, q.controls))


def _asked_elsewhere(q: Question) -> bool:
    """The asking clause alone fits an FAQ entry better than the whole message names a control ("Which SOC 2
    categories are optional? I only want security in scope"): context informs, it does not pick the control.
    (The context stage then answers the asking clause.)"""
    if len(q.clauses) < 2 or q.asked == q.text or q.mapping_asked:
        return False
    alone = q.half(q.asked)
    return alone.faq_score >= bars.FAQ_BAR and alone.faq_score > q.control_score


def yes_or_no(q: Question, found: Answer) -> Answer:
    """A yes/no question about a control leads with the answer: "do we need a pen test for SOC 2?" -> "Not by
    name: SOC 2 names no Penetration Test requirement; the article's table maps it to CC4.1 (SOC 2) ..."; "does
    disk encryption count for ISO 27001?" -> "Yes: the article's table maps Disk Encryption to A.8.1 ..."."""
    if q.form != "yes_no" or found.kind != "control":
        return found
    control = q.ix.control(q.controls[0][0])
    sides = [f for f in ("soc2", "iso") if f in q.frameworks] or ["soc2", "iso"]
    mapped = " and ".join(f"{build.join(getattr(control, side))} ({_SIDE_NAMES[side]})" for side in sides)
    if not W.NEEDING.isdisjoint(q.asked_tokens) or _REQUIRED.search(q.asked):
        named = (f"{build.NAMES[sides[0]]} names no" if len(sides) == 1
                 else f"neither {build.NAMES['soc2']} nor {build.NAMES['iso']} names a")
        lead = f"Not by name: {named} {control.name} requirement; the article's table maps it to {mapped}."
    elif _COUNTS.search(q.asked) or not W.MAPPING_ASK.isdisjoint(q.asked_tokens):
        lead = f"Yes: the article's table maps {control.name} to {mapped}."
    else:  # "is a vulnerability scan enough?": the table says where it counts, not whether it suffices
        return found
    return replace(found, text=f"{lead}\n{found.text}")


_SIDE_NAMES = {"soc2": "SOC 2", "iso": "ISO 27001:2022"}
_COUNTS = re.compile(r"\b(count|counts|cover|covers|covered|part\s+of|fall\s+under|falls\s+under|relevant|apply|"
                     r"applies|relate|relates|belong|belongs|in\s+scope)\b", re.I)
_REQUIRED = re.compile(r"\b(required|mandatory|necessary|compulsory|have\s+to|obligatory)\b", re.I)


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
