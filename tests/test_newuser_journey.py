"""What a new user trips over in the first hour (security lead of a 60-person SaaS company preparing
SOC 2 Type 2 and ISO 27001), through chat commands on a real SQLite file."""
from __future__ import annotations

import re

import pytest

from tests.test_programme import covered, ctx, task_number  # noqa: F401 (fixtures)
from tests.test_tasks import assert_refused_unchanged, say, store, team  # noqa: F401 (fixtures)


def test_finishing_a_clause_covers_its_sub_clauses(team):
    reply = say(team, "assign Clause 9.3 to @bob due 2026-03-31")
    say(team, f"done {task_number(reply)}", user="UBOB")
    gap = say(team, "gap iso").text
    assert not re.search(r"^Clause 9\.3\.\d ", gap, re.M), gap
    assert covered(team, "iso")[1][0] == 4  # 9.3 and its three sub-clauses


def test_a_heading_clause_is_covered_when_all_its_sub_clauses_are(team):
    for sub in ("Clause 9.2.1", "Clause 9.2.2"):
        say(team, f"done {task_number(say(team, f'assign {sub} itself to @bob due 2026-03-31'))}", user="UBOB")
    assert not re.search(r"^Clause 9\.2 ", say(team, "gap iso").text, re.M)
    assert covered(team, "iso")[1][0] == 3  # 9.2 and its two sub-clauses


def test_a_heading_clause_cannot_be_marked_not_applicable(team):
    reply = assert_refused_unchanged(team, "na Clause 9.3 we do not hold management reviews")
    assert "cannot be marked not applicable" in reply.text, reply.text


def test_an_ambiguous_numeric_date_is_asked_about_and_changes_nothing(team):
    reply = assert_refused_unchanged(team, "assign vpn to @bob due 01/02/2027")
    assert "2027-01-02" in reply.text and "2027-02-01" in reply.text, reply.text
    assert "2026-12-31" in say(team, "assign vpn to @bob due 31/12/2026").text  # one reading only: taken


def test_an_unknown_iso_reference_is_refused_in_good_english(team):
    reply = assert_refused_unchanged(team, 'control add "Bogus" iso A.9.99')
    assert "not an ISO 27001:2022 reference" in reply.text, reply.text


def test_help_lists_help_for_a_task_where_a_clause_says_what_to_do_again(team):
    assert "`help <task>`" in say(team, "help").text
    number = task_number(say(team, "assign Clause 9.2 to @bob due 2026-03-31"))
    assert "Evidence an auditor asks for" in say(team, f"help {number}", user="UBOB").text


@pytest.mark.parametrize("text,command", [
    ("mark 1 done", "done 1"), ("complete 1", "done 1"), ("done with #1", "done 1"), ("finished task 1", "done 1"),
    ("show my tasks", "tasks"), ("whats overdue?", "tasks overdue"),
])
def test_a_command_typed_another_way_is_pointed_to_the_command_and_changes_nothing(team, text, command):
    say(team, "assign mfa to @bob due 2026-03-31")
    before = team.store.dump()
    reply = say(team, text, user="UBOB")
    assert f"`{command}`" in reply.text and any(a.value == command for a in reply.actions), reply.text
    assert "`help`" in reply.text
    assert team.store.dump() == before
