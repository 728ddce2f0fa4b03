"""A `Question`, read once: the text without greetings and courtesies, its words, its clauses (which one
asks and which only give context), its form (yes/no, how long, how much, which/what, compare, define), the
references and frameworks it names, whether a choice is asked, and the subject of the previous answer in the
conversation. The rankings of its words (controls, FAQ, ISO titles) are computed once, when a stage asks.
"""
from __future__ import annotations

import json
import re
import unicodedata

from knowledge import lexicon
from knowledge.answer import bars, rank
from knowledge.answer import words as W
from knowledge.answer.index import Index
from knowledge.references import Ref, find_refs

class once:
    """A reading of a Question made on first use and kept in its `__dict__` (functools.cached_property without
    the lock Python 3.11 takes on each first read: a Question is read by the one thread answering it)."""

    def __init__(self, func):
        self.func, self.name, self.__doc__ = func, func.__name__, func.__doc__

    def __set_name__(self, owner, name):
        self.name = name

    def __get__(self, obj, owner=None):
        if obj is None:
            return self
        value = obj.__dict__[self.name] = self.func(obj)
        return value


FORMS = ("why", "yes_no", "how_long", "how_much", "compare", "define", "which", "other")
_FORMS = (  # the first that matches the asking clause's opening, else anywhere in it, names its form
    ("compare", re.compile(r"\b(vs\.?|versus|compared?\s+(to|with)|difference|differ|same\s+as|"
                           r"similar\s+to|or\s+the\s+same)\b", re.I)),
    ("why", re.compile(r"^\W*(why|how\s+come)\b", re.I)),
    ("how_long", re.compile(r"\bhow\s+(long|soon|quickly|fast|often)\b|\bhow\s+many\s+(weeks|months|days|years)\b",
                            re.I)),
    ("how_much", re.compile(r"\bhow\s+(much|many)\b|\b(cost|price|fee)s?\b", re.I)),
    ("yes_no", re.compile(r"^\W*(is|are|do|does|did|can|could|should|would|will|must|may|has|have|am)\b", re.I)),
    ("define", W.DEFINE),
    ("which", re.compile(r"\b(which|what)\b", re.I)),
)
_CLAUSE_END = re.compile(  # every break starts at a space, comma or dash: the first look-ahead says so fast
    r"(?=[\s,\-–—])(?:(?<=[?!.;:])\s+|\s+[-–—]\s+|(?<=\))\s*[-–—,]\s*|\s*\n+\s*"
    # "..., but how much does it cost?": a conjunction before a question word starts the asking clause
    # ("..., and is a Type 1 quicker?" stays whole: both halves are asked)
    r"|,\s*(?=(?:but|so|anyway|now|then)\s+(?:how|what|which|who|why|when|where|is|are|do|does|can|should)\b)"
    # "..., which controls is that?": a question for controls after what was done asks about it
    r"|,\s*(?=(?:which|what)\s+(?:\S+\s+){0,3}?(?:controls?|criteria|criterion|clauses?)\b))",
    re.I)
_PARENTHESES = re.compile(r"\s*\([^()]*\)")
_ASKS = re.compile(r"\?\s*$")
_FRAMEWORK_TOKEN = {"soc2": "soc2", "iso27001": "iso"}


def clean(text: str) -> str:
    """Full-width and other compatibility forms read as their plain letters ("Ａ.8.1", "ｃｃ6.1")."""
    return unicodedata.normalize("NFKC", (text or "").replace("\x00", " ")).strip()


def without_courtesies(text: str) -> str:
    """"hey complybot, what is SOC 2? thanks" -> "what is SOC 2?" (the text itself if nothing else is left).
    Courtesies end a question, so only its last characters are searched for them."""
    text = W.ADDRESS.sub("", text, count=1) or text
    if _last_word(text[-bars.COURTESY_REACH:]) not in _COURTESY_ENDS:  # the courtesy pattern can only match before one of these
        return text
    head, tail = text[:-bars.COURTESY_REACH], text[-bars.COURTESY_REACH:]
    kept = W.COURTESY.sub("", tail)
    return head + kept if kept or head else text


# the last word of each courtesy words.COURTESY knows ("thank you", "in plain english", "in a nutshell" ...)
_COURTESY_ENDS = frozenset("thanks you thx ty please pls plz cheers briefly short nutshell terms english words "
                           "language sentence sentences line lines paragraph paragraphs".split())


def _last_word(text: str) -> str:
    end = len(text)
    while end and not (text[end - 1].isalnum() or text[end - 1] == "_"):
        end -= 1
    start = end
    while start and (text[start - 1].isalnum() or text[start - 1] == "_"):
        start -= 1
    return text[start:end].lower()


def clauses(text: str) -> list[str]:
    """Sentences and dash- or parenthesis-separated parts: "Backups (nightly) - which controls is that?"."""
    return [part for part in (p.strip(" ,;:") for p in _CLAUSE_END.split(text)) if part]


def without_parentheses(text: str) -> str:
    """"Backups (nightly snapshots, a second region)" -> "Backups": an aside says how, not what."""
    return _PARENTHESES.sub("", text).strip() or text


def asking_clause(parts: list[str]) -> str:
    """The clause that asks: the last one ending in "?" unless that is a short follow-on ("Is that allowed?",
    "Thoughts?"), then the one before; else the last opened by a question word; else all."""
    asking = [part for part in parts if _ASKS.search(part)]
    for part in reversed(asking):
        if len(part.split()) > bars.FOLLOW_ON_WORDS:
            return part
    if asking:
        return asking[0]
    for part in reversed(parts):
        if W.QUESTION_START.search(part):
            return part
    return " ".join(parts)


def form_of(asked: str) -> str:
    for name, pattern in _FORMS:
        if pattern.search(asked):
            return name
    return "other"


class Question:
    def __init__(self, ix: Index, raw: str, previous: str | None = None, parts: dict | None = None):
        self.ix = ix
        if parts is None:  # a message as sent
            self.raw = clean(raw)  # what the refusals read: length and emptiness as typed
            # (a text too long to read is refused as it is: nothing of it is read)
            self.text = without_courtesies(self.raw) if 0 < len(self.raw) <= bars.MAX_QUESTION_CHARS else self.raw
        else:  # a part of one, already cleaned
            self.raw = self.text = raw
        self.previous = _subject(previous)
        self._parts = {} if parts is None else parts  # the parts read so far, shared by every part of one message
        self._parts.setdefault(self.text, self)

    def half(self, text: str) -> Question:
        """A part of this question read as a question of its own (each part read once per message)."""
        found = self._parts.get(text)
        if found is None:
            found = self._parts[text] = Question(self.ix, text, parts=self._parts)
        return found

    def joined(self, *texts: str) -> Question:
        """Parts of this question read together as one, their words read once each ("which controls is that?"
        with the clause before it)."""
        text = " ".join(texts)
        found = self._parts.get(text)
        if found is None:
            found = self._parts[text] = Question(self.ix, text, parts=self._parts)
            found.__dict__["tokens"] = [t for part in texts for t in self.half(part).tokens]
        return found

    @once
    def tokens(self) -> list[str]:
        """The words of the whole text: each clause's, read once (a stage reading a clause alone reads no more)."""
        parts = self.clauses
        if len(parts) == 1:
            return self.ix.tokens(self.text)
        return [t for part in parts for t in self._clause_tokens(part)][:lexicon.MAX_WORDS]

    def _clause_tokens(self, part: str) -> list[str]:
        found = self._parts.get(part)
        if found is None or "tokens" not in found.__dict__:
            found = self._parts.get(part) or Question(self.ix, part, parts=self._parts)
            self._parts[part] = found
            found.__dict__["tokens"] = self.ix.tokens(part)
        return found.tokens

    @once
    def words(self) -> list[str]:
        """The words as typed (no typo fixed): for readings that must not guess."""
        return self.ix.words(self.text)

    @once
    def clauses(self) -> list[str]:
        return clauses(self.text) or [self.text]

    @once
    def asked(self) -> str:
        """The clause that asks; the others are context."""
        return asking_clause(self.clauses)

    @once
    def asked_tokens(self) -> list[str]:
        if self.asked == self.text:
            return self.tokens
        return self._clause_tokens(self.asked) if self.asked in self.clauses else self.half(self.asked).tokens

    @once
    def context(self) -> list[str]:
        return [part for part in self.clauses if part != self.asked]

    @once
    def form(self) -> str:
        return form_of(self.asked)

    @once
    def refs(self) -> list[Ref]:
        return find_refs(self.text)

    @once
    def frameworks(self) -> frozenset[str]:
        """"soc2" / "iso" as named ("ISO" alone is ISO 27001 here)."""
        return frozenset(_FRAMEWORK_TOKEN[t] for t in self.tokens if t in _FRAMEWORK_TOKEN)

    @once
    def mapping_asked(self) -> bool:
        """The asking clause asks for controls or references ("which ISO controls does that give us"), not for
        a framework ("which framework", "which certification")."""
        return self.asks_mapping(self.asked)

    def asks_mapping(self, part: str) -> bool:
        """Whether a clause of this question asks for controls or references: a question ("?" or a question
        word first) with words of mapping and none of choosing a framework."""
        if part != self.asked and not (_ASKS.search(part) or W.QUESTION_START.search(part)):
            return False
        tokens = self.asked_tokens if part == self.asked else self.half(part).tokens
        words = set(tokens)
        return (not W.MAPPING_ASK.isdisjoint(words) or bool(W.PLACED_IN.search(part))) and (
            W.FRAMEWORK_CHOICE.isdisjoint(_chosen(tokens)))

    @once
    def choice_asked(self) -> bool:
        """The asking clause asks to choose: "should we", "pick", "which one", "start with" ..."""
        return bool(W.CHOICE_ASKED.search(self.asked))

    @once
    def comparing(self) -> bool:
        """The asking clause compares ("is SOC 2 the same as ISO", "how do they differ"): no choice asked."""
        return not W.COMPARING.isdisjoint(self.asked_tokens)

    @once
    def question_form(self) -> bool:
        return bool(W.QUESTION_START.search(self.text)) or self.text.rstrip().endswith("?")

    @once
    def controls(self) -> rank.Ranked:
        return rank.best_controls(self.ix, self.tokens)

    @once
    def control_score(self) -> float:
        return self.controls[0][1] if self.controls else 0.0

    @once
    def faq_lead(self):
        return rank.faq_with_lead(self.ix, self.tokens)

    @property
    def faq(self):
        return self.faq_lead[:2]

    @property
    def faq_margin(self) -> float:
        return self.faq_lead[2]

    @once
    def framed(self) -> bool:
        """SOC 2, ISO 27001 or another name only these frameworks use is said: the question is ours."""
        return not W.STRONG_DOMAIN_WORDS.isdisjoint(self.tokens)

    @property
    def faq_score(self) -> float:
        return self.faq[1]

    @once
    def titles(self) -> rank.Ranked:
        return rank.best_iso_titles(self.ix, self.tokens)

    @once
    def unplaced(self) -> list[str]:
        """Words of the question (as typed) that are in no phrasing of ours: shown back as "I could not place"."""
        known = self.ix.placed
        return [w for w in lexicon.content(self.tokens) if w not in known and w not in W.CONTROL_FILLER
                and w not in W.MAPPING_WORDS and not w.isdigit() and len(w) > 2]


def _chosen(tokens: list[str]) -> set[str]:
    """The words that may name a framework to choose: not one said of both ("which controls cover that in
    both frameworks": where, not what to pick)."""
    return {t for i, t in enumerate(tokens) if not (i and tokens[i - 1] in W.EVERY_ONE)}


def _subject(previous: str | None) -> dict:
    """The previous answer's subject (JSON text, see build.subject); anything unreadable is no subject."""
    if not previous:
        return {}
    try:
        found = json.loads(previous)
    except (TypeError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}
