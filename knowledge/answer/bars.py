"""Every threshold the answer engine decides by, named, with one line of why. Stages, `knowledge.matching`
and the task commands read these; nowhere else holds a decimal bar.

Scores are 0..1: a control or ISO title match is an F1 of the question's words against a name (weighted by
rarity); an FAQ score is scaled so that FAQ_BAR is the bar whatever the question's anchoring.
"""
from __future__ import annotations

# ---- naming a control or an ISO title
CONTROL_BAR = 0.5  # half of a name's weight said (F1) is the least that names a control
CONTROL_SURE = 0.9  # a control named this well outranks an FAQ entry unless the FAQ scores higher still
CONTROL_EXACT = 1.0  # the control's name or alias word for word: no "what is X" topic can be meant instead
CONTROL_NEAR = 0.2  # controls this close to the best one are offered beside it ...
CONTROL_FLOOR = 0.4  # ... if they still say this much of a name
CONTROL_SHOWN = 4  # at most this many controls in one answer
POINTED_BAR = 0.35  # "... - which controls is that?": a control is what is asked, so the clause before it names
# one at this score (its own context words dilute it) and no FAQ entry competes
CONTROL_FAQ_MARGIN = 0.1  # a control may score this much below an FAQ entry and still be what is named
TITLE_EXACT = 0.99  # an ISO title said word for word (rounding aside)
TITLE_NEAR = 0.75  # "secure coding": an Annex A title said almost whole, when nothing else answered
TITLE_CONFIDENCE = 0.9  # a title match is less sure than a table row: its confidence is scaled by this
CLAUSE_BAR = 0.6  # "which iso clause covers leadership": a clause's title this well said, "clause" asked
UNKNOWN_FACTOR = 0.65  # a control match's factor per word we cannot place
FRAMED_UNKNOWN_FACTOR = 0.8  # the same when SOC 2 or ISO is named: the other words are likelier context
UNKNOWN_SHARE = 0.7  # in a long question, at least 1 - this x the share of unplaced words is kept
LONG_QUESTION = 6  # words from which the share of unplaced words counts instead of their number
NAME_HALF = 0.5  # a name counts only when at least this share of its words is said

# ---- FAQ
FAQ_BAR = 0.45  # an FAQ entry answers from this (scaled) score
FAQ_ANCHOR_BARS = {"strong": 0.45, "weak": 0.6, "none": 0.8}  # raw bars by how surely a question is ours
FAQ_FOREIGN_STEP = 0.2  # each word of no phrasing of ours raises a weakly anchored question's bar this much
FAQ_SHAPE, FAQ_COVERAGE = 0.6, 0.4  # an entry's score: its best phrasing's F1 and the whole entry's coverage
FAQ_FAMILY_CONFLICT = 0.6  # an entry about SOC 1 does not answer SOC 2: its score is scaled by this
FAQ_FAMILY_BONUS = 0.05  # about exactly the framework or type asked
FAQ_CANDIDATES = 12  # entries whose best phrasing scores highest; only they are weighed as a whole
FAQ_UNKNOWN_WORD_WEIGHT = 2.5  # a question word no FAQ entry uses counts this much against every entry
FAQ_NEAR = 0.34  # last resort: a question naming SOC 2 or ISO whose best FAQ entry is this close to the bar ...
FAQ_NEAR_LEAD = 0.06  # ... and leads every other entry by this much is answered, less sure, rather than refused
FAQ_CLAUSE_LEAD = 0.2  # the asking clause alone fits another entry this much better: that entry answers
FAQ_TOPIC = 0.9  # "what is confidentiality": the one entry whose keyword it is, this sure
FAQ_CONFIRMS = 0.8  # an FAQ answer this good, leading with the framework a demand or lean names, is kept
FAQ_CHOICE_BAR = 0.6  # a choice asked with nothing said of the company gets the rule unless an FAQ fits this well
FAQ_CATEGORY_FRAMED = 0.8  # "what is monitoring activities in SOC 2": the category unless an FAQ fits this well

# ---- confidence of fixed answers
REF_CONFIDENCE = 0.99  # a reference read from the table
UNMAPPED_CONFIDENCE = 0.95  # a reference the table maps to nothing
SERIES_CONFIDENCE = 0.95  # a whole SOC 2 series
CATEGORY_2013_CONFIDENCE = 0.9  # a 2013 category spread over its 2022 controls
UNKNOWN_REF_CONFIDENCE = 0.9  # a reference that does not exist, said so
RECOMMEND_CONFIDENCE = 0.9  # a recommendation from what the question says
RULE_CONFIDENCE = 0.6  # the simple rule, nothing said about the company
ABSTAIN_CEILING = 0.3  # an abstention is never surer than this
CONTEXT_FACTOR = 0.85  # an answer given beside a phrase we could not place is this much less sure
FOLLOW_UP_CONFIDENCE = 0.85  # an answer about the previous subject: we read "that" as it

# ---- sizes
MAX_QUESTION_CHARS = 4000  # the same limit as the chat router's; longer input is refused politely
MAX_REFS = 10  # references answered in one question
MAX_COMPLETIONS = 12  # words an unfinished last word may stand for, when ranking controls as typed
MAX_SUGGESTIONS = 3  # follow-up buttons under one answer
ROLE_BEFORE, ROLE_AFTER = 8, 3  # words around a place that say whose place it is (customers', ours)
# characters read either side of a "US" for those words, and only so many of them: reading the whole text for
# each of a thousand "US" took seconds of the event loop (4,000 characters of "US US ..."); a question is read
# by its first words (lexicon.MAX_WORDS) anyway
ROLE_CHARS, MAX_US = 400, 16
DEMAND_REACH = 6  # words between a customer or contract and its verb ("the RFP from a French bank requires")
FOLLOW_ON_WORDS = 5  # "... ? Is that allowed?": a question this short after another one only follows it on
COURTESY_REACH = 80  # courtesies end a question: only its last characters are searched for them
REVIEW_WHYS = 2  # a review note gives each control's why up to this many controls; more would bury the answer
FOLLOW_UP_WORDS = 10  # a follow-up ("and for ISO?", "and what does that map to in SOC 2?") is short
