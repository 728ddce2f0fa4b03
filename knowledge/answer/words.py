"""What words and phrasings say about a question: word classes (asking for a mapping, choosing, whose
market) and the patterns of how people ask. Pure data; `question.py` and the stages read it."""
from __future__ import annotations

import re

from knowledge import lexicon

# words that say what kind of thing is asked, never which control: ignored when matching control names
MAPPING_WORDS = frozenset(
    lexicon.stem(w)
    for w in """control controls map maps mapping mapped soc2 iso27001 iso soc criteria criterion tsc annex
    clause equivalent equivalents correspond corresponds corresponding match matches side sides reference
    references ref refs number numbers framework frameworks 2022 2013 2017 requirement requirements mean
    means meaning explain define definition cover covers covered relate related relates version tsc trust
    service services""".split()
)
# words of asking for controls or references in the asking clause: a mapping asked, not a framework chosen
MAPPING_ASK = frozenset(lexicon.stem(w) for w in """control controls map maps mapping mapped criteria criterion annex
    clause clauses equivalent equivalents correspond corresponds reference references satisfy satisfies""".split())
PLACED_IN = re.compile(r"\b(fits?|falls?|belongs?)\s+(in|into|under)\b", re.I)  # "where does X fit in"
# a choice of something else than a framework: "recommend a good SOC 2 auditor in Denver"
OTHER_CHOICE = frozenset(lexicon.stem(w) for w in """auditor auditors firm firms cpa tool tools platform platforms
    vendor vendors consultant consultants consultancy software""".split())
FRAMEWORK_CHOICE = frozenset(lexicon.stem(w) for w in "framework frameworks certification standard option".split())
EVERY_ONE = frozenset("both each either two all".split())  # "in both frameworks": each of them, no choice
COMPARING = frozenset(lexicon.stem(w) for w in """difference differences differ different same similar similarity
    similarities compare compared comparison overlap overlaps relationship relate""".split())
CHOICE_ASKED = re.compile(r"\b(should|pick|choose|chose|select|recommend\w*|suggest|advise|prioriti[sz]e|decide|"
                          r"start\s+with|go\s+(?:for|with)|which\s+(?:one|framework|standard|certification|first)|"
                          r"which\s+(?:is|makes|would\s+be)\s+(?:better|best|right|sense)|right|best|better|ideal|"
                          r"suits?|fits?)\b", re.I)
# forms of a question that ask something else than a choice, whatever the context says of the company
NOT_A_CHOICE = frozenset({"why", "how_long", "how_much"})
DEFINE_WORDS = frozenset(lexicon.stem(w) for w in "mean means meaning explain define definition".split())
# words of how people ask about a control, never part of its name
CONTROL_FILLER = lexicon.QUESTION_WORDS | frozenset(
    lexicon.stem(w)
    for w in """way ways best good need needs needed use using used implement implementing implementation
    set setup handle handling work works like example examples recommended require required list show
    want wants wanted stop make sure people everyone someone random old new before after start
    ok okay context mostly know fact lot lots nobody anybody somebody asked ask
    asking wondering think guess maybe probably currently recently already still yet again ever never always
    team folks guys today week weeks month months year years day days enforce enforced enforcing flagged
    flag fail failed pass passed wrong""".split()
)
# words of how sure or how typical, said around any question ("honestly", "actually", "typically"): no subject
HEDGES = frozenset(lexicon.stem(w) for w in """honestly actually actual really basically genuinely going usual usually
    normal normally typical typically roughly exactly""".split())
# words that place a question in our field. An FAQ answer needs a strong one (a name only these
# frameworks use), or two words of our data's own phrasings (the domain vocabulary, derived at load from
# FAQ phrasings and keywords and control names) and a close match, or a very close match without unknown
# words (no "$" for pizza prices or "what time is it").
STRONG_DOMAIN_WORDS = frozenset(
    lexicon.stem(w)
    for w in """soc1 soc2 soc3 soc iso27001 iso isms type1 type2 attestation tsc annex soa applicability
    surveillance recertification cpa infosec cybersecurity complybot certification certifications trust""".split()
)
ASKING = frozenset(lexicon.stem(w) for w in "how what which who why when where do does did can could should is are"
                    .split())
NEEDING = frozenset(lexicon.stem(w) for w in "need needs want wants require requires must".split())

DEFINE = re.compile(  # at the start of the text or of a clause, as QUESTION_START
    r"(?:^|[,.;:!?]\s)\W*+(what\s+is|what's|whats|what\s+are|define|definition|meaning\s+of|explain|describe|"
    r"tell\s+me\s+about|"
    r"what\s+does\s+(?P<subject>\S+)\s+(mean|say|cover|require|stand))\b",
    re.IGNORECASE,
)
CHOICE = frozenset(
    lexicon.stem(w)
    for w in """should pick choose chose select recommend recommendation suggest advise better best right first
    start prioritize prioritise decide fit fits suit suits suitable""".split()
)
CHOICE_SUBJECT = frozenset("framework frameworks certification one standard option audit report".split())
# a question word opening the text or a clause of it ("hey complybot, what is ...", "quick one: how long ...")
QUESTION_START = re.compile(
    r"(?:^|[,.;:!?]\s)\W*+(how|what|whats|when|why|who|which|where|is|are|do|does|did|can|could|should|would|will|"
    r"must|may)\b",
    re.IGNORECASE,
)
CHOOSING = re.compile(r"\b(which|should|or|vs|versus|pick|choose|recommend\w*|better|best)\b", re.I)
# whose place a market word is: "customers in Japan", "selling to US hospitals" (customers) against "we're a US
# company", "our HQ is in Paris", "UK based" (the company itself)
CUSTOMER_WORDS = frozenset(lexicon.stem(w) for w in """customer customers client clients buyer buyers user users sell
    sells selling sold serve serves serving market markets prospect prospects merchants hospitals clinics banks
    enterprises agencies""".split())
SELF_WORDS = frozenset(lexicon.stem(w) for w in """based headquartered headquarters hq located office offices
    company startup saas firm business team subsidiary entity""".split())
SELF_PRONOUNS = frozenset({"we", "our", "i"})
LOCATED = frozenset(lexicon.stem(w) for w in "based headquartered hq located".split())  # "based in India"
# "... and how much does it cost?": a second question joined to the first
SECOND_QUESTION = re.compile(r"\s*(?:,\s*)?\b(?:and|also|plus|&)\s+(?=(?:how|what|what's|whats|when|who|which|why|is|"
                              r"are|do|does|can|should)\b)", re.I)
ISO_SIDE = frozenset({"iso27001", "annex"})
NOT_A_SIDE = frozenset({"clause", "vs", "versus", "compare", "compared", "comparison", "difference", "differ"})
WHY = re.compile(r"\W*why\b", re.I)
ONLY = re.compile(r"\b(all|only|exclusively|entirely|solely|mostly|mainly|primarily|just)\b", re.I)


def place_role(before: list[str], after: list[str], place: tuple[str, ...] | list[str] = ()) -> str:
    """`before`/`after`: the words around a place named in a question; `place`: its own words ("US companies")."""
    if not CUSTOMER_WORDS.isdisjoint(before[-4:]) or (after and after[0] in CUSTOMER_WORDS):
        return "customer"
    if (after and after[0] == "based") or not LOCATED.isdisjoint(before[-3:]) or (
            not SELF_PRONOUNS.isdisjoint(before) and not SELF_WORDS.isdisjoint((*before, *place, *after))):
        return "self"
    return ""


FRAMEWORK_WORD = {"soc2": "soc2", "iso27001": "iso", "iso": "iso"}
DEMAND_FILLER = frozenset("a an the our their us we me for to".split())  # "asked us for a SOC 2 report"
# an FAQ entry about one member of a family does not answer a question about another member
EXCLUSIVE_FAMILIES = (frozenset({"soc1", "soc2", "soc3", "iso27001"}), frozenset({"type1", "type2"}))
# a question asking for an amount, a duration or a frequency: we hold those for the frameworks only
FIGURE_ASKED = re.compile(
    r"\bhow\s+(much|many|long|often)\b|\b(costs?|prices?|pricing|fees?|salary|salaries|earns?|pay|paid|"
    r"minimum|maximum|percent|percentage)\b", re.I)
SELF = re.compile(r"\b(we|we're|were|our|ours|us|i'm|i am|my company|my startup|my team)\b", re.I)
# greetings, the bot's name and polite openings before a question; they say nothing about what is asked
ADDRESS = re.compile(
    r"^[^\w§]*(?:(?:hey|hi|hello|ok|okay|yo|dear|thanks|so|um|please|sorry|folks|team|quick\s+(?:q|question|one)|qq|"
    r"(?:random|dumb|stupid|silly|noob|basic|another)\s+(?:q|question)|question)\b\W*)*(?:@?complybot\b[\s,:;!-]*)?"
    r"(?:(?:(?:can|could|would|will)\s+you\s+(?:please\s+)?(?:tell|explain|show)(?:\s+(?:me|us))?|do\s+you\s+know|"
    r"i(?:'d|\s+would)\s+like\s+to\s+know|i\s+want\s+to\s+know|i\s+wonder|i(?:'m|\s+am)\s+wondering)\b"
    r"[\s,:;-]*)?",
    re.I,
)
# courtesies and asks for brevity after a question ("..., in simple terms please"): no part of what is asked
COURTESY = re.compile(
    r"(?:[\s,.;:!-]*\b(?:thanks|thank\s+you|thx|ty|please|pls|plz|cheers|briefly|in\s+short|in\s+a\s+nutshell|"
    r"in\s+(?:simple|plain|layman'?s?)\s+(?:terms|english|words|language)|"
    r"in\s+(?:an?|one|two|three|a\s+few|a\s+couple(?:\s+of)?|one\s+or\s+two)\s+(?:short\s+)?"
    r"(?:sentences?|lines?|words|paragraphs?))\W*)+$",
    re.I,
)
# "write me an information security policy": we answer questions, we do not write documents for people
WRITING_ASKED = re.compile(
    r"^\W*(?:(?:can|could|would|will)\s+you\s+)?(?:please\s+)?(?:write|draft|generate|create|compose|produce|"
    r"(?:give|send|show)\s+me|"
    r"prepare|fill\s+(?:in|out))\b(?:\s+\S+){0,6}?\s+(?:polic(?:y|ies)|plans?|procedures?|templates?|documents?|"
    r"docs?|sops?|playbooks?|runbooks?|checklists?|emails?|letters?|questionnaires?|statements?)\b",
    re.I,
)
# a whole SOC 2 series ("what does CC5 cover", "the privacy criteria P1-P8"): CC and PI alone, the others (A1,
# C1, P1 ... which are also words of other things: "P1 incident") only beside a word of SOC 2's criteria
SERIES = re.compile(r"(?<![\w.])(CC|PI|P|C|A)\s?([1-9])(?:\s*(?:-|–|to|through)\s*(?:CC|PI|P|C|A)?\s?([1-9]))?"
                     r"(?![\w.]|\.\d)", re.I)
SERIES_CONTEXT = re.compile(r"\b(soc|criteri|tsc|trust|series|categor|privacy|availability|confidentiality|"
                             r"processing)", re.I)
# an ISO standard other than 27001 ("iso 14001", "ISO/IEC 20000"); years are editions ("iso 2013")
OTHER_ISO = re.compile(r"\biso\s*/?\s*(?:iec\s*)?[- ]?(?!27001(?!\d))(?!(?:19|20)\d\d(?!\d))(\d{4,5})(?!\d)", re.I)
# a number asked "in 2022" comes from the 2013 edition
TO_2022 = re.compile(r"\b(?:in|to|into|for)\s+(?:the\s+)?(?:iso\s*27001\W*)?2022\b|\b2022\s+(?:version|edition|"
                      r"equivalent|number|numbering)", re.I)
CLAUSE_ASKED = re.compile(r"\bclauses?\b", re.I)  # a management-system clause asked for by its subject
TWO_NUMBERS = re.compile(r"(?<![\w.$])(\d{1,2})\.(\d{1,2})(?![\w%]|\.\d)")
ISO_CONTEXT = re.compile(r"\b(iso|27001|annex|control)", re.I)
THE_US = re.compile(r"\bthe\s+(US)\b", re.I)  # "us" may be the pronoun, "the US" never is
US_PRONOUN = re.compile(r"\b(US|U\.S\.A?\.?)(?![a-z])")
NOT_US = re.compile(
    r"\b(?:outside|out of|non|beyond|except|excluding)\W+(?:of\W+)?(?:the\W+)?(?:US|U\.S\.A?\.?|USA)(?![a-z])", re.I
)
