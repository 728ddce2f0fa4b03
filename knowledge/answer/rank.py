"""Ranking a question's words against our names: controls, ISO titles and FAQ entries, scored 0..1.
One ranking serves questions and the task commands (`knowledge.matching`)."""
from __future__ import annotations

import functools
import heapq
from operator import itemgetter

from knowledge import lexicon
from knowledge.answer import bars
from knowledge.answer import words as W
from knowledge.answer.index import Index, control_words, families, key
from knowledge.faq import FaqEntry

Ranked = list[tuple[str, float]]


def best_controls(ix: Index, tokens: list[str]) -> Ranked:
    return _rank_names_both_ways(ix, ix.controls, tokens)


def best_iso_titles(ix: Index, tokens: list[str]) -> Ranked:
    return _rank_names_both_ways(ix, ix.iso_titles, tokens)


def by_score(item: tuple[str, float]) -> tuple[float, str]:
    """Best first; equal scores by name, so an answer never depends on a set's order (PYTHONHASHSEED)."""
    return -item[1], item[0]


def rank_controls(ix: Index, text: str, partial: bool = False) -> Ranked:
    """Control names best matching `text` (typos, abbreviations, aliases), best first, scored 0..1.
    `partial`: the last word may be unfinished ("disk encr"), as typed into a picker."""
    tokens = ix.tokens(text)
    typed = lexicon.normalize(text).split()[-1:]
    endings = [] if not partial or not typed or len(typed[0]) < 3 or typed[0] in ix.speller.counts else [
        w for w in ix.controls.idf if w.startswith(typed[0])][:bars.MAX_COMPLETIONS]
    if not endings:  # a whole word (or an abbreviation) was typed: nothing to complete
        return best_controls(ix, tokens)
    head = ix.tokens(" ".join(lexicon.normalize(text).split()[:-1]))
    best: dict[str, float] = {}
    for ending in endings:
        for name, score in best_controls(ix, [*head, ending]):
            best[name] = max(best.get(name, 0.0), score)
    return sorted(best.items(), key=by_score)


def _rank_names_both_ways(ix: Index, index: lexicon.PhraseIndex, tokens: list[str]) -> Ranked:
    """Names ranked by the question's words without the words of asking for a mapping ("what maps to
    the disk encryption control") and, where a name uses one of those ("access control"), with them."""
    stripped = set(control_words(tokens))
    full = {t for t in lexicon.content(tokens) if t not in W.CONTROL_FILLER}
    framed = not W.STRONG_DOMAIN_WORDS.isdisjoint(tokens)
    asking = framed or bool(tokens[:1] and tokens[0] in W.ASKING) or not W.NEEDING.isdisjoint(tokens) or (
        not W.MAPPING_WORDS.isdisjoint(tokens))
    counted = index.counted(stripped)
    ranked = _rank_names(ix, index, stripped, framed, asking, counted)
    # words of asking for a mapping alone ("which controls is that?") name nothing
    extra = full - stripped
    if not stripped or not extra or not any(w in index.idf for w in extra):
        return ranked
    best = dict(ranked)
    # the words of asking add to the counts already made ("access control": their names' words and those)
    for name, score in _rank_names(ix, index, full, framed, asking, index.counted(extra, counted), stripped):
        best[name] = max(best.get(name, 0.0), score)
    return sorted(best.items(), key=by_score)


def _rank_names(ix: Index, index: lexicon.PhraseIndex, wanted: set[str], framed: bool, asking: bool,
                counted: tuple[dict[int, float], dict[int, int]], naming: set[str] | None = None) -> Ranked:
    """Groups (controls, ISO refs) by how well one of their names matches the question's words (`counted`:
    index.counted of them). `framed`: the question names SOC 2 or ISO 27001, so its other words are context,
    not another subject; `asking`: it is a question to us (framed, opened by a question word, saying a need, or
    asking for a control or mapping), not a remark in a channel ("reminder: the office wifi password changed
    today"). `naming`: only groups whose names use one of these words ("network map" is no answer to "what
    maps to that")."""
    asked = index.weight(w for w in wanted if w in index.idf)
    if not asked:
        return []
    best: dict[str, float] = {}
    said: dict[str, float] = {}  # per group: the weight of the question's words any of its names uses
    matched_weights, counts = counted
    phrases, sizes, weight_of, group_words = index.phrases, index.sizes, index.idf.__getitem__, index.group_words
    half = bars.NAME_HALF
    for number, matched in matched_weights.items():
        if counts[number] < half * sizes[number]:  # say at least half of a name
            continue
        name, _, total = phrases[number]
        if naming is not None and naming.isdisjoint(group_words[name]):
            continue
        precision = said.get(name)
        if precision is None:  # "secrets ... api keys ... env vars": three names of one control
            precision = said[name] = sum(map(weight_of, group_words[name] & wanted)) / asked
        recall = matched / total
        score = 2 * recall * precision / (recall + precision)
        if score > best.get(name, 0.0):
            best[name] = score
    unknown = sum(1 for w in wanted if w not in index.idf and w not in ix.topic_words and not w.isdigit())
    # words we cannot place make a match less certain: each of a few weighs much; in a long question full of
    # context ("we're 30 people, mostly remote, ... don't enforce filevault") their share is what counts
    share = 1 - bars.UNKNOWN_SHARE * unknown / max(1, len(wanted)) if asking and len(
        wanted) >= bars.LONG_QUESTION else 0.0
    penalty = max((bars.FRAMED_UNKNOWN_FACTOR if framed else bars.UNKNOWN_FACTOR) ** unknown, share)
    return sorted(((name, s * penalty) for name, s in best.items()), key=by_score)


def best_faq(ix: Index, tokens: list[str]) -> tuple[FaqEntry | None, float]:
    """The best FAQ entry and its score, scaled so that bars.FAQ_BAR is the bar to answer with it."""
    entry, score, _ = faq_with_lead(ix, tokens)
    return entry, score


def faq_with_lead(ix: Index, tokens: list[str]) -> tuple[FaqEntry | None, float, float]:
    """`best_faq` and how far the best entry leads the next one, on the same scale (1.0: no other entry)."""
    exact = ix.faq_exact.get(key(tokens))
    if exact:
        return ix.faq_by_id[exact], 1.0, 1.0
    unique = set(lexicon.content(tokens))
    index = ix.faq
    idf = index.idf
    said = {w: idf[w] for w in unique if w in idf}  # the question's words our phrasings use
    unplaced = [w for w in unique if w not in idf and not w.isdigit()]  # (read in one pass over the words)
    # a word of how people ask ("honestly", "already", "maybe") that no phrasing uses says nothing against one
    unknown = sum(1 for w in unplaced if w not in W.CONTROL_FILLER and w not in W.HEDGES)
    anchor = "strong" if unique & W.STRONG_DOMAIN_WORDS else "weak" if len(unique & ix.domain) > 1 else "none"
    asked = index.weight(said)
    if not asked or (anchor == "none" and unknown):
        return None, 0.0, 0.0
    asked += unknown * bars.FAQ_UNKNOWN_WORD_WEIGHT
    scores = _best_phrasings(index, unique, asked)
    asked_families = families(unique)
    named = any(asked_families)
    weighed: dict[str, float] = {}
    for entry_id, score in heapq.nlargest(bars.FAQ_CANDIDATES, scores.items(), key=_second):
        # how much of the question the entry as a whole speaks about, not just its best phrasing
        coverage = sum(map(said.__getitem__, said.keys() & ix.faq_words[entry_id])) / asked
        score = bars.FAQ_SHAPE * score + bars.FAQ_COVERAGE * coverage
        if named:
            factor, bonus = _family_weight(ix, asked_families, entry_id)
            score = score * factor + bonus
        weighed[entry_id] = score
    if not weighed:
        return None, 0.0, 0.0
    entry_id = max(weighed, key=weighed.get)
    if anchor == "none" and len(unique & ix.faq_words[entry_id]) < 2:
        return None, 0.0, 0.0
    # words of no phrasing of ours at all raise the bar ("an audit of my taxes"); a control's word does not
    foreign = sum(1 for w in unplaced if w not in ix.domain)
    bar = bars.FAQ_ANCHOR_BARS[anchor] + (bars.FAQ_FOREIGN_STEP * foreign if anchor == "weak" else 0.0)
    second = max((score for other, score in weighed.items() if other != entry_id), default=0.0)
    scale = bars.FAQ_BAR / bar
    return ix.faq_by_id[entry_id], weighed[entry_id] * scale, (weighed[entry_id] - second) * scale


@functools.lru_cache(maxsize=4096)
def _family_weight(ix: Index, asked: tuple[frozenset, ...], entry_id: str) -> tuple[float, float]:
    """(factor, bonus) of an entry's score for the frameworks and types a question names: an entry about
    another member of a family is scaled down; one about exactly those named gains a little."""
    if ix.conflicts(asked, entry_id):
        return bars.FAQ_FAMILY_CONFLICT, 0.0
    if any(a and a == e for a, e in zip(asked, ix.faq_families[entry_id])):
        return 1.0, bars.FAQ_FAMILY_BONUS  # about exactly the framework or type asked
    return 1.0, 0.0


_second = itemgetter(1)
_COMMON = ("soc2", "iso27001", "how", "audit")  # words most FAQ phrasings use: scored per entry in one step, not per phrasing


def _best_phrasings(index: lexicon.PhraseIndex, unique: set[str], asked: float) -> dict[str, float]:
    """Each entry's best phrasing's F1 against the question: 2·matched / (phrase weight + question weight),
    the harmonic mean of matched/phrase and matched/question written in one division (the hot loop).
    The framework names most phrasings hold are left out of the loop: a phrasing matched by other words too
    gets their weight added there, and the phrasings matched by them alone are scored per entry from
    `_common_only` (the lightest phrasing holding each amount of them), which never overrates one."""
    common = tuple(w for w in _COMMON if w in unique)
    extra = _common_weights(index)[common] if common else None
    matched: dict[int, float] = {}
    get, idf, by_word = matched.get, index.idf, index.by_word
    for token in unique:
        weight = idf.get(token)
        if weight and token not in common:
            for number in by_word[token]:
                matched[number] = get(number, 0.0) + weight
    scores: dict[str, float] = {}
    best, phrases = scores.get, index.phrases
    for number, weight in matched.items():
        entry_id, _, total = phrases[number]
        if extra:
            weight += extra[number]
        score = 2 * weight / (total + asked)
        if score > best(entry_id, 0.0):
            scores[entry_id] = score
    if common:
        # only the FAQ_CANDIDATES best entries are weighed further: an option below the score the best of them
        # already reach cannot make one (each run is lightest phrasing first, so the rest of it scores lower)
        found = sorted(scores.values())
        floor = found[-bars.FAQ_CANDIDATES] if len(found) >= bars.FAQ_CANDIDATES else 0.0
        for weight, options in _common_only(index)[common]:
            for total, entry_id in options:
                score = 2 * weight / (total + asked)
                if score < floor:
                    break
                if score > best(entry_id, 0.0):
                    scores[entry_id] = score
    return scores


def _subsets() -> list[tuple[str, ...]]:
    return [tuple(w for i, w in enumerate(_COMMON) if mask >> i & 1) for mask in range(1, 1 << len(_COMMON))]


@functools.lru_cache(maxsize=8)
def _common_weights(index: lexicon.PhraseIndex) -> dict[tuple[str, ...], list[float]]:
    """Per set of common words asked: per phrasing (by number), the weight of those it holds."""
    return {subset: [sum(index.idf[w] for w in subset if w in words) for _, words, _ in index.phrases]
            for subset in _subsets()}


@functools.lru_cache(maxsize=8)
def _common_only(index: lexicon.PhraseIndex) -> dict[tuple[str, ...], list[tuple[float, list[tuple[float, str]]]]]:
    """Per set of common words asked, per weight a phrasing can match with those words alone: (the lightest
    such phrasing's weight, its entry) for each entry, lightest first."""
    found: dict[tuple[str, ...], dict[str, dict[float, float]]] = {subset: {} for subset in _subsets()}
    for entry_id, words, total in index.phrases:
        for subset in _subsets():
            weight = sum(index.idf[w] for w in subset if w in words)
            if weight:
                lightest = found[subset].setdefault(entry_id, {})
                lightest[weight] = min(total, lightest.get(weight, total))
    runs: dict[tuple[str, ...], dict[float, list[tuple[float, str]]]] = {subset: {} for subset in found}
    for subset, entries in found.items():
        for entry_id, options in entries.items():
            for weight, total in options.items():
                runs[subset].setdefault(weight, []).append((total, entry_id))
    return {subset: [(weight, sorted(options)) for weight, options in by_weight.items()]
            for subset, by_weight in runs.items()}


def speaks_of(ix: Index, entry: FaqEntry, name: str, tokens: list[str]) -> bool:
    """Whether an FAQ entry's phrasings use a word by which the question names a control: "minimum
    password length" is about passwords, not about the length of a Type 2 ("observation period length")."""
    said = ix.named_words(name) & set(control_words(tokens)) - ix.topic_words  # "audit" is every entry's word
    return not said or not said.isdisjoint(ix.faq_words[entry.id])


def covers_half(ix: Index, name: str, tokens: list[str]) -> bool:
    """Whether a control's names hold at least half of the question's words: one word of an alias
    ("length" of "password length") does not make "type 2 observation period length" about passwords."""
    asked = set(control_words(tokens))
    return len(asked & ix.named_words(name)) >= bars.NAME_HALF * len(asked)
