"""Loads and validates the data files in `knowledge/data/`.

Everything is checked at load: each reference of the control table exists in its catalogue, control
names are unique, every row has the columns it needs. A bad row raises `DataError` naming the file and
line, so a broken edit fails at start instead of answering wrongly.
"""
from __future__ import annotations

import csv
import functools
from dataclasses import dataclass
from pathlib import Path

DATA_DIR = Path(__file__).parent / "data"


class DataError(ValueError):
    """A data file is malformed; the message names the file and the line."""


@dataclass(frozen=True)
class Control:
    """A named control of the article's table, counting for both frameworks at once."""

    name: str
    soc2: tuple[str, ...]  # e.g. ("CC6.1",)
    iso: tuple[str, ...]  # e.g. ("A.8.1", "Clause 6.1.3")


@dataclass(frozen=True)
class IsoItem:
    ref: str  # "A.8.1" or "Clause 6.1.3"
    title: str
    theme: str  # Organizational | People | Physical | Technological | Clause


@dataclass(frozen=True)
class Soc2Item:
    ref: str  # "CC6.1", "A1.2", "PI1.5", "P4.2"
    category: str
    title: str


@dataclass(frozen=True)
class IsmsActivity:
    """What a clause of 4–10 asks a company to do, and what an auditor asks to see, in our own words."""

    ref: str  # "Clause 9.3"
    activity: str
    evidence: str


# SOC 2 categories a company may put in its scope; every other criterion is Security (always in scope)
SOC2_OPTIONAL = ("Availability", "Confidentiality", "Processing Integrity", "Privacy")


@dataclass(frozen=True)
class Catalog:
    controls: tuple[Control, ...]
    iso: dict[str, IsoItem]
    soc2: dict[str, Soc2Item]
    iso2013: dict[str, tuple[str, tuple[str, ...]]]  # 2013 ref -> (2013 title, 2022 refs)
    isms: dict[str, IsmsActivity] = None  # "Clause 4.1" -> its activity; every clause has one

    def soc2_category(self, ref: str) -> str:
        """"Security" for the common criteria, else the optional category (Availability, ..., Privacy)."""
        category = self.soc2[ref].category
        return category if category in SOC2_OPTIONAL else "Security"

    def control(self, name: str) -> Control | None:
        folded = name.casefold()
        return next((c for c in self.controls if c.name.casefold() == folded), None)

    def controls_for(self, ref: str) -> tuple[Control, ...]:
        """Controls whose SOC 2 or ISO side names `ref` (a canonical reference)."""
        return self._by_ref().get(ref, ())

    @functools.cache
    def _by_ref(self) -> dict[str, tuple[Control, ...]]:
        index: dict[str, list[Control]] = {}
        for control in self.controls:
            for ref in control.soc2 + control.iso:
                index.setdefault(ref, []).append(control)
        return {ref: tuple(found) for ref, found in index.items()}

    def __hash__(self) -> int:  # one catalog per process; identity is enough for the cache
        return id(self)


def _rows(path: Path, columns: tuple[str, ...]):
    """Yield (line number, row) for each data row, checking the header and required cells."""
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        if tuple(reader.fieldnames or ()) != columns:
            raise DataError(f"{path.name}:1: expected columns {','.join(columns)}")
        for row in reader:
            line = reader.line_num
            if None in row or any(row[c] is None or not row[c].strip() for c in columns if c != "refs_2022"):
                raise DataError(f"{path.name}:{line}: a row needs {len(columns)} non-empty cells")
            yield line, {k: v.strip() for k, v in row.items()}


def _iso_ref(raw: str) -> str:
    """Catalogue refs are written `A.5.1` or `4.1` (a clause); we write clauses `Clause 4.1`."""
    return raw if raw.startswith("A.") else f"Clause {raw}"


def _split(cell: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in cell.split(";") if part.strip())


def load(data_dir: Path = DATA_DIR) -> Catalog:
    iso = {}
    for line, row in _rows(data_dir / "iso27001_2022.csv", ("ref", "title", "theme")):
        ref = _iso_ref(row["ref"])
        if ref in iso:
            raise DataError(f"iso27001_2022.csv:{line}: {ref} appears twice")
        iso[ref] = IsoItem(ref, row["title"], row["theme"])

    soc2 = {}
    for line, row in _rows(data_dir / "soc2_tsc_2017.csv", ("ref", "category", "title")):
        if row["ref"] in soc2:
            raise DataError(f"soc2_tsc_2017.csv:{line}: {row['ref']} appears twice")
        soc2[row["ref"]] = Soc2Item(row["ref"], row["category"], row["title"])

    iso2013 = {}
    for line, row in _rows(data_dir / "iso27001_2013_to_2022.csv", ("ref_2013", "title_2013", "refs_2022")):
        targets = _split(row["refs_2022"])
        for target in targets:
            if target not in iso:
                raise DataError(f"iso27001_2013_to_2022.csv:{line}: unknown ISO 27001:2022 reference {target}")
        iso2013[row["ref_2013"]] = (row["title_2013"], targets)

    controls, seen = [], set()
    for line, row in _rows(data_dir / "controls.csv", ("name", "soc2", "iso")):
        where = f"controls.csv:{line}"
        if row["name"].casefold() in seen:
            raise DataError(f"{where}: control name {row['name']!r} appears twice")
        seen.add(row["name"].casefold())
        control = Control(row["name"], _split(row["soc2"]), _split(row["iso"]))
        for ref in control.soc2:
            if ref not in soc2:
                raise DataError(f"{where}: unknown SOC 2 criterion {ref}")
        for ref in control.iso:
            if ref not in iso:
                raise DataError(f"{where}: unknown ISO 27001:2022 reference {ref}")
        controls.append(control)

    return Catalog(tuple(controls), iso, soc2, iso2013, _isms(data_dir, iso))


def _isms(data_dir: Path, iso: dict[str, IsoItem]) -> dict[str, IsmsActivity]:
    found = {}
    for line, row in _rows(data_dir / "isms_clauses.csv", ("ref", "activity", "evidence")):
        ref = _iso_ref(row["ref"])
        if ref not in iso or not ref.startswith("Clause"):
            raise DataError(f"isms_clauses.csv:{line}: {ref} is not a clause of ISO 27001:2022")
        if ref in found:
            raise DataError(f"isms_clauses.csv:{line}: {ref} appears twice")
        found[ref] = IsmsActivity(ref, row["activity"], row["evidence"])
    missing = [ref for ref in iso if ref.startswith("Clause") and ref not in found]
    if missing:
        raise DataError(f"isms_clauses.csv: no activity for {', '.join(missing)}")
    return found


@functools.cache
def catalog() -> Catalog:
    """The validated catalogue of the shipped data, loaded once per process."""
    return load()
