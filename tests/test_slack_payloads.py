"""Every Reply the handlers produce, rendered as Block Kit and validated with slack_sdk's own models
(`Block.parse` must know each block, `.validate_json()` checks its lengths and shapes, `.to_dict()`
those of every element inside, e.g. a button's 75 characters), and every view (App Home, the modals)
with `View.validate_json()` and `.to_dict()`.

The replies are collected from the handlers themselves: each command of the router's table is run from
its own usage line (placeholders filled in), bare, on an unknown task and as a member, on a real SQLite
file, plus questions, nudges and escalations from the real scheduler tick and the weekly digest. A new
command or a new kind of reply is therefore rendered and validated without touching this test."""
from __future__ import annotations

import json
import re
from datetime import date, datetime, timezone

import pytest
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from bot.slack.blocks import fallback_text, render
from bot.slack.conversation import SORRY
from bot.slack.home import home_view, notice_view
from bot.slack.listeners.shortcuts import NO_LINK, NO_TASKS
from bot.slack.modals import assign_modal, control_options, evidence_modal, task_options
from bot.store import Store
from handlers import router
from handlers.ports import Context
from handlers.types import Message
from tests.clockwork import at, run_schedule

NOW = datetime(2027, 1, 18, 12, 0, tzinfo=timezone.utc)  # a Monday
ADMIN, MEMBER = "UADMIN", "UMEMBER"
PLACEHOLDERS = {  # what a usage line's placeholders stand for, in the order they are tried
    r"<control or reference>": "Disk Encryption", r"<control>": "User Access Review", r"<task>": "1",
    r"<reference>": "A.8.1", r"<refs>": "A.8.25", r'"<name>"': '"Code Review"', r"<date>": "2030-01-15",
    r"<days>": "7", r"<url>": "https://example.com/evidence", r"<reason>": "waiting for the vendor",
    r"<justification>": "no such systems", r"@person": "<@UMEMBER>", r"\[note( \.\.\.)?\]": "note kept",
    r"\[due <date>\]": "due 2030-02-01", r"\[every month\|quarter\|year\]": "every quarter",
    r"\[Europe/Berlin\]": "Europe/Berlin", r"iso\|soc2": "iso", r'"\.\.\."': '"Production systems"',
}
QUESTIONS = ("what ISO control maps to CC 6.1?", "A.8.5 in SOC 2?", "disk encryption", "how long does a Type 1 take?",
             "what is the weather like?", "x" * 40_000, "hello", "Clause 9.3", "CC6.1 or A.5.15?")


class FixedClock:
    current = datetime(2027, 1, 4, 12, 0, tzinfo=timezone.utc)  # tasks are assigned a fortnight before NOW

    def now(self) -> datetime:
        return self.current


def typed(usage: str) -> str:
    for pattern, value in PLACEHOLDERS.items():
        usage = re.sub(pattern, value, usage)
    return usage


def lines_of(usage: str) -> list[str]:
    return [typed(line.strip()) for line in usage.split(" · ")]


@pytest.fixture(scope="module")
def replies(tmp_path_factory):
    """(what was typed, Reply) for every command of the table and then some, in a fresh workspace."""
    store = Store.open(tmp_path_factory.mktemp("payloads") / "complybot.db")
    ctx = Context(store=store, clock=FixedClock())
    store.upsert_person("T1", ADMIN, name="ada", platform="slack", tz="Europe/Berlin")
    store.upsert_person("T1", MEMBER, name="mo", platform="slack", tz="Europe/Berlin")
    seen: list[tuple[str, object]] = []

    def say(text: str, user: str = ADMIN, external: bool = False) -> None:
        seen.append((text, router.handle(Message("slack", "T1", user, text, channel="C1", external=external), ctx)))

    for setup in ("assign Disk Encryption to <@UMEMBER> due 2027-01-19",
                  "assign Backup Schedule to <@UMEMBER> due 2027-01-11",
                  "assign encryption to <@UMEMBER>", "assign CC6.1 to <@UMEMBER>"):
        say(setup)  # a task due tomorrow, one 7 days late (escalated), and the pickers (which control? which ref?)
    ctx.clock.current = NOW
    sent = run_schedule(store, at("2027-01-18T08:00", "Europe/Berlin"), at("2027-01-18T10:30", "Europe/Berlin"))
    seen += [("(nudge)", outgoing.reply) for _, outgoing in sent.sent]  # the real tick's nudges and escalation
    store.subscribe_digest("T1", "slack", "C1", weekdays="mon", time="09:00", tz="Europe/Berlin")
    sent = run_schedule(store, at("2027-01-25T08:55", "Europe/Berlin"), at("2027-01-25T09:35", "Europe/Berlin"))
    seen += [("(digest or nudge)", outgoing.reply) for _, outgoing in sent.sent]
    for command in router.commands().values():
        for line in lines_of(command.usage):
            say(line)
            say(line, user=MEMBER)  # refused where members may not
            say(line, user="UGUEST", external=True)  # a person of another organisation (Slack Connect)
        say(command.words[0] if command.words else command.name)  # bare: its usage, or what it shows alone
        say(f"{command.name} 999")  # an unknown task, or whatever that means to it
    for question in QUESTIONS:
        say(question)
    say("reassign 2")  # nobody named: asks whom (a prompt)
    say("assign Vendor Review to me due 2027-02-01 every quarter")
    recurring = ctx.store.tasks("T1", control="Vendor Review")[0].id
    say(f"done {recurring}"), say(f"history {recurring + 1}")  # a recurring task: its next occurrence
    say("done 1 now")
    say("done 1")  # already done
    yield seen, ctx
    store.close()


def assert_valid_blocks(blocks: list[dict], where: str) -> None:
    for block in blocks:
        parsed = Block.parse(block)
        assert parsed is not None, f"{where}: Slack knows no block {block.get('type')!r}"
        parsed.validate_json()  # raises SlackObjectFormationError with the reason
        parsed.to_dict()  # validate_json checks the block only; to_dict validates every element inside too
    ids = [block["block_id"] for block in blocks if "block_id" in block]
    assert len(ids) == len(set(ids)), f"{where}: repeated block ids"


def test_every_reply_kind_renders_as_valid_block_kit(replies):
    seen, _ctx = replies
    kinds = {reply.kind for _, reply in seen}
    outcomes = {reply.outcome for _, reply in seen}
    for text, reply in seen:
        blocks = render(reply)
        assert blocks, text[:80]
        assert_valid_blocks(blocks, f"{reply.kind} for {text[:60]!r}")
        assert 0 < len(fallback_text(reply)) <= 40_000
    for kind in ("assign", "tasks", "status", "gap", "help", "nudge", "digest", "choose_control", "unknown_task",
                 "forbidden", "usage", "too_long", "history", "control_list", "scope", "nudges", "iso_for_soc2",
                 "reassign_prompt", "external"):
        assert kind in kinds, f"no {kind!r} reply among {sorted(kinds)}"
    assert sum(text == "(nudge)" for text, _ in seen) >= 2  # the owner's nudge and the assigner's escalation
    assert {"ok", "refused", "prompt"} <= outcomes


def test_the_adapters_own_replies_render_as_valid_block_kit():
    for reply in (NO_LINK, NO_TASKS, SORRY):
        assert_valid_blocks(render(reply), reply.kind)


def test_the_home_tab_and_the_modals_are_valid_views(replies):
    seen, ctx = replies
    tasks = router.handle(Message("slack", "T1", MEMBER, "tasks", channel="D1", is_direct=True), ctx)
    outsider = router.handle(Message("slack", "T1", "UGUEST", "tasks", channel="D2", is_direct=True, external=True),
                             ctx)
    assert outsider.outcome == "refused"
    status = router.handle(Message("slack", "T1", MEMBER, "status", channel="D1", is_direct=True), ctx)
    notices = [reply for _, reply in seen]
    for view in [home_view(tasks, status), *(home_view(tasks, status, notice) for notice in notices[:40]),
                 notice_view(outsider), assign_modal(channel="C1"), assign_modal(task="1"),
                 evidence_modal(permalink="https://acme.slack.com/archives/C1/p1",
                                response_url="https://hooks.slack.com/actions/T1/1/x")]:
        View(**view).validate_json()
        View(**view).to_dict()  # and every block and element inside
        assert_valid_blocks(view["blocks"], view.get("callback_id", view["type"]))


def test_every_control_picker_option_is_valid():
    from slack_sdk.models.blocks import Option

    for query in ("", "enc", "CC6.1", "A.8.28", "x" * 200):
        for option in control_options(query):
            Option(value=option["value"], text=option["text"]["text"]).validate_json()


def test_every_task_picker_option_is_valid(replies):
    from slack_sdk.models.blocks import Option

    _seen, ctx = replies
    tasks = ctx.store.tasks("T1", statuses=None)
    assert tasks
    for query in ("", "1", "#2", "backup", "x" * 200):
        for option in task_options(tasks, query):
            Option(value=option["value"], text=option["text"]["text"]).validate_json()


def test_the_fake_web_api_refuses_what_slack_would_refuse():
    """The e2e tests lean on this: the fake answers invalid blocks and views with Slack's errors."""
    from tests.fakes.slack_api import _invalid_payload

    long_button = {"type": "actions", "elements": [{"type": "button", "action_id": "a",
                                                    "text": {"type": "plain_text", "text": "x" * 76}}]}
    assert _invalid_payload("chat.postMessage", {"blocks": json.dumps([long_button])}) == "invalid_blocks"
    assert _invalid_payload("chat.update", {"blocks": [{"type": "no_such_block"}]}) == "invalid_blocks"
    modal = assign_modal()
    assert _invalid_payload("views.open", {"view": json.dumps(modal)}) == ""
    too_long_title = {**modal, "title": {"type": "plain_text", "text": "x" * 25}}
    assert _invalid_payload("views.open", {"view": too_long_title}) == "invalid_arguments"
    assert _invalid_payload("chat.postMessage", {"blocks": render(SORRY)}) == ""
