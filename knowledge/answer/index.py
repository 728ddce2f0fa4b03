"""`build_index(catalog, knowledge)` -> a frozen `Index`: everything the stages look up, built in one pure pass
at load. The speller's vocabulary is made last, from every phrase the other indexes were built from (control
names and aliases, FAQ phrasings and keywords, SOC 2 category names, market and demand words), so no word of
our data is ever "fixed" into another one of ours; nothing is learnt after the build.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Callable

from knowledge import lexicon
from knowledge.answer import words as W
from knowledge.catalog import Catalog, Control
from knowledge.faq import FaqEntry, Knowledge
from knowledge.references import soc2_series


def key(tokens) -> str:
    """Words as a lookup key: content words only, in order (all words if that is all: "what can you do")."""
    return " ".join(lexicon.content(tokens)) or " ".join(tokens)


def families(tokens) -> tuple[frozenset, ...]:
    found = set(tokens)
    return tuple(family & found for family in W.EXCLUSIVE_FAMILIES)


def control_words(tokens) -> list[str]:
    """The words of a question that may name a control: no function words, no words of asking for a mapping."""
    return [t for t in lexicon.content(tokens) if t not in W.MAPPING_WORDS and t not in W.CONTROL_FILLER]


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: a key of the builders' caches
class Index:
    cat: Catalog
    kn: Knowledge
    rewrite: Callable[[list[str]], list[str]]  # abbreviations spelled out ("mfa" -> "multi factor authentication")
    speller: lexicon.Speller
    controls: lexicon.PhraseIndex  # control name -> its names' words
    iso_titles: lexicon.PhraseIndex  # ISO ref -> its title's words
    faq: lexicon.PhraseIndex  # FAQ id -> its phrasings' and keywords' words
    faq_by_id: dict[str, FaqEntry]
    faq_words: dict[str, frozenset[str]]  # FAQ id -> every content word of its phrasings
    faq_families: dict[str, tuple[frozenset, ...]]  # FAQ id -> the frameworks / types it speaks of
    faq_exact: dict[str, str]  # the content words of one entry's phrasing -> that entry
    faq_topics: dict[str, str]  # a keyword of one entry only -> that entry
    signals: dict[str, lexicon.PhraseFinder]  # "soc2" | "iso" | "both" -> phrases that lean that way
    markets: dict[str, lexicon.PhraseFinder]  # "us" | "international" -> places
    asks: lexicon.PhraseFinder  # verbs of demanding
    askers: lexicon.PhraseFinder  # who demands
    other_frameworks: lexicon.PhraseFinder  # frameworks we hold no facts on
    known_iso: frozenset[str]  # ISO standards an FAQ keyword names ("iso 27002"): ones we hold facts on
    demand_words: frozenset[str]  # words a demand is made of
    domain: frozenset[str]  # content words of our own phrasings: a question using them is in our field
    topic_words: frozenset[str]  # FAQ topic words ("audit", "evidence"): no sign of another subject
    placed: frozenset[str]  # every word some name, phrasing or keyword of ours uses
    control_by_name: dict[str, Control]
    categories: dict[str, tuple[str, ...]]  # a SOC 2 category's words -> its series
    children: dict[str, tuple[str, ...]]  # "Clause 9.2" -> its sub-clauses

    def words(self, text: str, fix: Callable[[str], str] | None = None) -> list[str]:
        """Normalised, spell-fixed (by `fix`), abbreviation-expanded and stemmed words of `text`."""
        raw = lexicon.normalize(text).split()[: lexicon.MAX_WORDS]
        if fix:
            raw = [w if w in lexicon.STOPWORDS else fix(w) for w in raw]
        return [w if w in lexicon.STOPWORDS else lexicon.stem(w) for w in self.rewrite(raw)]

    def tokens(self, text: str) -> list[str]:
        """The words of a question, typos fixed against our vocabulary."""
        return self.words(text, self.speller.fix)

    def control(self, name: str):
        """A control of the table by its exact name (the names the rankings give)."""
        return self.control_by_name[name]

    def named_words(self, name: str) -> frozenset[str]:
        """Every word of a control's names and aliases."""
        return self.controls.group_words[name]

    def conflicts(self, asked: tuple[frozenset, ...], entry_id: str) -> bool:
        return any(a and e and a.isdisjoint(e) for a, e in zip(asked, self.faq_families[entry_id]))


def _abbreviation_rewriter(abbreviations: dict[str, str]) -> Callable[[list[str]], list[str]]:
    """Normalised words -> the same with each abbreviation spelled out, the longest term first at each word."""
    table: dict[tuple[str, ...], list[str]] = {}
    for short, long in abbreviations.items():
        short_key = lexicon.normalize(short)
        if short_key and short_key not in lexicon.STOPWORDS and short_key != lexicon.normalize(long):
            table[tuple(short_key.split())] = lexicon.normalize(long).split()
    # a plural too ("pen tests", "vpns"), unless the term ends in one letter ("soc i" + s is "soc is")
    for term in list(table):
        plural = (*term[:-1], term[-1] + "s")
        if len(term[-1]) > 1 and plural not in table:
            table[plural] = table[term]
    lengths: dict[str, set[int]] = {}
    for term in table:
        lengths.setdefault(term[0], set()).add(len(term))
    sizes = {word: sorted(found, reverse=True) for word, found in lengths.items()}  # a first word -> its terms' lengths, longest first
    first = frozenset(sizes)

    def rewrite(words: list[str]) -> list[str]:
        if first.isdisjoint(words):  # no abbreviation starts here (most questions): the words as they are
            return words
        out: list[str] = []
        done, count = 0, len(words)  # words[:done] are written
        for i in [i for i, word in enumerate(words) if word in first]:  # ("a", "the", "in" start terms too)
            if i < done:
                continue
            for size in sizes[words[i]]:
                found = table.get(tuple(words[i:i + size])) if i + size <= count else None
                if found is not None:
                    out += words[done:i]
                    out += found
                    done = i + size
                    break
        out += words[done:]
        return out

    return rewrite


class _Builder:
    """One pass over the data: every phrase is read through `phrase`, which counts its words for the
    speller; `index()` makes the speller only after all of them were read."""

    def __init__(self, cat: Catalog, kn: Knowledge):
        self.cat, self.kn = cat, kn
        self.raw: Counter[str] = Counter()
        self.rewrite = _abbreviation_rewriter(kn.abbreviations)

    def phrase(self, text: str) -> tuple[str, ...]:
        raw = lexicon.normalize(text).split()[: lexicon.MAX_WORDS]
        expanded = self.rewrite(raw)
        self.raw.update(raw)
        self.raw.update(expanded)
        return tuple(w if w in lexicon.STOPWORDS else lexicon.stem(w) for w in expanded)

    def phrase_set(self, phrases) -> lexicon.PhraseFinder:
        """Finds these phrases, reporting each as written in the data (shown back as "you mentioned ...")."""
        found = {}
        for text in phrases:
            words = self.phrase(text)
            if words and text.strip().lower() != "us":  # the pronoun; see words.US_PRONOUN
                found.setdefault(words, text.strip())
        return lexicon.PhraseFinder(found)

    def name_words(self, name: str) -> list[str]:
        """The words a name is matched by. One that is a single word once "control", "map", "reference" go
        ("reference check", "access control") keeps them: a lone generic word is no name of its own."""
        words = self.phrase(name)
        kept = control_words(words)
        return kept if len(kept) > 1 or len(lexicon.content(words)) < 2 else lexicon.content(words)

    def owners(self, texts) -> dict[str, str]:
        """Key -> the one entry it belongs to, for (entry id, key) pairs; keys of two entries are dropped."""
        found: dict[str, set[str]] = {}
        for entry_id, text_key in texts:
            if text_key:
                found.setdefault(text_key, set()).add(entry_id)
        return {k: ids.pop() for k, ids in found.items() if len(ids) == 1}

    def categories(self) -> dict[str, tuple[str, ...]]:
        """A SOC 2 category's name -> its series ("control environment" -> CC1, "privacy" -> P1 ... P8)."""
        found: dict[str, list[str]] = {}
        for ref, item in self.cat.soc2.items():
            series = found.setdefault(" ".join(lexicon.content(self.phrase(item.category))), [])
            if soc2_series(ref) not in series:
                series.append(soc2_series(ref))
        return {k: tuple(v) for k, v in found.items()}

    def children(self) -> dict[str, tuple[str, ...]]:
        """`Clause 9.2` -> the catalogue's `Clause 9.2.1`, `Clause 9.2.2` (a heading over its sub-clauses)."""
        found: dict[str, list[str]] = {}
        for ref in self.cat.iso:
            if ref.startswith("Clause "):
                parts = ref.split(".")
                for cut in range(1, len(parts)):
                    found.setdefault(".".join(parts[:cut]), []).append(ref)
        return {parent: tuple(refs) for parent, refs in found.items()}

    def index(self) -> Index:
        cat, kn = self.cat, self.kn
        controls = lexicon.PhraseIndex(
            (c.name, self.name_words(name)) for c in cat.controls for name in (c.name, *kn.aliases.get(c.name, ())))
        iso_titles = lexicon.PhraseIndex((item.ref, self.name_words(item.title)) for item in cat.iso.values())
        faq = lexicon.PhraseIndex((e.id, lexicon.content(self.phrase(t))) for e in kn.faq for t in (*e.questions,
                                                                                                       *e.keywords))
        entry_words = {e.id: [w for t in (*e.questions, *e.keywords) for w in self.phrase(t)] for e in kn.faq}
        faq_words = {entry_id: frozenset(lexicon.content(ws)) for entry_id, ws in entry_words.items()}
        asks, askers = self.phrase_set(kn.asks), self.phrase_set(kn.askers)
        demand_words = frozenset(w for text in (*kn.asks, *kn.askers) for w in self.phrase(text)) | frozenset(
            W.FRAMEWORK_WORD) | W.CHOICE_SUBJECT | {"type1", "type2"}
        domain = frozenset({w for ws in faq_words.values() for w in ws} | set(controls.idf)) - lexicon.QUESTION_WORDS
        topic_words = frozenset(w for e in kn.faq for k in e.keywords for w in lexicon.content(self.phrase(k)))
        fields = dict(
            cat=cat, kn=kn, rewrite=self.rewrite, controls=controls, iso_titles=iso_titles, faq=faq,
            faq_by_id={e.id: e for e in kn.faq}, faq_words=faq_words,
            faq_families={entry_id: families(ws) for entry_id, ws in entry_words.items()},
            faq_exact=self.owners((e.id, key(self.phrase(q))) for e in kn.faq for q in e.questions),
            faq_topics=self.owners((e.id, " ".join(lexicon.content(self.phrase(k)))) for e in kn.faq
                                   for k in e.keywords),
            signals={name: self.phrase_set(ws) for name, ws in kn.signals.items()},
            markets={name: self.phrase_set(ws) for name, ws in kn.markets.items()},
            asks=asks, askers=askers, other_frameworks=self.phrase_set(kn.other_frameworks),
            known_iso=frozenset(n for e in kn.faq for k in e.keywords for n in W.OTHER_ISO.findall(k)),
            demand_words=demand_words, domain=domain | W.STRONG_DOMAIN_WORDS,
            topic_words=topic_words | W.STRONG_DOMAIN_WORDS,
            categories=self.categories(), children=self.children(),
        )
        fields["control_by_name"] = {c.name: c for c in cat.controls}
        fields["placed"] = frozenset(fields["domain"] | fields["topic_words"] | controls.idf.keys() | faq.idf.keys())
        vocabulary = Counter(self.raw)  # last: every phrase of our data has been read
        vocabulary.update(word for short in kn.abbreviations for word in lexicon.normalize(short).split())
        for word in lexicon.STOPWORDS | fields["domain"] | W.MAPPING_WORDS | W.CHOICE | W.CHOICE_SUBJECT:
            vocabulary[word] += 1
        return Index(speller=lexicon.Speller(vocabulary), **fields)


def build_index(cat: Catalog, kn: Knowledge) -> Index:
    return _Builder(cat, kn).index()
