"""Words of a question, normalised the same way as the words of the data they are matched against.

Normalising both sides identically makes spelling variants meet: case, accents, hyphens, British
spellings (`anonymisation` -> `anonymization`), plurals, framework names (`SOC 2`, `soc-2`, `SOC2` ->
`soc2`; `Type II` -> `type2`; `ISO/IEC 27001` -> `iso27001`). Typos are fixed per word against the
vocabulary of the data with rapidfuzz (and remembered, since people repeat their words).
"""
from __future__ import annotations

import functools
import math
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable

from rapidfuzz import process
from rapidfuzz.distance import OSA

MAX_WORDS = 64  # a question longer than this is read by its first words only

# function words: never evidence for or against a match
STOPWORDS = frozenset(
    """a an the of to in on for and or with by from at as is are was were be been being am do does did
    doing i me my we our ours us you your it its this that these those there here what which whom whose
    where can could should would will shall may might must please tell me about any some all so if then
    than too very just also into out up over under not no yes get got have has had having s t vs versus
    hi hello hey thanks thank pls plz say says said they them their theirs he she him his her
    re ve ll d m exactly precisely basically actually really simply
    thing things stuff everything anything something""".split()
)
# question words: they tell FAQ entries apart ("how long" / "how much" / "who"), never controls
QUESTION_WORDS = frozenset(
    "how why who when where often long much many one ones done".split()
)

# everyday English words our data does not use: correct as typed, never "fixed" to a near word of ours
# ("path" is no "patch", "last" no "least", "food" no "flood", "even" no "event", "form" no "from")
COMMON_WORDS = frozenset(
    """ask bad big boy buy car cat day dog eat end far few fix fun guy hot job kid law lot man new now old own
    pay put red run sad see set sit six sky son sun ten top two war way web win yet able also away back band
    base bear beat bill blue body book boss call came care cash city club cold come cost date deal dear deep
    door down draw drop easy else even ever face fact fail fair fall fast fear feel file fill find fine firm
    five food foot form four free full game gave girl give goes gold gone good half hall hand hard head hear
    heat held help hide high hold home hope hour huge idea item join jump just keep kind king knew know lack
    lady land last late lead left less life like line list live load long look lose loss lost love made mail
    main make many mark meet mind miss mode more most move much must name near need news next nice none
    note open page paid pair park part pass past path plan play plus poll pool poor port post pull pure push
    race rain rate read real rely rent rest rich ride ring rise road rock roll room rule safe sale same save
    seat seem self sell send ship shop show shut side site size skin slow soft sold some song soon sort spot
    star step stop such sure take talk tell term text than then thin thus time tiny told tone took tool
    tour town tree trip true turn unit upon vast very view vote wait walk wall want warm wash wave weak wear
    week well went west wide wife wild wind wine wish wood word yard yeah year zero
    per min ton uses feels fines plain blank march slide slides treat treats reset refuse finish critical
    product products promised situation sitting generate competent analytics""".split()
)
_BRITISH = (
    (re.compile(r"isation"), "ization"),
    (re.compile(r"is(e|ed|es|ing)\b"), r"iz\1"),
    (re.compile(r"ell(ing|ed)\b"), r"el\1"),  # labelling -> labeling
    (re.compile(r"our\b"), "or"),  # behaviour -> behavior
    (re.compile(r"tre\b"), "ter"),  # centre -> center
    (re.compile(r"ogue\b"), "og"),  # catalogue -> catalog
    (re.compile(r"programme"), "program"),
    (re.compile(r"(licen|defen|offen)ce\b"), r"\1se"),
)

_FRAMEWORK_NAMES = (
    (re.compile(r"\biso\s*/?\s*(?:iec)?\s*[- ]?\s*27001(?:\s*:\s*(20(?:13|22)))?\b"),  # the edition stays a word
     lambda m: f" iso27001 {m.group(1) or ''} "),
    (re.compile(r"\b27001\b"), " iso27001 "),
    (re.compile(r"\biso\b(?!\s*\d)"), " iso27001 "),  # here "ISO" alone means ISO 27001
    (re.compile(r"\bsoc\s*[- ]?\s*(1|2|3|i{1,3})\b"), lambda m: f" soc{_roman(m.group(1))} "),
    (re.compile(r"\btype\s*[- ]?\s*(1|2|i{1,2})\b"), lambda m: f" type{_roman(m.group(1))} "),
)


def _roman(number: str) -> str:
    return {"i": "1", "ii": "2", "iii": "3"}.get(number, number)


_WORD = re.compile(r"[a-z0-9]+")
# the framework-name patterns above, each tried only when the text holds the word it starts from (a fast test
# that spares five scans of most questions)
_NAME_HINTS = ("iso", "27001", "iso", "soc", "type")


def normalize(text: str) -> str:
    """Lower case ASCII words and numbers separated by single spaces."""
    if not text.isascii():  # (plain ASCII is its own NFKD form)
        text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    text = text.lower()
    if "&" in text:
        text = text.replace("&", " and ")
    for hint, (pattern, replacement) in zip(_NAME_HINTS, _FRAMEWORK_NAMES):
        if hint in text:
            text = pattern.sub(replacement, text)
    return " ".join(_WORD.findall(text))


@functools.lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """A light stemmer: enough to make plurals and -ing forms meet, never merging unrelated words."""
    if len(word) >= 6:
        for pattern, replacement in _BRITISH:
            word = pattern.sub(replacement, word)
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 5 and word.endswith("sses"):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def words(text: str) -> list[str]:
    """Stemmed words of `text`, stopwords kept (phrases need them), at most MAX_WORDS."""
    return [stem(w) for w in normalize(text).split()[:MAX_WORDS]]


def content(tokens: Iterable[str]) -> list[str]:
    return [t for t in tokens if t not in STOPWORDS]


class Speller:
    """Fixes a typo to the nearest word of a vocabulary, remembering answers.

    Distance is rapidfuzz's OSA (optimal string alignment: an insertion, deletion, substitution or
    swap of two neighbours is one edit), allowed as a search engine's "auto" fuzziness does: one up to
    7 letters, two from 8. A word of 3 or 4 letters only gets back a dropped letter ("dsk" -> "disk") or
    two swapped ones ("waht"), since short words are mostly abbreviations or real words ("firm" is no
    "fire"); a single letter typed for another must be a neighbouring key ("simple" is no "sample");
    nothing is fixed *to* a word under 4 letters ("dpia" is no "dpa"). A fix keeps the first letter,
    which people rarely get wrong. Among equally near words the one our data uses most wins. Before any
    guess, other forms of the word are tried.
    """

    def __init__(self, counts: dict[str, int]):
        self.counts = counts
        self._choices = sorted(w for w in counts if len(w) >= 4 and not w.isdigit())  # never to an abbreviation
        self._memo: dict[str, str] = {}

    @staticmethod
    def allowed_edits(word: str) -> int:
        return 0 if len(word) < 3 else 1 if len(word) < 8 else 2

    def fix(self, word: str) -> str:
        if word in self.counts or word in COMMON_WORDS or word.isdigit() or not self.allowed_edits(word):
            return word
        fixed = self._memo.get(word)
        if fixed is None:
            fixed = next((form for form in _other_forms(word) if form in self.counts), None) or self._nearest(word)
            if len(self._memo) < 50_000:
                self._memo[word] = fixed
        return fixed

    def _nearest(self, word: str) -> str:
        near = [
            (choice, distance)
            for choice, distance, _ in process.extract(word, self._choices, scorer=OSA.distance, limit=8,
                                                       score_cutoff=self.allowed_edits(word))
            if choice[0] == word[0] and (len(word) > 4 or _dropped_or_swapped(word, choice))
            and (distance > 1 or _plausible_slip(word, choice))
        ]
        return min(near, key=lambda found: (found[1], -self.counts[found[0]]))[0] if near else word


def _dropped_or_swapped(typed: str, word: str) -> bool:
    """`word` is `typed` with a letter put back, or with two letters swapped back (within one edit)."""
    return len(word) == len(typed) + 1 or sorted(word) == sorted(typed)


_KEYBOARD_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
_NEIGHBOURS = {
    key: {other for r2, row2 in enumerate(_KEYBOARD_ROWS) for c2, other in enumerate(row2)
          if abs(r - r2) <= 1 and abs(c - c2) <= 1 and other != key}
    for r, row in enumerate(_KEYBOARD_ROWS) for c, key in enumerate(row)
}


def _plausible_slip(typed: str, word: str) -> bool:
    """A one-letter substitution is a typo only when the two keys are neighbours ("encruption"); otherwise
    `typed` is more likely another word ("simple" is no "sample"), unless one vowel is spelt as another in a
    long word ("seperation")."""
    if len(typed) != len(word) or sorted(typed) == sorted(word):
        return True
    changed = [(a, b) for a, b in zip(typed, word) if a != b]
    if len(changed) == 1 and len(typed) >= 8 and {*changed[0]} <= set("aeiou"):
        return True  # a vowel spelt as another in a long word ("seperation") is a spelling slip
    return len(changed) != 1 or changed[0][1] in _NEIGHBOURS.get(changed[0][0], ())


def _other_forms(word: str) -> list[str]:
    """The noun of a verb ("encrypt" -> "encryption", "rotate" -> "rotation"), the same word with -ing or
    -ed, with -ed made -ion or -ing or dropped ("monitor" -> "monitoring", "terminated" -> "termination",
    "logged" -> "log"), or -ing made the verb ("restoring" -> "restore"): a form our data uses is taken
    before any guess at a typo. (A doubled letter before -ing stays: "programming" is no "program" of ours.)"""
    forms = [word + "ion", *([word[:-1] + "ion"] if word.endswith("e") else []), word + "ing", word + "ed"]
    if word.endswith("ing") and len(word) >= 7 and word[-4] != word[-5]:
        forms += [word[:-3] + "e", word[:-3] + "ion", word[:-3]]
    if word.endswith("ed") and len(word) >= 5:
        base = word[:-2]
        forms += [base, base + "e", base + "ing", base + "ion"] + ([base[:-1]] if base[-1] == base[-2] else [])
    return forms


class PhraseIndex:
    """Scores short phrases (control names, FAQ phrasings) by weighted word overlap with a question.

    Each word weighs its inverse document frequency over the groups (a control, an FAQ entry), so a
    rare word such as "key" counts more than a common one such as "policy".
    """

    def __init__(self, phrases: Iterable[tuple[str, list[str]]]):
        """`phrases`: (group key, stemmed words); a group (a control name, an FAQ id) may have many."""
        staged = [(group, tuple(dict.fromkeys(tokens))) for group, tokens in phrases]
        staged = [(group, unique) for group, unique in staged if unique]
        groups_of: dict[str, set[str]] = defaultdict(set)
        for group, unique in staged:
            for token in unique:
                groups_of[token].add(group)
        group_count = max(1, len({group for group, _ in staged}))
        self.idf = {t: math.log(1 + group_count / len(g)) for t, g in groups_of.items()}
        self.phrases: list[tuple[str, tuple[str, ...], float]] = []
        self.by_word: dict[str, list[int]] = defaultdict(list)
        self.by_group: dict[str, list[int]] = defaultdict(list)
        self.sizes = [len(unique) for _, unique in staged]  # per phrase (by number): its count of words
        for number, (group, unique) in enumerate(staged):
            self.phrases.append((group, unique, sum(self.idf[t] for t in unique)))
            self.by_group[group].append(number)
            for token in unique:
                self.by_word[token].append(number)
        # every word any phrase of a group uses ("secrets", "api keys", "env vars": one control's names)
        self.group_words = {g: frozenset(t for n in numbers for t in self.phrases[n][1])
                            for g, numbers in self.by_group.items()}

    def weight(self, tokens: Iterable[str]) -> float:
        return sum(self.idf.get(t, 0.0) for t in set(tokens))

    def counted(self, tokens: Iterable[str], more_than: tuple[dict[int, float], dict[int, int]] | None = None
                ) -> tuple[dict[int, float], dict[int, int]]:
        """Phrase number -> summed weight of the question's words it contains, and how many of them it holds.
        `more_than`: the counts of other words, which these add to (left as they are)."""
        matched: dict[int, float] = {} if more_than is None else dict(more_than[0])
        count: dict[int, int] = {} if more_than is None else dict(more_than[1])
        get_matched, get_count, idf, by_word = matched.get, count.get, self.idf, self.by_word
        for token in set(tokens):
            weight = idf.get(token)
            if weight:
                for number in by_word[token]:
                    matched[number] = get_matched(number, 0.0) + weight
                    count[number] = get_count(number, 0) + 1
        return matched, count


class PhraseFinder:
    """Finds which of many short word sequences occur in a question, in one pass over its words."""

    def __init__(self, phrases: dict[tuple[str, ...], str]):
        """`phrases`: words -> what to report when they occur (the phrase as written in the data)."""
        self.by_first: dict[str, list[tuple[tuple[str, ...], str]]] = defaultdict(list)
        for words, shown in phrases.items():
            self.by_first[words[0]].append((words, shown))
        self._firsts = frozenset(self.by_first)

    def matches(self, tokens: list[str]):
        """(position of the phrase, position after it, what to report) for every occurrence."""
        present = self._firsts.intersection(tokens)  # most questions hold no first word of most lists
        if not present:
            return
        for i, token in enumerate(tokens):
            if token in present:
                for words, shown in self.by_first[token]:
                    if tuple(tokens[i : i + len(words)]) == words:
                        yield i, i + len(words), shown

    def hits(self, tokens: list[str]) -> list[str]:
        return list(dict.fromkeys(shown for _, _, shown in self.matches(tokens)))
