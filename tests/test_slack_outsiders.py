"""Slack Connect: a person of another organisation in a channel shared with the installing workspace may
ask questions about the frameworks and nothing else. Every command, button, form and the Home tab gets
a polite refusal, and the store is exactly as it was (no person row, no task, no event), even when the
outsider is the first to speak (the first person of a workspace would become its admin)."""
from __future__ import annotations

import json
import time
from urllib.parse import urlencode

from tests.fakes.slack_api import (  # noqa: F401 (api, server and slack are fixtures)
    ADMIN, BOT_USER_ID, OWNER, TEAM_ID, api, buttons, server, slack,
)

GUEST, GUEST_TEAM = "U0GUEST", "T0GUEST"  # a person of a connected workspace
OUTSIDER_COMMANDS = (
    "tasks all", "tasks", "my tasks", "gap iso", "status", "history 1", "assign Penetration Test to me",
    "na Penetration Test we never needed it", "evidence 1 https://evil.example/report", "done 1", "start 1",
    "block 1 waiting", "due 1 tomorrow", "snooze 1 7", "reassign 1 to me", "admin add me", "digest now",
    "digest here weekly mon 09:00", "nudges", "nudges default", "help 1", "export soa", "soa header", "scope",
    "applicable Penetration Test", "unblock 1", 'control add "Guest rule" iso A.5.1', "justify A.5.1 we need it",
)
REFUSED = "not a member of this workspace"


def store_rows(server) -> str:
    """The store's rows, without the ids of deliveries already seen (bookkeeping against retries,
    written before any listener runs, whoever sent them)."""
    sections = server.store.dump().split("\n-- ")
    return "\n-- ".join(s for s in sections if not s.lstrip("- ").startswith("slack_events"))


def guest_event(kind: str, text: str, channel: str = "C0SHARED", **extra) -> dict:
    ts = f"{time.time():.6f}"
    return {"type": kind, "user": GUEST, "user_team": GUEST_TEAM, "source_team": GUEST_TEAM, "team": GUEST_TEAM,
            "text": text, "ts": ts, "event_ts": ts, "channel": channel, **extra}


async def guest_command(slack, api, text: str, hook: str) -> int:
    """`/comply` typed by the guest in the shared channel: Slack names the guest's own team."""
    form = {"token": "legacy", "team_id": GUEST_TEAM, "team_domain": "guests", "channel_id": "C0SHARED",
            "channel_name": "shared", "user_id": GUEST, "user_name": "guest", "command": "/comply", "text": text,
            "api_app_id": "A0001", "response_url": api.response_url(hook), "trigger_id": f"trigger.{hook}",
            "is_enterprise_install": "false"}
    status, _ = await slack.post(urlencode(form), "application/x-www-form-urlencoded")
    return status


def guest_interaction(payload: dict) -> dict:
    guest = {"id": GUEST, "team_id": GUEST_TEAM, "username": "guest"}
    return {**payload, "user": guest, "is_enterprise_install": False}


async def test_an_outsider_speaking_first_is_not_registered_and_does_not_become_admin(server, slack, api):
    api.users[GUEST] = {"id": GUEST, "team_id": GUEST_TEAM, "name": "guest", "profile": {"display_name": "Guest"}}
    before = store_rows(server)
    for text in ("tasks all", "assign Disk Encryption to me", "admin add me"):
        status, _ = await slack.event(guest_event("app_mention", f"<@{BOT_USER_ID}> {text}"))
        assert status == 200
    await server.settle()
    assert store_rows(server) == before
    refusals = api.to("chat.postEphemeral")
    assert len(refusals) == 3 and all(REFUSED in call.body["text"] for call in refusals)
    assert not api.to("users.info")  # not even looked up: nothing about them is kept

    await slack.mention(ADMIN, "tasks")  # the workspace's own first person is its admin, as before
    await server.settle()
    assert server.store.person(TEAM_ID, ADMIN).role == "admin"
    assert server.store.person(TEAM_ID, GUEST) is None


async def test_an_outsider_may_ask_questions_and_nothing_else(server, slack, api):
    await slack.command(ADMIN, "assign Disk Encryption to <@U0OWNER>", hook="assign")
    await slack.command(ADMIN, "na Penetration Test we run no public service", hook="na")
    await server.settle()
    task_message = api.to("response_url")[0]
    before = store_rows(server)
    api.calls.clear()

    # a question by mention and by /comply is answered, in the open, like anyone's
    await slack.event(guest_event("app_mention", f"<@{BOT_USER_ID}> what ISO control maps to CC 6.1?"))
    assert await guest_command(slack, api, "what is CC6.1?", "question") == 200
    # every command by mention, in a DM and by /comply
    for text in OUTSIDER_COMMANDS:
        await slack.event(guest_event("app_mention", f"<@{BOT_USER_ID}> {text}"))
        await slack.event(guest_event("message", text, channel="D0GUEST", channel_type="im"))
        assert await guest_command(slack, api, text, f"cmd-{len(api.calls)}") == 200
    assert await guest_command(slack, api, "assign", "modal") == 200  # no form for them either
    # the Done and Reassign buttons of the host's task message, and the Home tab
    message = {"ts": "1800000000.000100", "blocks": task_message.blocks()}
    for button in buttons(task_message.blocks()):
        await slack.interaction(guest_interaction({
            "type": "block_actions", "channel": {"id": "C0SHARED"}, "message": message,
            "response_url": api.response_url("press"), "container": {
                "type": "message", "message_ts": message["ts"], "channel_id": "C0SHARED", "is_ephemeral": False},
            "actions": [{"type": "button", "action_id": button["action_id"], "block_id": button["block_id"],
                         "value": button["value"], "action_ts": "1.0"}]}))
    await slack.event(guest_event("app_home_opened", "", tab="home"))
    # a submitted assign form (Slack would not show it to them, but a payload can say anything)
    view = {"id": "VMODAL", "type": "modal", "callback_id": "complybot_assign", "private_metadata": json.dumps(
        {"channel": "C0SHARED", "task": ""}), "blocks": [{"type": "input", "block_id": "control"}],
        "state": {"values": {"control": {"complybot_control": {"selected_option": {"value": "Disk Encryption"}}},
                             "owner": {"owner": {"selected_user": GUEST}}}}}
    status, body = await slack.interaction(guest_interaction({"type": "view_submission", "view": view}))
    await server.settle()

    assert status == 200 and REFUSED in json.loads(body)["errors"]["control"]
    assert store_rows(server) == before
    assert server.store.person(TEAM_ID, GUEST) is None and server.store.task(TEAM_ID, 1).owner == OWNER
    assert not api.to("users.info") and not api.to("views.open") and not api.to("chat.update")
    assert not [c for c in api.calls if c.method.startswith("files.")]  # no SoA workbook either

    posts = api.to("chat.postMessage")
    [asked] = [c for c in posts if c.body["channel"] == "C0SHARED"]  # the question, in its thread
    [asked_by_command] = [c for c in api.to("response_url") if c.path == "/respond/question"]
    for answer in (asked, asked_by_command):
        assert "CC6.1 is a SOC 2 criterion" in answer.all_text() and REFUSED not in answer.all_text()
    dms = [c for c in posts if c.body["channel"] == "D0GUEST"]
    ephemeral = api.to("chat.postEphemeral") + [c for c in api.to("response_url") if c is not asked_by_command]
    assert all(c.method == "chat.postEphemeral" or c.body["response_type"] == "ephemeral" for c in ephemeral)
    refusals = dms + ephemeral
    assert len(posts) == 1 + len(dms)
    assert len(refusals) == 3 * len(OUTSIDER_COMMANDS) + 1 + len(buttons(message["blocks"]))
    for call in refusals:
        assert REFUSED in call.all_text(), call.all_text()
    [home] = api.to("views.publish")
    assert REFUSED in json.dumps(home.view()) and "Disk Encryption" not in json.dumps(home.view())


async def test_a_person_of_the_installing_workspace_in_a_shared_channel_is_a_member(server, slack, api):
    """The shared channel itself changes nothing for the host's own people (`user_team` is theirs)."""
    ts = f"{time.time():.6f}"
    await slack.event({"type": "app_mention", "user": ADMIN, "user_team": TEAM_ID, "source_team": GUEST_TEAM,
                       "team": TEAM_ID, "text": f"<@{BOT_USER_ID}> assign Disk Encryption to <@{OWNER}>", "ts": ts,
                       "event_ts": ts, "channel": "C0SHARED"})
    await server.settle()
    assert server.store.task(TEAM_ID, 1).owner == OWNER
