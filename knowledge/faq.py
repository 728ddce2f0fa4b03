"""Loads and validates the FAQ/advice and the synonyms data (`faq.toml`, `synonyms.toml`, `markets.toml`).

Like `catalog.load`, a malformed entry raises `DataError` naming the file and the line (TOML syntax
errors carry their own line; for a bad value we point at the line where its key or id is written).
"""
from __future__ import annotations

import functools
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from knowledge.catalog import DATA_DIR, Catalog, DataError, catalog

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


class _Toml:
    """One parsed TOML file that can say on which line a key or value is written."""

    def __init__(self, path: Path):
        self.name = path.name
        try:
            self.text = path.read_text(encoding="utf-8")
            self.data = tomllib.loads(self.text)
        except FileNotFoundError:
            raise DataError(f"{path.name}:1: file is missing") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
            line = re.search(r"line (\d+)", str(error))
            raise DataError(f"{path.name}:{line.group(1) if line else 1}: {error}") from None

    def line_of(self, needle: str, after: int = 1) -> int:
        lines = self.text.splitlines()
        for number in range(after, len(lines) + 1):
            if needle in lines[number - 1]:
                return number
        return after

    def fail(self, needle: str, message: str, after: int = 1):
        raise DataError(f"{self.name}:{self.line_of(needle, after)}: {message}")

    def table(self, key: str, needle: str | None = None) -> dict:
        value = self.data.get(key)
        if not isinstance(value, dict):
            self.fail(needle or f"[{key}", f"[{key}] must be a table")
        return value

    def strings(self, value, needle: str, what: str) -> tuple[str, ...]:
        if not isinstance(value, list) or not value or not all(isinstance(v, str) and v.strip() for v in value):
            self.fail(needle, f"{what} must be a non-empty list of non-empty strings")
        return tuple(v.strip() for v in value)

    def text_field(self, table: dict, key: str, needle: str, what: str, after: int = 1) -> str:
        value = table.get(key)
        if not isinstance(value, str) or not value.strip():
            self.fail(needle, f"{what} needs a non-empty {key}", after)
        return value.strip()


def _faq(toml: _Toml) -> tuple[tuple[FaqEntry, ...], dict[str, Advice]]:
    raw = toml.data.get("faq")
    if not isinstance(raw, list) or not raw:
        toml.fail("[[faq]]", "needs at least one [[faq]] entry")
    entries, at = [], 1
    for item in raw:
        at = toml.line_of("[[faq]]", at) + 1
        entry_id = item.get("id")
        if not isinstance(entry_id, str) or not entry_id.strip():
            toml.fail("[[faq]]", "a [[faq]] entry needs an id", at - 1)
        where = f"id = \"{entry_id}\""
        line = toml.line_of(entry_id, at)
        if any(e.id == entry_id for e in entries):
            toml.fail(entry_id, f"faq id {entry_id!r} appears twice", at)
        entries.append(
            FaqEntry(
                id=entry_id,
                questions=toml.strings(item.get("questions"), entry_id, f"{where}: questions"),
                keywords=toml.strings(item["keywords"], entry_id, f"{where}: keywords") if "keywords" in item else (),
                answer=toml.text_field(item, "answer", entry_id, f"faq {entry_id!r}", line),
                source=toml.text_field(item, "source", entry_id, f"faq {entry_id!r}", line),
                see_also=tuple(item.get("see_also", ())),
            )
        )
    known = {e.id for e in entries}
    for entry in entries:
        for other in entry.see_also:
            if other not in known:
                toml.fail(f"\"{other}\"", f"faq {entry.id!r}: see_also names unknown id {other!r}")
    advice = {}
    recommend = toml.table("recommend")
    for framework in FRAMEWORKS:
        table = recommend.get(framework)
        if not isinstance(table, dict):
            toml.fail("[recommend", f"[recommend.{framework}] is missing")
        line = toml.line_of(f"[recommend.{framework}]")
        advice[framework] = Advice(
            why=toml.text_field(table, "why", f"[recommend.{framework}]", f"[recommend.{framework}]"),
            source=toml.text_field(table, "source", f"[recommend.{framework}]", f"[recommend.{framework}]", line),
        )
    return tuple(entries), advice


def _synonyms(toml: _Toml, names: set[str]):
    abbreviations = {}
    for key, value in toml.table("abbreviations").items():
        if not isinstance(value, str) or not value.strip():
            toml.fail(key, f"abbreviation {key!r} needs a non-empty expansion")
        abbreviations[key.strip().casefold()] = value.strip()
    aliases = {}
    after = toml.line_of("[aliases]")
    for name, value in toml.table("aliases").items():
        if name not in names:
            toml.fail(name, f"[aliases] {name!r} is not a control name of controls.csv", after)
        aliases[name] = toml.strings(value, name, f"aliases of {name!r}")
    signals_table = toml.table("recommend_signals")
    signals = {}
    for framework in FRAMEWORKS:
        if framework not in signals_table:
            toml.fail("[recommend_signals]", f"[recommend_signals] needs {framework} = [...]")
        signals[framework] = toml.strings(signals_table[framework], f"{framework} =", f"recommend_signals.{framework}")
    return abbreviations, aliases, signals


def _markets(toml: _Toml):
    table = toml.table("markets")
    markets = {}
    for key in ("us", "international"):
        if key not in table:
            toml.fail("[markets]", f"[markets] needs {key} = [...]")
        markets[key] = toml.strings(table[key], f"{key} =", f"markets.{key}")
    contracts = toml.table("contracts")
    asks = toml.strings(contracts.get("asks"), "asks =", "contracts.asks")
    askers = toml.strings(contracts.get("who"), "who =", "contracts.who")
    return markets, asks, askers


def load(data_dir: Path = DATA_DIR, cat: Catalog | None = None) -> Knowledge:
    cat = cat or catalog()
    faq, advice = _faq(_Toml(data_dir / "faq.toml"))
    abbreviations, aliases, signals = _synonyms(_Toml(data_dir / "synonyms.toml"), {c.name for c in cat.controls})
    markets, asks, askers = _markets(_Toml(data_dir / "markets.toml"))
    return Knowledge(faq, advice, abbreviations, aliases, signals, markets, asks, askers)


@functools.cache
def knowledge() -> Knowledge:
    """The validated FAQ, advice and synonyms of the shipped data, loaded once per process."""
    return load()
