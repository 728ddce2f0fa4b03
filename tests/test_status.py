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
    # CC6.1 is mapped by 16 controls: finishing 15 of them does not cover it
    from knowledge.catalog import catalog

    controls = [c.name for c in catalog().controls_for("CC6.1")]
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
    assert "CC1.2 " in "\n".join(reply.sections[1].lines)
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
