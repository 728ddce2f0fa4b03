"""The answer engine: a question in plain words -> an exact `Answer`.

Order of reading, most certain first:
1. references (`CC6.1`, `A.8.5`, `Clause 6.1.3`, `A.9.4.2`) -> the mapping, read from the table;
2. "which framework for us" -> a recommendation led by its framework, from what the question says;
3. otherwise the best of a named control (typos, synonyms) and an FAQ entry (any phrasing), two FAQ answers
   for two questions joined by "and";
4. nothing good enough -> say so and what can be asked. Such an answer names no reference and no figure.

Everything the engine needs is indexed once at load (`engine()`), so one answer costs well under a
millisecond.
"""
from __future__ import annotations

import functools
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field, replace

from knowledge import lexicon
from knowledge.catalog import Catalog, Control, catalog
from knowledge.faq import FaqEntry, Knowledge, knowledge
from knowledge.references import Ref, find_refs, soc2_series

MAX_QUESTION_CHARS = 4000  # the same limit as the chat router's; longer input is refused politely
MAX_REFS = 10  # references answered in one question

MAPPING_SOURCE = "the article's SOC 2 to ISO 27001:2022 control mapping table"
ISO_SOURCE = "ISO/IEC 27001:2022 Annex A and clause titles"
SOC2_SOURCE = "AICPA Trust Services Criteria (2017, points of focus revised 2022), paraphrased titles"
ISO2013_SOURCE = "ISO/IEC 27002:2022 Annex B correspondence of 2013 to 2022 controls"

# words that say what kind of thing is asked, never which control: ignored when matching control names
_MAPPING_WORDS = frozenset(
    lexicon.stem(w)
    for w in """control controls map maps mapping mapped soc2 iso27001 iso soc criteria criterion tsc annex
    clause equivalent equivalents correspond corresponds corresponding match matches side sides reference
    references ref refs number numbers framework frameworks 2022 2013 2017 requirement requirements mean
    means meaning explain define definition cover covers covered relate related relates version tsc trust
    service services""".split()
)
_DEFINE_WORDS = frozenset(lexicon.stem(w) for w in "mean means meaning explain define definition".split())
# words of how people ask about a control, never part of its name
_CONTROL_FILLER = lexicon.QUESTION_WORDS | frozenset(
    lexicon.stem(w)
    for w in """way ways best good need needs needed use using used implement implementing implementation
    set setup handle handling work works like example examples recommended require required list show
    want wants wanted stop make sure people everyone someone random old new before after start
    ok okay context mostly know fact lot lots nobody anybody somebody asked ask
    asking wondering think guess maybe probably currently recently already still yet again ever never always
    team folks guys today week weeks month months year years day days enforce enforced enforcing flagged
    flag fail failed pass passed wrong""".split()
)
# words that place a question in our field. An FAQ answer needs a strong one (a name only these
# frameworks use), or two words of our data's own phrasings (the domain vocabulary, derived at load from
# FAQ phrasings and keywords and control names) and a close match, or a very close match without unknown
# words (no "$" for pizza prices or "what time is it").
_STRONG_DOMAIN_WORDS = frozenset(
    lexicon.stem(w)
    for w in """soc1 soc2 soc3 soc iso27001 iso isms type1 type2 attestation tsc annex soa applicability
    surveillance recertification cpa infosec cybersecurity complybot certification certifications trust""".split()
)
_UNKNOWN, _FRAMED_UNKNOWN = 0.65, 0.8  # a control match's factor per word we cannot place (framed: SOC 2 named)
_ASKING = frozenset(lexicon.stem(w) for w in "how what which who why when where do does did can could should is are"
                    .split())
_NEEDING = frozenset(lexicon.stem(w) for w in "need needs want wants require requires must".split())
_UNKNOWN_SHARE, _LONG = 0.7, 6  # or, from 6 words, at least 1 - 0.7 x the share of such words among them
_FAQ_BAR = {"strong": 0.45, "weak": 0.6, "none": 0.8}
_MAX_COMPLETIONS = 12  # words an unfinished last word may stand for, when ranking controls as typed
_FAQ_CANDIDATES = 12  # entries whose best phrasing scores highest; only they are weighed as a whole
_UNKNOWN_WORD_WEIGHT = 2.5  # a question word no FAQ entry uses counts this much against every entry

_DEFINE = re.compile(  # at the start of the text or of a clause, as _QUESTION_START
    r"(?:^|[,.;:!?]\s)\W*(what\s+is|what's|whats|what\s+are|define|definition|meaning\s+of|explain|describe|"
    r"tell\s+me\s+about|"
    r"what\s+does\s+(?P<subject>\S+)\s+(mean|say|cover|require|stand))\b",
    re.IGNORECASE,
)
_CHOICE = frozenset(
    lexicon.stem(w)
    for w in """should pick choose chose select recommend recommendation suggest advise better best right first
    start prioritize prioritise decide fit fits suit suits suitable""".split()
)
_CHOICE_SUBJECT = frozenset("framework frameworks certification one standard option audit report".split())
# a question word opening the text or a clause of it ("hey complybot, what is ...", "quick one: how long ...")
_QUESTION_START = re.compile(
    r"(?:^|[,.;:!?]\s)\W*(how|what|whats|when|why|who|which|where|is|are|do|does|did|can|could|should|would|will|"
    r"must|may)\b",
    re.IGNORECASE,
)
_CHOOSING = re.compile(r"\b(which|should|or|vs|versus|pick|choose|recommend\w*|better|best)\b", re.I)
# whose place a market word is: "customers in Japan", "selling to US hospitals" (customers) against "we're a US
# company", "our HQ is in Paris", "UK based" (the company itself)
_CUSTOMER_WORDS = frozenset(lexicon.stem(w) for w in """customer customers client clients buyer buyers user users sell
    sells selling sold serve serves serving market markets prospect prospects merchants hospitals clinics banks
    enterprises agencies""".split())
_SELF_WORDS = frozenset(lexicon.stem(w) for w in """based headquartered headquarters hq located office offices
    company startup saas firm business team subsidiary entity""".split())
_SELF_PRONOUNS = frozenset({"we", "our", "i"})
_LOCATED = frozenset(lexicon.stem(w) for w in "based headquartered hq located".split())  # "based in India"
_ROLE_BEFORE, _ROLE_AFTER = 8, 3
# "... and how much does it cost?": a second question joined to the first
_SECOND_QUESTION = re.compile(r"\s*(?:,\s*)?\b(?:and|also|plus|&)\s+(?=(?:how|what|what's|whats|when|who|which|why|is|"
                              r"are|do|does|can|should)\b)", re.I)
_ISO_SIDE = frozenset({"iso27001", "annex"})
_NOT_A_SIDE = frozenset({"clause", "vs", "versus", "compare", "compared", "comparison", "difference", "differ"})
_WHY = re.compile(r"\W*why\b", re.I)
_ONLY = re.compile(r"\b(all|only|exclusively|entirely|solely|mostly|mainly|primarily|just)\b", re.I)


def _place_role(before: list[str], after: list[str], place: tuple[str, ...] | list[str] = ()) -> str:
    """`before`/`after`: the words around a place named in a question; `place`: its own words ("US companies")."""
    if not _CUSTOMER_WORDS.isdisjoint(before[-4:]) or (after and after[0] in _CUSTOMER_WORDS):
        return "customer"
    if (after and after[0] == "based") or not _LOCATED.isdisjoint(before[-3:]) or (
            not _SELF_PRONOUNS.isdisjoint(before) and not _SELF_WORDS.isdisjoint((*before, *place, *after))):
        return "self"
    return ""


_FRAMEWORK_WORD = {"soc2": "soc2", "iso27001": "iso", "iso": "iso"}
_DEMAND_REACH = 6  # words between a customer or contract and its verb ("the RFP from a French bank requires")
_DEMAND_FILLER = frozenset("a an the our their us we me for to".split())  # "asked us for a SOC 2 report"
# an FAQ entry about one member of a family does not answer a question about another member
_EXCLUSIVE_FAMILIES = (frozenset({"soc1", "soc2", "soc3", "iso27001"}), frozenset({"type1", "type2"}))
# a question asking for an amount, a duration or a frequency: we hold those for the frameworks only
_FIGURE_ASKED = re.compile(
    r"\bhow\s+(much|many|long|often)\b|\b(costs?|prices?|pricing|fees?|salary|salaries|earns?|pay|paid|"
    r"minimum|maximum|percent|percentage)\b", re.I)
_SELF = re.compile(r"\b(we|we're|were|our|ours|us|i'm|i am|my company|my startup|my team)\b", re.I)
# greetings, the bot's name and polite openings before a question; they say nothing about what is asked
_ADDRESS = re.compile(
    r"^[^\w§]*(?:(?:hey|hi|hello|ok|okay|yo|dear|thanks|so|um|please|sorry|folks|team|quick\s+(?:q|question|one)|qq|"
    r"(?:random|dumb|stupid|silly|noob|basic|another)\s+(?:q|question)|question)\b\W*)*(?:@?complybot\b[\s,:;!-]*)?"
    r"(?:(?:(?:can|could|would|will)\s+you\s+(?:please\s+)?(?:tell|explain|show)(?:\s+(?:me|us))?|do\s+you\s+know|"
    r"i(?:'d|\s+would)\s+like\s+to\s+know|i\s+want\s+to\s+know|i\s+wonder|i(?:'m|\s+am)\s+wondering)\b"
    r"[\s,:;-]*)?",
    re.I,
)
_COURTESY_REACH = 80
# courtesies and asks for brevity after a question ("..., in simple terms please"): no part of what is asked
_COURTESY = re.compile(
    r"(?:[\s,.;:!-]*\b(?:thanks|thank\s+you|thx|ty|please|pls|plz|cheers|briefly|in\s+short|in\s+a\s+nutshell|"
    r"in\s+(?:simple|plain|layman'?s?)\s+(?:terms|english|words|language))\W*)+$",
    re.I,
)
# "write me an information security policy": we answer questions, we do not write documents for people
_WRITING_ASKED = re.compile(
    r"^\W*(?:(?:can|could|would|will)\s+you\s+)?(?:please\s+)?(?:write|draft|generate|create|compose|produce|"
    r"(?:give|send|show)\s+me|"
    r"prepare|fill\s+(?:in|out))\b(?:\s+\S+){0,6}?\s+(?:polic(?:y|ies)|plans?|procedures?|templates?|documents?|"
    r"docs?|sops?|playbooks?|runbooks?|checklists?|emails?|letters?|questionnaires?|statements?)\b",
    re.I,
)
# a whole SOC 2 series ("what does CC5 cover", "the privacy criteria P1-P8"): CC and PI alone, the others (A1,
# C1, P1 ... which are also words of other things: "P1 incident") only beside a word of SOC 2's criteria
_SERIES = re.compile(r"(?<![\w.])(CC|PI|P|C|A)\s?([1-9])(?:\s*(?:-|–|to|through)\s*(?:CC|PI|P|C|A)?\s?([1-9]))?"
                     r"(?![\w.]|\.\d)", re.I)
_SERIES_CONTEXT = re.compile(r"\b(soc|criteri|tsc|trust|series|categor|privacy|availability|confidentiality|"
                             r"processing)", re.I)
# an ISO standard other than 27001 ("iso 14001", "ISO/IEC 20000"); years are editions ("iso 2013")
_OTHER_ISO = re.compile(r"\biso\s*/?\s*(?:iec\s*)?[- ]?(?!27001(?!\d))(?!(?:19|20)\d\d(?!\d))(\d{4,5})(?!\d)", re.I)
# a number asked "in 2022" comes from the 2013 edition
_TO_2022 = re.compile(r"\b(?:in|to|into|for)\s+(?:the\s+)?(?:iso\s*27001\W*)?2022\b|\b2022\s+(?:version|edition|"
                      r"equivalent|number|numbering)", re.I)
_CLAUSE_ASKED = re.compile(r"\bclauses?\b", re.I)  # a management-system clause asked for by its subject
_TWO_NUMBERS = re.compile(r"(?<![\w.$])(\d{1,2})\.(\d{1,2})(?![\w%]|\.\d)")
_ISO_CONTEXT = re.compile(r"\b(iso|27001|annex|control)", re.I)
_THE_US = re.compile(r"\bthe\s+(US)\b", re.I)  # "us" may be the pronoun, "the US" never is
_US_PRONOUN = re.compile(r"\b(US|U\.S\.A?\.?)(?![a-z])")
_NOT_US = re.compile(
    r"\b(?:outside|out of|non|beyond|except|excluding)\W+(?:of\W+)?(?:the\W+)?(?:US|U\.S\.A?\.?|USA)(?![a-z])", re.I
)


@dataclass(frozen=True)
class Group:
    """A titled block of an answer, e.g. the ISO references of each control mapped to CC6.1."""

    title: str
    lines: tuple[str, ...]


@dataclass(frozen=True)
class Answer:
    """`kind` is one of: iso_for_soc2, soc2_for_iso, unmapped_iso, unmapped_soc2, define, iso2013,
    unknown_ref, control, faq, recommend, abstain, and the refusals empty, too_long (error: the CLI's
    guard). `text` alone is the complete answer; `groups` repeat its lists for richer renderers."""

    text: str
    kind: str
    confidence: float  # 0..1
    refs: tuple[str, ...] = ()  # every reference the text names, canonical
    sources: tuple[str, ...] = ()
    suggestions: tuple[str, ...] = ()  # follow-up questions worth a button
    groups: tuple[Group, ...] = field(default=())


def answer(question: str) -> Answer:
    """Answer one question with the shipped data."""
    return engine().answer(question)


@functools.cache
def engine() -> Engine:
    return Engine(catalog(), knowledge())


_PREFIX_ORDER = {"A.": 0, "Clause": 1, "CC": 2, "A": 3, "C": 4, "PI": 5, "P": 6}


@functools.lru_cache(maxsize=4096)
def _ref_key(ref: str) -> tuple:
    """Annex A then clauses by number; SOC 2 in the criteria's order (CC, A, C, PI, P), then by number."""
    prefix = "A." if ref.startswith("A.") else re.match(r"[A-Za-z]+", ref).group()
    return (_PREFIX_ORDER.get(prefix, 9), *(int(n) for n in re.findall(r"\d+", ref)))


_FIRST_FRAMEWORK = re.compile(r"\b(soc ?2|iso(?:/iec)? ?27001|iso)\b", re.IGNORECASE)


def _first_framework(text: str) -> str | None:
    found = _FIRST_FRAMEWORK.search(text)
    return None if not found else ("soc2" if found.group(1).lower().startswith("soc") else "iso")


def _without_courtesies(text: str) -> str:
    """"hey complybot, what is SOC 2? thanks" -> "what is SOC 2?" (the text itself if nothing else is left).
    Courtesies end a question, so only its last characters are searched for them."""
    text = _ADDRESS.sub("", text, count=1) or text
    head, tail = text[:-_COURTESY_REACH], text[-_COURTESY_REACH:]
    return head + _COURTESY.sub("", tail) if _COURTESY.sub("", tail) or head else text


def _key(tokens) -> str:
    """Words as a lookup key: content words only, in order (all words if that is all: "what can you do")."""
    return " ".join(lexicon.content(tokens)) or " ".join(tokens)


def _join(refs) -> str:
    return ", ".join(sorted(set(refs), key=_ref_key))


class Engine:
    def __init__(self, cat: Catalog, kn: Knowledge):
        self.cat, self.kn = cat, kn
        self._raw_words: Counter[str] = Counter()
        self._abbreviations = self._abbreviation_rewriter(kn.abbreviations)
        self._controls = lexicon.PhraseIndex(self._control_phrases())
        self._iso_titles = lexicon.PhraseIndex((item.ref, self._name_words(item.title)) for item in cat.iso.values())
        self._faq_by_id = {entry.id: entry for entry in kn.faq}
        self._faq = lexicon.PhraseIndex(self._faq_phrases())
        self._signals = {name: self._phrase_set(words) for name, words in kn.signals.items()}
        self._markets = {name: self._phrase_set(words) for name, words in kn.markets.items()}
        self._asks = self._phrase_set(kn.asks)
        self._askers = self._phrase_set(kn.askers)
        # words a demand is made of: who asks, the asking, the framework and what it ends in ("report")
        self._demand_words = frozenset(w for text in (*kn.asks, *kn.askers) for w in self._phrase(text)) | frozenset(
            _FRAMEWORK_WORD) | _CHOICE_SUBJECT | {"type1", "type2"}
        entry_words = {e.id: [w for t in (*e.questions, *e.keywords) for w in self._phrase(t)] for e in kn.faq}
        self._faq_families = {entry_id: self._families(words) for entry_id, words in entry_words.items()}
        self._faq_words = {entry_id: frozenset(lexicon.content(words)) for entry_id, words in entry_words.items()}
        self._faq_exact = self._exact_phrasings()
        self._faq_topics = self._topic_keywords()
        self._other_frameworks = self._phrase_set(kn.other_frameworks)
        # an ISO standard an FAQ keyword names ("iso 27002") is one we hold facts on, not another framework
        self._known_iso = frozenset(n for e in kn.faq for k in e.keywords for n in _OTHER_ISO.findall(k))
        self._domain = self._domain_words()
        # topic words of the FAQ ("audit", "evidence", "policy"): asking about a control in their terms is
        # no sign of another subject, so they do not count against a control match
        self._topic_words = frozenset(
            w for e in kn.faq for k in e.keywords for w in lexicon.content(self._phrase(k))) | _STRONG_DOMAIN_WORDS
        vocabulary = Counter(self._raw_words)
        vocabulary.update(word for short in kn.abbreviations for word in lexicon.normalize(short).split())
        for word in lexicon.STOPWORDS | self._domain | _MAPPING_WORDS | _CHOICE | _CHOICE_SUBJECT:
            vocabulary[word] += 1
        self._speller = lexicon.Speller(vocabulary)
        self._children = self._clause_children()
        self._categories = self._category_series()

    # ------------------------------------------------------------------ building the indexes

    @staticmethod
    def _abbreviation_rewriter(abbreviations: dict[str, str]):
        table = {}
        for short, long in abbreviations.items():
            key = lexicon.normalize(short)
            if key and key not in lexicon.STOPWORDS and key != lexicon.normalize(long):
                table[key] = lexicon.normalize(long)
        if not table:
            return lambda text: text
        # a plural too ("pen tests", "vpns"), unless the term ends in one letter ("soc i" + s is "soc is")
        plural = [k for k in table if len(k.split()[-1]) > 1 and k + "s" not in table]
        alternatives = sorted({*table, *(k + "s" for k in plural)}, key=len, reverse=True)
        table.update({k + "s": table[k] for k in plural})
        pattern = re.compile(r"\b(" + "|".join(re.escape(k) for k in alternatives) + r")\b")
        return lambda text: pattern.sub(lambda m: table[m.group(1)], text)

    def _words(self, text: str, fix=None, learn: bool = False) -> list[str]:
        """Normalised, spell-fixed (by `fix`), abbreviation-expanded and stemmed words of `text`;
        `learn` adds them to the vocabulary typos are fixed to (the words of our own data)."""
        words = lexicon.normalize(text).split()[: lexicon.MAX_WORDS]
        if fix:
            words = [w if w in lexicon.STOPWORDS else fix(w) for w in words]
        expanded = self._abbreviations(" ".join(words)).split()
        if learn:
            self._raw_words.update(words)
            self._raw_words.update(expanded)
        return [w if w in lexicon.STOPWORDS else lexicon.stem(w) for w in expanded]

    def question_tokens(self, text: str) -> list[str]:
        return self._words(text, self._speller.fix)

    def _phrase(self, text: str) -> tuple[str, ...]:
        """Words of a phrase of our data."""
        return tuple(self._words(text, learn=True))

    def _phrase_set(self, phrases) -> lexicon.PhraseFinder:
        """Finds these phrases, reporting each as written in the data (shown back as "you mentioned ...")."""
        found = {}
        for text in phrases:
            words = self._phrase(text)
            if words and text.strip().lower() != "us":  # the pronoun; see _US_PRONOUN
                found.setdefault(words, text.strip())
        return lexicon.PhraseFinder(found)

    def _control_words(self, tokens) -> list[str]:
        return [t for t in lexicon.content(tokens) if t not in _MAPPING_WORDS and t not in _CONTROL_FILLER]

    def _name_words(self, name: str) -> list[str]:
        """The words a name is matched by. One that is a single word once "control", "map", "reference" go
        ("reference check", "access control") keeps them: a lone generic word is no name of its own."""
        words = self._phrase(name)
        kept = self._control_words(words)
        return kept if len(kept) > 1 or len(lexicon.content(words)) < 2 else lexicon.content(words)

    def _control_phrases(self):
        for control in self.cat.controls:
            for name in (control.name, *self.kn.aliases.get(control.name, ())):
                yield control.name, self._name_words(name)

    def _domain_words(self) -> frozenset[str]:
        """Content words of our own phrasings (FAQ questions and keywords, control names and aliases):
        a question using them is in our field. Question words alone ("how", "long") place nothing."""
        words = {w for entry_words in self._faq_words.values() for w in entry_words} | set(self._controls.idf)
        return frozenset(words - lexicon.QUESTION_WORDS) | _STRONG_DOMAIN_WORDS

    def _exact_phrasings(self) -> dict[str, str]:
        """The content words of an FAQ phrasing -> its entry, when no other entry's phrasing has the same:
        asked in those words (with any "the", "please", "thanks" around them) it is that entry for sure."""
        owners: dict[str, set[str]] = {}
        for entry in self.kn.faq:
            for question in entry.questions:
                owners.setdefault(_key(self._phrase(question)), set()).add(entry.id)
        return {key: ids.pop() for key, ids in owners.items() if key and len(ids) == 1}

    def _topic_keywords(self) -> dict[str, str]:
        """An FAQ keyword of one entry only -> that entry: "what is confidentiality" asks for its topic."""
        owners: dict[str, set[str]] = {}
        for entry in self.kn.faq:
            for keyword in entry.keywords:
                key = " ".join(lexicon.content(self._phrase(keyword)))
                owners.setdefault(key, set()).add(entry.id)
        return {key: ids.pop() for key, ids in owners.items() if key and len(ids) == 1}

    def _faq_phrases(self):
        for entry in self.kn.faq:
            for text in (*entry.questions, *entry.keywords):
                yield entry.id, lexicon.content(self._phrase(text))

    @staticmethod
    def _families(tokens) -> tuple[frozenset, ...]:
        found = set(tokens)
        return tuple(family & found for family in _EXCLUSIVE_FAMILIES)

    def _conflicts(self, asked: tuple[frozenset, ...], entry_id: str) -> bool:
        return any(a and e and a.isdisjoint(e) for a, e in zip(asked, self._faq_families[entry_id]))

    def _category_series(self) -> dict[str, list[str]]:
        """A SOC 2 category's name -> its series ("control environment" -> CC1, "privacy" -> P1 ... P8)."""
        found: dict[str, list[str]] = {}
        for ref, item in self.cat.soc2.items():
            key = " ".join(lexicon.content(self._phrase(item.category)))
            if soc2_series(ref) not in found.setdefault(key, []):
                found[key].append(soc2_series(ref))
        return found

    def _clause_children(self) -> dict[str, tuple[str, ...]]:
        """`Clause 9.2` -> the catalogue's `Clause 9.2.1`, `Clause 9.2.2` (a heading over its sub-clauses)."""
        children: dict[str, list[str]] = {}
        for ref in self.cat.iso:
            if ref.startswith("Clause "):
                parts = ref.split(".")
                for cut in range(1, len(parts)):
                    children.setdefault(".".join(parts[:cut]), []).append(ref)
        return {parent: tuple(refs) for parent, refs in children.items()}

    # ------------------------------------------------------------------ the entry point

    def answer(self, question: str) -> Answer:
        # full-width and other compatibility forms read as their plain letters ("Ａ.8.1", "ｃｃ6.1")
        text = unicodedata.normalize("NFKC", (question or "").replace("\x00", " ")).strip()
        if not text:
            return self._refuse(
                "empty",
                "Please ask me a question, for example: which ISO 27001 controls match a SOC 2 criterion, "
                "how a control such as disk encryption maps, or how long a SOC 2 Type 1 takes.",
            )
        if len(text) > MAX_QUESTION_CHARS:
            return self._refuse(
                "too_long",
                f"That question is {len(text):,} characters long; I read up to {MAX_QUESTION_CHARS:,}. "
                "Please ask a shorter question.",
            )
        text = _without_courtesies(text)
        tokens = self.question_tokens(text)
        other = self._other_frameworks.hits(tokens) or [
            f"ISO {n}" for n in _OTHER_ISO.findall(text) if n not in self._known_iso]
        if other:  # named by its longest spelling found: "PCI DSS", not "PCI"; "HIPAA equivalent of CC6.1" too
            return self._abstain(0.0, f"I hold no facts about {max(other, key=len)}. ")
        if _WRITING_ASKED.search(text):
            named = [name for name, score in self._best_controls(self.question_tokens(text))[:2] if score >= 0.5]
            return self._abstain(0.0, "I don't write documents such as policies, plans or templates. ", tuple(named))
        refs = find_refs(text) or self._annex_numbers(text)
        if refs:
            found = self._answer_refs(text, refs)
            if found:
                return found
        else:
            series = self._series_named(text)
            if series:
                return self._series(series)
        exact = self._faq_exact.get(_key(tokens))
        if exact and not _CHOOSING.search(text):  # one of our phrasings that asks no choice, word for word
            return self._faq_answer(self._faq_by_id[exact], 1.0)  # ("why would a customer ask for iso 27001")
        recommendation = self._recommend(text, tokens)
        if recommendation:
            return recommendation
        return self._category_mapping(tokens) or self._two_questions(text) or self._answer_words(text, tokens)

    def _two_questions(self, text: str) -> Answer | None:
        """"How long does SOC 2 take and how much does it cost?": both FAQ answers, when each half is a
        question of its own that an FAQ entry answers (the framework named once counts for both halves)."""
        halves = _SECOND_QUESTION.split(text, maxsplit=1)
        if len(halves) != 2:
            return None
        first_words = self.question_tokens(halves[0])
        named = [t for t in first_words if t in _FRAMEWORK_WORD]
        second = halves[1] if any(t in _FRAMEWORK_WORD for t in self.question_tokens(halves[1])) else (
            f"{halves[1]} {' '.join(named)}")
        parts = [self._answer_words(half, self.question_tokens(half)) for half in (halves[0], second)]
        if any(part.kind != "faq" for part in parts) or parts[0].text == parts[1].text:
            return None
        return Answer(
            "\n\n".join(part.text for part in parts),
            "faq",
            min(part.confidence for part in parts),
            sources=tuple(dict.fromkeys(s for part in parts for s in part.sources)),
            suggestions=tuple(dict.fromkeys(s for part in parts for s in part.suggestions))[:3],
        )

    # ------------------------------------------------------------------ references

    def _answer_refs(self, text: str, refs: list[Ref]) -> Answer | None:
        refs = [found for found in (self._read_bare(r, text) if r.bare else r for r in refs) if found][:MAX_REFS]
        if not refs:
            return None
        pair = self._pair(refs)
        if pair:
            return pair
        define = bool(_DEFINE.search(text)) and not self._mapping_asked(text)
        parts = [self._answer_ref(ref, define) for ref in refs]
        known = [p for p in parts if p.kind != "unknown_ref"] or parts
        first = known[0]
        return Answer(
            text="\n\n".join(p.text for p in known + [p for p in parts if p not in known]),
            kind=first.kind,
            confidence=min(p.confidence for p in known),
            refs=tuple(dict.fromkeys(r for p in known for r in p.refs)),
            sources=tuple(dict.fromkeys(s for p in known for s in p.sources)),
            suggestions=tuple(dict.fromkeys(s for p in known for s in p.suggestions))[:3],
            groups=tuple(g for p in known for g in p.groups),
        )

    def _annex_numbers(self, text: str) -> list[Ref]:
        """"ISO 27001 control 5.23": two numbers without "A." are an Annex A control when the question is
        about ISO and no clause has that number (8.1 and 6.1 are clauses too, so they stay unread)."""
        if not _ISO_CONTEXT.search(text):
            return []
        found = (f"{int(theme)}.{int(number)}" for theme, number in _TWO_NUMBERS.findall(text))
        return [Ref("iso", "A." + n) for n in dict.fromkeys(found)
                if "A." + n in self.cat.iso and "Clause " + n not in self.cat.iso]

    def _read_bare(self, ref: Ref, text: str) -> Ref | None:
        """A number without "clause" or "A." (`6.1.3`, `12.6.1`): the clause when the catalogue has it, else
        (or when the question says 2013, or asks for the number in 2022: "what's 9.2.1 in 2022") the ISO
        27001:2013 Annex A control of that number, else nothing."""
        old = "A." + ref.ref.removeprefix("Clause ")
        if old in self.cat.iso2013 and ("2013" in text or _TO_2022.search(text) or ref.ref not in self.cat.iso):
            return Ref("iso2013", old)
        return ref if ref.ref in self.cat.iso else None

    def _mapping_asked(self, text: str) -> bool:
        """Words asking for the other side ("controls for", "map", "equivalent") make it a mapping question."""
        return any(t in _MAPPING_WORDS and t not in _DEFINE_WORDS for t in self._words(text))

    def _pair(self, refs: list[Ref]) -> Answer | None:
        """"Does CC6.1 map to A.8.1?": yes or no first, then the first reference's mapping."""
        if len(refs) != 2 or {r.kind for r in refs} not in ({"soc2", "iso"}, {"soc2", "clause"}):
            return None
        first, second = (r.ref for r in refs)
        if not all(r in self.cat.soc2 or r in self.cat.iso for r in (first, second)):
            return None
        linking = [c.name for c in self.cat.controls_for(first) if second in (*c.soc2, *c.iso)]
        detail = self._answer_ref(refs[0], False)
        if linking:
            lead = f"Yes: {first} and {second} are mapped together by {', '.join(linking)}."
        else:
            lead = f"No: no control in the mapping table maps {first} to {second}."
        return Answer(
            f"{lead}\n\n{detail.text}",
            detail.kind,
            detail.confidence,
            tuple(dict.fromkeys((*detail.refs, second))),
            detail.sources,
            detail.suggestions,
            detail.groups,
        )

    def _answer_ref(self, ref: Ref, define: bool) -> Answer:
        if ref.kind == "soc2":
            return self._soc2(ref.ref, define) if ref.ref in self.cat.soc2 else self._unknown_soc2(ref.ref)
        if ref.kind == "iso2013":
            return self._iso2013(ref.ref)
        if ref.ref in self.cat.iso or ref.ref in self._children:
            return self._iso(ref.ref, define)
        if ref.kind == "iso" and self._iso2013_under(ref.ref):
            return self._iso2013_category(ref.ref)
        return self._unknown_iso(ref.ref)

    def _soc2(self, ref: str, define: bool) -> Answer:
        item = self.cat.soc2[ref]
        heading = f"{ref} is a SOC 2 criterion ({item.category}): {item.title}."
        controls = self.cat.controls_for(ref)
        if not controls:
            return Answer(
                f"{heading}\nNo control in the mapping table maps it to ISO 27001:2022, so I have no ISO "
                "reference for it.",
                "unmapped_soc2",
                0.95,
                (ref,),
                (SOC2_SOURCE, MAPPING_SOURCE),
            )
        lines = tuple(f"{c.name}: {_join(c.iso)}" for c in controls)
        union = {r for c in controls for r in c.iso}
        count = f"{len(controls)} control{'s' if len(controls) > 1 else ''}"
        text = (
            f"{heading}\nISO 27001:2022 references of the {count} mapped to it:\n"
            + "\n".join(f"• {line}" for line in lines)
            + f"\nAll ISO 27001:2022 references ({len(union)}): {_join(union)}"
        )
        first_iso = sorted(union, key=_ref_key)[0]
        return Answer(
            text,
            "define" if define else "iso_for_soc2",
            0.99,
            (ref, *sorted(union, key=_ref_key)),
            (MAPPING_SOURCE, SOC2_SOURCE),
            (f"What is {first_iso}?", f"{controls[0].name}"),
            (
                Group(f"ISO 27001:2022 for {ref}, by control", lines),
                Group(f"All ISO 27001:2022 references ({len(union)})", (_join(union),)),
            ),
        )

    def _iso_heading(self, ref: str) -> str:
        item = self.cat.iso.get(ref)
        if item is None:  # a clause heading the catalogue lists only by its sub-clauses
            return f"{ref} of ISO 27001:2022 (a management-system clause)."
        if item.theme == "Clause":
            return f"{ref} of ISO 27001:2022 (management-system clause): {item.title}."
        return f"{ref} of ISO 27001:2022 (Annex A, {item.theme} theme): {item.title}."

    def _iso(self, ref: str, define: bool) -> Answer:
        heading = self._iso_heading(ref)
        controls = self.cat.controls_for(ref)
        if not controls:
            return self._unmapped_iso(ref, heading)
        lines = tuple(f"{c.name}: {_join(c.soc2)}" for c in controls)
        union = {r for c in controls for r in c.soc2}
        text = (
            f"{heading}\nSOC 2 criteria of the controls mapped to it:\n"
            + "\n".join(f"• {line}" for line in lines)
            + f"\nAll SOC 2 criteria ({len(union)}): {_join(union)}"
        )
        soc_sorted = sorted(union, key=_ref_key)
        return Answer(
            text,
            "define" if define else "soc2_for_iso",
            0.99,
            (ref, *soc_sorted),
            (MAPPING_SOURCE, ISO_SOURCE),
            (f"What is {soc_sorted[0]}?",),
            (
                Group(f"SOC 2 for {ref} {self.cat.iso[ref].title}, by control", lines),
                Group(f"All SOC 2 criteria ({len(union)})", (_join(union),)),
            ),
        )

    def _unmapped_iso(self, ref: str, heading: str) -> Answer:
        """No control maps `ref` itself. For a clause heading (9.2), point to its mapped sub-clauses by
        reference only: the heading's own answer names no SOC 2 criterion."""
        mapped_below = [child for child in self._children.get(ref, ()) if self.cat.controls_for(child)]
        text = (
            f"{heading}\nNo control in the mapping table maps it to SOC 2: no SOC 2 criterion covers "
            "it there, so it is ISO 27001 work of its own."
        )
        if mapped_below:
            text = (
                f"{heading}\nNo control in the mapping table maps the heading itself to SOC 2. Its "
                f"sub-clauses {', '.join(mapped_below)} are mapped: ask about them for their SOC 2 criteria."
            )
        return Answer(
            text,
            "unmapped_iso",
            0.95,
            (ref, *mapped_below),
            (ISO_SOURCE, MAPPING_SOURCE),
            tuple(f"{child} in SOC 2?" for child in mapped_below[:2]),
        )

    def _iso2013(self, ref: str) -> Answer:
        entry = self.cat.iso2013.get(ref)
        if entry is None:
            return self._unknown(
                "I don't know that ISO 27001:2013 reference: the 2013 edition's Annex A numbers run from "
                "5.1.1 to 18.2.3, and I have every one of its 114 controls. Please check the number."
            )
        title, targets = entry
        lead = f"{ref} of ISO 27001:2013 ({title}) is {' and '.join(targets)} in ISO 27001:2022."
        parts = [self._iso(target, False) for target in targets]
        return Answer(
            lead + "\n\n" + "\n\n".join(p.text for p in parts),
            "iso2013",
            0.99,
            tuple(dict.fromkeys((ref, *targets, *(r for p in parts for r in p.refs)))),
            (ISO2013_SOURCE, MAPPING_SOURCE),
            tuple(f"What is {t}?" for t in targets)[:2],
            tuple(g for p in parts for g in p.groups),
        )

    def _iso2013_under(self, ref: str) -> list[str]:
        return [r for r in self.cat.iso2013 if r.startswith(ref + ".")]

    def _iso2013_category(self, ref: str) -> Answer:
        """`A.9.4` is no 2022 control but a 2013 category: list its controls and where they went."""
        lines = tuple(
            f"{old} {self.cat.iso2013[old][0]} → {', '.join(self.cat.iso2013[old][1])}"
            for old in self._iso2013_under(ref)
        )
        targets = {t for old in self._iso2013_under(ref) for t in self.cat.iso2013[old][1]}
        return Answer(
            f"{ref} is not an ISO 27001:2022 control; in ISO 27001:2013 it is a category. Its controls "
            "in the 2022 version:\n" + "\n".join(f"• {line}" for line in lines),
            "iso2013",
            0.9,
            tuple(sorted(targets, key=_ref_key)),
            (ISO2013_SOURCE,),
            groups=(Group(f"ISO 27001:2013 {ref} in 2022", lines),),
        )

    def _series_named(self, text: str) -> list[str]:
        """The SOC 2 series a question names without a criterion number, in order ("P1-P8": all eight)."""
        context = bool(_SERIES_CONTEXT.search(text))
        named: list[str] = []
        for prefix, first, last in _SERIES.findall(text):
            prefix = prefix.upper()
            if prefix not in ("CC", "PI") and not context:
                continue
            for number in range(int(first), max(int(first), int(last or first)) + 1):
                series = f"{prefix}{number}"
                if any(soc2_series(ref) == series for ref in self.cat.soc2) and series not in named:
                    named.append(series)
        return named

    def _series(self, named: list[str]) -> Answer:
        """Each series' criteria with their titles and the ISO 27001:2022 references mapped to each."""
        blocks, refs = [], []
        for series in named:
            members = [item for ref, item in self.cat.soc2.items() if soc2_series(ref) == series]
            refs += [item.ref for item in members]
            blocks.append(
                f"{series} is a SOC 2 series ({members[0].category}) of {len(members)} "
                f"criteri{'a' if len(members) > 1 else 'on'}:\n"
                + "\n".join(f"• {item.ref} {item.title} — ISO 27001:2022: {self._iso_of(item.ref)}"
                            for item in members))
        return Answer(
            "\n\n".join(blocks) + "\nAsk me about one of them (e.g. " + refs[0] + ") for its controls one by one.",
            "define",
            0.95,
            (*refs, *sorted({r for ref in refs for c in self.cat.controls_for(ref) for r in c.iso}, key=_ref_key)),
            (SOC2_SOURCE, MAPPING_SOURCE),
            tuple(f"{ref} in ISO 27001?" for ref in refs[:2]),
        )

    def _iso_of(self, ref: str) -> str:
        return _join({r for c in self.cat.controls_for(ref) for r in c.iso}) or "none mapped"

    def _unknown_soc2(self, ref: str) -> Answer:
        series = soc2_series(ref)
        members = [r for r in self.cat.soc2 if soc2_series(r) == series]
        if members:
            category = self.cat.soc2[members[0]].category
            detail = (
                f"the {series} series ({category}) has {len(members)} criteria, numbered "
                f".1 to .{len(members)}."
            )
        else:
            detail = (
                "the common criteria are the series CC1 to CC9, then Availability A1, Confidentiality C1, "
                "Processing Integrity PI1 and Privacy P1 to P8."
            )
        return self._unknown(f"I don't know that SOC 2 criterion: SOC 2 has no such number; {detail}")

    def _unknown_iso(self, ref: str) -> Answer:
        if ref.startswith("Clause"):
            detail = "The management-system clauses of ISO 27001:2022 are numbered from 4.1 to 10.2."
        else:
            theme = int(ref.split(".")[1])
            members = [item for item in self.cat.iso.values() if item.ref.startswith(f"A.{theme}.")]
            if members:
                detail = (f"Annex A theme {theme} ({members[0].theme}) has {len(members)} controls, numbered "
                          f"{theme}.1 to {theme}.{len(members)}.")
            else:
                detail = (
                    "Annex A of ISO 27001:2022 has four themes, numbered 5 (Organizational), 6 (People), "
                    "7 (Physical) and 8 (Technological); ISO 27001:2013 numbers have three parts, like 9.4.2."
                )
                if theme <= 4:
                    detail += " SOC 2 Availability criteria are written without a dot after the A."
        return self._unknown(f"I don't know that ISO 27001 reference. {detail}")

    def _unknown(self, text: str) -> Answer:
        return Answer(text, "unknown_ref", 0.9, sources=(ISO_SOURCE, SOC2_SOURCE))

    # ------------------------------------------------------------------ "which framework for us"

    @staticmethod
    def _hits(tokens: list[str], phrases: lexicon.PhraseFinder) -> list[str]:
        return phrases.hits(tokens)

    def _recommend(self, text: str, tokens: list[str], described: bool = False) -> Answer | None:
        """A recommendation when the question asks to choose, or when a customer or contract demands one
        framework by name. `described`: the question says something about the company and nothing else
        matched, so its markets and traits are the question ("we're a startup selling to US banks")."""
        named = {_FRAMEWORK_WORD[t] for t in tokens if t in _FRAMEWORK_WORD}
        choice = any(t in _CHOICE for t in tokens)
        which = any(t in ("which", "need", "both") for t in tokens)  # a choice only with a market
        versus = len(named) == 2 and any(t in ("vs", "versus", "or") for t in tokens)
        abroad = self._placed(tokens, self._markets["international"])
        home = _NOT_US.sub(" ", text)  # "outside the US" is not a US market
        us_market = self._placed(self.question_tokens(home) if home != text else tokens, self._markets["us"])
        # "US" in capitals is the country unless all is shouted; "the us" in any case is never the pronoun
        found = list(_THE_US.finditer(home)) if text.isupper() else (
            list(_US_PRONOUN.finditer(home)) or list(_THE_US.finditer(home)))
        us_market += [(m.group(1).upper(), _place_role(lexicon.words(home[: m.start(1)])[-_ROLE_BEFORE:],
                                                      lexicon.words(home[m.end(1):])[:_ROLE_AFTER])) for m in found]
        # a company sells at home too ("a US startup whose first big client is in Germany": both), unless its
        # customers are said to be elsewhere only ("we're a US company but all our customers are in Japan")
        if _ONLY.search(text) and any(role == "customer" for _, role in (*abroad, *us_market)):
            abroad, us_market = ([(p, r) for p, r in places if r != "self"] for places in (abroad, us_market))
        abroad, us_market = ([p for p, _ in dict.fromkeys(places)] for places in (abroad, us_market))
        leaning = {name: self._hits(tokens, phrases) for name, phrases in self._signals.items()}
        # "why would a customer ask for SOC 2" asks about a demand, it makes none
        demanded, demander = (None, "") if _WHY.match(text) else self._demanded(tokens) or (None, "")
        markets = bool(us_market or abroad or demanded)
        topic = len(named) == 2 or any(t in _CHOICE_SUBJECT for t in tokens)
        trade = not _CUSTOMER_WORDS.isdisjoint(tokens) and not _SELF_WORDS.isdisjoint(tokens)  # "a company selling"
        ours = bool(topic or named or self._hits(tokens, self._askers) or trade)  # frameworks or customers, not cars
        leans = any(leaning.values())
        asked = (ours or leans) and (
            (choice and (topic or markets or leans)) or (which and (markets or (topic and leans))) or versus
            or ("which" in tokens and topic and bool(_SELF.search(text))))  # "we're a bank, which framework"
        if described:
            asked = markets or leans
        if demanded and not asked:  # "our contract requires ISO 27001": follow it. Asked more ("..., how long
            more = [t for t in lexicon.content(tokens) if t not in self._demand_words]  # will it take?"), a good
            entry, faq_score = self._best_faq(tokens) if more else (None, 0.0)  # FAQ answer leading with it does
            if faq_score >= 0.8 and _first_framework(entry.answer) == demanded:
                return self._faq_answer(entry, faq_score)
            asked = True
        if not asked:
            return None
        if demanded:
            said = (f"Each is asked for by name ({demander}): follow both." if demanded == "both"
                    else f"Your {demander} names {_NAMES[demanded]}: follow it.")
            return self._recommendation(demanded, [], said)
        if leaning["both"] or (us_market and abroad):
            return self._recommendation("both", leaning["both"] + us_market + abroad)
        if abroad:
            return self._recommendation("iso", abroad)
        if us_market:
            return self._recommendation("soc2", us_market)
        soc2, iso = len(leaning["soc2"]), len(leaning["iso"])
        entry, faq_score = self._best_faq(tokens)
        if soc2 != iso:
            lean = "soc2" if soc2 > iso else "iso"
            if faq_score >= 0.8 and _first_framework(entry.answer) == lean:
                return self._faq_answer(entry, faq_score)  # "which is cheaper?": the comparison, same lead
            return self._recommendation(lean, leaning[lean])
        # nothing said about the company: a choice between the two gets the rule unless an FAQ fits well
        if (choice and len(named) == 2 or "which" in tokens and topic) and faq_score < 0.6:
            return self._recommendation("default", [])
        return None

    @staticmethod
    def _placed(tokens: list[str], places: lexicon.PhraseFinder) -> list[tuple[str, str]]:
        """Each place named, with whose place it is: "customer", "self" (the company's own) or "" (unsaid)."""
        return [(shown, _place_role(tokens[max(0, start - _ROLE_BEFORE):start], tokens[end:end + _ROLE_AFTER],
                                    tokens[start:end])) for start, end, shown in places.matches(tokens)]

    def _demanded(self, tokens: list[str]) -> tuple[str, str] | None:
        """(`soc2` / `iso`, who asks) when a customer or contract asks for exactly that framework by name: a
        word of `who` shortly before a verb of `asks`, and the framework's name shortly after it ("a big
        customer asked us for ISO 27001"; not "do we need SOC 2 to sell to US customers")."""
        askers = [(end, shown) for _, end, shown in self._askers.matches(tokens)]
        wanted: dict[str, str] = {}
        for start, end, _ in self._asks.matches(tokens):
            who = [shown for asker_end, shown in askers if start - _DEMAND_REACH <= asker_end <= start]
            after = [t for t in tokens[end : end + 6] if t not in _DEMAND_FILLER]
            if who and after and after[0] in _FRAMEWORK_WORD:
                rest = after[1:3]
                if not (len(rest) > 1 and rest[0] in ("or", "and", "vs") and rest[1] in _FRAMEWORK_WORD):
                    wanted[_FRAMEWORK_WORD[after[0]]] = who[-1]
        if len(wanted) == 2:  # "a German customer insists on ISO 27001 but our US customers want SOC 2"
            return "both", " and ".join(dict.fromkeys(wanted.values()))
        return next(iter(wanted.items())) if wanted else None

    def _recommendation(self, choice: str, because: list[str], demand: str = "") -> Answer:
        """`because`: what the question said that points to `choice`; `demand`: who asked for it by name."""
        lead = {
            "soc2": "SOC 2 first.",
            "iso": "ISO 27001 first.",
            "both": "Both: SOC 2 and ISO 27001.",
            "default": "SOC 2 first if your customers are mainly in the US or you are small and early; "
            "ISO 27001 if they are outside the US or a contract asks for it; both if you sell in both markets.",
        }[choice]
        said = []  # longest first, without the phrases a longer one already says ("america" in "north america")
        for phrase in sorted({b.casefold(): b for b in because}.values(), key=len, reverse=True):
            if not any(phrase.casefold() in longer.casefold() for longer in said):
                said.append(phrase)
        reason = f" {demand}" if demand else f" (You mentioned: {', '.join(said)}.)" if said else ""
        advice = self.kn.advice["soc2" if choice == "default" else choice]
        why = advice.why if choice != "default" else "The simplest rule: pick the one your customers ask for."
        return Answer(
            f"{lead}{reason}\n{why}",
            "recommend",
            0.9 if choice != "default" else 0.6,
            sources=(advice.source,),
            suggestions=("How long does a SOC 2 Type 1 take?", "How much does ISO 27001 cost?"),
        )

    # ------------------------------------------------------------------ controls and FAQ

    def _best_controls(self, tokens: list[str]) -> list[tuple[str, float]]:
        return self._rank_names_both_ways(self._controls, tokens)

    def rank_controls(self, text: str, partial: bool = False) -> list[tuple[str, float]]:
        """Control names best matching `text` (typos, abbreviations, aliases), best first, scored 0..1: the
        ranking questions are answered with, shared by `assign` and the control picker (knowledge.matching).
        `partial`: the last word may be unfinished ("disk encr"), as typed into a picker."""
        tokens = self.question_tokens(text)
        typed = lexicon.normalize(text).split()[-1:]
        endings = [] if not partial or not typed or len(typed[0]) < 3 or typed[0] in self._speller.counts else [
            w for w in self._controls.idf if w.startswith(typed[0])][:_MAX_COMPLETIONS]
        if not endings:  # a whole word (or an abbreviation) was typed: nothing to complete
            return self._best_controls(tokens)
        head = self.question_tokens(" ".join(lexicon.normalize(text).split()[:-1]))
        best: dict[str, float] = {}
        for ending in endings:
            for name, score in self._best_controls([*head, ending]):
                best[name] = max(best.get(name, 0.0), score)
        return sorted(best.items(), key=lambda item: -item[1])

    def _best_iso_titles(self, tokens: list[str]) -> list[tuple[str, float]]:
        return self._rank_names_both_ways(self._iso_titles, tokens)

    def _rank_names_both_ways(self, index: lexicon.PhraseIndex, tokens: list[str]) -> list[tuple[str, float]]:
        """Names ranked by the question's words without the words of asking for a mapping ("what maps to
        the disk encryption control") and, where a name uses one of those ("access control"), with them."""
        stripped = set(self._control_words(tokens))
        full = {t for t in lexicon.content(tokens) if t not in _CONTROL_FILLER}
        framed = not _STRONG_DOMAIN_WORDS.isdisjoint(tokens)
        asking = framed or bool(tokens[:1] and tokens[0] in _ASKING) or not _NEEDING.isdisjoint(tokens) or (
            not _MAPPING_WORDS.isdisjoint(tokens))
        ranked = self._rank_names(index, stripped, framed, asking)
        if full == stripped or not any(w in index.idf for w in full - stripped):
            return ranked
        best = dict(ranked)
        for name, score in self._rank_names(index, full, framed, asking):
            best[name] = max(best.get(name, 0.0), score)
        return sorted(best.items(), key=lambda item: -item[1])

    def _rank_names(self, index: lexicon.PhraseIndex, wanted: set[str], framed: bool = False,
                    asking: bool = False) -> list[tuple[str, float]]:
        """Groups (controls, ISO refs) by how well one of their names matches the question's words.
        `framed`: the question names SOC 2 or ISO 27001, so its other words are context, not another subject;
        `asking`: it is a question to us (framed, opened by a question word, saying a need, or asking for a control
        or mapping), not a remark in a channel ("reminder: the office wifi password changed today")."""
        asked = index.weight(w for w in wanted if w in index.idf)
        if not asked:
            return []
        best: dict[str, float] = {}
        said: dict[str, float] = {}  # per group: the weight of the question's words any of its names uses
        for number, matched in index.scores(wanted).items():
            name, _, total = index.phrases[number]
            words = index.phrases[number][1]
            if 2 * sum(1 for w in words if w in wanted) < len(words):  # say at least half of a name
                continue
            if name not in said:  # "secrets ... api keys ... env vars": three names of one control
                said[name] = index.weight({w for n in index.by_group[name] for w in index.phrases[n][1]} & wanted)
            recall, precision = matched / total, said[name] / asked
            score = 2 * recall * precision / (recall + precision)
            if score > best.get(name, 0.0):
                best[name] = score
        topics = self._topic_words
        unknown = sum(1 for w in wanted if w not in index.idf and w not in topics and not w.isdigit())
        # words we cannot place make a match less certain: each of a few weighs much; in a long question full of
        # context ("we're 30 people, mostly remote, ... don't enforce filevault") their share is what counts
        share = 1 - _UNKNOWN_SHARE * unknown / max(1, len(wanted)) if asking and len(wanted) >= _LONG else 0.0
        penalty = max((_FRAMED_UNKNOWN if framed else _UNKNOWN)**unknown, share)
        return sorted(((name, s * penalty) for name, s in best.items()), key=lambda x: -x[1])

    def _best_faq(self, tokens: list[str]) -> tuple[FaqEntry | None, float]:
        """The best FAQ entry and its score, scaled so that 0.45 is the bar to answer with it."""
        exact = self._faq_exact.get(_key(tokens))
        if exact:
            return self._faq_by_id[exact], 1.0
        wanted = lexicon.content(tokens)
        unique = set(wanted)
        index = self._faq
        unknown = sum(1 for w in unique if w not in index.idf and not w.isdigit())
        anchor = "strong" if unique & _STRONG_DOMAIN_WORDS else "weak" if len(unique & self._domain) > 1 else "none"
        asked = index.weight(w for w in unique if w in index.idf)
        if not asked or (anchor == "none" and unknown):
            return None, 0.0
        asked += unknown * _UNKNOWN_WORD_WEIGHT
        scores: dict[str, float] = {}
        for number, matched in index.scores(unique).items():
            entry_id, _, total = index.phrases[number]
            recall, precision = matched / total, matched / asked
            score = 2 * recall * precision / (recall + precision)
            if score > scores.get(entry_id, 0.0):
                scores[entry_id] = score
        families = self._families(unique)
        weighed: dict[str, float] = {}
        for entry_id, score in sorted(scores.items(), key=lambda item: -item[1])[:_FAQ_CANDIDATES]:
            # how much of the question the entry as a whole speaks about, not just its best phrasing
            coverage = index.weight(unique & self._faq_words[entry_id]) / asked
            score = 0.6 * score + 0.4 * coverage
            if self._conflicts(families, entry_id):
                score *= 0.6
            elif any(a and a == e for a, e in zip(families, self._faq_families[entry_id])):
                score += 0.05  # about exactly the framework or type asked
            weighed[entry_id] = score
        if not weighed:
            return None, 0.0
        entry_id = max(weighed, key=weighed.get)
        if anchor == "none" and len(unique & self._faq_words[entry_id]) < 2:
            return None, 0.0
        # words of no phrasing of ours at all raise the bar ("an audit of my taxes"); a control's word does not
        foreign = sum(1 for w in unique if w not in index.idf and w not in self._domain and not w.isdigit())
        bar = _FAQ_BAR[anchor] + (0.2 * foreign if anchor == "weak" else 0.0)
        return self._faq_by_id[entry_id], weighed[entry_id] * _FAQ_BAR["strong"] / bar

    def _answer_words(self, text: str, tokens: list[str]) -> Answer:
        """The best of a named control, an FAQ entry and an ISO title; else a company's description taken as
        "which framework for us"; else "outside what I know"."""
        exact = self._faq_exact.get(_key(tokens))
        if exact:  # one of our phrasings, word for word
            return self._faq_answer(self._faq_by_id[exact], 1.0)
        controls = self._best_controls(tokens)
        entry, faq_score = self._best_faq(tokens)
        control_score = controls[0][1] if controls else 0.0
        question_form = bool(_QUESTION_START.search(text)) or text.rstrip().endswith("?")
        topic = self._defined_topic(text, faq_score) if control_score < 1.0 else None
        if topic:
            return topic
        titles = self._best_iso_titles(tokens)
        if titles and titles[0][1] >= 0.99 > max(control_score, faq_score):  # an ISO title word for word
            return self._iso(titles[0][0], False)
        clauses = [(ref, score) for ref, score in titles if ref.startswith("Clause")] if _CLAUSE_ASKED.search(
            text) else []
        if clauses and clauses[0][1] >= 0.6 and control_score < 0.9:  # "which iso clause covers leadership"
            tied = [Ref("clause", ref) for ref, score in clauses if score >= clauses[0][1] - 1e-9]
            return self._answer_refs(text, tied[:2])
        if question_form and faq_score >= 0.45 and (control_score < 0.9 or faq_score >= control_score) and (
                control_score < 0.5 or self._speaks_of(entry, controls[0][0], tokens)):
            return self._faq_answer(entry, faq_score)
        if control_score >= 0.5 and control_score >= faq_score - 0.1 and (
                faq_score < 0.45 or self._covers_half(controls[0][0], tokens)):
            if _FIGURE_ASKED.search(text):  # "how much does a pentest cost": we know its mapping, no figure
                return self._abstain(0.0, f"I know how {controls[0][0]} maps to SOC 2 and ISO 27001, not what it "
                                          "costs, how long it takes or how often it is done. ", (controls[0][0],))
            return self._control_answer(controls)
        if faq_score >= 0.45:
            return self._faq_answer(entry, faq_score)
        if titles and titles[0][1] >= 0.75:  # "secure coding": an Annex A control or a clause by its title
            found = self._iso(titles[0][0], False)
            return replace(found, confidence=round(titles[0][1] * 0.9, 3))
        if _SELF.search(text) or self._hits(tokens, self._askers):  # read as typed: no guessed words here
            recommendation = self._recommend(text, self._words(text), described=True)
            if recommendation:
                return recommendation
        return self._abstain(max(faq_score, control_score))

    def _speaks_of(self, entry: FaqEntry, name: str, tokens: list[str]) -> bool:
        """Whether an FAQ entry's phrasings use a word by which the question names a control: "minimum
        password length" is about passwords, not about the length of a Type 2 ("observation period length")."""
        named = {w for number in self._controls.by_group[name] for w in self._controls.phrases[number][1]}
        said = named & set(self._control_words(tokens)) - self._topic_words  # "audit" is every entry's word
        return not said or not said.isdisjoint(self._faq_words[entry.id])

    def _covers_half(self, name: str, tokens: list[str]) -> bool:
        """Whether a control's names hold at least half of the question's words: one word of an alias
        ("length" of "password length") does not make "type 2 observation period length" about passwords."""
        asked = set(self._control_words(tokens))
        named = {w for number in self._controls.by_group[name] for w in self._controls.phrases[number][1]}
        return 2 * len(asked & named) >= len(asked)

    def _defined_topic(self, text: str, faq_score: float) -> Answer | None:
        """"what is X" where X is a keyword of one FAQ entry only ("what is confidentiality", "what does
        confidentiality cover in SOC 2"): that entry; or the name of a SOC 2 category ("what is the control
        environment"): its series, unless an FAQ entry answers the words well ("what is risk assessment"),
        less well when the question names SOC 2 ("what is monitoring activities in SOC 2")."""
        define = _DEFINE.search(text)
        if not define:
            return None
        subject = f"{define.group('subject') or ''} {text[define.end():]}"
        asked = [w for w in lexicon.content(self.question_tokens(subject)) if w not in _DEFINE_WORDS]
        bare = [w for w in asked if w not in _FRAMEWORK_WORD]  # "... in SOC 2": the framework is understood
        for words in (asked, bare):
            found = self._faq_topics.get(" ".join(words))
            if found:
                return self._faq_answer(self._faq_by_id[found], 0.9)
        series = self._categories.get(" ".join(bare))
        if not series or " ".join(bare) in self._faq_topics:  # "what is availability": its FAQ entry
            return None
        return self._series(series) if faq_score < 0.45 or ("soc2" in asked and faq_score < 0.8) else None

    def _category_mapping(self, tokens: list[str]) -> Answer | None:
        """"which ISO controls cover availability": a SOC 2 category named with words of asking for a mapping
        and nothing else -> its series with the ISO references of each criterion."""
        if not _ISO_SIDE.intersection(tokens) or not _NOT_A_SIDE.isdisjoint(tokens):  # the ISO side asked,
            return None  # not a clause, not a comparison ("risk assessment in SOC 2 vs ISO 27001")
        rest = [t for t in lexicon.content(tokens) if t not in _MAPPING_WORDS and t not in _CONTROL_FILLER]
        series = self._categories.get(" ".join(rest))
        controls = self._best_controls(tokens) if series else []
        if not series or (controls and controls[0][1] >= 0.9):  # "change management" is a control's name too
            return None
        return self._series(series)

    def _control_answer(self, ranked: list[tuple[str, float]]) -> Answer:
        best = ranked[0][1]
        chosen = [name for name, score in ranked[:4] if score >= max(0.4, best - 0.2)]
        controls = [self.cat.control(name) for name in chosen]
        lines = tuple(self._control_line(c) for c in controls)
        text = "\n".join(lines)
        if len(controls) > 1:
            text = "Closest controls in the mapping table:\n" + "\n".join(f"• {line}" for line in lines)
        refs = tuple(dict.fromkeys(r for c in controls for r in (*c.soc2, *c.iso)))
        return Answer(
            text,
            "control",
            round(min(1.0, best), 3),
            refs,
            (MAPPING_SOURCE,),
            tuple(dict.fromkeys(f"What is {c.iso[0]}?" for c in controls[:3]))[:2],
            (Group("Mapping", lines),) if len(controls) > 1 else (),
        )

    @staticmethod
    def _control_line(control: Control) -> str:
        return f"{control.name} — SOC 2: {_join(control.soc2)} · ISO 27001:2022: {_join(control.iso)}"

    def _faq_answer(self, entry: FaqEntry, score: float) -> Answer:
        suggestions = tuple(self._faq_by_id[i].questions[0] for i in entry.see_also if i in self._faq_by_id)
        return Answer(
            f"{entry.answer}\nSource: {entry.source}",
            "faq",
            round(min(1.0, score), 3),
            sources=(entry.source,),
            suggestions=suggestions[:3],
        )

    def _abstain(self, score: float, why: str = "", instead: tuple[str, ...] = ()) -> Answer:
        """`why`: what in particular is unknown; `instead`: questions we can answer about it, offered first."""
        return Answer(
            f"{why}That is outside what I know. I answer questions about SOC 2 and ISO 27001:2022: which ISO "
            "controls map to a SOC 2 criterion and the reverse, what a criterion or an Annex A control is, "
            "how a named control such as disk encryption or MFA maps to both, ISO 27001:2013 numbers in the "
            "current version, timelines, costs, audits, renewal, and which framework suits your company.",
            "abstain",
            round(min(0.3, score), 3),
            suggestions=(*instead, "disk encryption", "How long does a SOC 2 Type 1 take?",
                         "Which framework for a US startup?")[:3],
        )

    def _refuse(self, kind: str, text: str) -> Answer:
        return Answer(text, kind, 1.0, suggestions=("What is SOC 2?",))


_NAMES = {"soc2": "SOC 2", "iso": "ISO 27001"}
