"""Finds control references in free text, in every spelling people use, and writes them canonically.

Canonical forms are the article's: SOC 2 `CC6.1`, `A1.2`, `PI1.5`, `C1.1`, `P4.2`; ISO 27001:2022
`A.8.1` and `Clause 6.1.3`; ISO 27001:2013 `A.9.4.2` (three numbers).

Parsing is purely lexical and deterministic; whether a reference exists is the catalogue's business.
The one real ambiguity is the letter A: SOC 2 Availability is `A1.x` (no dot after the A, series 1)
while ISO Annex A is `A.5.x`–`A.8.x`. So `A1.2` and `A 1.2` are SOC 2, `A.1.2` and `Annex A 1.2`
are (unknown) ISO references, and `A 8.1` / `A8.1` are ISO because SOC 2 has no A8 series.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Kind = Literal["soc2", "iso", "clause", "iso2013"]

_NUM = r"(\d{1,2})"
_END = r"(?![\d])(?!\.\d)"  # not followed by more digits or another .number
_DOT = r"\s*\.\s*"

_PATTERN = re.compile(
    "|".join(
        (
            # ISO 27001:2013 Annex A: three numbers (A.9.4.2, Annex A 12.1.2)
            rf"(?P<y13>\b(?:annex\s*)?a\s*[.\-]?\s*{_NUM}{_DOT}{_NUM}{_DOT}{_NUM}{_END})",
            # a management-system clause: Clause 6.1.3, clause.7.3, Clause 7, section 9.2, § 6.1
            rf"(?P<clause>(?:\bclause|\bsection|§)\W{{0,3}}(\d{{1,2}}(?:{_DOT}\d{{1,2}}){{0,2}}){_END})",
            # SOC 2: CC6.1, cc 6.1, CC-6.1, PI 1.5, P4.2, C1.1, A1.2 / A 1.2 (no dot after A, series 1-4)
            # (CC6-1, CC6,1 and CC06.1 too: after a letter prefix, a dash, a decimal comma or a leading zero
            # cannot mean anything else)
            rf"(?P<soc>\b(?:(cc|pi|p|c)\s*[.\-]?\s*0?(\d)(?:{_DOT}|-|,)|(a)\s*-?\s*([1-4]){_DOT}){_NUM}{_END})",
            # ISO 27001:2022 Annex A: A.8.1, a.8.19, Annex A 8.1, Annex A.8.9., A 8.1, A8.1
            rf"(?P<iso>\b(annex\s*)?a\s*([.\-]?)\s*{_NUM}{_DOT}{_NUM}{_END})",
            # a bare three-part number such as 6.1.3, a clause when the catalogue has it
            rf"(?P<bare>(?<![\w.])(\d{{1,2}}\.\d{{1,2}}\.\d{{1,2}}){_END}(?!\w))",
        )
    ),
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Ref:
    kind: Kind
    ref: str  # canonical spelling
    bare: bool = False  # a number without "clause" in front: only a clause if the catalogue knows it


# every reference has two numbers joined by a dot, dash or comma, or follows "clause", "section" or "§": a text
# with none of those has no reference, and this much simpler search says so before the full one
_MAYBE = re.compile(r"\d\s*[.,\-]\s*\d|clause|section|§", re.IGNORECASE)


def find_refs(text: str) -> list[Ref]:
    """Every reference in `text`, canonical, in order of appearance, without repeats."""
    if not _MAYBE.search(text):
        return []
    found: list[Ref] = []
    for match in _PATTERN.finditer(text):
        ref = _canonical(match)
        if ref and ref not in found:
            found.append(ref)
    return found


def _canonical(match: re.Match) -> Ref | None:
    g = match.groups()
    if match.group("y13"):
        return Ref("iso2013", f"A.{int(g[1])}.{int(g[2])}.{int(g[3])}")
    if match.group("clause"):
        number = re.sub(r"\s+", "", g[5])
        return Ref("clause", "Clause " + ".".join(str(int(n)) for n in number.split(".")))
    if match.group("soc"):
        prefix, series = (g[7], g[8]) if g[7] else (g[9], g[10])
        return Ref("soc2", f"{prefix.upper()}{int(series)}.{int(g[11])}")
    if match.group("iso"):
        annex, separator, theme, number = g[13], g[14], int(g[15]), int(g[16])
        # `A 1.2` / `A1.2` were taken as SOC 2 above; what reaches here with a low theme had a dot or "Annex"
        return Ref("iso", f"A.{theme}.{number}") if (annex or separator or theme >= 5) else None
    if match.group("bare"):
        return Ref("clause", "Clause " + ".".join(str(int(n)) for n in g[18].split(".")), bare=True)
    return None


def soc2_series(ref: str) -> str:
    """`CC6.1` -> `CC6`, `PI1.5` -> `PI1`."""
    return ref.split(".", 1)[0]
