"""Access reviews from an empty database through the router, the real tick and the CLI: start with pasted
`name, role` lines (or a CSV), the reviewer's DM once and the ladder until sign-off, Keep / Remove /
Change role per account (paged), Finish asking for the sign-off, the owner's tasks due in 7 days, the
evidence for User Access Review, the next quarter's round, the export's rows and the audit log."""
from __future__ import annotations

import csv
import io
import re

import pytest

from bot.cli import main
from bot.store import Store
from handlers.reviews import REVIEW_PAGE
from handlers.router import parse
from tests.clockwork import at, run_schedule
from tests.test_campaigns import MONDAY, act, workspace
from tests.test_reminders import keys_by_user
from tests.test_tasks import assert_refused_unchanged

ACCOUNTS = [f"user{n}, {'admin' if n % 3 == 0 else 'developer'}" for n in range(1, REVIEW_PAGE + 3)]
START = 'review start "AWS production" reviewer @ana owner @bob due in 10 days every quarter\n' + "\n".join(ACCOUNTS)


@pytest.fixture
def store(tmp_path):
    opened = Store.open(tmp_path / "c.db")
    yield opened
    opened.close()


def team(store):
    return workspace(store, ("UANA", "ana"), ("UBOB", "bob"), ("UCAROL", "carol"))


def account_lines(reply) -> list[str]:
    return [line for s in reply.sections for line in s.lines if re.match(r"\d+\. ", line)]


def values(reply) -> list[str]:
    return [a.value for s in reply.sections for a in s.actions] + [a.value for a in reply.actions]


def test_a_review_from_start_to_sign_off(store, tmp_path):
    ctx = team(store)
    started = act(ctx, MONDAY, START)
    assert started.kind == "review_start" and f"{len(ACCOUNTS)} accounts for @ana" in started.text
    sender = run_schedule(store, at(MONDAY), at("2027-01-05T12:00"))
    assert keys_by_user(sender) == {"UANA": ["campaign:T1:1:UANA:ask"]}  # the reviewer only, once
    dm = sender.sent[0][1].reply
    assert dm.kind == "review_ask" and values(dm) == ["review 1"] and parse("review 1") == ("review", "1")

    first = act(ctx, "2027-01-05T12:00", "review 1", user="UANA")  # "Open the review"
    shown = account_lines(first)
    assert len(shown) == REVIEW_PAGE and shown[0] == "1. user1 — developer: undecided"
    assert {"review 1 keep 1", "review 1 remove 1", "review 1 role 1", "review 1 finish", "review 1 page 2"} <= set(
        values(first))
    second = act(ctx, "2027-01-05T12:00", "review 1 page 2", user="UANA")
    assert account_lines(second)[0].startswith(
        f"{REVIEW_PAGE + 1}. user{REVIEW_PAGE + 1}")

    assert_refused_unchanged(ctx, "review 1 keep 1", user="UBOB", expect="only the reviewer")  # not theirs
    assert_refused_unchanged(ctx, "review 1 keep 1", user="UANA", workspace="T2", expect="no access review")
    assert_refused_unchanged(ctx, "review 1 finish", user="UANA", expect="still need a decision")
    assert act(ctx, "2027-01-05T12:00", "review 1 role 3", user="UANA").outcome == "prompt"  # which role?
    for line in range(1, len(ACCOUNTS) + 1):
        decision = "remove 2" if line == 2 else "role 3 read-only" if line == 3 else f"keep {line}"
        act(ctx, "2027-01-05T12:00", f"review 1 {decision}", user="UANA")
    finish = act(ctx, "2027-01-05T12:00", "review 1 finish", user="UANA")
    assert finish.outcome == "prompt" and values(finish) == ["review 1 sign off"]  # asks for the sign-off
    signed = act(ctx, "2027-01-06T12:00", "review 1 sign off", user="UANA")
    assert signed.kind == "review_signed_off"

    changes = store.tasks("T1", owner="UBOB")
    assert [(t.control, str(t.due)) for t in changes] == [("AWS production: remove user2", "2027-01-13"),
                                                          ("AWS production: change role to read-only for user3",
                                                           "2027-01-13")]
    [uar] = store.tasks("T1", control="User Access Review", statuses=None)
    assert uar.status == "done" and uar.evidence[-1]["review"] == 1  # evidence for CC6.2, CC6.3, A.5.15, A.5.18
    assert act(ctx, "2027-01-06T12:00", "status soc2", user="UANA").kind == "status"
    assert_refused_unchanged(ctx, "review 1 keep 1", user="UANA", expect="signed off")
    after = keys_by_user(run_schedule(store, at("2027-01-06T12:00"), at("2027-01-20T12:00")))
    assert not [k for k in after.get("UANA", []) if k.startswith("campaign:")]  # signed off: no more reminders
    assert after["UBOB"][0] == "nudge:T1:1:before-7:2027-01-06"  # the owner's change tasks nudge like any task

    decisions = [e.action for e in store.events("T1") if e.action.startswith("review ")]
    assert decisions.count("review keep") == len(ACCOUNTS) - 2 and "review remove" in decisions
    assert "review change" in decisions and decisions[-1] == "review signed_off"

    out = tmp_path / "review.csv"
    assert main(["export", "review", "--id", "1", "--workspace", "T1", "--db", store.path, "--out", str(out)]) == 0
    lines = out.read_text().splitlines()
    block = dict(row for row in csv.reader(lines[:lines.index("")]))
    assert (block["System"], block["Reviewer"], block["System owner"], block["State"]) == (
        "AWS production", "ana", "bob", "signed off")
    assert block["Asking message"] == "campaign:T1:1:UANA:ask" and block["Signed off at (UTC)"].startswith("2027-01-06")
    rows = list(csv.DictReader(io.StringIO("\n".join(lines[lines.index("") + 1:]))))
    assert (rows[1]["Account"], rows[1]["Decision"], rows[1]["Decided by"], rows[1]["Task for the change"],
            rows[1]["Task status"]) == ("user2", "remove", "ana", "1", "open")
    assert rows[2]["New role"] == "read-only" and rows[0]["Decision"] == "keep"
    assert main(["export", "review", "--id", "7", "--workspace", "T1", "--db", store.path]) == 1  # no such review

    following = run_schedule(store, at("2027-04-05T08:00"), at("2027-04-05T12:00"))  # a quarter on
    assert keys_by_user(following)["UANA"] == ["campaign:T1:2:UANA:ask"]
    accounts = store.review_accounts("T1", 2)
    assert [(a["account"], a["role"]) for a in accounts[:3]] == [("user1", "developer"), ("user3", "read-only"),
                                                                 ("user4", "developer")]  # user2 was removed


def test_the_reviewer_is_nudged_on_the_ladder_until_signing_off(store):
    ctx = team(store)
    act(ctx, MONDAY, 'review start "GitHub" reviewer @ana due in 5 days\nzoe, owner')
    sender = run_schedule(store, at(MONDAY), at("2027-01-11T12:00"))
    assert keys_by_user(sender) == {"UANA": ["campaign:T1:1:UANA:ask", "campaign:T1:1:UANA:before-1:2027-01-08",
                                             "campaign:T1:1:UANA:due:2027-01-09"]}
    assert sender.sent[1][1].reply.kind == "review_nudge"


def test_bad_review_input_is_refused_and_changes_nothing(store):
    ctx = team(store)
    for text, expect in (('review start "AWS" reviewer @ana', "which accounts"),
                         ('review start "AWS" reviewer @nobody\nx, y', "nobody"),
                         ('review start "AWS" reviewer @ana due yesterday\nx, y', "past"),
                         ("review 5", "no access review")):
        assert_refused_unchanged(ctx, text, expect=expect)
    assert_refused_unchanged(ctx, 'review start "AWS" reviewer @ana\nx, y', user="UBOB", expect="admin")


def test_review_import_reads_a_csv_file(store, tmp_path):
    store.upsert_person("local", "UANA", name="ana", platform="console")
    store.close()
    accounts = tmp_path / "accounts.csv"
    accounts.write_text('name,role\n"Doe, Jane",admin\nbob,read-only\n\n', encoding="utf-8")
    code = main(["review", "import", "--csv", str(accounts), "--system", "Okta", "--reviewer", "ana", "--due",
                 "in 10 days", "--db", str(tmp_path / "c.db")])  # the local workspace, as its admin
    assert code == 0
    reopened = Store.open(tmp_path / "c.db")
    try:
        rows = reopened.review_accounts("local", 1)
        assert [(r["account"], r["role"]) for r in rows] == [("Doe  Jane", "admin"), ("bob", "read-only")]
        assert reopened.campaign_users("local", 1) == ["UANA"]
    finally:
        reopened.close()
