"""A SOC 2 category by name: "which ISO controls cover availability" (its series with their ISO side),
"what is the control environment" (its series), "what is confidentiality" (the one FAQ entry of that topic)."""
from __future__ import annotations

import re

from knowledge import lexicon
from knowledge.answer import bars, build
from knowledge.answer import words as W
from knowledge.answer.build import Answer
from knowledge.answer.index import key
from knowledge.answer.question import Question


_CONTENTS = frozenset(lexicon.stem(w) for w in "category categories include includes contain contains cover covers "
                      "list all part parts consist".split())  # "what does the X category include"


def category(q: Question) -> Answer | None:
    """A SOC 2 category named with words of asking for its ISO side, or for what it holds ("what does the
    logical and physical access category include"), and nothing else -> its series."""
    tokens = q.tokens
    contents = "category" in tokens or not _CONTENTS.isdisjoint(q.asked_tokens)
    if not (W.ISO_SIDE.intersection(tokens) or contents) or not W.NOT_A_SIDE.isdisjoint(tokens):
        return None  # the ISO side or the contents asked, not a clause, not a comparison
    rest = [t for t in lexicon.content(tokens) if t not in W.MAPPING_WORDS and t not in W.CONTROL_FILLER
            and t not in _CONTENTS]
    series = q.ix.categories.get(" ".join(rest))
    if not series or q.control_score >= bars.CONTROL_SURE:  # "change management" is a control's name too
        return None
    return build.series(q.ix, list(series))


def topic(q: Question) -> Answer | None:
    """"what is X" where X is a keyword of one FAQ entry only ("what is confidentiality", "what does
    confidentiality cover in SOC 2"): that entry; or the name of a SOC 2 category ("what is the control
    environment"): its series, unless an FAQ entry answers the words well ("what is risk assessment"),
    less well when the question names SOC 2 ("what is monitoring activities in SOC 2")."""
    define = W.DEFINE.search(q.text)
    if not define or q.control_score >= bars.CONTROL_EXACT:
        return None
    ix = q.ix
    subject = f"{define.group('subject') or ''} {q.text[define.end():]}"
    asked = [w for w in lexicon.content(ix.tokens(subject)) if w not in W.DEFINE_WORDS]
    if asked and all(w in W.MAPPING_ASK for w in asked):  # "whats the mapping": of something said before
        return None
    bare = [w for w in asked if w not in W.FRAMEWORK_WORD]  # "... in SOC 2": the framework is understood
    for words in (asked, bare):
        found = ix.faq_topics.get(" ".join(words))
        if found:
            return build.faq(ix, ix.faq_by_id[found], bars.FAQ_TOPIC)
    named = _named_before_aside(q, define)
    if named:
        return build.faq(ix, ix.faq_by_id[named], bars.FAQ_TOPIC)
    series = ix.categories.get(" ".join(bare))
    if not series or " ".join(bare) in ix.faq_topics:  # "what is availability": its FAQ entry
        return None
    if q.faq_score < bars.FAQ_BAR or ("soc2" in asked and q.faq_score < bars.FAQ_CATEGORY_FRAMED):
        return build.series(ix, list(series))
    return None


_ASIDE = re.compile(r"\s[-–—]\s|[,;:?!(]|\.(?:\s|$)")


def _named_before_aside(q: Question, define: re.Match) -> str | None:
    """"what is SOC 2, explained for two founders": what is defined ends where an aside begins; when that is one
    of our phrasings word for word ("what is SOC 2"), its entry answers, unless the aside asks again ("..., and
    how long does it take?": two questions)."""
    cut = _ASIDE.search(q.text, define.end())
    if cut is None or W.QUESTION_START.search(q.text, cut.start()) or "?" in q.text[cut.end():]:
        return None
    return q.ix.faq_exact.get(key(q.ix.tokens(q.text[define.start():cut.start()])))
