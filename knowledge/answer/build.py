"""Answer builders: what the stages say, written once. One mapping answer serves both directions (a SOC 2
criterion's ISO references, an ISO control's SOC 2 criteria). Every answer carries its `subject`, compact JSON
of what it was about, which a follow-up in the same conversation reads back."""
from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field, replace

from knowledge.answer import bars
from knowledge.answer.index import Index
from knowledge.catalog import Control
from knowledge.faq import FaqEntry
from knowledge.references import soc2_series

MAPPING_SOURCE = "the article's SOC 2 to ISO 27001:2022 control mapping table"
ISO_SOURCE = "ISO/IEC 27001:2022 Annex A and clause titles"
SOC2_SOURCE = "AICPA Trust Services Criteria (2017, points of focus revised 2022), paraphrased titles"
ISO2013_SOURCE = "ISO/IEC 27002:2022 Annex B correspondence of 2013 to 2022 controls"
NAMES = {"soc2": "SOC 2", "iso": "ISO 27001"}
REVIEW_NOTE = "Review note:"  # a reviewed correction beside the article's table starts exactly so
REVIEW_SOURCE = "complybot's review of the article's table against the catalogue titles (mapping_review.toml)"


@dataclass(frozen=True)
class Group:
    """A titled block of an answer, e.g. the ISO references of each control mapped to CC6.1."""

    title: str
    lines: tuple[str, ...]


@dataclass(frozen=True)
class Answer:
    """`kind` is one of: iso_for_soc2, soc2_for_iso, unmapped_iso, unmapped_soc2, define, iso2013,
    unknown_ref, control, faq, recommend, abstain, and the refusals empty, too_long (error: the CLI's
    guard). `text` alone is the complete answer; `groups` repeat its lists for richer renderers;
    `subject` (JSON text) is what it was about, for a follow-up."""

    text: str
    kind: str
    confidence: float  # 0..1
    refs: tuple[str, ...] = ()  # every reference the text names, canonical
    sources: tuple[str, ...] = ()
    suggestions: tuple[str, ...] = ()  # follow-up questions worth a button
    groups: tuple[Group, ...] = field(default=())
    subject: str = ""


def subject(kind: str, **about) -> str:
    """Compact JSON of what an answer was about: refs, controls, an FAQ id, a framework."""
    return json.dumps({"kind": kind, **{k: v for k, v in about.items() if v}}, separators=(",", ":"))


_FAMILY_NAMES = {"soc2": "soc2", "iso27001": "iso"}
_PREFIX_ORDER = {"A.": 0, "Clause": 1, "CC": 2, "A": 3, "C": 4, "PI": 5, "P": 6}


@functools.lru_cache(maxsize=4096)
def ref_key(ref: str) -> tuple:
    """Annex A then clauses by number; SOC 2 in the criteria's order (CC, A, C, PI, P), then by number."""
    prefix = "A." if ref.startswith("A.") else re.match(r"[A-Za-z]+", ref).group()
    return (_PREFIX_ORDER.get(prefix, 9), *(int(n) for n in re.findall(r"\d+", ref)))


def join(refs) -> str:
    return ", ".join(sorted(set(refs), key=ref_key))


def merge(parts: list[Answer], text: str, kind: str | None = None) -> Answer:
    """Several answers as one: `text`, the first part's kind, the least confidence, everything else joined."""
    return Answer(
        text,
        kind or parts[0].kind,
        min(p.confidence for p in parts),
        tuple(dict.fromkeys(r for p in parts for r in p.refs)),
        tuple(dict.fromkeys(s for p in parts for s in p.sources)),
        tuple(dict.fromkeys(s for p in parts for s in p.suggestions))[:bars.MAX_SUGGESTIONS],
        tuple(g for p in parts for g in p.groups),
        _merged_subject(parts),
    )


def _merged_subject(parts: list[Answer]) -> str:
    merged: dict = {}
    for part in parts:
        for k, v in json.loads(part.subject or "{}").items():
            if isinstance(v, list):
                merged[k] = list(dict.fromkeys([*merged.get(k, []), *v]))
            else:
                merged.setdefault(k, v)
    return json.dumps(merged, separators=(",", ":"))


# ---------------------------------------------------------------- the mapping, both directions

@dataclass(frozen=True)
class _Side:
    """How one direction of the mapping is written: the other side's references and their labels."""

    other: str  # "iso" | "soc2": the control field that holds the other side
    kind: str
    sources: tuple[str, ...]
    listed: str  # the line before the per-control list
    all_label: str


_SIDES = {
    "soc2": _Side("iso", "iso_for_soc2", (MAPPING_SOURCE, SOC2_SOURCE), "ISO 27001:2022 references of the {count} "
                  "mapped to it", "All ISO 27001:2022 references"),
    "iso": _Side("soc2", "soc2_for_iso", (MAPPING_SOURCE, ISO_SOURCE), "SOC 2 criteria of the controls mapped to it",
                 "All SOC 2 criteria"),
}


def heading(ix: Index, ref: str) -> str:
    item = ix.cat.soc2.get(ref)
    if item is not None:
        return f"{ref} is a SOC 2 criterion ({item.category}): {item.title}."
    item = ix.cat.iso.get(ref)
    if item is None:  # a clause heading the catalogue lists only by its sub-clauses
        return f"{ref} of ISO 27001:2022 (a management-system clause)."
    if item.theme == "Clause":
        return f"{ref} of ISO 27001:2022 (management-system clause): {item.title}."
    return f"{ref} of ISO 27001:2022 (Annex A, {item.theme} theme): {item.title}."


@functools.lru_cache(maxsize=2048)  # a pure function of the data: the same answer for every question naming it
def mapping(ix: Index, ref: str, define: bool = False) -> Answer:
    """A reference of either framework -> the other side's references, per control mapped to it and in all."""
    side = _SIDES["soc2" if ref in ix.cat.soc2 else "iso"]
    controls = ix.cat.controls_for(ref)
    if not controls:
        return unmapped_soc2(ix, ref) if side.other == "iso" else unmapped_iso(ix, ref)
    lines = tuple(f"{c.name}: {join(getattr(c, side.other))}" for c in controls)
    union = sorted({r for c in controls for r in getattr(c, side.other)}, key=ref_key)
    count = f"{len(controls)} control{'s' if len(controls) > 1 else ''}"
    text = (f"{heading(ix, ref)}\n{side.listed.format(count=count)}:\n" + "\n".join(f"• {line}" for line in lines)
            + f"\n{side.all_label} ({len(union)}): {join(union)}")
    if side.other == "iso":
        suggestions, title = (f"What is {union[0]}?", controls[0].name), f"ISO 27001:2022 for {ref}, by control"
    else:
        suggestions, title = (f"What is {union[0]}?",), f"SOC 2 for {ref} {ix.cat.iso[ref].title}, by control"
    return with_review(ix, Answer(
        text,
        "define" if define else side.kind,
        bars.REF_CONFIDENCE,
        (ref, *union),
        side.sources,
        suggestions,
        (Group(title, lines), Group(f"{side.all_label} ({len(union)})", (join(union),))),
        subject(side.kind, refs=[ref], controls=[c.name for c in controls]),
    ), controls, side.other)


def unmapped_soc2(ix: Index, ref: str) -> Answer:
    return Answer(
        f"{heading(ix, ref)}\nNo control in the mapping table maps it to ISO 27001:2022, so I have no ISO "
        "reference for it.",
        "unmapped_soc2",
        bars.UNMAPPED_CONFIDENCE,
        (ref,),
        (SOC2_SOURCE, MAPPING_SOURCE),
        subject=subject("unmapped_soc2", refs=[ref]),
    )


def unmapped_iso(ix: Index, ref: str) -> Answer:
    """No control maps `ref` itself. For a clause heading (9.2), point to its mapped sub-clauses by
    reference only: the heading's own answer names no SOC 2 criterion."""
    mapped_below = [child for child in ix.children.get(ref, ()) if ix.cat.controls_for(child)]
    text = (
        f"{heading(ix, ref)}\nNo control in the mapping table maps it to SOC 2: no SOC 2 criterion covers "
        "it there, so it is ISO 27001 work of its own."
    )
    if mapped_below:
        text = (
            f"{heading(ix, ref)}\nNo control in the mapping table maps the heading itself to SOC 2. Its "
            f"sub-clauses {', '.join(mapped_below)} are mapped: ask about them for their SOC 2 criteria."
        )
    return Answer(
        text,
        "unmapped_iso",
        bars.UNMAPPED_CONFIDENCE,
        (ref, *mapped_below),
        (ISO_SOURCE, MAPPING_SOURCE),
        tuple(f"{child} in SOC 2?" for child in mapped_below[:2]),
        subject=subject("unmapped_iso", refs=[ref, *mapped_below]),
    )


def iso2013(ix: Index, ref: str) -> Answer:
    entry = ix.cat.iso2013.get(ref)
    if entry is None:
        return unknown(
            "I don't know that ISO 27001:2013 reference: the 2013 edition's Annex A numbers run from "
            "5.1.1 to 18.2.3, and I have every one of its 114 controls. Please check the number."
        )
    title, targets = entry
    lead = f"{ref} of ISO 27001:2013 ({title}) is {' and '.join(targets)} in ISO 27001:2022."
    parts = [mapping(ix, target) for target in targets]
    found = merge(parts, lead + "\n\n" + "\n\n".join(p.text for p in parts), "iso2013")
    return Answer(
        found.text, "iso2013", bars.REF_CONFIDENCE, tuple(dict.fromkeys((ref, *targets, *found.refs))),
        (ISO2013_SOURCE, MAPPING_SOURCE), tuple(f"What is {t}?" for t in targets)[:2], found.groups,
        subject("iso2013", refs=[ref, *targets]),
    )


def iso2013_under(ix: Index, ref: str) -> list[str]:
    return [r for r in ix.cat.iso2013 if r.startswith(ref + ".")]


def iso2013_category(ix: Index, ref: str) -> Answer:
    """`A.9.4` is no 2022 control but a 2013 category: list its controls and where they went."""
    under = iso2013_under(ix, ref)
    lines = tuple(f"{old} {ix.cat.iso2013[old][0]} → {', '.join(ix.cat.iso2013[old][1])}" for old in under)
    targets = sorted({t for old in under for t in ix.cat.iso2013[old][1]}, key=ref_key)
    return Answer(
        f"{ref} is not an ISO 27001:2022 control; in ISO 27001:2013 it is a category. Its controls "
        "in the 2022 version:\n" + "\n".join(f"• {line}" for line in lines),
        "iso2013",
        bars.CATEGORY_2013_CONFIDENCE,
        tuple(targets),
        (ISO2013_SOURCE,),
        groups=(Group(f"ISO 27001:2013 {ref} in 2022", lines),),
        subject=subject("iso2013", refs=targets),
    )


def series(ix: Index, named: list[str]) -> Answer:
    """Each series' criteria with their titles and the ISO 27001:2022 references mapped to each."""
    blocks, refs = [], []
    for one in named:
        members = [item for ref, item in ix.cat.soc2.items() if soc2_series(ref) == one]
        refs += [item.ref for item in members]
        blocks.append(
            f"{one} is a SOC 2 series ({members[0].category}) of {len(members)} "
            f"criteri{'a' if len(members) > 1 else 'on'}:\n"
            + "\n".join(f"• {item.ref} {item.title} — ISO 27001:2022: {_iso_of(ix, item.ref)}" for item in members))
    return Answer(
        "\n\n".join(blocks) + "\nAsk me about one of them (e.g. " + refs[0] + ") for its controls one by one.",
        "define",
        bars.SERIES_CONFIDENCE,
        (*refs, *sorted({r for ref in refs for c in ix.cat.controls_for(ref) for r in c.iso}, key=ref_key)),
        (SOC2_SOURCE, MAPPING_SOURCE),
        tuple(f"{ref} in ISO 27001?" for ref in refs[:2]),
        subject=subject("define", refs=list(named)),
    )


def _iso_of(ix: Index, ref: str) -> str:
    return join({r for c in ix.cat.controls_for(ref) for r in c.iso}) or "none mapped"


def unknown_soc2(ix: Index, ref: str) -> Answer:
    one = soc2_series(ref)
    members = [r for r in ix.cat.soc2 if soc2_series(r) == one]
    if members:
        category = ix.cat.soc2[members[0]].category
        detail = f"the {one} series ({category}) has {len(members)} criteria, numbered .1 to .{len(members)}."
    else:
        detail = ("the common criteria are the series CC1 to CC9, then Availability A1, Confidentiality C1, "
                  "Processing Integrity PI1 and Privacy P1 to P8.")
    return unknown(f"I don't know that SOC 2 criterion: SOC 2 has no such number; {detail}")


def unknown_iso(ix: Index, ref: str) -> Answer:
    if ref.startswith("Clause"):
        detail = "The management-system clauses of ISO 27001:2022 are numbered from 4.1 to 10.2."
    else:
        theme = int(ref.split(".")[1])
        members = [item for item in ix.cat.iso.values() if item.ref.startswith(f"A.{theme}.")]
        if members:
            detail = (f"Annex A theme {theme} ({members[0].theme}) has {len(members)} controls, numbered "
                      f"{theme}.1 to {theme}.{len(members)}.")
        else:
            detail = ("Annex A of ISO 27001:2022 has four themes, numbered 5 (Organizational), 6 (People), "
                      "7 (Physical) and 8 (Technological); ISO 27001:2013 numbers have three parts, like 9.4.2.")
            if theme <= 4:
                detail += " SOC 2 Availability criteria are written without a dot after the A."
    return unknown(f"I don't know that ISO 27001 reference. {detail}")


def unknown(text: str) -> Answer:
    return Answer(text, "unknown_ref", bars.UNKNOWN_REF_CONFIDENCE, sources=(ISO_SOURCE, SOC2_SOURCE))


# ---------------------------------------------------------------- controls, FAQ, recommendations

def control_line(control: Control) -> str:
    return f"{control.name} — SOC 2: {join(control.soc2)} · ISO 27001:2022: {join(control.iso)}"


def controls(ix: Index, ranked: list[tuple[str, float]]) -> Answer:
    best = ranked[0][1]
    chosen = [ranked[0][0]] + [name for name, score in ranked[1:bars.CONTROL_SHOWN]
                               if score >= max(bars.CONTROL_FLOOR, best - bars.CONTROL_NEAR)]
    found = [ix.control(name) for name in chosen]
    lines = tuple(control_line(c) for c in found)
    text = "\n".join(lines)
    if len(found) > 1:
        text = "Closest controls in the mapping table:\n" + "\n".join(f"• {line}" for line in lines)
    return with_review(ix, Answer(
        text,
        "control",
        round(min(1.0, best), 3),
        tuple(dict.fromkeys(r for c in found for r in (*c.soc2, *c.iso))),
        (MAPPING_SOURCE,),
        tuple(dict.fromkeys(f"What is {c.iso[0]}?" for c in found[:3]))[:2],
        (Group("Mapping", lines),) if len(found) > 1 else (),
        subject("control", controls=chosen),
    ), found)


def with_review(ix: Index, answer: Answer, named: list[Control], side: str = "") -> Answer:
    """The table's answer, then one line starting exactly `Review note:` with what our review of the table adds
    for the named controls (`side`: only additions on that side, "iso" or "soc2"), and why. The table's
    references stay as they are. Many controls at once get their additions only, the why one question away."""
    added = [(c, _added(c, side)) for c in named if c.review is not None and _added(c, side)]
    if not added:
        return answer
    if len(added) <= bars.REVIEW_WHYS:
        notes = "; ".join(f"{c.name}: {join(refs)}, {c.review.why[0].lower()}{c.review.why[1:].rstrip('.')}"
                          for c, refs in added)
    else:
        notes = "; ".join(f"{c.name}: {join(refs)}" for c, refs in added) + " (ask about a control for why)"
    text = f"{answer.text}\n{REVIEW_NOTE} our review of the table adds {notes}."
    return replace(answer, text=text, sources=(*answer.sources, REVIEW_SOURCE))


def _added(control: Control, side: str) -> tuple[str, ...]:
    review = control.review
    return () if review is None else review.iso if side == "iso" else review.soc2 if side == "soc2" else (
        review.soc2 + review.iso)


def faq(ix: Index, entry: FaqEntry, score: float) -> Answer:
    suggestions = tuple(ix.faq_by_id[i].questions[0] for i in entry.see_also if i in ix.faq_by_id)
    return Answer(
        f"{entry.answer}\nSource: {entry.source}",
        "faq",
        round(min(1.0, score), 3),
        sources=(entry.source,),
        suggestions=suggestions[:bars.MAX_SUGGESTIONS],
        subject=subject("faq", faq=entry.id, framework=first_framework(entry.answer),
                        frameworks=sorted(_FAMILY_NAMES[w] for w in ix.faq_families[entry.id][0] if w in _FAMILY_NAMES)),
    )


def abstain(score: float, why: str = "", instead: tuple[str, ...] = ()) -> Answer:
    """`why`: what in particular is unknown; `instead`: questions we can answer about it, offered first."""
    return Answer(
        f"{why}That is outside what I know. I answer questions about SOC 2 and ISO 27001:2022: which ISO "
        "controls map to a SOC 2 criterion and the reverse, what a criterion or an Annex A control is, "
        "how a named control such as disk encryption or MFA maps to both, ISO 27001:2013 numbers in the "
        "current version, timelines, costs, audits, renewal, and which framework suits your company.",
        "abstain",
        round(min(bars.ABSTAIN_CEILING, score), 3),
        suggestions=(*instead, "disk encryption", "How long does a SOC 2 Type 1 take?",
                     "Which framework for a US startup?")[:bars.MAX_SUGGESTIONS],
        subject=subject("abstain"),
    )


def refusal(kind: str, text: str) -> Answer:
    return Answer(text, kind, 1.0, suggestions=("What is SOC 2?",), subject=subject(kind))


_LEADS = {
    "soc2": "SOC 2 first.",
    "iso": "ISO 27001 first.",
    "both": "Both: SOC 2 and ISO 27001.",
    "default": "SOC 2 first if your customers are mainly in the US or you are small and early; "
    "ISO 27001 if they are outside the US or a contract asks for it; both if you sell in both markets.",
}


def recommendation(ix: Index, choice: str, because: list[str], demand: str = "") -> Answer:
    """`because`: what the question said that points to `choice`; `demand`: who asked for it by name."""
    said = []  # longest first, without the phrases a longer one already says ("america" in "north america")
    for phrase in sorted({b.casefold(): b for b in because}.values(), key=len, reverse=True):
        if not any(phrase.casefold() in longer.casefold() for longer in said):
            said.append(phrase)
    reason = f" {demand}" if demand else f" (You mentioned: {', '.join(said)}.)" if said else ""
    advice = ix.kn.advice["soc2" if choice == "default" else choice]
    why = advice.why if choice != "default" else "The simplest rule: pick the one your customers ask for."
    return Answer(
        f"{_LEADS[choice]}{reason}\n{why}",
        "recommend",
        bars.RECOMMEND_CONFIDENCE if choice != "default" else bars.RULE_CONFIDENCE,
        sources=(advice.source,),
        suggestions=("How long does a SOC 2 Type 1 take?", "How much does ISO 27001 cost?"),
        subject=subject("recommend", framework=choice, said=said),
    )


_FIRST_FRAMEWORK = re.compile(r"\b(soc ?2|iso(?:/iec)? ?27001|iso)\b", re.IGNORECASE)


def first_framework(text: str) -> str | None:
    found = _FIRST_FRAMEWORK.search(text)
    return None if not found else ("soc2" if found.group(1).lower().startswith("soc") else "iso")
