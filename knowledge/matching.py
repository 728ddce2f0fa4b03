"""Fuzzy matching of what a person typed to the named controls of the table (typos, word order, case,
the aliases and abbreviations of `synonyms.toml`).

`match_controls("acess reveiw")` -> [(Control("User Access Review"), 86.1), ...], best first, scores
0..100 (rapidfuzz WRatio). Task commands use it to read `assign <control> to ...`; an alias shared by
two controls ("change management") scores both the same, so the caller asks which one.
"""
from __future__ import annotations

import functools

from rapidfuzz import fuzz, process, utils
from rapidfuzz.distance import DamerauLevenshtein

from knowledge.catalog import Control, catalog
from knowledge.faq import knowledge


MIN_SCORE = 50  # below this nothing is a match worth offering (and the cut-off halves the search time)


@functools.cache
def _choices() -> tuple[list[str], list[Control], dict[str, str]]:
    """(processed names and aliases, the control of each, processed abbreviation -> expansion)."""
    names, owners = [], []
    aliases = knowledge().aliases
    for control in catalog().controls:
        for name in (control.name, *aliases.get(control.name, ())):
            names.append(utils.default_process(name))
            owners.append(control)
    abbreviations = {utils.default_process(k): v for k, v in knowledge().abbreviations.items()}
    return names, owners, abbreviations


def match_controls(text: str, limit: int = 5) -> list[tuple[Control, float]]:
    """The controls whose names or aliases best match `text`, best first, with scores 0..100."""
    names, owners, abbreviations = _choices()
    query = utils.default_process(text[:200])
    query = abbreviations.get(query) or " ".join(abbreviations.get(word, word) for word in query.split())
    query = utils.default_process(query)
    if not query:
        return []
    exact = [owners[i] for i, name in enumerate(names) if name == query]
    if exact:
        return [(control, 100.0) for control in dict.fromkeys(exact)][:limit]
    best: dict[Control, float] = {}
    for name, score, index in process.extract(query, names, scorer=fuzz.WRatio, processor=None,
                                              limit=max(limit * 4, 20), score_cutoff=MIN_SCORE):
        control = owners[index]
        score = float(score) * (0.6 + 0.4 * _word_cover(query, name))
        best[control] = max(best.get(control, 0.0), score)
    return sorted(best.items(), key=lambda item: -item[1])[:limit]


def _word_cover(query: str, name: str) -> float:
    """The share of the query's words found in `name` (as a word prefix or within a typo or two).
    WRatio alone rates "ports" close to "soc 2 reports"; a name must also contain what was typed."""
    words = name.split()
    found = sum(1 for typed in query.split() if any(
        (len(typed) >= 3 and word.startswith(typed)) or DamerauLevenshtein.normalized_similarity(typed, word) >= 0.75
        for word in words))
    return found / max(len(query.split()), 1)
