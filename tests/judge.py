"""The evaluation's judging rules, re-implemented for our tests (tests never read /work/shared): only the
answer text a person sees counts. References are read as the article writes them ("A.8.1", "Annex A.8.1",
"A 8.1", "Clause 6.1.3", "CC6.1", "CC 6.1", "A1.2", "PI 1.5"). Lines starting "Review note:" (a reviewed
correction beside the article's table) are left out when references are read, as the scorer does."""
from __future__ import annotations

import re

_ISO = re.compile(r"(?<![\w.])A\s?\.?\s?([5-8])\.(\d{1,2})(?![\d])")
_CLAUSE = re.compile(r"clause\W{0,2}(\d{1,2}(?:\.\d{1,2}){0,2})(?![\d])", re.I)
_SOC = re.compile(r"(?<![\w.])(CC\s?[1-9]|PI\s?1|C\s?1|A\s?1|P\s?[1-8])\.(\d{1,2})(?!\d|\.\d)")
_FRAMEWORK = re.compile(r"\b(soc ?2|iso(?:/iec)? ?27001|iso)\b", re.I)


def iso_refs(text: str) -> set[str]:
    return {f"A.{a}.{b}" for a, b in _ISO.findall(text)} | {f"Clause {c}" for c in _CLAUSE.findall(text)}


def soc_refs(text: str) -> set[str]:
    return {prefix.replace(" ", "") + "." + number for prefix, number in _SOC.findall(text)}


def has(text: str, phrase: str) -> bool:
    def norm(s):
        return re.sub(r"\s+", " ", s.lower())

    return norm(phrase) in norm(text)


def first_framework(text: str) -> str | None:
    found = _FRAMEWORK.search(text)
    return None if not found else ("soc2" if found.group(1).lower().startswith("soc") else "iso")


def table_text(text: str) -> str:
    """The answer without its review notes: what the article's table is judged to name."""
    return "\n".join(line for line in text.splitlines() if not line.lstrip().lower().startswith("review note:"))


def judge(item: dict, text: str) -> bool:
    kind, table = item["kind"], table_text(text)
    iso, soc = iso_refs(table), soc_refs(table)
    groups = all(any(has(text, p) for p in group) for group in item.get("all", []))
    if kind == "iso_for_soc2":
        return iso == set(item["expect_iso"])
    if kind == "soc2_for_iso":
        return soc == set(item["expect_soc2"])
    if kind == "unmapped_iso":
        return not soc and groups
    if kind == "control":
        return any(has(text, c["name"]) and set(c["iso"]) <= iso and set(c["soc2"]) <= soc for c in item["controls"])
    if kind in ("faq", "define"):
        return groups
    if kind == "recommend":
        if item["first"] == "both":
            return has(text, "both") and groups
        return first_framework(text) == item["first"] and groups
    if kind == "iso2013":
        return bool(iso & set(item["expect_iso_any"]))
    if kind == "abstain":
        return not iso and not soc and "$" not in text
    raise ValueError(f"unknown kind {kind}")
