"""References named (CC6.1, A.8.5, Clause 6.1.3, A.9.4.2, "ISO control 5.23") and whole SOC 2 series (CC5)."""
from __future__ import annotations

from knowledge.answer import bars, build
from knowledge.answer import words as W
from knowledge.answer.build import Answer
from knowledge.answer.question import Question
from knowledge.references import Ref, soc2_series


def refs(q: Question) -> Answer | None:
    found = q.refs or annex_numbers(q)
    if found:
        return answer_refs(q, found)
    named = series_named(q)
    return build.series(q.ix, named) if named else None


def annex_numbers(q: Question) -> list[Ref]:
    """"ISO 27001 control 5.23": two numbers without "A." are an Annex A control when the question is
    about ISO and no clause has that number (8.1 and 6.1 are clauses too, so they stay unread)."""
    if not W.ISO_CONTEXT.search(q.text):
        return []
    iso = q.ix.cat.iso
    found = (f"{int(theme)}.{int(number)}" for theme, number in W.TWO_NUMBERS.findall(q.text))
    return [Ref("iso", "A." + n) for n in dict.fromkeys(found) if "A." + n in iso and "Clause " + n not in iso]


def answer_refs(q: Question, refs: list[Ref]) -> Answer | None:
    refs = [found for found in (read_bare(q, r) if r.bare else r for r in refs) if found][:bars.MAX_REFS]
    if not refs:
        return None
    paired = pair(q, refs)
    if paired:
        return paired
    define = bool(W.DEFINE.search(q.text)) and not mapping_asked(q)
    parts = [answer_ref(q, ref, define) for ref in refs]
    known = [p for p in parts if p.kind != "unknown_ref"] or parts
    return build.merge(known, "\n\n".join(p.text for p in known + [p for p in parts if p not in known]))


def read_bare(q: Question, ref: Ref) -> Ref | None:
    """A number without "clause" or "A." (`6.1.3`, `12.6.1`): the clause when the catalogue has it, else
    (or when the question says 2013, or asks for the number in 2022: "what's 9.2.1 in 2022") the ISO
    27001:2013 Annex A control of that number, else nothing."""
    old = "A." + ref.ref.removeprefix("Clause ")
    cat = q.ix.cat
    if old in cat.iso2013 and ("2013" in q.text or W.TO_2022.search(q.text) or ref.ref not in cat.iso):
        return Ref("iso2013", old)
    return ref if ref.ref in cat.iso else None


def mapping_asked(q: Question) -> bool:
    """Words asking for the other side ("controls for", "map", "equivalent") make it a mapping question."""
    return any(t in W.MAPPING_WORDS and t not in W.DEFINE_WORDS for t in q.words)


def pair(q: Question, refs: list[Ref]) -> Answer | None:
    """"Does CC6.1 map to A.8.1?": yes or no first, then the first reference's mapping."""
    if len(refs) != 2 or {r.kind for r in refs} not in ({"soc2", "iso"}, {"soc2", "clause"}):
        return None
    cat = q.ix.cat
    first, second = (r.ref for r in refs)
    if not all(r in cat.soc2 or r in cat.iso for r in (first, second)):
        return None
    linking = [c.name for c in cat.controls_for(first) if second in (*c.soc2, *c.iso)]
    detail = answer_ref(q, refs[0], False)
    if linking:
        lead = f"Yes: {first} and {second} are mapped together by {', '.join(linking)}."
    else:
        lead = f"No: no control in the mapping table maps {first} to {second}."
    return build.Answer(f"{lead}\n\n{detail.text}", detail.kind, detail.confidence,
                        tuple(dict.fromkeys((*detail.refs, second))), detail.sources, detail.suggestions,
                        detail.groups, build.subject(detail.kind, refs=[first, second], controls=linking))


def answer_ref(q: Question, ref: Ref, define: bool) -> Answer:
    ix = q.ix
    if ref.kind == "soc2":
        return build.mapping(ix, ref.ref, define) if ref.ref in ix.cat.soc2 else build.unknown_soc2(ix, ref.ref)
    if ref.kind == "iso2013":
        return build.iso2013(ix, ref.ref)
    if ref.ref in ix.cat.iso or ref.ref in ix.children:
        return build.mapping(ix, ref.ref, define)
    if ref.kind == "iso" and build.iso2013_under(ix, ref.ref):
        return build.iso2013_category(ix, ref.ref)
    return build.unknown_iso(ix, ref.ref)


def series_named(q: Question) -> list[str]:
    """The SOC 2 series a question names without a criterion number, in order ("P1-P8": all eight)."""
    context = bool(W.SERIES_CONTEXT.search(q.text))
    named: list[str] = []
    for prefix, first, last in W.SERIES.findall(q.text):
        prefix = prefix.upper()
        if prefix not in ("CC", "PI") and not context:
            continue
        for number in range(int(first), max(int(first), int(last or first)) + 1):
            one = f"{prefix}{number}"
            if any(soc2_series(ref) == one for ref in q.ix.cat.soc2) and one not in named:
                named.append(one)
    return named
