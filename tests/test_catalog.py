"""The data loaders validate everything at start, and a broken row fails naming its file and line."""
from __future__ import annotations

import re
import shutil
import tomllib

import pytest

from knowledge import catalog as catalog_module
from knowledge import faq as faq_module
from knowledge.catalog import DATA_DIR, DataError, catalog


@pytest.fixture
def data(tmp_path):
    """A private copy of the shipped data directory that a test may break."""
    target = tmp_path / "data"
    shutil.copytree(DATA_DIR, target)
    return target


def _edit(path, old, new, count=1):
    text = path.read_text(encoding="utf-8")
    assert old in text, f"fixture text {old!r} not in {path.name}"
    path.write_text(text.replace(old, new, count), encoding="utf-8")


def _line_of(path, needle):
    return next(n for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if needle in line)


def test_shipped_data_loads_completely():
    cat = catalog()
    assert len(cat.controls) == 118
    assert sum(1 for item in cat.iso.values() if item.theme != "Clause") == 93
    assert len(cat.soc2) == 61
    assert len(cat.iso2013) == 114
    assert cat.control("disk encryption").iso == ("A.8.1",)
    assert {c.name for c in cat.controls_for("A.8.5")} >= {"Multi-Factor Authentication", "MFA for Sensitive Access"}
    kn = faq_module.knowledge()
    assert kn.faq and set(kn.advice) == {"soc2", "iso", "both"}
    assert all(name in {c.name for c in cat.controls} for name in kn.aliases)


def test_article_quirks_are_normalised_in_the_table():
    refs = {r for c in catalog().controls for r in (*c.soc2, *c.iso)}
    assert "A.8.9" in refs and "Clause 7.3" in refs and "A1.2" in refs and "CC6.1" in refs
    assert not any(" " in r and not r.startswith("Clause ") for r in refs)
    assert not any(r.endswith(".") for r in refs)


@pytest.mark.parametrize(
    "old, new, message",
    [
        ("Disk Encryption,CC6.1,A.8.1", "Disk Encryption,CC6.9,A.8.1", "unknown SOC 2 criterion CC6.9"),
        ("Disk Encryption,CC6.1,A.8.1", "Disk Encryption,CC6.1,A.8.99", "unknown ISO 27001:2022 reference A.8.99"),
        ("Disk Encryption,CC6.1,A.8.1", "Antivirus,CC6.1,A.8.1", "appears twice"),
        ("Disk Encryption,CC6.1,A.8.1", "Disk Encryption,,A.8.1", "non-empty cells"),
    ],
)
def test_a_bad_control_row_names_file_and_line(data, old, new, message):
    line = _line_of(data / "controls.csv", old)
    _edit(data / "controls.csv", old, new)
    with pytest.raises(DataError) as error:
        catalog_module.load(data)
    assert str(error.value).startswith(f"controls.csv:{line}:")
    assert message in str(error.value)


def test_a_bad_correspondence_row_names_file_and_line(data):
    path = data / "iso27001_2013_to_2022.csv"
    line = _line_of(path, "A.9.4.2,")
    _edit(path, "Secure log-on procedures,A.8.5", "Secure log-on procedures,A.8.55")
    with pytest.raises(DataError, match=rf"^iso27001_2013_to_2022.csv:{line}: unknown ISO 27001:2022 reference A.8.55"):
        catalog_module.load(data)


def test_a_wrong_header_fails_on_line_one(data):
    _edit(data / "soc2_tsc_2017.csv", "ref,category,title", "ref,title")
    with pytest.raises(DataError, match=r"^soc2_tsc_2017.csv:1: expected columns"):
        catalog_module.load(data)


def test_a_duplicate_iso_ref_names_its_line(data):
    path = data / "iso27001_2022.csv"
    _edit(path, "A.8.2,Privileged access rights", "A.8.1,Privileged access rights")
    line = _line_of(path, "A.8.1,Privileged access rights")
    with pytest.raises(DataError, match=rf"^iso27001_2022.csv:{line}: A.8.1 appears twice"):
        catalog_module.load(data)


def _load_knowledge(data):
    return faq_module.load(data, catalog_module.load(data))


def test_faq_toml_syntax_error_names_its_line(data):
    path = data / "faq.toml"
    line = _line_of(path, 'id = "soc2-what"')
    _edit(path, 'id = "soc2-what"', 'id = "soc2-what')
    with pytest.raises(DataError, match=rf"^faq.toml:{line}:"):
        _load_knowledge(data)


def test_faq_entry_without_answer_names_its_line(data):
    path = data / "faq.toml"
    text = path.read_text(encoding="utf-8")
    start = text.index('id = "soc2-what"')
    answer_at = text.index("answer = ", start)
    end = text.index('"""', text.index('"""', answer_at) + 3) + 3
    path.write_text(text[:answer_at] + text[end:], encoding="utf-8")
    line = _line_of(path, 'id = "soc2-what"')
    with pytest.raises(DataError, match=rf"^faq.toml:{line}: faq 'soc2-what' needs a non-empty answer"):
        _load_knowledge(data)


def test_faq_duplicate_id_names_the_second_one(data):
    path = data / "faq.toml"
    line = _line_of(path, 'id = "iso-what"')
    _edit(path, 'id = "iso-what"', 'id = "soc2-what"')
    with pytest.raises(DataError, match=rf"^faq.toml:{line}: faq id 'soc2-what' appears twice"):
        _load_knowledge(data)


def test_faq_empty_questions_names_their_line(data):
    path = data / "faq.toml"
    text = path.read_text(encoding="utf-8")
    start = text.index("questions = [", text.index('id = "iso-what"'))
    end = text.index("]", start) + 1
    path.write_text(text[:start] + "questions = []" + text[end:], encoding="utf-8")
    line = _line_of(path, "questions = []")
    with pytest.raises(DataError, match=rf"^faq.toml:{line}: faq 'iso-what': questions must be a non-empty list"):
        _load_knowledge(data)


@pytest.mark.parametrize("file, good, bad, error", [
    ("synonyms.toml", 'dlp = "data loss prevention"', 'dlp = ""', "abbreviation 'dlp' needs a non-empty expansion"),
    ("faq.toml", '"soc2-who-suits", "trust-services-criteria"', '"soc2-who-suits", "no-such-entry"',
     ".*unknown id 'no-such-entry'"),  # see_also must name an entry
    ("synonyms.toml", '"Disk Encryption" = [', '"Disc Encryption" = [',
     r"\[aliases\] 'Disc Encryption' is not a control name"),
], ids=["empty abbreviation", "unknown see_also", "alias of an unknown control"])
def test_a_bad_entry_names_its_file_and_line(data, file, good, bad, error):
    path = data / file
    _edit(path, good, bad)
    line = _line_of(path, bad)
    with pytest.raises(DataError, match=rf"^{file}:{line}: {error}"):
        _load_knowledge(data)


def test_missing_other_frameworks_fail(data):
    _edit(data / "synonyms.toml", "\n[other_frameworks]\n", "\n[other_frameworks_typo]\n")
    with pytest.raises(DataError, match=r"^synonyms.toml:\d+: \[other_frameworks\] must be a table"):
        _load_knowledge(data)


@pytest.mark.parametrize("old, new, table, key", [("international = [", "abroad = [", "markets", "international"),
                                                   ("\nboth = [", "\nbooth = [", "signals", "both"),
                                                   ("\nasks = [", "\nverbs = [", "contracts", "asks")])
def test_recommendation_lists_are_required(data, old, new, table, key):
    path = data / "recommend.toml"
    _edit(path, old, new)
    line = _line_of(path, f"[{table}]")
    with pytest.raises(DataError, match=rf"^recommend.toml:{line}: \[{table}\] needs {key}"):
        _load_knowledge(data)


def test_a_missing_data_file_is_named(data):
    (data / "synonyms.toml").unlink()
    with pytest.raises(DataError, match=r"^synonyms.toml:1: file is missing"):
        _load_knowledge(data)


# -- the review of the article's table (mapping_review.toml) ------------------------------------------

REVIEW_REF = re.compile(r"\b(?:A\.\d+\.\d+|CC\d\.\d|A1\.\d|C1\.\d|PI1\.\d|P\d\.\d|Clause \d+(?:\.\d+)*)\b")


@pytest.mark.parametrize("name, side, added", [
    ("Antivirus", "iso", "A.8.7"),  # the table has A.5.32, intellectual property rights
    ("Software Updates", "iso", "A.8.7"),
    ("Encryption at Rest", "iso", "A.8.24"),  # the table has A.5.34 only
    ("Risk Assessment Methodology", "iso", "Clause 6.1.2"),  # the table has A.5.12, classification
    ("Edit Checks", "iso", "A.8.26"),  # the table has A.8.11, data masking
    ("Data Collection", "iso", "A.5.34"),
    ("Information Security Oversight", "soc2", "CC1.2"),
])
def test_the_review_adds_what_fits_and_keeps_the_table(name, side, added):
    control = catalog().control(name)
    assert added in getattr(control.review, side)
    assert added not in getattr(control, side)  # the table's references stay the article's
    assert added in control.covers and control in catalog().covering(added)
    assert control not in catalog().controls_for(added)  # answers quote the table


def test_every_row_is_reviewed_and_clause_6_1_2_is_mapped():
    cat = catalog()
    reviewed = [item["control"] for item in
                tomllib.loads((DATA_DIR / "mapping_review.toml").read_text(encoding="utf-8"))["review"]]
    assert reviewed == [c.name for c in cat.controls]  # all 118, in the table's order
    assert not cat.controls_for("Clause 6.1.2") and cat.covering("Clause 6.1.2")
    fitting = cat.control("Background Check")
    assert fitting.review is None and fitting.covers == fitting.soc2 + fitting.iso
    assert cat.control("disk encryption").iso == ("A.8.1",) and "A.8.24" in cat.control("disk encryption").covers


def test_each_why_is_one_sentence_naming_only_the_rows_references():
    for item in tomllib.loads((DATA_DIR / "mapping_review.toml").read_text(encoding="utf-8"))["review"]:
        control = catalog().control(item["control"])
        why = item["why"]
        assert why.endswith(".") and not re.search(r"[.;:!?]\s+[A-Z][a-z]", why.replace("e.g. ", "")), why
        assert set(REVIEW_REF.findall(why)) <= set(control.covers), (control.name, why)


@pytest.mark.parametrize("old, new, message", [
    ('control = "Antivirus"\n', 'control = "Anti-virus"\n', "'Anti-virus' is not a control name of controls.csv"),
    ('control = "Antivirus"\n', 'control = "Administrator Access"\n', "'Administrator Access' is reviewed twice"),
    ('iso = ["A.8.7"]\nwhy = "Antivirus is', 'iso = ["A.8.77"]\nwhy = "Antivirus is',
     "review of 'Antivirus': unknown ISO 27001:2022 reference A.8.77"),
    ('iso = ["A.8.7"]\nwhy = "Antivirus is', 'iso = ["A.5.32"]\nwhy = "Antivirus is',
     r"review of 'Antivirus': A.5.32 is already in the table \(a review only adds\)"),
    ('iso = ["A.8.7"]\nwhy = "Antivirus is', 'soc2 = ["A.8.7"]\nwhy = "Antivirus is',
     "review of 'Antivirus': unknown SOC 2 criterion A.8.7"),
    ('control = "Antivirus"\nverdict = "adds"', 'control = "Antivirus"\nverdict = "fits"',
     "review of 'Antivirus': verdict fits cannot add references"),
    ('control = "Antivirus"\nverdict = "adds"', 'control = "Antivirus"\nverdict = "maybe"',
     "review of 'Antivirus': verdict must be fits or adds"),
    ('control = "Background Check"\nverdict = "fits"', 'control = "Background Check"\nverdict = "adds"',
     "review of 'Background Check': verdict adds needs an iso or soc2 addition"),
], ids=["unknown control", "twice", "unknown ISO ref", "already mapped", "ISO ref as SOC 2", "fits adding",
        "bad verdict", "adds nothing"])
def test_a_bad_review_names_its_file_and_line(data, old, new, message):
    path = data / "mapping_review.toml"
    text = path.read_text(encoding="utf-8")
    changed = next(n for n, (was, now) in enumerate(zip(old.splitlines(), new.splitlines())) if was != now)
    line = text[:text.index(old)].count("\n") + 1 + changed
    _edit(path, old, new)
    with pytest.raises(DataError, match=rf"^mapping_review.toml:{line}: {message}"):
        catalog_module.load(data)


def test_a_row_without_review_is_named(data):
    path = data / "mapping_review.toml"
    text = path.read_text(encoding="utf-8")
    start = text.index('[[review]]\ncontrol = "Generators"')
    path.write_text(text[:start] + text[text.index("[[review]]", start + 1):], encoding="utf-8")
    with pytest.raises(DataError, match=r"^mapping_review.toml:\d+: no review of 'Generators'"):
        catalog_module.load(data)


def test_a_missing_review_file_is_named(data):
    (data / "mapping_review.toml").unlink()
    with pytest.raises(DataError, match=r"^mapping_review.toml:1: file is missing"):
        catalog_module.load(data)
