"""The weekly digest: its content, the `digest` commands, and delivery on schedule (clock moved with
time-machine through weeks, a DST change and a downtime; a recording Sender stands in for the platform)."""
from __future__ import annotations

import subprocess
import sys
from datetime import date, datetime, timedelta, timezone

import pytest
import time_machine

from bot.store import Store
from handlers import digest, router
from handlers.ports import Context
from handlers.types import Message
from tests.clockwork import at, run_schedule

UTC = timezone.utc
WS = "T1"


@pytest.fixture
def store(tmp_path):
    s = Store.open(tmp_path / "bot.db")
    s.upsert_person(WS, "boss", name="boss", tz="Europe/Berlin", platform="slack")
    s.upsert_person(WS, "alice", name="alice", tz="Europe/Berlin")
    s.upsert_person(WS, "bob", name="bob", tz="America/New_York")
    yield s
    s.close()


def say(store, text: str, user: str = "boss", channel: str = "C1"):
    ctx = Context(store=store)
    return router.handle(Message("slack", WS, user, text, channel=channel, user_name=user), ctx)


def section(reply, prefix: str):
    return next(s for s in reply.sections if s.title.startswith(prefix))


def test_digest_content(store):
    with time_machine.travel(at("2027-01-04T10:00"), tick=False):
        store.create_task(WS, "Backup Schedule", "alice", "boss", due=date(2027, 1, 8))  # newly overdue
        store.create_task(WS, "Penetration Test", "alice", "boss", due=date(2026, 12, 1))  # long overdue
        store.create_task(WS, "Vendor Review", "bob", "boss", due=date(2027, 1, 14))  # due this week
        store.create_task(WS, "Disk Encryption", "bob", "boss", due=date(2027, 2, 20))  # later
        finished = store.create_task(WS, "Encryption at Rest", "bob", "boss", due=date(2027, 1, 20))
    with time_machine.travel(at("2027-01-10T12:00"), tick=False):
        assert say(store, f"done {finished.id}", user="bob").kind != "error"
        store.set_na(WS, "PI1.1", "we process no customer data on their behalf", "boss")
    with time_machine.travel(at("2027-01-11T08:00"), tick=False):
        reply = digest.compose(store, WS, datetime.now(UTC), "Europe/Berlin")
    assert reply.kind == "digest"
    soc2, iso = reply.sections[0], reply.sections[1]
    assert soc2.title == "SOC 2" and iso.title.startswith("ISO 27001")
    assert soc2.progress == pytest.approx(1 / 61) and soc2.lines == ("1 of 61 covered",)
    assert "░ 2%\n1 of 61 covered" in reply.text  # the text alone is complete: bar and counts
    assert section(reply, "Done this week").lines == ("#5 Encryption at Rest — @bob",)
    assert section(reply, "Newly overdue").lines == ("#1 Backup Schedule — @alice, due Fri 08 Jan",)
    assert section(reply, "Overdue by owner").lines == ("@alice: 2",)
    assert section(reply, "Due in the next 7 days").lines == ("#3 Vendor Review — @bob, Thu 14 Jan",)
    gaps = section(reply, "Top gaps").lines
    assert len(gaps) == 5 and all("open reference" in line for line in gaps)
    assert "Encryption at Rest" not in "\n".join(gaps)  # finished controls are no gap
    assert "Weekly compliance digest — week of 11 Jan 2027" in reply.text and "@alice: 2" in reply.text


def test_digest_of_an_empty_workspace_says_so(store):
    reply = digest.compose(store, WS, at("2027-01-11T08:00"))
    assert section(reply, "Overdue by owner").lines == ("Nothing overdue.",)
    assert section(reply, "SOC 2").progress == 0.0



def test_top_gaps_count_the_references_the_review_adds(store):
    # The article's table maps Risk Assessment Methodology to 7 references; the review adds Clause 6.1.2
    gaps = section(digest.compose(store, WS, at("2027-01-11T08:00")), "Top gaps").lines
    assert ("Risk Assessment Methodology (unassigned) — 8 open references: CC3.1, CC3.2, CC3.3, CC3.4, CC5.1, "
            "CC9.2, A.5.12, Clause 6.1.2") in gaps

def test_long_lists_are_cut_and_counted(store):
    with time_machine.travel(at("2027-01-04T10:00"), tick=False):
        for control in [c.name for c in __import__("knowledge.catalog", fromlist=["catalog"]).catalog().controls][:15]:
            store.create_task(WS, control, "alice", "boss", due=date(2027, 1, 12))
    reply = digest.compose(store, WS, at("2027-01-11T08:00"))
    lines = section(reply, "Due in the next 7 days").lines
    assert len(lines) == 11 and lines[-1] == "…and 5 more"


def test_subscribe_off_and_now_commands(store):
    reply = say(store, "digest here weekly mon 09:00 Europe/Berlin")
    assert reply.kind == "digest_on" and "Mon at 09:00 (Europe/Berlin)" in reply.text
    [row] = store.digests(WS)
    assert (row["platform"], row["channel"], row["weekdays"], row["time"], row["tz"]) == ("slack", "C1", "mon", "09:00", "Europe/Berlin")
    assert say(store, "digest here mon,thursday 8:30").kind == "digest_on"  # default zone: the admin's
    assert [(r["weekdays"], r["time"], r["tz"]) for r in store.digests(WS)] == [("mon,thu", "08:30", "Europe/Berlin")]
    assert say(store, "digest now", user="alice").kind == "digest"
    assert say(store, "digest off").kind == "digest_off" and store.digests(WS) == []
    assert "no digest" in say(store, "digest off").text


@pytest.mark.parametrize("text, kind", [
    ("digest here weekly funday 09:00", "bad_day"),
    ("digest here weekly mon 25:00", "bad_time"),
    ("digest here weekly mon 09:00 Mars/Olympus", "bad_tz"),
    ("digest here sometimes", "usage"),
])
def test_bad_digest_commands_change_nothing(store, text, kind):
    before = store.dump()
    reply = say(store, text)
    assert reply.kind == kind and reply.ephemeral
    assert store.dump() == before


def test_members_cannot_subscribe_or_unsubscribe(store):
    say(store, "digest here weekly mon 09:00")
    before = store.dump()
    assert say(store, "digest here weekly fri 09:00", user="alice").kind == "forbidden"
    assert say(store, "digest off", user="alice").kind == "forbidden"
    assert store.dump() == before


def digests_sent(store, start, end, step=timedelta(minutes=30)):
    return [(m, o) for m, o in run_schedule(store, start, end, step).sent if o.reply.kind == "digest"]


def test_digest_arrives_weekly_on_time_across_a_dst_change(store):
    with time_machine.travel(at("2027-03-10T10:00"), tick=False):
        say(store, "digest here weekly mon 09:00 Europe/Berlin")
    sent = digests_sent(store, at("2027-03-14T00:00"), at("2027-04-06T00:00"), step=timedelta(minutes=30))
    assert [m.isoformat() for m, _ in sent] == [
        "2027-03-15T08:00:00+00:00", "2027-03-22T08:00:00+00:00",
        "2027-03-29T07:00:00+00:00",  # Berlin changed to summer time on the 28th: still 09:00 there
        "2027-04-05T07:00:00+00:00",
    ]
    assert all(o.channel == "C1" and o.platform == "slack" and o.user == "" for _, o in sent)
    assert [o.key for _, o in sent][0] == f"digest:{WS}:1:2027-03-15"


def test_a_digest_missed_during_downtime_goes_out_once_late(store):
    with time_machine.travel(at("2027-03-10T10:00"), tick=False):
        say(store, "digest here weekly mon 09:00 UTC")
    # down all Monday; back on Tuesday afternoon
    sent = digests_sent(store, at("2027-03-16T15:00"), at("2027-03-18T00:00"), step=timedelta(minutes=30))
    assert [(m.isoformat(), o.key) for m, o in sent] == [("2027-03-16T15:00:00+00:00", f"digest:{WS}:1:2027-03-15")]


def test_preview_command_prints_the_local_digest(tmp_path):
    db = tmp_path / "local.db"
    s = Store.open(db)
    s.upsert_person("local", "me", name="me", platform="console")
    s.create_task("local", "Backup Schedule", "me", "me", due=date.today() - timedelta(days=2))
    s.close()
    env = {"COMPLYBOT_DB": str(db), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-m", "bot.cli", "digest", "--preview"], capture_output=True, text=True,
                         env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "Weekly compliance digest" in out.stdout and "#1 Backup Schedule — @me" in out.stdout
    other = subprocess.run([sys.executable, "-m", "bot.cli", "digest", "--preview", "--workspace", "T404"],
                           capture_output=True, text=True, env=env, timeout=60)
    assert other.returncode == 1 and "no workspace T404" in other.stderr


def test_preview_on_a_fresh_database_prints_an_empty_digest_that_says_how_to_start(tmp_path):
    env = {"COMPLYBOT_DB": str(tmp_path / "fresh.db"), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-m", "bot.cli", "digest", "--preview"], capture_output=True, text=True,
                         env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "Weekly compliance digest" in out.stdout and "0 of 93 covered" in out.stdout
    assert "Getting started" in out.stdout and "assign user access review to @alice" in out.stdout


def test_git_ignores_the_databases_a_restore_keeps():
    from pathlib import Path

    ignored = (Path(__file__).parent.parent / ".gitignore").read_text().split()
    assert "*.db.before-restore-*" in ignored
