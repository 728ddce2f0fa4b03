"""Which framework for us: asked as a choice, or demanded by a customer or contract by name."""
from __future__ import annotations

from knowledge import lexicon
from knowledge.answer import bars, build, rank
from knowledge.answer import words as W
from knowledge.answer.build import Answer
from knowledge.answer.question import Question, without_parentheses


def recommend(q: Question) -> Answer | None:
    """Only when a choice is asked. Not when the asking clause asks for controls ("...; which ISO 27001 controls
    does that give us?": two framework names and a "which" make no choice), nor when it asks why, how long,
    how much, what something is, or how two things compare, unless it also asks to choose (the company's
    description and a customer's demand are then context: "a prospect wants SOC 2 Type 2, how long will it take?")."""
    if q.mapping_asked or ((q.form in W.NOT_A_CHOICE or q.comparing) and not q.choice_asked) or _other_choice(q):
        return None
    return _recommend(q, q.tokens)


def _other_choice(q: Question) -> bool:
    """The asking clause chooses an auditor, a tool or a vendor, not a framework."""
    asked = set(q.asked_tokens)
    return not W.OTHER_CHOICE.isdisjoint(asked) and W.FRAMEWORK_CHOICE.isdisjoint(asked) and len(
        asked & {"soc2", "iso27001"}) < 2


def described(q: Question) -> Answer | None:
    """Nothing else matched and the question says something about the company ("we're a startup selling to
    US banks"): its markets and traits are the question. Read as typed: no guessed words here."""
    if (q.form in W.NOT_A_CHOICE or q.comparing) and not q.choice_asked:
        return None
    if W.SELF.search(q.text) or q.ix.askers.hits(q.tokens):
        return _recommend(q, q.words, described=True)
    return None


def _recommend(q: Question, tokens: list[str], described: bool = False) -> Answer | None:
    """A recommendation when the question asks to choose, or when a customer or contract demands one
    framework by name."""
    ix, text = q.ix, q.text
    faq = (lambda: q.faq) if tokens is q.tokens else (lambda: rank.best_faq(ix, tokens))
    named = {W.FRAMEWORK_WORD[t] for t in tokens if t in W.FRAMEWORK_WORD}
    # a word of choosing counts in the asking clause only, outside its asides ("our auditor said they fit
    # together" chooses nothing, nor does "how do the frameworks cover X (approvals need two people)?")
    asking = tokens if described else q.half(without_parentheses(q.asked)).tokens
    choice = any(t in W.CHOICE for t in asking)
    which = any(t in ("which", "need", "both") for t in asking)  # a choice only with a market
    versus = len(named) == 2 and any(t in ("vs", "versus", "or") for t in tokens) and not q.comparing
    abroad = _placed(tokens, ix.markets["international"])
    home = W.NOT_US.sub(" ", text)  # "outside the US" is not a US market
    us_market = _placed(ix.tokens(home) if home != text else tokens, ix.markets["us"])
    # "US" in capitals is the country unless all is shouted; "the us" in any case is never the pronoun
    found = list(W.THE_US.finditer(home)) if text.isupper() else (
        list(W.US_PRONOUN.finditer(home)) or list(W.THE_US.finditer(home)))
    us_market += [(m.group(1).upper(), W.place_role(
        lexicon.words(home[max(0, m.start(1) - bars.ROLE_CHARS): m.start(1)])[-bars.ROLE_BEFORE:],
        lexicon.words(home[m.end(1): m.end(1) + bars.ROLE_CHARS])[:bars.ROLE_AFTER])) for m in found[:bars.MAX_US]]
    # a company sells at home too ("a US startup whose first big client is in Germany": both), unless its
    # customers are said to be elsewhere only ("we're a US company but all our customers are in Japan")
    if W.ONLY.search(text) and any(role == "customer" for _, role in (*abroad, *us_market)):
        abroad, us_market = ([(p, r) for p, r in places if r != "self"] for places in (abroad, us_market))
    abroad, us_market = ([p for p, _ in dict.fromkeys(places)] for places in (abroad, us_market))
    leaning = {name: phrases.hits(tokens) for name, phrases in ix.signals.items()}
    # "why would a customer ask for SOC 2" asks about a demand, it makes none
    demanded, demander = (None, "") if W.WHY.match(text) else _demanded(q, tokens) or (None, "")
    markets = bool(us_market or abroad or demanded)
    topic = len(named) == 2 or any(t in W.CHOICE_SUBJECT for t in tokens)
    trade = not W.CUSTOMER_WORDS.isdisjoint(tokens) and not W.SELF_WORDS.isdisjoint(tokens)  # "a company selling"
    ours = bool(topic or named or ix.askers.hits(tokens) or trade)  # frameworks or customers, not cars
    leans = any(leaning.values())
    asked = (ours or leans) and (
        (choice and (topic or markets or leans)) or (which and (markets or (topic and leans))) or versus
        or ("which" in tokens and topic and bool(W.SELF.search(text))))  # "we're a bank, which framework"
    if described:
        asked = markets or leans
    if demanded and not asked:  # "our contract requires ISO 27001": follow it. Asked more ("..., how long
        more = [t for t in lexicon.content(tokens) if t not in ix.demand_words]  # will it take?"), a good FAQ
        entry, faq_score = faq() if more else (None, 0.0)  # answer leading with it does
        if faq_score >= bars.FAQ_CONFIRMS and build.first_framework(entry.answer) == demanded:
            return build.faq(ix, entry, faq_score)
        asked = True
    if not asked:
        return None
    if demanded:
        said = (f"Each is asked for by name ({demander}): follow both." if demanded == "both"
                else f"Your {demander} names {build.NAMES[demanded]}: follow it.")
        return build.recommendation(ix, demanded, [], said)
    if leaning["both"] or (us_market and abroad):
        return build.recommendation(ix, "both", leaning["both"] + us_market + abroad)
    if abroad:
        return build.recommendation(ix, "iso", abroad)
    if us_market:
        return build.recommendation(ix, "soc2", us_market)
    soc2, iso = len(leaning["soc2"]), len(leaning["iso"])
    entry, faq_score = faq()
    if soc2 != iso:
        lean = "soc2" if soc2 > iso else "iso"
        if faq_score >= bars.FAQ_CONFIRMS and build.first_framework(entry.answer) == lean:
            return build.faq(ix, entry, faq_score)  # "which is cheaper?": the comparison, same lead
        return build.recommendation(ix, lean, leaning[lean])
    # nothing said about the company: a choice between the two gets the rule unless an FAQ fits well
    if (choice and len(named) == 2 or "which" in tokens and topic) and faq_score < bars.FAQ_CHOICE_BAR:
        return build.recommendation(ix, "default", [])
    return None


def _placed(tokens: list[str], places: lexicon.PhraseFinder) -> list[tuple[str, str]]:
    """Each place named, with whose place it is: "customer", "self" (the company's own) or "" (unsaid)."""
    return [(shown, W.place_role(tokens[max(0, start - bars.ROLE_BEFORE):start], tokens[end:end + bars.ROLE_AFTER],
                                 tokens[start:end])) for start, end, shown in places.matches(tokens)]


def _demanded(q: Question, tokens: list[str]) -> tuple[str, str] | None:
    """(`soc2` / `iso`, who asks) when a customer or contract asks for exactly that framework by name: a
    word of `who` shortly before a verb of `asks`, and the framework's name shortly after it ("a big
    customer asked us for ISO 27001"; not "do we need SOC 2 to sell to US customers")."""
    askers = [(end, shown) for _, end, shown in q.ix.askers.matches(tokens)]
    wanted: dict[str, str] = {}
    for start, end, _ in q.ix.asks.matches(tokens):
        who = [shown for asker_end, shown in askers if start - bars.DEMAND_REACH <= asker_end <= start]
        after = [t for t in tokens[end: end + 6] if t not in W.DEMAND_FILLER]
        if who and after and after[0] in W.FRAMEWORK_WORD:
            rest = after[1:3]
            if not (len(rest) > 1 and rest[0] in ("or", "and", "vs") and rest[1] in W.FRAMEWORK_WORD):
                wanted[W.FRAMEWORK_WORD[after[0]]] = who[-1]
    if len(wanted) == 2:  # "a German customer insists on ISO 27001 but our US customers want SOC 2"
        return "both", " and ".join(dict.fromkeys(wanted.values()))
    return next(iter(wanted.items())) if wanted else None
