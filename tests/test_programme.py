"""The programme as a whole, through chat commands on a real SQLite file: every requirement assignable,
controls of one's own, SOC 2 scope, undo, the SoA commands, counts that agree, life-cycle slips. Every
refusal leaves the database byte-for-byte unchanged."""
from __future__ import annotations

import re

import pytest

from handlers.ports import Context, SystemClock
from knowledge.catalog import catalog
from tests.test_tasks import assert_refused_unchanged, say, store, team  # noqa: F401 (fixtures)


@pytest.fixture
def ctx(store):  # noqa: F811
    from tests.test_tasks import FixedClock

    return Context(store=store, clock=FixedClock())


def covered(ctx, framework: str) -> list[tuple[int, int]]:
    """(covered, total) of each part `status <framework>` shows."""
    return [(int(a), int(b)) for a, b in re.findall(r"(\d+) of (\d+) covered", say(ctx, f"status {framework}").text)]


def task_number(reply) -> int:
    return int(re.search(r"as task (\d+)", reply.text)[1])


def test_a_new_workspace_reaches_100_percent_through_chat_commands_alone(team):
    assert say(team, "scope soc2 security availability confidentiality").kind == "scope"
    for control in catalog().controls:  # every control of the table, assigned and finished
        say(team, f"done {task_number(say(team, f'assign {control.name} to @bob'))}", user="UBOB")
    for framework in ("iso", "soc2"):
        gap = say(team, f"gap {framework}").text
        missing = [r for r in list(catalog().iso) + list(catalog().soc2) if re.search(rf"^{re.escape(r)} ", gap, re.M)]
        for ref in [r for r in missing if not any(r.startswith(heading + ".") for heading in missing)]:
            reply = say(team, f"assign {ref} itself to @bob")  # a heading clause's task covers its sub-clauses
            assert reply.kind == "assign", reply.text
            say(team, f"done {task_number(reply)}", user="UBOB")
    assert covered(team, "iso") == [(93, 93), (34, 34)]
    assert covered(team, "soc2") == [(38, 38)]  # 33 common criteria + 3 availability + 2 confidentiality
    assert say(team, "gap iso").text.startswith("No gaps") and say(team, "gap soc2").text.startswith("No gaps")
    status = say(team, "status").text
    assert "Processing Integrity, Privacy: not in scope" in status
    digest = say(team, "digest now").text
    assert "93 of 93 covered" in digest and "34 of 34 covered" in digest and "38 of 38 covered" in digest


def test_status_digest_and_home_count_the_same_parts(team):
    say(team, "assign Threat Intelligence to @bob")
    say(team, "done 1", user="UBOB")
    say(team, "assign Clause 9.3 to @bob")
    say(team, "done 2", user="UBOB")
    counts = re.findall(r"\d+ of \d+ covered", say(team, "status").text)
    assert counts == ["0 of 61 covered", "1 of 93 covered", "4 of 34 covered"]  # A.5.7 alone; Clause 9.3 and 9.3.1-3
    assert re.findall(r"\d+ of \d+ covered", say(team, "digest now").text) == counts
    assert "of 127 covered" not in say(team, "digest now").text


def test_soc2_scope_counts_only_criteria_in_scope_and_names_the_rest_once(team):
    assert "Availability, Confidentiality, Processing Integrity, Privacy" in say(team, "scope").text
    say(team, "scope soc2 security")
    assert covered(team, "soc2") == [(0, 33)]
    status = say(team, "status soc2").text
    assert status.count("not in scope") == 1 and "Availability, Confidentiality, Processing Integrity, Privacy" in status
    assert "P1.1" not in say(team, "gap soc2").text and "CC1.1" in say(team, "gap soc2").text
    assert_refused_unchanged(team, "scope soc2 security availability", user="UBOB", expect="Only an admin")
    assert_refused_unchanged(team, "scope soc2 security avalability", expect="don't know the SOC 2 category")
    say(team, "scope soc2 security privacy")
    assert covered(team, "soc2") == [(0, 51)]
    assert "scope" in [e.action for e in team.store.events("T1")]


def test_controls_of_ones_own_are_added_assigned_counted_listed_and_removed(team):
    reply = say(team, 'control add “Code Review” iso A.8.25,A.8.28 soc2 CC8.1 note every merge needs a second pair of eyes')
    assert reply.kind == "control_add" and "A.8.28" in reply.text
    assert "Code Review — CC8.1, A.8.25, A.8.28 · every merge" in say(team, "control list").text
    reply = say(team, "assign code reveiw to @bob due 2026-04-01")  # the same fuzzy matching
    assert reply.kind == "assign" and team.store.task("T1", 1).control == "Code Review"
    assert "Code Review" in [a.label for a in say(team, "assign A.8.28 to @carol").actions]
    assert_refused_unchanged(team, 'control remove "Code Review"', expect="still has an open task")
    say(team, "done 1", user="UBOB")
    assert (1, 93) == covered(team, "iso")[0]  # A.8.28 had no table control: now covered by our own
    assert "A.8.28" not in say(team, "gap iso").text.split("not yet covered")[0]
    from handlers.exports import tasks
    _, rows = tasks(team.store, "T1")
    assert rows[0][1:4] == ["Code Review", "CC8.1", "A.8.25; A.8.28"]
    actions = [e.action for e in team.store.events("T1")]
    assert "control add" in actions
    say(team, 'control remove "Code Review"')
    assert "control remove" in [e.action for e in team.store.events("T1")]
    assert "No controls of your own" in say(team, "control list").text


def test_control_add_refusals_change_nothing(team):
    assert_refused_unchanged(team, 'control add "Code Review" iso A.8.99 soc2 CC8.1', expect="Did you mean")
    before = team.store.dump()
    assert say(team, "scope soc2").kind == "scope" and team.store.dump() == before  # shows, changes nothing
    assert_refused_unchanged(team, 'control add "Code Review" soc2 CC88.1', expect="not a SOC 2 reference")
    assert_refused_unchanged(team, 'control add "Code Review" iso A.8.28', user="UBOB", expect="Only an admin")
    assert_refused_unchanged(team, 'control add "Disk Encryption" iso A.8.28', expect="already a control")
    assert_refused_unchanged(team, 'control add "Code Review"', expect="Usage")
    assert_refused_unchanged(team, 'control remove "Nothing Like It"', expect="no control of your own")
    say(team, 'control add "Code Review" iso A.8.28')
    assert_refused_unchanged(team, 'control remove "Code Review"', user="UBOB", expect="Only an admin")


def test_other_workspaces_never_see_our_own_controls(team):
    say(team, 'control add "Code Review" iso A.8.28')
    team.store.upsert_person("T2", "UADMIN", name="ada", platform="slack")
    assert "No controls of your own" in say(team, "control list", workspace="T2").text
    say(team, "assign Code Review to me", workspace="T2")  # T2 has no such control: a table one, if any
    assert all(t.control != "Code Review" for t in team.store.tasks("T2", statuses=None))
    assert not team.store.custom_controls("T2")


def test_applicable_undoes_na_with_the_trail_and_reopens_its_task(team):
    say(team, "assign Server Room to @bob")
    say(team, "na Server Room we run no server room, everything is in AWS")
    assert team.store.task("T1", 1).status == "na"
    assert_refused_unchanged(team, "applicable Server Room", user="UBOB", expect="Only an admin")
    reply = say(team, "applicable Server Room")
    assert reply.kind == "applicable" and "Server Room" not in team.store.na_decisions("T1")
    assert team.store.task("T1", 1).status == "open"
    assert "applicable" in [e.action for e in team.store.events("T1")]
    say(team, "na A.5.23 no cloud services are in scope")
    say(team, "applicable A.5.23")
    assert "A.5.23" not in team.store.na_decisions("T1")
    assert_refused_unchanged(team, "applicable A.5.23", expect="was not marked not applicable")
    assert_refused_unchanged(team, "applicable Nothing Like It", expect="can't tell which control")


def test_unblock_by_command_and_button_and_done_clears_a_block(team):
    say(team, "assign Disk Encryption to @bob")
    say(team, "start 1", user="UBOB")
    listing = say(team, "block 1 waiting for the MDM vendor", user="UBOB")
    assert "unblock 1" in [a.value for s in listing.sections for a in s.actions]
    assert_refused_unchanged(team, "unblock 1", user="UCAROL", expect="belongs to")
    say(team, "unblock 1", user="UBOB")
    task = team.store.task("T1", 1)
    assert (task.status, task.blocked_reason) == ("in_progress", "")  # back to where it was
    assert_refused_unchanged(team, "unblock 1", expect="not blocked")
    say(team, "block 1 laptops on back order", user="UBOB")
    reply = say(team, "done 1", user="UBOB")
    assert "It was blocked (laptops on back order); the block is cleared." in reply.text
    assert team.store.task("T1", 1).blocked_reason == ""


def test_done_on_a_next_occurrence_just_created_asks_first(store):  # noqa: F811
    live = Context(store=store, clock=SystemClock())
    say(live, "assign Threat Intelligence to me due in 2 weeks every quarter")
    say(live, "done 1")
    before = store.dump()
    asked = say(live, "done 2")
    assert asked.outcome == "prompt" and "next quarter's Threat Intelligence" in asked.text
    assert [a.value for a in asked.actions] == ["done 2 now"] and store.dump() == before
    assert say(live, "done 2 now").kind == "done" and store.task("T1", 2).status == "done"


def test_a_members_list_shows_only_the_buttons_they_may_press(team):
    say(team, "assign Disk Encryption to @bob")
    say(team, "assign Vendor Review to @carol")
    for section in say(team, "tasks all", user="UBOB").sections:
        values = [a.value for a in section.actions]
        if "#1 " in section.lines[0]:
            assert values == ["done 1", "snooze 1 7"]  # their own, without Reassign
        elif section.lines and section.lines[0].startswith("#2"):
            assert values == []  # carol's: nothing bob may press
    assert "reassign 1" in [a.value for s in say(team, "tasks all").sections for a in s.actions]


def test_soa_header_justify_and_export_commands(team):
    say(team, 'soa set org "Acme Ltd" scope "The Acme SaaS platform" version 1.2 approver @ada date 2026-03-01')
    assert say(team, "soa").kind != "soa"  # a question about Statements of Applicability
    shown = say(team, "soa header").text
    assert "Organisation: Acme Ltd" in shown and "Approved by: ada" in shown and "Date: 2026-03-01" in shown
    assert_refused_unchanged(team, 'soa set org "Evil Ltd"', user="UBOB", expect="Only an admin")
    assert_refused_unchanged(team, 'soa set colour "blue"', expect="don't know the SoA field")
    assert_refused_unchanged(team, "soa set approver @nobody", expect="don't know @nobody")
    assert_refused_unchanged(team, "soa set date yesterday", expect="not a date")
    say(team, "justify A.8.5 logins to production are our main risk")
    assert team.store.soa_justifications("T1")["A.8.5"].justification == "logins to production are our main risk"
    assert_refused_unchanged(team, "justify A.8.5 risk", expect="a few words of why")
    reply = assert_refused_unchanged(team, "justify A.9.99 it matters a lot", expect="not an ISO 27001:2022 Annex A")
    assert "A.8.9" in reply.text, reply.text  # the nearest real controls, as `control add` offers them
    assert_refused_unchanged(team, "justify A.8.5 it matters a lot", user="UBOB", expect="Only an admin")
    say(team, "na A.5.23 no cloud services are in scope")
    assert_refused_unchanged(team, "justify A.5.23 we use clouds now", expect="applicable A.5.23")
    assert "complybot export soa --format xlsx" in say(team, "export soa").text
    assert_refused_unchanged(team, "export soa", user="UBOB", expect="Only an admin")


def test_unknown_refs_and_bad_dates_in_the_new_paths_change_nothing(team):
    assert_refused_unchanged(team, "assign A.8.1 itself to @bob due 2026-02-01", expect="in the past")
    assert_refused_unchanged(team, "assign A.8.99 to @bob", expect="don't know a control")
    assert_refused_unchanged(team, "assign Clause 9.3 to @bob due yesterday", expect="in the past")
    assert_refused_unchanged(team, "assign Clause 9.3 to @bob every year", expect="from when")
    assert_refused_unchanged(team, "assign Clause 9.3 to @carol", user="UBOB", expect="only to themselves")
    assert_refused_unchanged(team, "na Clause 9.3 we skip reviews here", expect="cannot be marked")
