"""One control ranking serves questions (knowledge.answer) and commands (knowledge.matching: `assign`,
the Slack control picker): the same words find the same control both ways."""
from __future__ import annotations

import re

import pytest

from bot.slack.modals import control_options
from knowledge.answer import answer, rank_controls
from knowledge.matching import MIN_SCORE, match_controls


@pytest.mark.parametrize("typed, name", [
    ("disk encryption", "Disk Encryption"), ("dsk encryptoin", "Disk Encryption"),
    ("acess reveiw", "User Access Review"), ("mfa", "Multi-Factor Authentication"),
    ("backgroud check", "Background Check"), ("firewal rules", "Firewall Rules"),
    ("pen test", "Penetration Test"), ("org chart", "Organizational Chart"), ("screen lock", "Workstation Lockout"),
    ("offboarding", "Termination of Access"), ("data anonymisation", "Data Anonymization"),
])
def test_a_command_and_a_question_find_the_same_control(typed, name):
    matches = match_controls(typed)
    assert matches[0][0].name == name and matches[0][1] == 100.0
    assert len(matches) == 1 or matches[1][1] < 100.0  # clearly ahead: `assign` takes it without asking
    result = answer(typed)
    first_named = re.search(r"(?m)^(?:• )?(.+?) — SOC 2", result.text)
    assert result.kind == "control" and first_named and first_named.group(1) == name, result.text


def test_scores_are_the_engines_rescaled():
    ranked = rank_controls("vendor")
    assert [(c.name, s) for c, s in match_controls("vendor", limit=3)] == [
        (name, round(100 * score, 1)) for name, score in ranked[:3]]


@pytest.mark.parametrize("typed", ["ports", "quantum teleportation", "", "🙂", "x" * 5000])
def test_what_no_name_contains_matches_nothing(typed):
    # "ports" is inside "SOC 2 reports" letter for letter, yet names no control
    assert match_controls(typed) == []
    assert answer(typed).kind != "control"


def test_a_shared_alias_ties_so_the_caller_asks():
    found = {c.name: s for c, s in match_controls("change management")}
    assert found["Change Management Policy"] == found["Change Management Procedures"] == 100.0


def test_a_vague_word_offers_several_above_the_bar():
    matches = match_controls("encryption", limit=10)
    names = [c.name for c, _ in matches]
    assert {"Disk Encryption", "Encryption at Rest", "Encryption in Transit"} <= set(names)
    assert all(MIN_SCORE <= s < 100 for _, s in matches)


@pytest.mark.parametrize("typed, name", [("encr", "Disk Encryption"), ("disk encr", "Disk Encryption"),
                                         ("penetr", "Penetration Test"), ("backgr", "Background Check")])
def test_the_picker_completes_an_unfinished_last_word(typed, name):
    assert name in [c.name for c, _ in match_controls(typed, partial=True)]
    assert name in [option["value"] for option in control_options(typed)]  # the Slack picker uses it
    assert name not in [c.name for c, _ in match_controls(typed)]  # a whole-word search does not guess


def test_an_exact_name_wins_outright():
    assert [(c.name, s) for c, s in match_controls("  Restore ")] == [("Restore", 100.0)]
