"""A follow-up about the previous answer's subject (`Question.previous`, the JSON of `Answer.subject`):
"and for ISO?", "the SOC 2 side of that", "why?", "what about A.8.24". A short question that names nothing
of its own but a framework (or a reference) is about the subject; a short one that cannot be answered alone
("who asks for it?", "and timelines?") is read with the subject put in ("it" -> "statement of applicability")
or beside it (the frameworks it was about). Anything else is a new question."""
from __future__ import annotations

import re
from dataclasses import replace

from knowledge import lexicon
from knowledge.answer import bars, build
from knowledge.answer import words as W
from knowledge.answer.build import Answer
from knowledge.answer.question import Question

# words of pointing back ("that", "it", "side") and of asking again: no subject of their own
_POINTING = frozenset(lexicon.stem(w) for w in """and what about how for the side sides of that this it those them
    then so ok okay same also in on is does do map maps mapping mapped equivalent version there part one ones
    framework frameworks standard come why control controls reference references again though only else
    instead then""".split()) | W.MAPPING_WORDS | W.CONTROL_FILLER
_PRONOUN = re.compile(r"\b(it|that|this|them|those)\b", re.I)
# a question that goes on from the last one: "and timelines?", "what else is new?", "how about for ISO?"
_GOING_ON = re.compile(r"^\W*(and|also|plus|then|so|what\s+about|how\s+about|same\s+for)\b|\b(else|too|instead)\b", re.I)
_WHY = re.compile(r"^\W*(why|how\s+come|how\s+so|says\s+who|on\s+what\s+basis)\b", re.I)
_SWAP = {"soc2": ("SOC 2", "ISO 27001"), "iso": ("ISO 27001", "SOC 2")}


def follow_up(q: Question) -> Answer | None:
    previous = q.previous
    if not previous or len(q.text.split()) > bars.FOLLOW_UP_WORDS:
        return None
    if q.refs:
        return _refs_beside(q, previous)
    if any(t not in _POINTING and t not in lexicon.STOPWORDS and t not in ("soc2", "iso27001") for t in q.tokens):
        return _with_subject(q, previous)  # words of its own: the subject only fills in what it lacks
    if _WHY.match(q.text):
        return _why(q, previous)
    side = sorted(q.frameworks)[0] if len(q.frameworks) == 1 else None
    return (_side(q, previous, side) if side else None) or _with_subject(q, previous)


def _with_subject(q: Question, previous: dict) -> Answer | None:
    """A short question no stage answers alone, read with the subject: "it" replaced by it, or the frameworks
    it was about put beside the question."""
    from knowledge.answer import STAGES, run

    rest = [stage for stage in STAGES if stage[0] != "follow_up"]
    alone = run(q.half(q.text), rest)
    said = previous.get("said")
    if alone.kind == "recommend" and previous.get("kind") == "recommend" and said:
        # "what if we expand to the UK?" after a recommendation for a US SaaS: what was said still holds
        found = run(q.half(f"{q.text} ({', '.join(said)})"), rest)
        return _sure(found) if found.kind == "recommend" else None
    if alone.kind != "abstain" or not (_PRONOUN.search(q.text) or _GOING_ON.search(q.text)):
        return None  # a question of its own
    topic, frame = _topic(q, previous), " ".join(build.NAMES[f] for f in _frameworks(previous))
    if _PRONOUN.search(q.text) and topic:
        text = _PRONOUN.sub(topic, q.text, count=1)
    elif frame or topic:
        text = f"{q.text} ({frame or topic})"
    else:
        return None
    found = run(q.half(text), rest)
    return None if found.kind == "abstain" else _sure(found)


def _topic(q: Question, previous: dict) -> str:
    """The subject in a few words: a control's name, a reference, an FAQ entry's first keyword, a framework."""
    entry = q.ix.faq_by_id.get(previous.get("faq", ""))
    for found in (previous.get("controls", [None])[0] if previous.get("kind") == "control" else None,
                  (previous.get("refs") or [None])[0], entry.keywords[0] if entry and entry.keywords else None,
                  build.NAMES.get(previous.get("framework", ""))):
        if found:
            return found
    return ""


def _frameworks(previous: dict) -> list[str]:
    """The frameworks the subject was about: an FAQ entry's, a recommendation's places and choice, a reference's."""
    if previous.get("frameworks"):
        return previous["frameworks"]
    if previous.get("kind") == "recommend":
        return ["soc2", "iso"] if previous.get("framework") in ("both", "default") else [previous["framework"]]
    refs = previous.get("refs") or []
    return ["iso" if refs[0].startswith(("A.", "Clause")) else "soc2"] if refs else []


def _controls(q: Question, previous: dict):
    """The controls a control answer named (a mapping answer is about its references, not its many controls)."""
    if previous.get("kind") != "control":
        return []
    return [c for c in (q.ix.control_by_name.get(name) for name in previous.get("controls", ())) if c]


def _side(q: Question, previous: dict, side: str) -> Answer | None:
    """One framework's side of the previous subject, led by that side's references."""
    ix = q.ix
    controls = _controls(q, previous)
    if controls:
        label = "ISO 27001:2022" if side == "iso" else "SOC 2"
        lead = "\n".join(f"{label} for {c.name}: {build.join(c.iso if side == 'iso' else c.soc2)}"
                         for c in controls)
        found = build.controls(ix, [(c.name, 1.0) for c in controls])
        return _sure(replace(found, text=f"{lead}\n\n{found.text}"))
    refs = [r for r in previous.get("refs", ()) if r in ix.cat.soc2 or r in ix.cat.iso]
    if refs:
        parts = [build.mapping(ix, r) for r in refs[:bars.MAX_REFS]]
        return _sure(build.merge(parts, "\n\n".join(p.text for p in parts)))
    entry = ix.faq_by_id.get(previous.get("faq", ""))
    if entry:
        return _faq_for(q, entry, side)
    return None


def _faq_for(q: Question, entry, side: str) -> Answer | None:
    """The same FAQ question asked of the other framework: our own phrasing with the names swapped."""
    from knowledge.answer import answer_words

    asked = entry.questions[0]
    was, now = _SWAP["iso" if side == "soc2" else "soc2"]
    swapped = re.sub(re.escape(was), now, asked, flags=re.I)
    found = answer_words(q.half(swapped if swapped != asked else f"{asked} {now}"))
    return _sure(found) if found.kind == "faq" else None


def _why(q: Question, previous: dict) -> Answer | None:
    """Why the previous answer said what it did: the table's row, the FAQ's reasoning, the advice."""
    ix = q.ix
    controls = _controls(q, previous)
    if controls:
        found = build.controls(ix, [(c.name, 1.0) for c in controls])
        lead = "Because the article's mapping table maps it so:"
        return _sure(replace(found, text=f"{lead}\n{found.text}"))
    entry = ix.faq_by_id.get(previous.get("faq", ""))
    if entry:
        return _sure(build.faq(ix, entry, bars.FOLLOW_UP_CONFIDENCE))
    framework = previous.get("framework")
    if previous.get("kind") == "recommend" and framework in ix.kn.advice:
        advice = ix.kn.advice[framework]
        return Answer(f"{advice.why}\nSource: {advice.source}", "recommend", bars.FOLLOW_UP_CONFIDENCE,
                      sources=(advice.source,), subject=build.subject("recommend", framework=framework))
    refs = [r for r in previous.get("refs", ()) if r in ix.cat.soc2 or r in ix.cat.iso]
    if refs:
        return _sure(build.mapping(ix, refs[0]))
    return None


def _refs_beside(q: Question, previous: dict) -> Answer | None:
    """"what about A.8.24" after a control: whether the table maps that control to it, then the reference."""
    from knowledge.answer.stages.refs import refs

    controls = _controls(q, previous)
    found = refs(q)
    if not controls or found is None:
        return None
    named = [r.ref for r in q.refs]
    lines = []
    for control in controls:
        mapped = [r for r in named if r in (*control.soc2, *control.iso)]
        lines.append(f"Yes: the table maps {control.name} to {build.join(mapped)}." if mapped else
                     f"No: the table does not map {control.name} to {build.join(named)}.")
    return replace(found, text="\n".join(lines) + "\n\n" + found.text)


def _sure(found: Answer) -> Answer:
    return replace(found, confidence=min(found.confidence, bars.FOLLOW_UP_CONFIDENCE))
