"""The FAQ/advice and synonym files are complete, consistent with the control table, and in our own words.

Reads only knowledge/data/ (never the seed article itself): the article sentences that must not be
copied are embedded below as a fixture.
"""
from __future__ import annotations

import csv
import re
import tomllib
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[1] / "knowledge" / "data"

# Long, distinctive sentences of the seed article (its FAQ answers and key paragraphs). No answer of
# ours may share a run of COPY_WORDS consecutive words with any of them.
ARTICLE_SENTENCES = (
    "SOC 2, which stands for Service and Organization Controls 2, is a report that certifies a service "
    "organization's customer data safety.",
    "In contrast, SOC 2 Type 2 assesses the design and operating effectiveness of the controls over a "
    "specified lookback period, typically six months to a year.",
    "A highly organized and prepared company could complete Type 1 attestation in as little as 45 days.",
    "Type 2 attestation, on the other hand, can take two to six months, depending on the organization's IT "
    "maturity, staff involvement, and other factors.",
    "An auditor evaluates whether an organization's information security management system (ISMS) meets "
    "the strict controls framework set by ISO.",
    "ISO/IEC 27001:2022 was released in 2022 to match the Annex SL structure of other ISO standards, making "
    "it easier to coordinate with them.",
    "The customizable controls in SOC 2 allow organizations to tailor their audit, making it more suitable "
    "for smaller or younger organizations.",
    "This can lead to wasted time spent running controls that don't matter, pulling evidence that is "
    "unreasonable, and creating policies and procedures that are irrelevant.",
    "The cost of ISO 27001 compliance is slightly higher, both in audit and certification cost and in the "
    "hidden cost of the staff of maintaining a program.",
    "Industries that handle sensitive information, such as healthcare, finance, IT services, and cloud "
    "providers, benefit most from SOC 2 and ISO 27001 compliance.",
    "You can achieve SOC 2 certification in as little as 45 days for Type 1. SOC Type 2 takes two to six "
    "months or more. ISO 27001 certification can take anywhere from two months to two years or more. The "
    "length depends on the company's complexity and maturity in security management.",
    "Common implementation challenges are understanding and meeting the comprehensive requirements, "
    "allocating sufficient resources, and maintaining compliance.",
    "ISO 27001 is a comprehensive framework for identifying, assessing, and mitigating confidentiality, "
    "availability, and integrity risks.",
    "Both audits require documentation (policies, procedures, settings, and configurations) to demonstrate "
    "the controls are at least designed appropriately.",
    "ISO 27001 audits require documentation of a statement of applicability, evidence of ongoing monitoring "
    "and improvement of the ISMS, and tracking of non-conformities.",
    "After the initial certification audit, ISO 27001 certification requires a surveillance audit every "
    "year and a full recertification audit every three years.",
    "The cost of achieving SOC 2 certification varies but ranges from $20,000 to $100,000, depending on the "
    "scope and complexity.",
    "Considering implementation, auditing, and maintenance expenses, ISO 27001 certification can cost "
    "between $50,000 and $200,000.",
    "Both SOC 2 and ISO 27001 address third-party vendor risk by requiring organizations to assess and "
    "manage their vendors' security practices.",
    "It involves regularly reviewing and assessing controls, identifying and addressing vulnerabilities, and "
    "ensuring ongoing adherence to security policies and procedures.",
    "Implementing both provides a comprehensive approach to information security management and control "
    "effectiveness.",
    "SOC 2 is an attestation report by an independent external auditor confirming that an organization "
    "meets specific trust service criteria.",
    "These tools offer risk assessment, policy management, control mapping, and continuous monitoring to "
    "streamline the compliance process for both frameworks.",
    "While SOC 1 and SOC 2 reports are restricted to specific stakeholders, SOC 3 is for broader public "
    "assurance.",
    "It can always be improved upon, and actually showing evidence of continuous improvement to an assessor "
    "or internal auditor is a bonus.",
)
COPY_WORDS = 8

# Every topic issue 2 asks the FAQ to cover, by the id that covers it.
REQUIRED_IDS = (
    "soc2-what", "soc2-who-suits", "iso-what", "iso-who-suits", "attestation-vs-certification",
    "soc2-auditor", "iso-auditor", "soc2-type1-vs-type2", "soc2-type1-duration", "soc2-type2-duration",
    "iso-duration", "soc2-cost", "iso-cost", "cost-compare", "soc2-renewal", "iso-renewal",
    "trust-services-criteria", "isms", "statement-of-applicability", "iso-2022-changes",
    "iso-2022-new-controls", "audit-documentation", "soc-reports-compared", "soc3", "industries",
    "vendor-risk", "continuous-monitoring", "risk-management", "common-challenges",
    "soc2-checklist-mistake", "iso-one-and-done-mistake", "work-together", "complement",
    "not-alternatives", "main-difference", "similarities", "mapping-overlap", "choose-framework",
    "choose-by-contract", "choose-by-size-maturity", "choose-by-budget", "get-both", "tools",
    "complybot-capabilities",
)

# (entry id, phrases its answer must contain) — the article's figures, stated exactly.
FIGURES = (
    ("soc2-type1-duration", ("45 days",)),
    ("soc2-type2-duration", ("two to six months",)),
    ("soc2-type2-period", ("six months to a year",)),
    ("iso-duration", ("two months to two years",)),
    ("soc2-cost", ("$20,000", "$100,000")),
    ("iso-cost", ("$50,000", "$200,000", "implementation", "maintenance")),
    ("cost-compare", ("$20,000", "$100,000", "$50,000", "$200,000", "staff")),
    ("soc2-renewal", ("annually",)),
    ("iso-renewal", ("surveillance audit", "three years")),
    ("soc2-type1-vs-type2", ("point in time", "operating effectiveness")),
    ("soc2-what", ("attestation", "CPA")),
    ("iso-certification", ("certification",)),
    ("trust-services-criteria", ("security", "availability", "processing integrity", "confidentiality", "privacy")),
    ("iso-2022-changes", ("Annex SL", "threat intelligence", "cloud", "privacy", "93")),
    ("iso-annex-a", ("93", "Organizational (37)", "People (8)", "Physical (14)", "Technological (34)")),
    ("soc3", ("public",)),
    ("soc1", ("financial reporting",)),
    ("mapping-overlap", ("118",)),
)
NEW_IN_2022 = ("A.5.7", "A.5.23", "A.5.30", "A.7.4", "A.8.9", "A.8.10", "A.8.11", "A.8.12", "A.8.16", "A.8.23", "A.8.28")

# Entries that are about reference numbers themselves; every other answer names none.
REFERENCE_ENTRIES = {"iso-2022-new-controls"}
REFERENCE = re.compile(
    r"(?<![\w.])(?:A\s?\.?\s?[5-8]\.\d{1,2}(?!\d)|(?:CC\s?[1-9]|PI\s?1|C\s?1|A\s?1|P\s?[1-8])\.\d{1,2}(?!\d)"
    r"|clause\W{0,2}\d)",
    re.IGNORECASE,
)
FRAMEWORK = re.compile(r"\b(soc ?2|iso(?:/iec)? ?27001|iso)\b", re.IGNORECASE)


def _load(name: str) -> dict:
    with (DATA / name).open("rb") as handle:
        return tomllib.load(handle)


@pytest.fixture(scope="module")
def faq() -> dict:
    return _load("faq.toml")


@pytest.fixture(scope="module")
def synonyms() -> dict:
    return _load("synonyms.toml")


@pytest.fixture(scope="module")
def control_names() -> list[str]:
    with (DATA / "controls.csv").open(encoding="utf-8", newline="") as handle:
        return [row["name"] for row in csv.DictReader(handle)]


def _entries(faq: dict) -> dict[str, dict]:
    return {entry["id"]: entry for entry in faq["faq"]}


def _words(text: str) -> list[str]:
    text = text.replace("\u2019", "'").lower()
    return re.findall(r"[a-z0-9$]+(?:[',.][a-z0-9]+)*", text)


def _runs(text: str, size: int) -> set[tuple[str, ...]]:
    tokens = _words(text)
    return {tuple(tokens[i : i + size]) for i in range(len(tokens) - size + 1)}


def _our_texts(faq: dict) -> list[tuple[str, str]]:
    texts = [(entry["id"], entry["answer"]) for entry in faq["faq"]]
    return texts + [(f"recommend.{key}", advice["why"]) for key, advice in faq["recommend"].items()]


def test_ids_are_unique_kebab_case(faq):
    ids = [entry.get("id") for entry in faq["faq"]]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    assert all(isinstance(i, str) and re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", i) for i in ids), ids
    assert 40 <= len(ids) <= 90


def test_every_entry_is_complete(faq):
    ids = {entry["id"] for entry in faq["faq"]}
    for entry in faq["faq"]:
        where = entry["id"]
        assert 4 <= len(entry["questions"]) <= 10, where
        assert all(isinstance(q, str) and q.strip() for q in entry["questions"]), where
        assert entry["keywords"] and all(isinstance(k, str) and k.strip() for k in entry["keywords"]), where
        assert entry["answer"].strip() and entry["source"].strip(), where
        assert set(entry.get("see_also", ())) <= ids - {where}, where


def test_no_phrasing_belongs_to_two_entries(faq):
    owner: dict[str, str] = {}
    for entry in faq["faq"]:
        for question in entry["questions"]:
            key = " ".join(_words(question))
            assert owner.setdefault(key, entry["id"]) == entry["id"], (question, owner[key], entry["id"])


def test_every_required_topic_has_its_entry(faq):
    missing = set(REQUIRED_IDS) - set(_entries(faq))
    assert not missing, sorted(missing)


@pytest.mark.parametrize("entry_id,phrases", FIGURES, ids=[f[0] for f in FIGURES])
def test_figures_are_stated_exactly(faq, entry_id, phrases):
    answer = _entries(faq)[entry_id]["answer"]
    for phrase in phrases:
        assert phrase in answer, (entry_id, phrase)


def test_key_figures_appear_somewhere(faq):
    everything = " ".join(text for _, text in _our_texts(faq))
    for figure in ("45 days", "20,000", "100,000", "50,000", "200,000", "three years", "surveillance"):
        assert figure in everything, figure


def test_new_2022_controls_are_listed(faq):
    answer = _entries(faq)["iso-2022-new-controls"]["answer"]
    found = set(re.findall(r"A\.\d\.\d{1,2}", answer))
    assert found == set(NEW_IN_2022)


def test_only_reference_entries_name_references(faq):
    shown = _our_texts(faq) + [(entry["id"], entry["source"]) for entry in faq["faq"]]  # sources are shown too
    for where, text in shown:
        if where not in REFERENCE_ENTRIES:
            assert not REFERENCE.search(text), (where, REFERENCE.search(text).group(0))


def test_reference_check_catches_a_reference():
    for text in ("maps to CC 6.1", "see A.8.24", "Annex A 5.7", "Clause 6.1.3", "PI1.5", "A1.2"):
        assert REFERENCE.search(text), text
    for text in ("Type 1 in 45 days", "the CC1 to CC9 series", "clauses 4 to 10", "SOC 2 and ISO 27001:2022"):
        assert not REFERENCE.search(text), text


def test_no_sentence_is_copied_from_the_article(faq):
    article = set().union(*(_runs(sentence, COPY_WORDS) for sentence in ARTICLE_SENTENCES))
    for where, text in _our_texts(faq):
        copied = _runs(text, COPY_WORDS) & article
        assert not copied, (where, [" ".join(run) for run in copied])


def test_copy_check_catches_a_copy():
    copied = "As the article puts it, " + ARTICLE_SENTENCES[15]
    article = _runs(ARTICLE_SENTENCES[15], COPY_WORDS)
    assert _runs(copied, COPY_WORDS) & article


@pytest.mark.parametrize("framework", ["soc2", "iso", "both"])
def test_recommendations_lead_with_their_own_framework(faq, framework):
    advice = faq["recommend"][framework]
    assert advice["why"].strip() and advice["source"].strip()
    first = FRAMEWORK.search(advice["why"])
    assert first, framework
    named = "soc2" if first.group(1).lower().startswith("soc") else "iso"
    if framework == "both":
        assert re.search(r"\bboth\b", advice["why"], re.IGNORECASE)
    else:
        assert named == framework, (framework, first.group(0))


def test_alias_keys_are_exact_control_names(synonyms, control_names):
    unknown = set(synonyms["aliases"]) - set(control_names)
    assert not unknown, sorted(unknown)
    without = [name for name in control_names if name not in synonyms["aliases"]]
    assert not without, without
    for name, aliases in synonyms["aliases"].items():
        assert aliases and all(a == a.lower() and a.strip() == a for a in aliases), name
        assert name.lower() not in aliases, name


def test_abbreviations_expand_to_known_words(synonyms, faq, control_names):
    known = {name.lower() for name in control_names}
    known |= {alias for aliases in synonyms["aliases"].values() for alias in aliases}
    with open(DATA / "iso27001_2022.csv", encoding="utf-8", newline="") as handle:  # ISO titles are matched too
        titles = " ".join(row["title"] for row in csv.DictReader(handle)).lower()
    corpus = " ".join(
        " ".join([*entry["questions"], *entry["keywords"], entry["answer"]]) for entry in faq["faq"]
    ).lower()
    for term, expansion in synonyms["abbreviations"].items():
        assert term == term.lower().strip(), term
        meaning = re.sub(r"^%s \((.*)\)$" % re.escape(term), r"\1", expansion)  # "isms (information ...)"
        names = " ".join(known) + " " + titles  # a general word ("prod" -> "production") may be a word of a name
        assert meaning in known or meaning.lower() in corpus or all(
            re.search(rf"\b{re.escape(word)}\b", names) for word in meaning.lower().split()), (term, expansion)
    for term in ("mfa", "2fa", "dlp", "bia", "bcp", "dr", "vpn", "ids/ips", "nda", "dpo", "sod", "pen test",
                 "vuln scan", "av", "edr", "offboarding", "least privilege", "org chart", "tls", "screen lock",
                 "usb", "isms", "soa", "tsc"):
        assert term in synonyms["abbreviations"], term


def test_recommendation_phrases_are_distinct():
    """recommend.toml is the one source of recommendation signals: a phrase says one thing only."""
    data = tomllib.loads((DATA / "recommend.toml").read_text(encoding="utf-8"))
    assert set(data["markets"]) == {"us", "international"} and set(data["signals"]) == {"soc2", "iso", "both"}
    seen: dict[str, str] = {}
    for table in ("markets", "signals"):
        for name, phrases in data[table].items():
            for phrase in phrases:
                assert phrase == phrase.strip(), phrase
                assert seen.setdefault(phrase.casefold(), name) == name, (phrase, seen[phrase.casefold()], name)
    assert "canada" not in [p.casefold() for p in data["markets"]["us"]]  # the article says nothing of it


def test_no_other_data_file_holds_recommendation_signals(synonyms):
    assert "recommend_signals" not in synonyms
    assert {"hipaa", "pci dss", "gdpr"} <= {name.casefold() for name in synonyms["other_frameworks"]["names"]}


def test_data_readme_describes_every_data_file():
    readme = (DATA / "README.md").read_text(encoding="utf-8")
    rows = {line.split("|")[1].strip().strip("`") for line in readme.splitlines() if line.startswith("| `")}
    files = {path.name for path in DATA.iterdir() if path.is_file() and path.name != "README.md"}
    assert files == rows, {"undocumented": sorted(files - rows), "gone": sorted(rows - files)}


def test_data_readme_counts_are_current(synonyms, faq):
    readme = (DATA / "README.md").read_text(encoding="utf-8")
    recommend = tomllib.loads((DATA / "recommend.toml").read_text(encoding="utf-8"))
    markets, signals, contracts = recommend["markets"], recommend["signals"], recommend["contracts"]
    assert (f"{len(markets['us'])} US and {len(markets['international'])} international place phrases"
            in readme)
    assert f"{len(signals['soc2'])} + {len(signals['iso'])} + {len(signals['both'])} signals" in readme
    assert f"{len(contracts['who'])} + {len(contracts['asks'])} contract words" in readme
    aliases = sum(len(names) for names in synonyms["aliases"].values())
    assert (f"{len(synonyms['abbreviations'])} abbreviations; {aliases} aliases covering all "
            f"{len(synonyms['aliases'])} controls; {len(synonyms['other_frameworks']['names'])} other frameworks"
            in readme)
    assert f"{len(faq['faq'])} entries + 3 pieces of advice" in readme
