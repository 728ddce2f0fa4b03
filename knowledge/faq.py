"""Loads and validates the FAQ/advice, the synonyms and the recommendation data (`faq.toml`, `synonyms.toml`,
`recommend.toml`).

Like `catalog.load`, a malformed entry raises `DataError` naming the file and the line (TOML syntax
errors carry their own line; for a bad value we point at the line where its key or id is written).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from knowledge.catalog import DATA_DIR, Catalog, TomlFile, catalog

FRAMEWORKS = ("soc2", "iso", "both")


@dataclass(frozen=True)
class FaqEntry:
    id: str
    questions: tuple[str, ...]
    keywords: tuple[str, ...]
    answer: str
    source: str
    see_also: tuple[str, ...] = ()


@dataclass(frozen=True)
class Advice:
    """Why one recommendation (soc2, iso or both) suits, in our own words."""

    why: str
    source: str


@dataclass(frozen=True)
class Knowledge:
    faq: tuple[FaqEntry, ...]
    advice: dict[str, Advice]  # "soc2" | "iso" | "both" -> why
    abbreviations: dict[str, str]  # "mfa" -> "multi-factor authentication"
    aliases: dict[str, tuple[str, ...]]  # control name -> other names people use
    signals: dict[str, tuple[str, ...]]  # "soc2" | "iso" | "both" -> words that lean that way
    markets: dict[str, tuple[str, ...]]  # "us" | "international" -> where customers are
    asks: tuple[str, ...]  # verbs of a customer or contract demanding a framework
    askers: tuple[str, ...]  # who may demand one: customer, contract, rfp ...
    other_frameworks: tuple[str, ...] = ()  # frameworks we hold no facts on: hipaa, pci dss ...


def _faq(toml: TomlFile) -> tuple[tuple[FaqEntry, ...], dict[str, Advice]]:
    raw = toml.data.get("faq")
    headers = toml.headers("[[faq]]")
    if not isinstance(raw, list) or not raw:
        toml.fail(1, "needs at least one [[faq]] entry")
    entries = []
    for number, item in enumerate(raw):
        start = headers[number] if number < len(headers) else 1
        entry_id = item.get("id")
        if not isinstance(entry_id, str) or not entry_id.strip():
            toml.fail(start, "a [[faq]] entry needs an id")
        at = toml.key("id", start)  # errors of a missing field point at the entry's id
        if any(e.id == entry_id for e in entries):
            toml.fail(at, f"faq id {entry_id!r} appears twice")
        what = f"faq {entry_id!r}"
        see_also = item.get("see_also", [])
        if not isinstance(see_also, list) or not all(isinstance(v, str) for v in see_also):
            toml.fail(toml.key("see_also", start), f"{what}: see_also must be a list of ids")
        entries.append(
            FaqEntry(
                id=entry_id,
                questions=toml.strings(item.get("questions"), toml.key("questions", start) if "questions" in item else at,
                                       f"{what}: questions"),
                keywords=toml.strings(item["keywords"], toml.key("keywords", start), f"{what}: keywords")
                if "keywords" in item else (),
                answer=toml.text(item, "answer", at, what),
                source=toml.text(item, "source", at, what),
                see_also=tuple(see_also),
            )
        )
    known = {e.id for e in entries}
    for number, entry in enumerate(entries):
        for other in entry.see_also:
            if other not in known:
                line = toml.key("see_also", headers[number] if number < len(headers) else 1)
                toml.fail(line, f"faq {entry.id!r}: see_also names unknown id {other!r}")
    advice = {}
    recommend, _ = toml.table("recommend")
    for framework in FRAMEWORKS:
        table = recommend.get(framework)
        start = toml.header(f"[recommend.{framework}]")
        if not isinstance(table, dict):
            toml.fail(toml.header("[recommend]") if start == 1 else start, f"[recommend.{framework}] is missing")
        where = f"[recommend.{framework}]"
        advice[framework] = Advice(why=toml.text(table, "why", start, where), source=toml.text(table, "source", start, where))
    return tuple(entries), advice


def _synonyms(toml: TomlFile, names: set[str]):
    abbreviations = {}
    table, start = toml.table("abbreviations")
    for key, value in table.items():
        if not isinstance(value, str) or not value.strip():
            toml.fail(toml.key(key, start), f"abbreviation {key!r} needs a non-empty expansion")
        abbreviations[key.strip().casefold()] = value.strip()
    aliases = {}
    table, start = toml.table("aliases")
    for name, value in table.items():
        if name not in names:
            toml.fail(toml.key(name, start), f"[aliases] {name!r} is not a control name of controls.csv")
        aliases[name] = toml.strings(value, toml.key(name, start), f"aliases of {name!r}")
    table, start = toml.table("other_frameworks")
    other_frameworks = toml.strings(table.get("names"), toml.key("names", start), "other_frameworks.names")
    return abbreviations, aliases, other_frameworks


def _lists(toml: TomlFile, name: str, keys: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    table, start = toml.table(name)
    for key in keys:
        if key not in table:
            toml.fail(start, f"[{name}] needs {key} = [...]")
    return {key: toml.strings(table[key], toml.key(key, start), f"{name}.{key}") for key in keys}


def _recommend(toml: TomlFile):
    """Markets, company traits (`signals`) and contract words: everything a recommendation reads."""
    markets = _lists(toml, "markets", ("us", "international"))
    signals = _lists(toml, "signals", FRAMEWORKS)
    contracts = _lists(toml, "contracts", ("who", "asks"))
    return markets, signals, contracts["asks"], contracts["who"]


def load(data_dir: Path = DATA_DIR, cat: Catalog | None = None) -> Knowledge:
    cat = cat or catalog()
    faq, advice = _faq(TomlFile(data_dir / "faq.toml"))
    abbreviations, aliases, others = _synonyms(TomlFile(data_dir / "synonyms.toml"), {c.name for c in cat.controls})
    markets, signals, asks, askers = _recommend(TomlFile(data_dir / "recommend.toml"))
    return Knowledge(faq, advice, abbreviations, aliases, signals, markets, asks, askers, others)


@functools.cache
def knowledge() -> Knowledge:
    """The validated FAQ, advice and synonyms of the shipped data, loaded once per process."""
    return load()
