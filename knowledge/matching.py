"""Fuzzy matching of what a person typed to the named controls of the table (typos, word order, case).

`match_controls("acess reveiw")` -> [(Control("User Access Review"), 86.1), ...], best first, scores
0..100 (rapidfuzz WRatio). Task commands use it to read `assign <control> to ...`.
"""
from __future__ import annotations

import functools

from rapidfuzz import fuzz, process, utils

from knowledge.catalog import Control, catalog


@functools.cache
def _choices() -> dict[str, Control]:
    """Processed name -> control (the processed name is what rapidfuzz compares)."""
    return {utils.default_process(control.name): control for control in catalog().controls}


def match_controls(text: str, limit: int = 5) -> list[tuple[Control, float]]:
    """The controls whose names best match `text`, best first, with scores 0..100."""
    query = utils.default_process(text[:200])
    if not query:
        return []
    choices = _choices()
    exact = choices.get(query)
    if exact is not None:
        return [(exact, 100.0)]
    found = process.extract(query, list(choices), scorer=fuzz.WRatio, processor=None, limit=limit)
    return [(choices[name], float(score)) for name, score, _ in found]
