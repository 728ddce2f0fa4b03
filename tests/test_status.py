"""Coverage (`status`), gaps (`gap`) and workspace isolation for every command."""
from __future__ import annotations

import pytest

from handlers.router import handle
from handlers.types import Message
from tests.test_tasks import assert_refused_unchanged, say
from tests.test_tasks import ctx, store, team  # noqa: F401


def progress_of(reply, title):
    return next(s for s in reply.sections if s.title == title)


def test_status_starts_at_zero(team):
    reply = say(team, "status")
    assert progress_of(reply, "SOC 2").progress == 0
    assert progress_of(reply, "ISO 27001:2022 · Annex A").lines == ("0 of 93 covered",)
    assert "░" in reply.text and "0%" in reply.text


def test_one_finished_control_counts_for_both_frameworks(team):
    # Threat Intelligence alone maps A.5.7; with CC3.2/CC7.2 it shares criteria with other controls.
    say(team, "assign Threat Intelligence to @bob due 2026-04-01")
    say(team, "done 1")
    reply = say(team, "status")
    assert progress_of(reply, "ISO 27001:2022 · Annex A").lines == ("1 of 93 covered",)
    # Acceptable Use Policy is the only control of CC1.1 → SOC 2 moves too
    say(team, "assign Acceptable Use Policy to @bob")
    say(team, "done 2")
    reply = say(team, "status soc2")
    soc2 = progress_of(reply, "SOC 2")
    assert soc2.lines == ("1 of 61 covered",) and soc2.progress == pytest.approx(1 / 61)
    assert "2 of 118 controls finished" in reply.text
    assert len(say(team, "status iso").sections) == 3  # Annex A, clauses, footer


def test_criterion_needs_every_mapped_control(team):
    # CC6.1 is mapped by 16 controls of the table and 1 the review adds: finishing all but one does not cover it
    from knowledge.catalog import catalog

    controls = [c.name for c in catalog().covering("CC6.1")]
    for number, name in enumerate(controls, start=1):
        say(team, f"assign {name} to @bob")
        if number < len(controls):
            say(team, f"done {number}")
    assert "CC6.1 " in say(team, "gap soc2").text
    say(team, f"done {len(controls)}")
    assert "CC6.1 " not in say(team, "gap soc2").text


def test_not_applicable_counts_as_covered(team):
    say(team, "na A.5.23 no cloud services in scope")
    assert progress_of(say(team, "status iso"), "ISO 27001:2022 · Annex A").lines == ("1 of 93 covered",)


def test_gap_iso_sections(team):
    say(team, "assign Disk Encryption to @bob due 2026-04-01")
    reply = say(team, "gap iso")
    titles = [s.title for s in reply.sections]
    assert titles[0].startswith("ISO 27001:2022 Annex A controls not yet covered")
    assert titles[1] == "ISO 27001:2022 Annex A controls no control in the table covers (12)"
    assert titles[2].startswith("Clauses 4–10, the ISMS itself")
    unmapped = "\n".join(reply.sections[1].lines)
    assert "A.5.23 " in unmapped and "A.8.28 " in unmapped
    assert "Disk Encryption (@bob, due 2026-04-01" in reply.text
    assert "(unassigned)" in reply.text
    clauses = "\n".join(reply.sections[2].lines)
    assert "Clause 4.1 " in clauses and "A.8.1 " not in clauses


def test_gap_soc2_and_usage(team):
    reply = say(team, "gap soc2")
    assert "CC4.2 " in "\n".join(reply.sections[1].lines)
    # CC1.2, which the article's table maps to nothing, is mapped by the review (Information Security Oversight)
    assert "CC1.2 Board independent of management and overseeing internal control — Information Security " \
           "Oversight (unassigned)" in reply.sections[0].lines
    assert_refused_unchanged(team, "gap", expect="Usage")


COMMANDS_ON_TASK_1 = ["done 1", "start 1", "reopen 1", "block 1 reason here", "reassign 1 to @ada", "due 1 2026-05-01",
                      "snooze 1 7", "evidence 1 https://example.com/e", "history 1", "done disk encryption"]


def test_workspace_isolation_for_every_command(team):
    """Nothing of workspace T1 is visible or changeable from T2, even by T2's admin."""
    say(team, "assign Disk Encryption to @bob due 2026-04-01 note secret-note-T1")
    say(team, "na Server Room T1 has no server room")
    team.store.upsert_person("T2", "UADMIN", name="ada", platform="slack")  # same user id, other workspace
    for command in COMMANDS_ON_TASK_1:
        reply = assert_refused_unchanged(team, command, workspace="T2")
        assert "secret-note-T1" not in reply.text
    assert_refused_unchanged(team, "assign Disk Encryption to @bob", workspace="T2", expect="don't know @bob")
    assert_refused_unchanged(team, "tasks @bob", workspace="T2", expect="don't know @bob")
    assert_refused_unchanged(team, "admin add @bob", workspace="T2", expect="don't know @bob")
    for command in ("tasks", "tasks all", "tasks overdue", "tasks due soon", "tasks iso", "tasks done"):
        assert "Disk Encryption" not in say(team, command, workspace="T2").text
    status = say(team, "status", workspace="T2")
    assert "0 of 118 controls finished" in status.text and "0 in progress" in status.text
    assert "Disk Encryption (@bob" not in say(team, "gap iso", workspace="T2").text
    # T2 can assign the same control independently; its task is T2's number 1
    say(team, "assign Disk Encryption to me", workspace="T2")
    assert team.store.task("T2", 1).owner == "UADMIN" and team.store.task("T1", 1).owner == "UBOB"
    assert "Server Room" not in team.store.na_decisions("T2")
    say(team, "na Server Room T2 reasons of its own", workspace="T2")
    assert team.store.na_decisions("T1")["Server Room"].justification == "T1 has no server room"


def test_router_without_store_refuses_commands():
    reply = handle(Message("console", "local", "u", "tasks"), None)
    assert reply.ephemeral and reply.kind == "no_store"


A_8_7_IN_THE_TABLE = ("Malware Scans", "Restrict Software Install", "Security Training", "Software Install Scan")
A_8_7_BY_REVIEW = ("Antivirus", "Antivirus Maintenance", "Software Updates")  # the table maps them elsewhere


def test_a_reviewed_addition_counts_for_status_gap_and_soa(team):
    from handlers.exports import soa

    def soa_row(ref):
        header, rows = soa(team.store, "T1")
        return dict(zip(header, next(row for row in rows if row[0] == ref)))

    def annex_a_covered():
        return progress_of(say(team, "status iso"), "ISO 27001:2022 · Annex A").lines[0]

    for number, name in enumerate(A_8_7_IN_THE_TABLE + A_8_7_BY_REVIEW, start=1):
        say(team, f"assign {name} to @bob")
        if number <= len(A_8_7_IN_THE_TABLE):
            say(team, f"done {number}")
    gap = say(team, "gap iso").text
    assert "A.8.7 Protection against malware — Antivirus (@bob" in gap  # the table's four alone do not cover it
    assert soa_row("A.8.7")["Implementation status"] == "In progress"
    before = annex_a_covered()
    for number in range(len(A_8_7_IN_THE_TABLE) + 1, len(A_8_7_IN_THE_TABLE) + len(A_8_7_BY_REVIEW) + 1):
        say(team, f"done {number}")
    assert "A.8.7 " not in say(team, "gap iso").text
    row = soa_row("A.8.7")
    assert row["Implementation status"] == "Implemented" and "Antivirus" in row["Implementing controls"].split("; ")
    assert int(annex_a_covered().split()[0]) > int(before.split()[0])


def test_a_clause_only_the_review_maps_is_covered_by_its_controls(team):
    # Clause 6.1.2 (information security risk assessment): the article's table maps no control to it
    say(team, "assign Risk Assessment Methodology to @bob")
    say(team, "assign Risk Assessment Policy to @bob")
    assert "Clause 6.1.2 Information security risk assessment — Risk Assessment Methodology (@bob" in say(
        team, "gap iso").text
    say(team, "done 1")
    say(team, "done 2")
    assert "Clause 6.1.2 " not in say(team, "gap iso").text
