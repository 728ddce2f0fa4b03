"""Every task command and every bad input, through the router, on a real temporary SQLite file.
A refused or failed command must leave the database byte-for-byte unchanged (`Store.dump`)."""
from __future__ import annotations

import re
from datetime import date, datetime, timezone

import pytest

from bot.store import Store
from handlers.ports import Context
from handlers.router import handle
from handlers.types import Message

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=timezone.utc)  # a Monday
TODAY = NOW.date()


class FixedClock:
    def __init__(self, now: datetime = NOW):
        self.current = now

    def now(self) -> datetime:
        return self.current


@pytest.fixture
def store(tmp_path):
    opened = Store.open(tmp_path / "complybot.db")
    yield opened
    opened.close()


@pytest.fixture
def ctx(store):
    return Context(store=store, clock=FixedClock())


def say(ctx, text, user="UADMIN", workspace="T1", name=""):
    names = {"UADMIN": "ada", "UBOB": "bob", "UCAROL": "carol"}
    return handle(Message("slack", workspace, user, text, user_name=name or names.get(user, user)), ctx)


@pytest.fixture
def team(ctx):
    """Workspace T1: ada (first, admin), bob and carol (members)."""
    for user, name in (("UADMIN", "ada"), ("UBOB", "bob"), ("UCAROL", "carol")):
        ctx.store.upsert_person("T1", user, name=name, platform="slack")
    return ctx


def assert_refused_unchanged(ctx, text, user="UADMIN", expect="", workspace="T1"):
    before = ctx.store.dump()
    reply = say(ctx, text, user=user, workspace=workspace)
    assert reply.ephemeral, reply.text
    if expect:
        assert expect.casefold() in reply.text.casefold(), reply.text
    assert ctx.store.dump() == before, f"{text!r} changed the database"
    return reply


# ----- assign ---------------------------------------------------------------------------------

def test_assign_by_name_with_due_recurrence_and_note(team):
    reply = say(team, "assign user access review to @bob due 2026-03-31 every quarter note export from Okta")
    assert reply.kind == "assign" and not reply.ephemeral
    task = team.store.task("T1", 1)
    assert (task.control, task.owner, task.assigner) == ("User Access Review", "UBOB", "UADMIN")
    assert (task.due, task.recurrence, task.note) == (date(2026, 3, 31), "quarter", "export from Okta")
    assert "CC6.2" in reply.text and "A.5.15" in reply.text  # one control, both frameworks
    assert [a.value for a in reply.sections[0].actions] == ["done 1", "snooze 1 7", "reassign 1"]


def test_assign_with_a_typo_and_slack_mention(team):
    say(team, "assign dsk encryptoin to <@UBOB> due in 2 weeks")
    task = team.store.task("T1", 1)
    assert task.control == "Disk Encryption" and task.due == date(2026, 3, 16)


def test_assign_ambiguous_name_offers_choices_and_changes_nothing(team):
    reply = assert_refused_unchanged(team, "assign encryption to @bob due friday", expect="Which control")
    values = [a.value for a in reply.actions]
    assert "assign Disk Encryption to @bob due friday" in values
    assert "assign Encryption at Rest to @bob due friday" in values


def test_assign_by_reference_offers_the_covering_controls_and_the_requirement_itself(team):
    reply = assert_refused_unchanged(team, "assign CC6.1 to @bob", expect="covered by 17 controls")  # 16 in the table, Workstation Lockout by review
    values = [a.value for a in reply.actions]
    assert "assign Disk Encryption to @bob" in values and "assign CC6.1 itself to @bob" in values
    say(team, "assign CC6.1 itself to @bob")
    assert team.store.task("T1", 1).control == "CC6.1"


def test_assign_by_reference_with_one_control_offers_it_and_the_requirement(team):
    reply = assert_refused_unchanged(team, "assign A.5.7 to @bob", expect="or the requirement itself")
    assert [a.value for a in reply.actions] == ["assign Threat Intelligence to @bob", "assign A.5.7 itself to @bob"]
    say(team, reply.actions[0].value)
    assert team.store.task("T1", 1).control == "Threat Intelligence"


def test_a_requirement_no_control_covers_is_assigned_itself_and_covers_it(team):
    reply = say(team, "assign A.5.23 to @bob due 2026-04-01")
    assert reply.kind == "assign" and team.store.task("T1", 1).control == "A.5.23"
    assert "ISO 27001 A.5.23" in reply.text
    say(team, "done A.5.23", user="UBOB")
    assert "1 of 93 covered" in say(team, "status iso").text
    assert "A.5.23" not in say(team, "gap iso").text


def test_a_clause_is_assigned_with_its_isms_activity_and_help_shows_it(team):
    reply = say(team, "assign clause 9.3 to @bob due 2026-06-30 every year")
    assert team.store.task("T1", 1).control == "Clause 9.3"
    assert "Management review" in reply.text and "Evidence an auditor asks for" in reply.text
    shown = say(team, "help 1", user="UBOB").text
    assert "Evidence an auditor asks for" in shown
    say(team, "done 1", user="UBOB")
    assert "4 of 34 covered" in say(team, "status iso").text  # 9.3 and its sub-clauses 9.3.1-9.3.3


def test_unknown_control(team):
    assert_refused_unchanged(team, "assign quantum teleportation to @bob", expect="don't know a control")


def test_unknown_person(team):
    assert_refused_unchanged(team, "assign Disk Encryption to @zed", expect="don't know @zed")


def test_person_of_another_workspace_is_not_found(team):
    team.store.upsert_person("T2", "UOTHER", name="olga", platform="slack")
    assert_refused_unchanged(team, "assign Disk Encryption to <@UOTHER>", expect="don't know")
    assert_refused_unchanged(team, "assign Disk Encryption to @olga", expect="don't know")


@pytest.mark.parametrize("due", ["2020-01-01", "yesterday-ish", "Feb 30 2026", "in 9000 years"])
def test_past_or_unreadable_date(team, due):
    reply = assert_refused_unchanged(team, f"assign Disk Encryption to @bob due {due}")
    assert "past" in reply.text or "couldn't read" in reply.text


def test_already_owned_control_says_who_owns_it(team):
    say(team, "assign Disk Encryption to @bob due 2026-04-01")
    reply = assert_refused_unchanged(team, "assign disk encryption to @carol", expect="already owned by @bob")
    assert "task 1" in reply.text


def test_member_assigns_only_to_themselves(team):
    assert_refused_unchanged(team, "assign Disk Encryption to @carol", user="UBOB", expect="only to themselves")
    reply = say(team, "assign Disk Encryption to me", user="UBOB")
    assert reply.kind == "assign" and team.store.task("T1", 1).owner == "UBOB"


def test_assign_junk_options_and_usage(team):
    assert_refused_unchanged(team, "assign Disk Encryption to @bob tomorrow please", expect="didn't understand")
    assert_refused_unchanged(team, "assign Disk Encryption", expect="Usage")
    assert_refused_unchanged(team, "assign", expect="Usage")


def test_recurring_without_due_asks_for_the_first_date(team):
    reply = assert_refused_unchanged(team, "assign Vendor Review to @bob every year", expect="from when")
    assert reply.field == "date"


# ----- task updates ---------------------------------------------------------------------------

@pytest.fixture
def assigned(team):
    say(team, "assign Disk Encryption to @bob due 2026-03-20")
    say(team, "assign Vendor Review to @carol due 2026-03-10")
    return team


def test_done_start_reopen_by_number_and_by_name(assigned):
    assert say(assigned, "start 1", user="UBOB").kind == "start"
    assert assigned.store.task("T1", 1).status == "in_progress"
    assert say(assigned, "done disk encryption", user="UBOB").kind == "done"
    assert assigned.store.task("T1", 1).status == "done"
    assert_refused_unchanged(assigned, "done 1", user="UBOB", expect="already done")
    assert say(assigned, "reopen #1", user="UBOB").kind == "reopen"
    assert assigned.store.task("T1", 1).status == "open"


def test_member_cannot_change_someone_elses_task(assigned):
    for command in ("done 2", "start 2", "block 2 waiting", "due 2 2026-05-01", "snooze 2 7",
                    "evidence 2 https://example.com/x", "reassign 2 to @bob", "reassign 2 to me"):
        assert_refused_unchanged(assigned, command, user="UBOB")
    reply = assert_refused_unchanged(assigned, "done 2", user="UBOB", expect="belongs to @carol")
    assert "ask its owner or an admin" in reply.text


def test_admin_changes_any_task(assigned):
    assert say(assigned, "done 2").kind == "done"
    assert assigned.store.events("T1", 2)[-1].actor == "UADMIN"


def test_unknown_task(assigned):
    assert_refused_unchanged(assigned, "done 99", expect="no task 99")
    assert_refused_unchanged(assigned, "block 99 reason", expect="no task 99")
    assert_refused_unchanged(assigned, "done penetration test", expect="can't find a task")


def test_block_needs_a_reason(assigned):
    assert_refused_unchanged(assigned, "block 1", expect="Usage")
    say(assigned, "block 1 waiting for the MDM vendor", user="UBOB")
    task = assigned.store.task("T1", 1)
    assert task.status == "blocked" and task.blocked_reason == "waiting for the MDM vendor"


def test_block_by_control_name(assigned):
    say(assigned, "block Disk Encryption laptops on back order")
    assert assigned.store.task("T1", 1).blocked_reason == "laptops on back order"


def test_a_long_reason_after_a_control_name_is_kept_whole(assigned):
    # the control's name is searched in the message's first words only, never in every prefix
    reason = " ".join(["laptops on back order, IT rolls them out next quarter"] * 8)  # 63 words, 431 chars
    say(assigned, f"block Disk Encryption {reason}")
    assert assigned.store.task("T1", 1).blocked_reason == reason
    say(assigned, f"na Vendor Review {reason}")
    assert assigned.store.na_decisions("T1")["Vendor Review"].justification == reason
    assert_refused_unchanged(assigned, "snooze " + "lorem ipsum " * 300, expect="can't find a task")


def test_reassign(assigned):
    prompt = say(assigned, "reassign 1")
    assert "reassign 1 to @person" in prompt.text
    say(assigned, "reassign 1 to @carol")
    assert assigned.store.task("T1", 1).owner == "UCAROL"
    assert_refused_unchanged(assigned, "reassign 1 to @carol", expect="already owns")
    assert_refused_unchanged(assigned, "reassign 1 to @nobody", expect="don't know")


def test_due_and_snooze(assigned):
    say(assigned, "due 1 end of month", user="UBOB")
    assert assigned.store.task("T1", 1).due == date(2026, 3, 31)
    say(assigned, "due Disk Encryption next friday", user="UBOB")  # Monday 2 March: next week's friday
    assert assigned.store.task("T1", 1).due == date(2026, 3, 13)
    say(assigned, "due 1 friday", user="UBOB")  # this week's
    assert assigned.store.task("T1", 1).due == date(2026, 3, 6)
    assert_refused_unchanged(assigned, "due 1 2025-12-01", expect="in the past")
    assert_refused_unchanged(assigned, "due 1 someday", expect="couldn't read")
    say(assigned, "snooze 1 7", user="UBOB")
    assert assigned.store.task("T1", 1).snoozed_until == date(2026, 3, 9)
    assert_refused_unchanged(assigned, "snooze 1 0", expect="how many days")
    assert_refused_unchanged(assigned, "snooze 1 forever", expect="how many days")


def test_evidence_validates_the_link(assigned):
    say(assigned, "evidence 1 <https://drive.example.com/d/abc|screenshot> FileVault report", user="UBOB")
    evidence = assigned.store.task("T1", 1).evidence
    assert evidence[0]["url"] == "https://drive.example.com/d/abc" and evidence[0]["note"] == "FileVault report"
    for bad in ("evidence 1 javascript:alert(1)", "evidence 1 ftp://files.example.com/x", "evidence 1 https://",
                "evidence 1 notalink", "evidence 1 http://localhost/x"):
        assert_refused_unchanged(assigned, bad)


def test_the_evidence_refusal_names_every_scheme_it_accepts(assigned):
    reply = assert_refused_unchanged(assigned, "evidence 1 ftp://files.example.com/x")
    accepted = re.findall(r"\b(https?)://", reply.text)
    assert "https" in accepted and "http" in accepted, reply.text
    say(assigned, "evidence 1 http://wiki.example.com/q3 Q3 report", user="UBOB")  # what the refusal says goes
    assert assigned.store.task("T1", 1).evidence[0]["url"] == "http://wiki.example.com/q3"


def test_not_applicable_for_a_control_and_a_reference(assigned):
    say(assigned, "na Server Room we run no server room, everything is in AWS")
    say(assigned, "na A.5.23 no cloud services in scope at all")
    decisions = assigned.store.na_decisions("T1")
    assert decisions["Server Room"].justification == "we run no server room, everything is in AWS"
    assert decisions["A.5.23"].justification == "no cloud services in scope at all"
    assert_refused_unchanged(assigned, "na Server Room", expect="a few words of why")
    assert_refused_unchanged(assigned, "na A.7.1 remote", expect="a few words of why")
    assert_refused_unchanged(assigned, "na A.7.1 remote", user="UBOB", expect="Only an admin")  # the role first
    assert_refused_unchanged(assigned, "na Clause 6.1.3 we do not like risk treatment", expect="cannot be marked")
    assert_refused_unchanged(assigned, "na A.5.1 no policies here", user="UBOB", expect="Only an admin")
    assert_refused_unchanged(assigned, "na Vendor Review not needed for us", user="UBOB", expect="Only an admin")


def test_na_of_an_owned_control_marks_its_task(assigned):
    say(assigned, "na Vendor Review we have no vendors")
    assert assigned.store.task("T1", 2).status == "na"


def test_applicability_is_an_admins_decision_whoever_owns_the_task(team):
    say(team, "na Penetration Test the cloud provider's reports cover all testing of our stack")
    say(team, "assign Penetration Test to me", user="UBOB")
    assert_refused_unchanged(team, "na Penetration Test nobody ever attacks us", user="UBOB", expect="Only an admin")
    assert team.store.na_decisions("T1")["Penetration Test"].justification.startswith("the cloud provider's")


def test_history_shows_the_trail(assigned):
    say(assigned, "start 1", user="UBOB")
    say(assigned, "due 1 2026-04-30", user="UBOB")
    reply = say(assigned, "history 1")
    assert reply.kind == "history"
    text = reply.text
    assert "@ada assign: @bob" in text and "@bob start: open → in_progress" in text
    assert "2026-03-20 → 2026-04-30" in text
    assert_refused_unchanged(assigned, "history 77", expect="no task 77")


def test_admin_add(team):
    assert_refused_unchanged(team, "admin add @carol", user="UBOB", expect="Only an admin")
    say(team, "admin add @bob")
    assert team.store.person("T1", "UBOB").role == "admin"
    say(team, "assign Disk Encryption to @carol", user="UBOB")
    assert team.store.task("T1", 1).owner == "UCAROL"


def test_configured_admins_by_email(store):
    ctx = Context(store=store, clock=FixedClock(), admins=("boss@example.com",))
    store.upsert_person("T1", "UFIRST", name="first", platform="slack")
    store.upsert_person("T1", "UBOSS", name="boss", email="boss@example.com")
    store.upsert_person("T1", "UBOB", name="bob")
    reply = say(ctx, "assign Disk Encryption to @bob", user="UBOSS")
    assert reply.kind == "assign"


def test_first_person_of_a_workspace_is_admin(ctx):
    say(ctx, "tasks", user="UNEW", name="nina")
    say(ctx, "tasks", user="ULATER", name="leo")
    assert ctx.store.person("T1", "UNEW").role == "admin"
    assert ctx.store.person("T1", "ULATER").role == "member"


# ----- recurrence -----------------------------------------------------------------------------

def test_late_quarterly_task_schedules_next_from_previous_due_and_links_history(team):
    say(team, "assign Restore to @bob due 2026-03-31 every quarter")
    team.clock.current = datetime(2026, 4, 20, 9, 0, tzinfo=timezone.utc)  # finished 20 days late
    reply = say(team, "done 1", user="UBOB")
    following = team.store.task("T1", 2)
    assert following.due == date(2026, 6, 30)  # a quarter after the previous due date, not after April 20
    assert (following.owner, following.recurrence, following.previous_id) == ("UBOB", "quarter", 1)
    assert "task 2" in reply.text
    assert "next occurrence: task 2" in say(team, "history 1").text
    assert "previous occurrence: task 1" in say(team, "history 2").text
    say(team, "done 2", user="UBOB")
    assert team.store.task("T1", 3).due == date(2026, 9, 30)


def test_reopen_refused_while_next_occurrence_is_open(team):
    say(team, "assign Restore to @bob due 2026-03-31 every month")
    say(team, "done 1")
    assert_refused_unchanged(team, "reopen 1", expect="already has an open task: 2")


# ----- listing --------------------------------------------------------------------------------

def test_task_lists(assigned):
    say(assigned, "assign Penetration Test to @bob due 2026-02-20")  # refused: past
    assigned.clock.current = datetime(2026, 3, 14, 9, 0, tzinfo=timezone.utc)
    mine = say(assigned, "tasks", user="UBOB")
    assert "#1 Disk Encryption" in mine.text and "Vendor Review" not in mine.text
    overdue = say(assigned, "tasks overdue")
    assert "#2 Vendor Review" in overdue.text and "OVERDUE" in overdue.text and "#1" not in overdue.text
    soon = say(assigned, "tasks due soon")
    assert "#1 Disk Encryption" in soon.text and "#2" not in soon.text
    assert "#1" in say(assigned, "tasks all").text and "#2" in say(assigned, "tasks all").text
    assert "#2 Vendor Review" in say(assigned, "tasks @carol").text
    assert "ISO 27001 A.8.1" in say(assigned, "tasks iso").text
    assert "SOC 2 CC6.1" in say(assigned, "tasks soc2").text
    assert "no open tasks" in say(assigned, "tasks @ada").text
    say(assigned, "done 1")
    assert "#1 Disk Encryption" in say(assigned, "tasks done").text
    assert_refused_unchanged(assigned, "tasks @ghost", expect="don't know")
    assert_refused_unchanged(assigned, "tasks for the ISO audit", expect="I can list")


# ----- robustness -----------------------------------------------------------------------------

def test_help_documents_every_command(team):
    text = say(team, "help").text
    for word in ("assign", "tasks overdue", "done", "start", "reopen", "block", "reassign", "due", "snooze",
                 "evidence", "na ", "history", "status soc2", "gap iso", "admin add"):
        assert word in text


def test_too_long_message_is_refused_politely(team):
    before = team.store.dump()
    reply = say(team, "assign " + "x" * 40_000)
    assert reply.kind == "too_long" and reply.ephemeral
    assert team.store.dump() == before


def test_questions_are_not_commands():
    from handlers.router import parse

    for question in ("status of CC6.1?", "help me choose between SOC 2 and ISO", "due diligence for vendors",
                     "what is A.8.28", "gap analysis for startups", "history of ISO 27001",
                     "evidence auditors ask for", "start with SOC 2 or ISO?"):
        assert parse(question) is None, question
    for command in ("status", "status iso", "gap soc2", "done 3", "done disk encryption", "due 3 friday",
                    "due Disk Encryption next friday", "evidence 3 https://x.example.com", "my tasks", "help"):
        assert parse(command) is not None, command


def test_a_failure_inside_a_command_rolls_back(team, monkeypatch):
    import handlers.tasks as tasks

    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    say(team, "assign Restore to @bob due 2026-03-31 every month")
    monkeypatch.setattr(tasks, "next_due", broken)  # fails after the task was marked done
    before = team.store.dump()
    reply = say(team, "done 1")
    assert reply.kind == "error" and "disk on fire" not in reply.text and "Traceback" not in reply.text
    assert team.store.dump() == before


def test_assign_by_alias_and_abbreviation(team):
    say(team, "assign mfa to @bob")
    assert team.store.task("T1", 1).control == "Multi-Factor Authentication"
    reply = assert_refused_unchanged(team, "assign change management to @bob", expect="Which control")
    assert {"Change Management Policy", "Change Management Procedures"} <= {a.label for a in reply.actions}


def test_a_word_the_name_does_not_contain_is_no_match(team):
    # "ports" is inside "SOC 2 reports" letter for letter, but names no control
    assert_refused_unchanged(team, "assign ports to @bob", expect="don't know a control")
    say(team, "assign dsk encryptoin to @bob")
    assert team.store.task("T1", 1).control == "Disk Encryption"


def test_start_and_reopen_refuse_the_wrong_state(assigned):
    say(assigned, "done 1")
    assert_refused_unchanged(assigned, "start 1", expect="is done")
    assert_refused_unchanged(assigned, "block 1 no reason", expect="reopen it first")
    assert_refused_unchanged(assigned, "reopen 2", expect="already open")


def test_dates_are_read_in_the_senders_time_zone(team):
    team.store.upsert_person("T1", "UADMIN", tz="Asia/Tokyo")
    team.clock.current = datetime(2026, 3, 2, 23, 30, tzinfo=timezone.utc)  # already March 3 in Tokyo
    say(team, "assign Restore to @bob due tomorrow")
    assert team.store.task("T1", 1).due == date(2026, 3, 4)


def test_a_person_of_another_organisation_may_ask_questions_and_nothing_else(team):
    """Any adapter sets `Message.external`; the router refuses every command before the sender is
    registered, and answers questions and help as for anyone."""
    from handlers.router import commands, parse

    say(team, "assign Disk Encryption to @bob")
    before = team.store.dump()
    texts = ("assign Penetration Test to me", "tasks all", "done 1", "start 1", "reopen 1", "block 1 no",
             "reassign 1 to me", "due 1 tomorrow", "snooze 1 7", "evidence 1 https://x.example", "history 1",
             "na Penetration Test no need", "status", "gap iso", "admin add me", "digest now", "help 1", "nudges",
             "applicable Penetration Test", "unblock 1", 'control add "Guest rule" iso A.5.1', "scope",
             "justify A.5.1 we need it", "soa header", "export soa", "freshness 1 quarterly", "policy accept 1",
             "review 1")
    assert {parse(text)[0] for text in texts} == set(commands()) - {"help"}  # every command of the grammar
    for text in texts:
        reply = handle(Message("slack", "T1", "UGUEST", text, external=True), team)
        assert (reply.kind, reply.ephemeral) == ("external", True), text
    assert handle(Message("slack", "T1", "UGUEST", "what is CC6.1?", external=True), team).kind == "define"
    assert handle(Message("slack", "T1", "UGUEST", "help", external=True), team).kind == "help"
    assert team.store.dump() == before
