"""Policy acceptance from an empty database through the router and the real tick (a real SQLite file,
the clock moved with time-machine): publish, the DMs once each in the working morning, accept (twice),
question, nudges of the pending only, a late joiner, a new version, a yearly round, bad input, people of
another workspace, and the acceptances export with every answer in the audit log."""
from __future__ import annotations

import csv
import io

import pytest
import time_machine

from bot.cli import main
from bot.store import Store
from handlers.ports import Context
from handlers.router import handle, parse
from handlers.types import Message
from tests.clockwork import at, run_schedule
from tests.test_reminders import keys_by_user
from tests.test_tasks import FixedClock, assert_refused_unchanged, say

AUP = "Acceptable Use Policy"
PUBLISH = f'policy publish "{AUP}" https://docs.example.com/aup version 3 to everyone'
MONDAY = "2027-01-04T08:00"  # UTC, before anyone's working morning


@pytest.fixture
def store(tmp_path):
    opened = Store.open(tmp_path / "c.db")
    yield opened
    opened.close()


def workspace(store, *people, when=MONDAY):
    """T1 with ada (admin) and `people` (user id, name), everyone in UTC; a context whose clock is `when`."""
    for user, name in (("UADMIN", "ada"), *people):
        store.upsert_person("T1", user, name=name, platform="slack")
    return Context(store=store, clock=FixedClock(at(when)))


def act(ctx, when, text, user="UADMIN", workspace="T1"):
    """`text` said at `when` (the clock of the store's timestamps too)."""
    ctx.clock.current = at(when)
    known = ctx.store.person(workspace, user)
    with time_machine.travel(at(when), tick=False):
        return say(ctx, text, user=user, workspace=workspace, name=known.name if known else "")


def test_publish_ask_once_accept_question_and_nudge_only_the_pending(store):
    ctx = workspace(store, ("UBOB", "bob"), ("UCAROL", "carol"))
    reply = act(ctx, MONDAY, PUBLISH)
    assert reply.kind == "policy_publish" and "campaign 1" in reply.text
    sender = run_schedule(store, at(MONDAY), at("2027-01-05T12:00"))
    assert keys_by_user(sender) == {user: [f"campaign:T1:1:{user}:ask"] for user in ("UADMIN", "UBOB", "UCAROL")}
    dm = sender.sent[0][1].reply
    assert dm.kind == "policy_ask" and "https://docs.example.com/aup" in dm.text and "version 3" in dm.text
    assert all(9 <= moment.hour < 10 for moment, _ in sender.sent)  # their working morning, not at publishing
    buttons = [(a.label, a.value) for a in dm.sections[0].actions]
    assert buttons == [("Accept", "policy accept 1"), ("I have a question", "policy question 1")]
    assert all(parse(value)[0] == "policy" for _, value in buttons)

    assert "you accepted" in act(ctx, "2027-01-05T12:00", "policy accept 1", user="UBOB").text
    before = store.dump()
    again = act(ctx, "2027-01-06T12:00", "policy accept 1", user="UBOB")  # a second press: nothing changes
    assert "already accepted" in again.text and store.dump() == before
    assert "question" in act(ctx, "2027-01-05T12:00", "policy question 1", user="UCAROL").text
    status = act(ctx, "2027-01-05T12:00", f'policy status "{AUP}"')
    assert status.sections[0].lines == ("1 of 3 accepted", "1 pending", "1 with a question")
    assert [s.title for s in status.sections[1:3]] == ["Questions (1)", "Pending (1)"]
    assert status.sections[1].lines == ("carol",) and status.sections[2].lines == ("ada",)

    later = run_schedule(store, at("2027-01-05T12:00"), at("2027-01-22T12:00"))
    assert keys_by_user(later) == {"UADMIN": ["campaign:T1:1:UADMIN:before-7:2027-01-11",
                                              "campaign:T1:1:UADMIN:due:2027-01-18",
                                              "campaign:T1:1:UADMIN:overdue-3:2027-01-21"]}  # only the pending
    assert later.sent[0][1].reply.kind == "policy_nudge"


def test_a_late_joiner_is_asked_and_a_new_version_asks_everyone_again(store):
    ctx = workspace(store, ("UBOB", "bob"))
    act(ctx, MONDAY, PUBLISH)
    run_schedule(store, at(MONDAY), at("2027-01-04T12:00"))
    act(ctx, "2027-01-04T12:00", "policy accept 1", user="UBOB")
    act(ctx, "2027-01-05T12:00", "tasks", user="UDAN")  # first seen in the workspace
    sender = run_schedule(store, at("2027-01-05T12:00"), at("2027-01-06T12:00"))
    assert keys_by_user(sender) == {"UDAN": ["campaign:T1:1:UDAN:ask"]}
    assert store.campaign_answer("T1", 1, "UDAN")["due_on"] == "2027-01-19"  # 14 days from joining

    reply = act(ctx, "2027-01-07T12:00", f'policy publish "{AUP}" https://docs.example.com/aup-4 version 4 to everyone')
    assert "replaces version 3" in reply.text
    stale = act(ctx, "2027-01-07T12:00", "policy accept 1", user="UDAN")
    assert stale.outcome == "refused" and "version 4" in stale.text
    sender = run_schedule(store, at("2027-01-07T12:00"), at("2027-01-08T12:00"))
    assert sorted(keys_by_user(sender)) == ["UADMIN", "UBOB", "UDAN"]  # bob accepted version 3: asked again
    assert all(o.tags[0].startswith("campaign:T1:2:") for _, o in sender.sent)
    assert "https://docs.example.com/aup-4" in sender.sent[0][1].reply.text


def test_named_people_and_a_yearly_round(store):
    ctx = workspace(store, ("UBOB", "bob"), ("UCAROL", "carol"))
    act(ctx, MONDAY, f'policy publish "{AUP}" https://docs.example.com/aup version 3 to @bob due in 5 days')
    assert "asked again every year" in act(ctx, MONDAY, f'policy every year "{AUP}"').text
    sender = run_schedule(store, at(MONDAY), at("2027-01-11T12:00"))
    assert keys_by_user(sender) == {"UBOB": ["campaign:T1:1:UBOB:ask", "campaign:T1:1:UBOB:before-1:2027-01-08",
                                             "campaign:T1:1:UBOB:due:2027-01-09"]}  # Sat 9th: sent Mon 11th
    act(ctx, "2027-01-11T12:00", "policy accept 1", user="UBOB")
    sender = run_schedule(store, at("2028-01-04T08:00"), at("2028-01-04T12:00"))  # the anniversary
    assert keys_by_user(sender) == {"UBOB": ["campaign:T1:2:UBOB:ask"]}  # the same audience, a new round
    assert [c.id for c in store.open_campaigns("T1")] == [2]


def test_bad_input_is_refused_and_changes_nothing(store):
    ctx = workspace(store, ("UBOB", "bob"))
    act(ctx, MONDAY, PUBLISH)
    for text, expect in ((f'policy publish "{AUP}" javascript:alert(1) version 4 to everyone', "web"),
                         (f'policy publish "{AUP}" https://docs.example.com/aup version 3 to everyone',
                          "already published"),
                         (f'policy publish "{AUP}" https://docs.example.com/x version 4 to @nobody', "nobody"),
                         (f'policy publish "{AUP}" https://docs.example.com/x version 4 to everyone due yesterday',
                          "past"),
                         ('policy status "Travel Policy"', "no policy called"),
                         ("policy accept 99", "not asked"),
                         ("policy accept now", "buttons")):
        assert_refused_unchanged(ctx, text, expect=expect)
    assert_refused_unchanged(ctx, PUBLISH.replace("version 3", "version 9"), user="UBOB", expect="admin")
    before = store.dump()  # the console has no channels to read members from
    console = handle(Message("console", "T1", "UADMIN", PUBLISH.replace("version 3 to everyone", "version 9 to #sec")),
                     ctx)
    assert console.outcome == "refused" and "channel" in console.text and store.dump() == before
    # a person of another workspace, and a person this campaign never asked
    assert_refused_unchanged(ctx, "policy accept 1", user="UBOB", workspace="T2", expect="not asked")
    store.upsert_person("T2", "UEVE", name="eve", platform="slack")
    assert_refused_unchanged(ctx, "policy accept 1", user="UEVE", workspace="T2", expect="not asked")


def test_the_acceptances_export_and_the_audit_log(store, tmp_path):
    ctx = workspace(store, ("UBOB", "bob"), ("UCAROL", "carol"))
    act(ctx, MONDAY, PUBLISH)
    run_schedule(store, at(MONDAY), at("2027-01-04T12:00"))
    act(ctx, "2027-01-04T12:30", "policy accept 1", user="UBOB")
    act(ctx, "2027-01-04T12:40", "policy question 1", user="UCAROL")
    path = store.path
    out = tmp_path / "acceptances.csv"
    assert main(["export", "acceptances", "--policy", AUP, "--workspace", "T1", "--db", path, "--out", str(out)]) == 0
    lines = out.read_text().splitlines()
    table = list(csv.DictReader(io.StringIO("\n".join(lines[lines.index("") + 1:]))))
    by_person = {row["Person"]: row for row in table}
    bob = by_person["bob"]
    assert (bob["Version"], bob["Asked at (UTC)"][:13], bob["Asking message"], bob["Delivery"]) == (
        "3", "2027-01-04T09", "campaign:T1:1:UBOB:ask", "sent")
    assert (bob["Answer"], bob["Answered at (UTC)"], bob["Answered via"]) == ("accepted", "2027-01-04T12:30:00+00:00",
                                                                             "slack direct")
    assert by_person["carol"]["Answer"] == "question" and by_person["ada"]["Answer"] == "pending"
    xlsx = tmp_path / "acceptances.xlsx"
    assert main(["export", "acceptances", "--policy", AUP, "--workspace", "T1", "--db", path, "--out", str(xlsx)]) == 0
    assert main(["export", "acceptances", "--workspace", "T1", "--db", path]) == 2  # which policy?
    answers = [(e.actor, e.action) for e in store.events("T1") if e.action.startswith("policy ")]
    assert answers == [("UADMIN", "policy publish"), ("UBOB", "policy accepted"), ("UCAROL", "policy question")]


def test_a_reminder_can_be_snoozed_by_its_button(store):
    ctx = workspace(store, ("UBOB", "bob"))
    act(ctx, MONDAY, PUBLISH)
    act(ctx, MONDAY, "policy accept 1")  # ada accepts at once: only bob is reminded
    first = run_schedule(store, at(MONDAY), at("2027-01-11T12:00"))
    assert keys_by_user(first) == {"UBOB": ["campaign:T1:1:UBOB:ask", "campaign:T1:1:UBOB:before-7:2027-01-11"]}
    reminder = first.sent[-1][1].reply
    snooze = next(a for a in reminder.sections[0].actions if a.label == "Remind me next week")
    assert snooze.value == "policy snooze 1 7" and parse(snooze.value)[0] == "policy"
    assert "until 2027-01-20" in act(ctx, "2027-01-11T12:00", "policy snooze 1 9", user="UBOB").text
    later = run_schedule(store, at("2027-01-11T12:00"), at("2027-01-22T12:00"))
    assert keys_by_user(later) == {"UBOB": ["campaign:T1:1:UBOB:due:2027-01-18",
                                            "campaign:T1:1:UBOB:overdue-3:2027-01-21"]}
    assert later.sent[0][0].date().isoformat() == "2027-01-20"  # the 18th's rung waited for the snooze to end
    assert_refused_unchanged(ctx, "policy snooze 1 7", user="UCAROL", expect="nothing to snooze")
