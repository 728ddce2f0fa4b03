"""Who gets a nudge, when: the ladder, local working mornings in several time zones, a DST week,
snooze/done/blocked silence, one message per person, escalation.

The clock is moved with time-machine through a schedule; every tick runs the real code path (SQLite
file, reminders, delivery) and what reaches a recording Sender (a fake of the chat platform) is
asserted exactly. End-to-end through the real Slack adapter is in tests/test_delivery.py.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from bot.store import Store
from handlers import reminders
from handlers.reminders import Ladder, OpenTask, Person, owner_rung
from handlers.types import mention
from tests.clockwork import RecordingSender, at, run_schedule

WS = "T1"


@pytest.fixture
def store(tmp_path):
    s = Store.open(tmp_path / "bot.db")
    yield s
    s.close()


def people(store, *specs):
    """specs: (user id, tz); the first becomes the workspace admin."""
    for user, tz in specs:
        store.upsert_person(WS, user, name=user, tz=tz, platform="slack")


def keys_by_user(sender: RecordingSender) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for _, outgoing in sender.sent:
        found.setdefault(outgoing.user, []).extend(outgoing.tags)
    return found


def local_times(sender: RecordingSender, user: str, tz: str) -> list[datetime]:
    return [moment.astimezone(ZoneInfo(tz)) for moment, outgoing in sender.sent if outgoing.user == user]


# -- pure rules ------------------------------------------------------------------------------------


def test_the_ladder_rung_by_day():
    ladder, due = Ladder(), date(2027, 1, 20)
    kinds = {offset: getattr(owner_rung(due, due + timedelta(days=offset), ladder), "kind", None)
             for offset in range(-9, 11)}
    assert kinds[-9] is None and kinds[-8] is None
    assert [kinds[d] for d in range(-7, -1)] == ["before-7"] * 6
    assert kinds[-1] == "before-1" and kinds[0] == "due" and kinds[2] == "due"
    assert [kinds[d] for d in (3, 5, 6, 8, 9, 10)] == ["overdue-3", "overdue-3", "overdue-6", "overdue-6", "overdue-9", "overdue-9"]


def test_ladder_from_workspace_settings_and_bad_settings_keep_defaults():
    ladder = Ladder.from_settings({"nudges": {"before": [14, 2], "overdue_every": 2, "escalate_after": 4,
                                              "window": "08:30-09:15", "workdays": "sun-thu"}})
    assert ladder.before == (14, 2) and ladder.overdue_every == 2 and ladder.escalate_after == 4
    assert (ladder.window_start, ladder.window_end) == (time(8, 30), time(9, 15))
    assert ladder.workdays == (0, 1, 2, 3, 6)
    assert Ladder.from_settings({"nudges": {"window": "10:00-09:00"}}) == Ladder()
    assert Ladder.from_settings({"nudges": {"before": "x"}}) == Ladder()
    assert Ladder.from_settings(None) == Ladder()


def test_working_morning_is_local_and_on_weekdays():
    ladder = Ladder()
    monday_0905_berlin = at("2027-01-18T09:05", "Europe/Berlin")
    assert reminders.in_working_morning(monday_0905_berlin, "Europe/Berlin", ladder)
    assert not reminders.in_working_morning(monday_0905_berlin, "America/New_York", ladder)  # 03:05 there
    assert not reminders.in_working_morning(at("2027-01-16T09:05", "Europe/Berlin"), "Europe/Berlin", ladder)  # Sat
    assert not reminders.in_working_morning(at("2027-01-18T10:00", "Europe/Berlin"), "Europe/Berlin", ladder)
    assert reminders.in_working_morning(at("2027-01-18T09:00", "Europe/Berlin"), "Not/AZone", ladder) is False


def test_quiet_statuses_and_snooze_get_nothing():
    owner = Person("U1", "UTC")
    now = at("2027-01-20T09:10")
    base = dict(workspace=WS, control="Backup Schedule", due=date(2027, 1, 20), owner=owner)
    quiet = [OpenTask(i, status=s, **base) for i, s in enumerate(("done", "blocked", "na"), 1)]
    snoozed = OpenTask(4, snoozed_until=date(2027, 1, 21), **base)
    awake = OpenTask(5, snoozed_until=date(2027, 1, 20), **base)
    nudges = reminders.due_nudges([*quiet, snoozed, awake], now, lambda ws: Ladder())
    assert [(n.task.id, n.rung.kind) for n in nudges] == [(5, "due")]


def test_nudge_message_has_control_both_frameworks_due_date_and_buttons():
    owner = Person("U1", "UTC")
    tasks = [OpenTask(7, WS, "Backup Schedule", date(2027, 1, 21), owner), OpenTask(8, WS, "Penetration Test", date(2027, 1, 18), owner)]
    nudges = reminders.due_nudges(tasks, at("2027-01-20T09:10"), lambda ws: Ladder())
    reply = reminders.compose_nudge(nudges)
    assert reply.kind == "nudge"
    assert [s.title for s in reply.sections] == ["#8 Penetration Test", "#7 Backup Schedule"]  # most urgent first
    backup = reply.sections[1]
    assert backup.lines[0] == "Due tomorrow (Thu 21 Jan)"
    assert "SOC 2: CC7.5, A1.2, PI1.5" in backup.lines[1] and "ISO 27001: A.8.13" in backup.lines[1]
    assert [(a.label, a.value) for a in backup.actions] == [("Done", "done 7"), ("Snooze 1 week", "snooze 7 7"), ("Need help", "help 7")]
    assert "2 days overdue" in reply.text and "#7 Backup Schedule: due tomorrow" in reply.text


# -- through the tick, moving the clock ------------------------------------------------------------


@pytest.fixture(params=["file", "memory"])
def file_or_memory_store(request, tmp_path):
    """A file store's candidates are read on a second connection in a worker thread; an in-memory
    store cannot be opened twice and is read on its own connection: both must nudge alike."""
    s = Store.open(tmp_path / "bot.db" if request.param == "file" else ":memory:")
    yield s
    s.close()


def test_the_whole_ladder_and_escalation_over_three_weeks(file_or_memory_store):
    store = file_or_memory_store
    people(store, ("boss", "America/New_York"), ("alice", "Europe/Berlin"))
    with time_machine.travel(at("2027-01-04T12:00"), tick=False):
        task = store.create_task(WS, "Backup Schedule", "alice", "boss", due=date(2027, 1, 20))
    sender = run_schedule(store, at("2027-01-04T00:00"), at("2027-01-31T23:30"))
    p = f"nudge:{WS}:{task.id}"
    assert keys_by_user(sender) == {
        "alice": [f"{p}:before-7:2027-01-13", f"{p}:before-1:2027-01-19", f"{p}:due:2027-01-20",
                  f"{p}:overdue-3:2027-01-23",  # a Saturday: delivered on Monday morning, once
                  f"{p}:overdue-6:2027-01-26", f"{p}:overdue-9:2027-01-29"],
        "boss": [f"{p}:escalate:2027-01-27:boss"],
    }
    alice = local_times(sender, "alice", "Europe/Berlin")
    assert [t.date() for t in alice] == [date(2027, 1, d) for d in (13, 19, 20, 25, 26, 29)]
    assert all(time(9) <= t.time() < time(10) for t in alice)
    boss = local_times(sender, "boss", "America/New_York")
    assert [t.date() for t in boss] == [date(2027, 1, 27)] and time(9) <= boss[0].time() < time(10)
    escalation = [o for _, o in sender.sent if o.user == "boss"][0].reply
    assert mention("alice") in escalation.text and "overdue" in escalation.text  # the owner, mentioned


def test_two_time_zones_each_get_their_own_morning(store):
    people(store, ("boss", "UTC"), ("alice", "Europe/Berlin"), ("bob", "America/Los_Angeles"))
    with time_machine.travel(at("2027-02-01T12:00"), tick=False):
        store.create_task(WS, "Backup Schedule", "alice", "boss", due=date(2027, 2, 10))
        store.create_task(WS, "Penetration Test", "bob", "boss", due=date(2027, 2, 10))
    sender = run_schedule(store, at("2027-02-09T00:00"), at("2027-02-10T23:50"), step=timedelta(minutes=10))
    utc_hours = {(o.user, m.date().isoformat(), m.hour) for m, o in sender.sent}
    assert utc_hours == {("alice", "2027-02-09", 8), ("alice", "2027-02-10", 8),  # 09:xx CET
                         ("bob", "2027-02-09", 17), ("bob", "2027-02-10", 17)}  # 09:xx PST
    assert len(sender.sent) == 4  # the window holds six ticks a day: still one nudge per rung


def test_a_week_with_a_dst_change_keeps_the_local_morning(store):
    # Europe/Berlin moves its clocks forward on Sunday 2027-03-28.
    people(store, ("boss", "UTC"), ("alice", "Europe/Berlin"))
    with time_machine.travel(at("2027-03-01T12:00"), tick=False):
        before = store.create_task(WS, "Backup Schedule", "alice", "boss", due=date(2027, 3, 25))
        after = store.create_task(WS, "Penetration Test", "alice", "boss", due=date(2027, 3, 30))
    sender = run_schedule(store, at("2027-03-24T00:00"), at("2027-03-30T23:30"), step=timedelta(minutes=15))
    sent = [(m, o.tags) for m, o in sender.sent]
    assert [(m.isoformat(), tags) for m, tags in sent] == [
        ("2027-03-24T08:00:00+00:00", (f"nudge:{WS}:{before.id}:before-1:2027-03-24",  # one message, two tasks
                                       f"nudge:{WS}:{after.id}:before-7:2027-03-23")),
        ("2027-03-25T08:00:00+00:00", (f"nudge:{WS}:{before.id}:due:2027-03-25",)),
        ("2027-03-29T07:00:00+00:00", (f"nudge:{WS}:{before.id}:overdue-3:2027-03-28",  # Sunday's, on Monday
                                       f"nudge:{WS}:{after.id}:before-1:2027-03-29")),  # CEST now
        ("2027-03-30T07:00:00+00:00", (f"nudge:{WS}:{after.id}:due:2027-03-30",)),
    ]
    assert all(m.astimezone(ZoneInfo("Europe/Berlin")).hour == 9 for m, _ in sent)


def test_snooze_and_done_suppress_nudges(store):
    people(store, ("boss", "UTC"), ("alice", "UTC"))
    with time_machine.travel(at("2027-01-04T12:00"), tick=False):
        snoozed = store.create_task(WS, "Backup Schedule", "alice", "boss", due=date(2027, 1, 12))
        finished = store.create_task(WS, "Penetration Test", "alice", "boss", due=date(2027, 1, 12))
        blocked = store.create_task(WS, "Vendor Review", "alice", "boss", due=date(2027, 1, 12))
        store.update_task(WS, snoozed.id, "alice", "snooze", snoozed_until=date(2027, 1, 14))
        store.update_task(WS, finished.id, "alice", "done", status="done")
        store.update_task(WS, blocked.id, "alice", "block", status="blocked", blocked_reason="waiting on IT")
    sender = run_schedule(store, at("2027-01-05T08:00"), at("2027-01-14T23:00"), step=timedelta(hours=1))
    assert keys_by_user(sender) == {"alice": [f"nudge:{WS}:{snoozed.id}:due:2027-01-12"]}
    assert sender.sent[0][0].date() == date(2027, 1, 14)  # the morning the snooze ends, late and once


def test_several_tasks_due_for_one_person_make_one_message(store):
    people(store, ("boss", "UTC"), ("alice", "UTC"), ("bob", "UTC"))
    with time_machine.travel(at("2027-01-04T12:00"), tick=False):
        for control in ("Backup Schedule", "Penetration Test", "Vendor Review"):
            store.create_task(WS, control, "alice", "boss", due=date(2027, 1, 12))
        store.create_task(WS, "Encryption at Rest", "bob", "boss", due=date(2027, 1, 12))
    sender = run_schedule(store, at("2027-01-12T09:00"), at("2027-01-12T09:59"), step=timedelta(minutes=20))
    assert sorted((o.user, len(o.tags), len(o.reply.sections)) for _, o in sender.sent) == [("alice", 3, 3), ("bob", 1, 1)]


def test_escalation_goes_to_admins_when_owners_assigned_themselves(store):
    people(store, ("admin1", "UTC"), ("alice", "UTC"))
    store.set_role(WS, "alice", "member", "admin1")
    store.upsert_person(WS, "admin2", name="admin2", tz="Asia/Tokyo")
    store.set_role(WS, "admin2", "admin", "admin1")
    with time_machine.travel(at("2027-01-04T12:00"), tick=False):
        task = store.create_task(WS, "Backup Schedule", "alice", "alice", due=date(2027, 1, 5))
    sender = run_schedule(store, at("2027-01-12T00:00"), at("2027-01-13T00:00"), step=timedelta(minutes=30))
    escalations = sorted((o.user, o.tags) for _, o in sender.sent if o.user != "alice")
    key = f"nudge:{WS}:{task.id}:escalate:2027-01-12"
    assert escalations == [("admin1", (f"{key}:admin1",)), ("admin2", (f"{key}:admin2",))]


def test_a_workspace_ladder_setting_changes_the_rungs(store):
    people(store, ("boss", "UTC"), ("alice", "UTC"))
    store.update_workspace_settings(WS, nudges={"before": [2], "overdue_every": 0, "escalate_after": 0})
    with time_machine.travel(at("2027-01-04T12:00"), tick=False):
        task = store.create_task(WS, "Backup Schedule", "alice", "boss", due=date(2027, 1, 13))
    sender = run_schedule(store, at("2027-01-05T08:00"), at("2027-01-22T10:00"), step=timedelta(hours=1))
    assert keys_by_user(sender) == {"alice": [f"nudge:{WS}:{task.id}:before-2:2027-01-11", f"nudge:{WS}:{task.id}:due:2027-01-13"]}


def test_a_task_assigned_late_skips_rungs_it_never_had(store):
    people(store, ("boss", "UTC"), ("alice", "UTC"))
    with time_machine.travel(at("2027-01-11T12:00"), tick=False):  # due in 3 days: the 7-day rung is gone
        task = store.create_task(WS, "Backup Schedule", "alice", "boss", due=date(2027, 1, 14))
    sender = run_schedule(store, at("2027-01-11T12:00"), at("2027-01-13T12:00"), step=timedelta(hours=1))
    assert keys_by_user(sender) == {"alice": [f"nudge:{WS}:{task.id}:before-1:2027-01-13"]}


@pytest.mark.parametrize("ladder", [Ladder(), Ladder(before=(14, 3, 1), overdue_every=5), Ladder(before=(), overdue_every=0)])
def test_the_sql_prefilter_names_the_same_rung_as_the_rules(store, ladder):
    """bot.scheduler skips tasks whose current rung is claimed with SQL that mirrors owner_rung."""
    from bot.scheduler import owner_rung_key_sql

    due = date(2027, 1, 20)
    sql = f"SELECT {owner_rung_key_sql(ladder)} FROM (SELECT 'T1' AS workspace, 12 AS id, :due AS due) AS t"
    for offset in range(-20, 40):
        today = due + timedelta(days=offset)
        in_sql = store.db.execute(sql, {"due": due.isoformat(), "today": today.isoformat()}).fetchone()[0]
        rung = owner_rung(due, today, ladder)
        expected = None if rung is None else f"nudge:T1:12:{rung.kind}:{rung.on.isoformat()}"
        assert in_sql == expected, (ladder, offset)


def test_the_need_help_button_explains_the_control_and_names_who_can_help(store):
    from handlers import router
    from handlers.ports import Context
    from handlers.types import Message

    people(store, ("boss", "UTC"), ("alice", "UTC"), ("mallory", "UTC"))
    task = store.create_task(WS, "Backup Schedule", "alice", "boss", due=date(2030, 1, 14))
    [button] = [a for a in reminders.task_actions(task.id) if a.label == "Need help"]
    ctx = Context(store=store)
    reply = router.handle(Message("slack", WS, "alice", button.value, user_name="alice"), ctx)
    assert reply.kind == "need_help"
    assert "SOC 2 CC7.5:" in reply.text and "ISO 27001 A.8.13:" in reply.text and "@boss" in reply.text
    assert [e.action for e in store.events(WS, task.id)] == ["assign", "help"]
    before = store.dump()
    refused = router.handle(Message("slack", WS, "mallory", button.value, user_name="mallory"), ctx)
    assert refused.kind == "forbidden" and store.dump() == before
    assert router.handle(Message("slack", WS, "alice", "help 999", user_name="alice"), ctx).kind == "unknown_task"


def test_a_long_list_shows_the_most_urgent_and_counts_the_rest():
    owner, boss = Person("U1", "UTC"), Person("U0", "UTC")
    tasks = [OpenTask(i, WS, "Backup Schedule", date(2027, 1, 1) + timedelta(days=i), owner, assigner=boss)
             for i in range(1, 15)]
    nudges = reminders.due_nudges(tasks, at("2027-01-25T09:10"), lambda ws: Ladder())
    mine = reminders.compose_nudge([n for n in nudges if n.recipient == owner])
    assert [s.title for s in mine.sections][:2] == ["#1 Backup Schedule", "#2 Backup Schedule"]
    assert len(mine.sections) == 11 and mine.sections[-1].lines == ("…and 4 more; `tasks` lists them all.",)
    assert mine.text.endswith("…and 4 more; `tasks` lists them all.")
    both = reminders.compose_nudge([n for n in nudges if not n.escalation][:3] + [n for n in nudges if n.escalation][:2])
    assert [s.title for s in both.sections] == [
        "#1 Backup Schedule", "#2 Backup Schedule", "#3 Backup Schedule",
        "2 tasks you assigned are overdue by a week or more:", "#1 Backup Schedule", "#2 Backup Schedule"]
    assert both.sections[-1].lines[0] == f"Owner: {mention('U1')}" and not both.sections[-1].actions


def test_the_nudges_command_shows_and_changes_the_workspace_ladder(store):
    from handlers import router
    from handlers.ports import Context
    from handlers.types import Message

    people(store, ("boss", "UTC"), ("alice", "UTC"))
    ctx = Context(store=store)

    def say(text, user="boss"):
        return router.handle(Message("slack", WS, user, text, user_name=user), ctx)

    shown = say("nudges", user="alice")
    assert shown.kind == "nudges" and "7 and 1 days before" in shown.text and "09:00–10:00 on Mon, Tue" in shown.text
    changed = say("nudges before 14,2 every 2 escalate 5 window 08:30-09:30 days sun-thu")
    assert changed.kind == "nudges" and "14 and 2 days before" in changed.text and "every 2 days" in changed.text
    ladder = Ladder.from_settings(store.workspace(WS)["settings"])
    assert (ladder.before, ladder.overdue_every, ladder.escalate_after) == ((14, 2), 2, 5)
    assert (ladder.window_start, ladder.window_end, ladder.workdays) == (time(8, 30), time(9, 30), (0, 1, 2, 3, 6))
    before = store.dump()
    for bad in ("nudges before 0", "nudges every x", "nudges window 10:00-09:00", "nudges days funday",
                "nudges loudness 11", "nudges before"):
        assert say(bad).kind == "usage", bad
    assert say("nudges every 1", user="alice").kind == "forbidden"
    assert store.dump() == before
    assert say("nudges default").kind == "nudges"
    assert Ladder.from_settings(store.workspace(WS)["settings"]) == Ladder()
