"""Evidence with an age: `evidence <task> <url> [note] [expires <date> | valid N days]`, `freshness`,
`evidence <task> renew`; stale evidence counted in status/digest, listed in gap, dated in the SoA and the
tasks export, and nudged on the ladder once per rung in the owner's morning (the real tick, a real
SQLite file, the clock moved with time-machine)."""
from __future__ import annotations

import csv
import io
from datetime import date, datetime, time, timedelta, timezone

import pytest
import time_machine

from bot.cli import main
from bot.store import Store
from handlers import digest
from handlers.ports import Context
from handlers.router import parse
from tests.clockwork import at, run_schedule
from tests.test_reminders import keys_by_user, local_times
from tests.test_tasks import FixedClock, assert_refused_unchanged, say

UTC = timezone.utc


@pytest.fixture
def team(tmp_path):
    """Workspace T1 on 2026-03-02: ada (admin), bob and carol (members); task 1 Disk Encryption for bob."""
    store = Store.open(tmp_path / "c.db")
    ctx = Context(store=store, clock=FixedClock())
    for user, name in (("UADMIN", "ada"), ("UBOB", "bob"), ("UCAROL", "carol")):
        store.upsert_person("T1", user, name=name, platform="slack")
    say(ctx, "assign Disk Encryption to @bob due 2026-04-01")
    yield ctx
    store.close()


def items(ctx, task=1):
    return ctx.store.task("T1", task).evidence


def test_a_link_carries_its_expiry_date_or_its_validity(team):
    reply = say(team, "evidence 1 <https://drive.example.com/fv|FileVault> FileVault report valid 90 days", user="UBOB")
    assert "valid until 2026-05-31" in reply.text and reply.outcome == "ok"
    say(team, "evidence 1 https://drive.example.com/mdm expires 2026-06-15", user="UBOB")
    say(team, "evidence 1 https://drive.example.com/policy the policy, reviewed", user="UBOB")
    first, second, third = items(team)
    assert (first["url"], first["note"], first["expires"]) == ("https://drive.example.com/fv", "FileVault report",
                                                               "2026-05-31")
    assert (second["note"], second["expires"]) == ("", "2026-06-15")
    assert third["note"] == "the policy, reviewed" and "expires" not in third  # no age: never stale
    assert parse("evidence 1 https://x.example.com note") == ("evidence", "1 https://x.example.com note")
    say(team, "evidence 1 https://drive.example.com/key the signing key expires when we rotate it", user="UBOB")
    assert items(team)[-1]["note"] == "the signing key expires when we rotate it" and "expires" not in items(team)[-1]


def test_bad_evidence_input_is_refused_and_changes_nothing(team):
    for text, expect in (("evidence 1 https://drive.example.com/x expires 2026-01-01", "past"),
                         ("evidence 1 https://drive.example.com/x expires someday", "date"),
                         ("evidence 1 https://drive.example.com/x valid 0 days", "valid for 1 day"),
                         ("evidence 1 https://drive.example.com/x valid 9000 days", "valid for 1 day"),
                         ("evidence 1 javascript:alert(1) valid 90 days", "web link"),
                         ("evidence 1 ftp://files.example.com/x", "web link"),
                         ("evidence 9 https://drive.example.com/x", "no task 9"),
                         ("evidence 1 renew", "no evidence"),
                         ("freshness Disk Encryption fortnightly", "period"),
                         ("freshness Frobnication Widget quarterly", "don't know a control")):
        assert_refused_unchanged(team, text, expect=expect)
    assert_refused_unchanged(team, "evidence 1 https://drive.example.com/x valid 30 days", user="UCAROL",
                             expect="belongs to @bob")
    assert_refused_unchanged(team, "freshness Disk Encryption quarterly", user="UCAROL", expect="admin or the owner")
    assert_refused_unchanged(team, "evidence 1 https://drive.example.com/x", workspace="T2", expect="no task 1")


def test_a_controls_freshness_ages_its_links_and_renew_restarts_the_age(team):
    say(team, "evidence 1 https://drive.example.com/fv", user="UBOB")
    assert "expires" not in items(team)[0]
    reply = say(team, "freshness Disk Encryption quarterly", user="UBOB")  # the task's owner may
    assert "valid for a quarter" in reply.text
    assert "Disk Encryption: quarterly" in say(team, "freshness").text
    from handlers import evidence

    [counted] = evidence.of(team.store, "T1")
    assert counted.expires == date(2026, 6, 2)  # the link of 2026-03-02, aged by the control's period
    team.clock.current = datetime(2026, 6, 5, 12, tzinfo=UTC)
    assert counted.stale(date(2026, 6, 5))
    reply = say(team, "evidence 1 renew", user="UBOB")
    assert "valid until 2026-09-05" in reply.text and items(team)[-1]["note"] == "still current (renewed)"
    assert evidence.of(team.store, "T1")[0].expires == date(2026, 9, 5)
    say(team, "freshness 1 off")
    assert evidence.of(team.store, "T1")[0].expires is None
    actions = [(e.action, e.new) for e in team.store.events("T1")]
    assert ("evidence renew", "https://drive.example.com/fv") in actions
    assert ("freshness", "Disk Encryption: quarter") in actions and ("freshness", "Disk Encryption: none") in actions


def test_renew_keeps_an_explicit_validitys_length(team):
    say(team, "evidence 1 https://drive.example.com/fv valid 30 days", user="UBOB")
    team.clock.current = datetime(2026, 4, 10, 12, tzinfo=UTC)
    say(team, "evidence 1 renew", user="UBOB")
    assert items(team)[-1]["expires"] == "2026-05-10"


def test_status_gap_and_digest_count_stale_evidence_per_framework(team):
    say(team, "evidence 1 https://drive.example.com/fv valid 10 days", user="UBOB")  # Disk Encryption: CC6.1, A.8.1
    say(team, "assign Clause 9.3 to @carol due 2026-05-01")  # ISO only
    say(team, "evidence 2 https://drive.example.com/mr valid 20 days", user="UCAROL")
    team.clock.current = datetime(2026, 3, 15, 12, tzinfo=UTC)  # only task 1 is stale
    stale = next(s for s in say(team, "status").sections if s.title == "Stale evidence")
    assert stale.lines[:2] == ("SOC 2: 1 task (#1)", "ISO 27001:2022: 1 task (#1)")
    team.clock.current = datetime(2026, 3, 25, 12, tzinfo=UTC)  # both
    stale = next(s for s in say(team, "status iso").sections if s.title == "Stale evidence")
    assert stale.lines[0] == "ISO 27001:2022: 2 tasks (#1, #2)"
    gap = next(s for s in say(team, "gap soc2").sections if "stale" in s.title)
    assert gap.title == "SOC 2 evidence gone stale (1)"
    assert gap.lines[0] == "#1 Disk Encryption — @bob, stale since 2026-03-12"
    iso_gap = next(s for s in say(team, "gap iso").sections if "stale" in s.title)
    assert iso_gap.lines[1] == "#2 Clause 9.3 — @carol, stale since 2026-03-22"
    weekly = digest.compose(team.store, "T1", team.clock.current)
    assert "Stale evidence" in [s.title for s in weekly.sections] and "SOC 2: 1 task (#1)" in weekly.text
    team.clock.current = datetime(2026, 3, 5, 12, tzinfo=UTC)  # nothing stale yet: no section at all
    assert "Stale evidence" not in [s.title for s in say(team, "status").sections]


def test_a_newer_task_of_the_control_supersedes_the_older_evidence(team):
    say(team, "evidence 1 https://drive.example.com/old valid 5 days", user="UBOB")
    say(team, "done 1", user="UBOB")
    say(team, "assign Disk Encryption to @carol due 2026-09-01")
    assert [e.task_id for e in _stale(team, date(2026, 3, 20))] == [1]
    say(team, "evidence 2 https://drive.example.com/new valid 90 days", user="UCAROL")
    assert _stale(team, date(2026, 3, 20)) == []


def _stale(ctx, today):
    from handlers import evidence

    return evidence.stale(ctx.store, "T1", today)


def test_the_soa_and_the_tasks_export_show_each_links_date_and_freshness(team, tmp_path):
    import openpyxl

    say(team, "evidence 1 https://drive.example.com/fv valid 10 days", user="UBOB")
    say(team, "evidence 1 https://drive.example.com/doc", user="UBOB")
    say(team, "assign Threat Intelligence to @bob due 2026-04-15")
    say(team, "evidence 2 https://drive.example.com/ti expires 2027-01-01", user="UBOB")
    path = team.store.path
    with time_machine.travel(datetime(2026, 3, 20, 12, tzinfo=UTC), tick=False):
        out = tmp_path / "soa.xlsx"
        assert main(["export", "soa", "--out", str(out), "--db", path, "--workspace", "T1"]) == 0
        rows = list(openpyxl.load_workbook(out).active.iter_rows(values_only=True))
        header = next(r for r in rows if r and r[0] == "Ref")
        soa = {r[0]: dict(zip(header, r)) for r in rows[rows.index(header) + 1:]}
        assert soa["A.8.1"]["Evidence links"] == ("https://drive.example.com/fv (added 2026-03-02, stale since "
                                                  "2026-03-12)\nhttps://drive.example.com/doc (added 2026-03-02, "
                                                  "no expiry)")
        assert soa["A.5.7"]["Evidence links"] == "https://drive.example.com/ti (added 2026-03-02, valid until 2027-01-01)"
        csv_out = tmp_path / "tasks.csv"
        assert main(["export", "tasks", "--out", str(csv_out), "--db", path, "--workspace", "T1"]) == 0
    tasks = {r["Task"]: r for r in csv.DictReader(io.StringIO(csv_out.read_text()))}
    assert tasks["1"]["Evidence links"].startswith("https://drive.example.com/fv (added 2026-03-02, stale since")
    assert tasks["1"]["Evidence freshness"] == "no expiry"  # one link never expires: the evidence still holds
    assert tasks["2"]["Evidence freshness"] == "valid until 2027-01-01"


# -- the nudges, through the real tick -----------------------------------------------------------


def evidence_team(store, clock_at: datetime, expires: str, tz="Europe/Berlin"):
    """ada (admin) and bob in `tz`; bob's task 1 done, with a link that expires on `expires`."""
    store.upsert_person("T1", "UADMIN", name="ada", tz=tz, platform="slack")
    store.upsert_person("T1", "UBOB", name="bob", tz=tz, platform="slack")
    ctx = Context(store=store, clock=FixedClock(clock_at))
    with time_machine.travel(clock_at, tick=False):
        say(ctx, "assign Backup Schedule to @bob")
        say(ctx, f"evidence 1 https://drive.example.com/backups expires {expires}", user="UBOB")
        say(ctx, "done 1", user="UBOB")  # a finished control's evidence still ages
    return ctx


def test_stale_evidence_is_nudged_once_per_rung_in_the_owners_morning(tmp_path):
    store = Store.open(tmp_path / "bot.db")
    evidence_team(store, at("2027-01-04T12:00"), "2027-01-20")
    sender = run_schedule(store, at("2027-01-04T00:00"), at("2027-01-31T23:30"))
    p = "evidence:T1:1:2027-01-20"
    assert keys_by_user(sender) == {"UBOB": [f"{p}:before-7:2027-01-13", f"{p}:before-1:2027-01-19",
                                             f"{p}:due:2027-01-20", f"{p}:overdue-3:2027-01-23",
                                             f"{p}:overdue-6:2027-01-26", f"{p}:overdue-9:2027-01-29"]}
    bob = local_times(sender, "UBOB", "Europe/Berlin")
    assert [t.date() for t in bob] == [date(2027, 1, d) for d in (13, 19, 20, 25, 26, 29)]  # Sat 23 -> Mon 25
    assert all(time(9) <= t.time() < time(10) for t in bob)
    message = sender.sent[2][1].reply
    assert message.kind == "evidence_nudge" and "#1 Backup Schedule: evidence renewal due today" in message.text
    buttons = [(a.label, a.value) for a in message.sections[0].actions]
    assert buttons == [("Still current", "evidence 1 renew"), ("Snooze 1 week", "snooze 1 7")]
    assert [parse(value)[0] for _, value in buttons] == ["evidence", "snooze"]  # buttons are commands
    store.close()


def test_snooze_silences_and_renewing_starts_a_new_ladder(tmp_path):
    store = Store.open(tmp_path / "bot.db")
    ctx = evidence_team(store, at("2027-01-04T12:00"), "2027-01-20", tz="UTC")
    with time_machine.travel(at("2027-01-12T12:00"), tick=False):
        ctx.clock.current = at("2027-01-12T12:00")
        say(ctx, "snooze 1 8", user="UBOB")  # until the 20th: the 13th and 19th rungs are skipped
    sender = run_schedule(store, at("2027-01-12T12:00"), at("2027-01-20T23:30"))
    assert keys_by_user(sender) == {"UBOB": ["evidence:T1:1:2027-01-20:due:2027-01-20"]}
    with time_machine.travel(at("2027-01-21T12:00"), tick=False):
        ctx.clock.current = at("2027-01-21T12:00")
        say(ctx, "evidence 1 renew", user="UBOB")  # 16 days of validity again: expires 2027-02-06
    sender = run_schedule(store, at("2027-01-21T12:00"), at("2027-02-06T23:30"))
    assert keys_by_user(sender) == {"UBOB": ["evidence:T1:1:2027-02-06:before-7:2027-01-30",
                                             "evidence:T1:1:2027-02-06:before-1:2027-02-05"]}  # 6th: a Saturday
    store.close()


def test_evidence_of_a_not_applicable_control_is_never_nudged(tmp_path):
    store = Store.open(tmp_path / "bot.db")
    ctx = evidence_team(store, at("2027-01-04T12:00"), "2027-01-20", tz="UTC")
    with time_machine.travel(at("2027-01-04T12:00"), tick=False):
        say(ctx, "reopen 1")
        say(ctx, "na Backup Schedule we keep no data of our own to back up")
    assert run_schedule(store, at("2027-01-12T00:00"), at("2027-01-24T00:00"), step=timedelta(hours=1)).sent == []
    store.close()
