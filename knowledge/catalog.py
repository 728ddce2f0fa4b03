"""Loads and validates the data files in `knowledge/data/`.

Everything is checked at load: each reference of the control table exists in its catalogue, control
names are unique, every row has the columns it needs, and the review of the table (`mapping_review.toml`)
covers every row once with additions that exist and are not already mapped. A bad row raises
`DataError` naming the file and line, so a broken edit fails at start instead of answering wrongly.
"""
from __future__ import annotations

import csv
import dataclasses
import functools
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

DATA_DIR = Path(__file__).parent / "data"


class DataError(ValueError):
    """A data file is malformed; the message names the file and the line."""


@dataclass(frozen=True)
class Review:
    """What our review of one table row adds: references that fit the control, and why."""

    soc2: tuple[str, ...]
    iso: tuple[str, ...]
    why: str  # one sentence


@dataclass(frozen=True)
class Control:
    """A named control of the article's table, counting for both frameworks at once."""

    name: str
    soc2: tuple[str, ...]  # e.g. ("CC6.1",): the article's, the data of record
    iso: tuple[str, ...]  # e.g. ("A.8.1", "Clause 6.1.3")
    review: Review | None = None  # the review's additions; None where the row fits as it is

    @property
    def covers(self) -> tuple[str, ...]:
        """Every reference this control covers once finished: the table's, then the review's additions."""
        added = self.review.soc2 + self.review.iso if self.review else ()
        return self.soc2 + self.iso + added


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
        """Controls whose SOC 2 or ISO side in the article's table names `ref` (a canonical reference)."""
        return self._by_ref(reviewed=False).get(ref, ())

    def covering(self, ref: str) -> tuple[Control, ...]:
        """Controls that cover `ref` for coverage: the table's mapping plus the review's additions."""
        return self._by_ref(reviewed=True).get(ref, ())

    @functools.cache
    def _by_ref(self, reviewed: bool) -> dict[str, tuple[Control, ...]]:
        index: dict[str, list[Control]] = {}
        for control in self.controls:
            for ref in control.covers if reviewed else control.soc2 + control.iso:
                index.setdefault(ref, []).append(control)
        return {ref: tuple(found) for ref, found in index.items()}

    def __hash__(self) -> int:  # one catalog per process; identity is enough for the cache
        return id(self)


class TomlFile:
    """One parsed TOML file that can say on which line a table or key is written (comments ignored)."""

    def __init__(self, path: Path):
        self.name = path.name
        try:
            text = path.read_text(encoding="utf-8")
            self.data = tomllib.loads(text)
        except FileNotFoundError:
            raise DataError(f"{path.name}:1: file is missing") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
            line = re.search(r"line (\d+)", str(error))
            raise DataError(f"{path.name}:{line.group(1) if line else 1}: {error}") from None
        self.lines = text.splitlines()

    def headers(self, header: str) -> list[int]:
        """Line numbers of the table headers written exactly `header`, e.g. `[[faq]]`, `[aliases]`."""
        return [n for n, line in enumerate(self.lines, 1) if line.split("#", 1)[0].strip() == header]

    def header(self, header: str) -> int:
        found = self.headers(header)
        return found[0] if found else 1

    def key(self, key: str, start: int) -> int:
        """The line of `key = ...` within the table that starts at line `start` (else `start`)."""
        pattern = re.compile(rf"^\s*[\"']?{re.escape(key)}[\"']?\s*=")
        for number in range(start + 1, len(self.lines) + 1):
            line = self.lines[number - 1]
            if line.lstrip().startswith("["):
                break
            if pattern.match(line):
                return number
        return start

    def fail(self, line: int, message: str):
        raise DataError(f"{self.name}:{line}: {message}")

    def table(self, key: str) -> tuple[dict, int]:
        value = self.data.get(key)
        if not isinstance(value, dict):
            self.fail(self.header(f"[{key}]"), f"[{key}] must be a table")
        return value, self.header(f"[{key}]")

    def strings(self, value, line: int, what: str) -> tuple[str, ...]:
        if not isinstance(value, list) or not value or not all(isinstance(v, str) and v.strip() for v in value):
            self.fail(line, f"{what} must be a non-empty list of non-empty strings")
        return tuple(v.strip() for v in value)

    def text(self, table: dict, key: str, start: int, what: str) -> str:
        value = table.get(key)
        if not isinstance(value, str) or not value.strip():
            self.fail(self.key(key, start) if key in table else start, f"{what} needs a non-empty {key}")
        return value.strip()


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

    reviews = _reviews(TomlFile(data_dir / "mapping_review.toml"), controls, soc2, iso)
    controls = [dataclasses.replace(c, review=reviews[c.name]) for c in controls]
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


VERDICTS = ("fits", "adds")


def _reviews(toml: TomlFile, controls: list[Control], soc2: dict, iso: dict) -> dict[str, Review | None]:
    """Control name -> its review's additions (None where it fits); every row of the table reviewed once."""
    raw = toml.data.get("review")
    if not isinstance(raw, list) or not raw:
        toml.fail(1, "needs a [[review]] entry per row of controls.csv")
    by_name = {c.name: c for c in controls}
    headers = toml.headers("[[review]]")
    reviews: dict[str, Review | None] = {}
    for number, item in enumerate(raw):
        start = headers[number] if number < len(headers) else 1
        name = toml.text(item, "control", start, "a [[review]] entry")
        at = toml.key("control", start)
        if name not in by_name:
            toml.fail(at, f"{name!r} is not a control name of controls.csv")
        if name in reviews:
            toml.fail(at, f"{name!r} is reviewed twice")
        verdict = toml.text(item, "verdict", at, f"review of {name!r}")
        if verdict not in VERDICTS:
            toml.fail(toml.key("verdict", start), f"review of {name!r}: verdict must be fits or adds, not {verdict!r}")
        added = {}
        for side, known, what in (("soc2", soc2, "SOC 2 criterion"), ("iso", iso, "ISO 27001:2022 reference")):
            line = toml.key(side, start)
            refs = toml.strings(item[side], line, f"review of {name!r}: {side}") if side in item else ()
            for ref in refs:
                if ref not in known:
                    toml.fail(line, f"review of {name!r}: unknown {what} {ref}")
                if ref in getattr(by_name[name], side):
                    toml.fail(line, f"review of {name!r}: {ref} is already in the table (a review only adds)")
            added[side] = refs
        if (verdict == "adds") != any(added.values()):
            toml.fail(toml.key("verdict", start), f"review of {name!r}: verdict {verdict} "
                      + ("needs an iso or soc2 addition" if verdict == "adds" else "cannot add references"))
        why = toml.text(item, "why", at, f"review of {name!r}")
        reviews[name] = Review(added["soc2"], added["iso"], why) if verdict == "adds" else None
    missing = [c.name for c in controls if c.name not in reviews]
    if missing:
        toml.fail(len(toml.lines) or 1, f"no review of {', '.join(map(repr, missing))} (every row needs one)")
    return reviews


@functools.cache
def catalog() -> Catalog:
    """The validated catalogue of the shipped data, loaded once per process."""
    return load()
