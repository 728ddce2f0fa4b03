"""What a person typed -> the named controls of the table, for task commands (`assign <control> ...`)
and the Slack control picker.

One ranking serves questions and commands alike: the answer engine's (`knowledge.answer.rank_controls`: typos,
word order, case, the aliases and abbreviations of `synonyms.toml`, and a name must contain what was
typed, so "ports" is not "SOC 2 reports"). Here it is only rescaled to 0..100 and cut at MIN_SCORE.

`match_controls("acess reveiw")` -> [(Control("User Access Review"), 100.0), ...], best first. An alias
shared by two controls ("change management") scores both the same, so the caller asks which one.
"""
from __future__ import annotations

import functools

from knowledge.answer import bars, index, rank_controls
from knowledge.catalog import Control, catalog

MIN_SCORE = round(100 * bars.CONTROL_BAR)  # the engine's own bar for naming a control, on 0..100
MAX_TYPED = 200  # a control name is short; the rest of a long text says nothing more about it


def match_controls(text: str, limit: int = 5, partial: bool = False) -> list[tuple[Control, float]]:
    """The controls whose names or aliases best match `text`, best first, with scores 0..100.
    `partial`: the last word may be unfinished (a picker's search box)."""
    exact = catalog().control(text.strip())
    if exact:
        return [(exact, 100.0)]
    ranked = rank_controls(text[:MAX_TYPED], partial=partial)
    found = [(catalog().control(name), round(100 * min(score, 1.0), 1)) for name, score in ranked]
    return [(control, score) for control, score in found if score >= MIN_SCORE][:limit]


@functools.cache
def longest_name_words() -> int:
    """Words in the longest control name or alias: more leading words than about this cannot name a
    control, so callers searching a message's head for one need not try every prefix of it."""
    aliases = index().kn.aliases
    return max(len(name.split()) for control in catalog().controls
               for name in (control.name, *aliases.get(control.name, ())))
