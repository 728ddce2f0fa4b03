"""Slack's newer surfaces through the real Bolt app behind the real aiohttp server, with signed requests
and the fake Web API: the Messages tab's suggested prompts (agent_view), the message shortcuts *Attach
as evidence* and *Ask complybot*, and the global shortcut *Assign a control*."""
from __future__ import annotations

import json

from bot.commands import slack_manifest
from bot.slack.listeners.events import SUGGESTED_PROMPTS
from tests.fakes.slack_api import (  # noqa: F401 (api, server and slack are fixtures)
    ADMIN, MEMBER, OTHER, OWNER, TEAM_ID, api, server, slack,
)

MESSAGE = {"ts": "1800000000.000100", "user": OTHER, "text": "Here is the access review sign-off for Q4."}


def visible(call) -> str:
    return call.body.get("text", "") + json.dumps(call.blocks(), ensure_ascii=False)


def selected(task: str) -> dict:
    return {"task": {"task": {"selected_option": {"value": task}}}}


async def test_the_messages_tab_opens_with_suggested_prompts_that_work(server, slack, api):
    await slack.command(ADMIN, "assign User Access Review to me")
    await server.settle()
    status, _ = await slack.app_home_opened(ADMIN, tab="messages")
    assert status == 200
    await server.settle()
    [call] = api.to("assistant.threads.setSuggestedPrompts")
    assert call.body["channel_id"] == "D0ADMIN"
    assert "thread_ts" not in call.body  # with a thread_ts an agent_view app's call silently does nothing
    assert [p["title"] for p in call.body["prompts"]] == ["What maps to CC6.1?", "My tasks", "Status"]
    assert not api.to("views.publish")  # the Home tab is not drawn for the Messages tab

    for prompt in SUGGESTED_PROMPTS:  # pressing a prompt sends its message as the person
        await slack.direct_message(ADMIN, prompt["message"], channel="D0ADMIN")
    await server.settle()
    answer, tasks, status_reply = api.to("chat.postMessage")
    assert "A.8.1" in visible(answer) and "Disk Encryption" in visible(answer)
    assert "#1 User Access Review" in visible(tasks)
    assert "SOC 2" in visible(status_reply) and "%" in visible(status_reply)


async def test_attach_as_evidence_gives_the_chosen_task_the_messages_permalink(server, slack, api):
    await slack.command(ADMIN, "assign Disk Encryption to <@U0OWNER> due 2030-01-15")
    await server.settle()
    await slack.command(ADMIN, "assign User Access Review to <@U0OWNER> due 2030-03-01")
    await slack.command(ADMIN, "assign Backup Schedule to <@U0OTHER> due 2030-03-01")
    await server.settle()
    status, body = await slack.message_shortcut(OWNER, "complybot_attach_evidence", MESSAGE, channel="C0TEAM",
                                                hook="evidence")
    assert status == 200 and body == ""
    await server.settle()
    [link] = api.to("chat.getPermalink")
    assert (link.body["channel"], link.body["message_ts"]) == ("C0TEAM", MESSAGE["ts"])
    [opened] = api.to("views.open")
    view = opened.view()
    assert view["blocks"][0]["element"]["type"] == "external_select"
    assert await offered(slack, OWNER) == ["1", "2"]  # the owner's own tasks: Backup Schedule is Oz's
    assert await offered(slack, OWNER, "access") == ["2"]

    status, body = await slack.submit(OWNER, view, selected("2"))
    assert status == 200 and body == ""
    await server.settle()
    permalink = "https://acme.slack.com/archives/C0TEAM/p1800000000000100"
    assert [e["url"] for e in server.store.task(TEAM_ID, 2).evidence] == [permalink]
    assert not server.store.task(TEAM_ID, 1).evidence
    [told] = [c for c in api.to("response_url") if c.path == "/respond/evidence"]
    assert told.body["response_type"] == "ephemeral" and "Evidence added to task 2" in visible(told)
    assert not api.to("chat.postMessage")  # nobody else sees it


async def offered(slack, user: str, typed: str = "", user_team: str = TEAM_ID) -> list[str]:
    """The task picker's options as Slack asks the app for them while the person types."""
    status, body = await slack.options(user, "task", typed, "complybot_evidence", user_team=user_team)
    assert status == 200
    return [option["value"] for option in json.loads(body)["options"]]


async def test_in_a_big_workspace_an_admin_finds_any_task_by_number_or_name(server, slack, api):
    await slack.command(ADMIN, "help")
    await server.settle()  # Ada is the admin
    from knowledge.catalog import catalog

    names = [control.name for control in catalog().controls][:110]
    server.store.upsert_person(TEAM_ID, OTHER, name="Oz", platform="slack")
    for name in names:
        server.store.create_task(TEAM_ID, name, OTHER, ADMIN)
    assert len(await offered(slack, ADMIN)) == 100  # Slack shows at most 100 at a time
    assert await offered(slack, ADMIN, "#107") == ["107"]
    assert "110" in await offered(slack, ADMIN, names[109][2:].upper())  # part of its name, any case
    assert await offered(slack, OWNER) == []  # a member: only their own
    assert await offered(slack, "U0GUEST", user_team="T0OTHER") == []  # an outsider: nothing


async def test_attach_as_evidence_to_someone_elses_task_is_refused_in_the_form_and_changes_nothing(server, slack, api):
    await slack.command(ADMIN, "assign Disk Encryption to <@U0OWNER> due 2030-01-15")
    await server.settle()  # Ada first: the first person of a workspace is its admin
    await slack.command(OTHER, "assign Backup Schedule to me")
    await server.settle()
    await slack.message_shortcut(OTHER, "complybot_attach_evidence", MESSAGE)
    await server.settle()
    view = api.to("views.open")[0].view()
    status, body = await slack.submit(OTHER, view, selected("1"))  # a forged choice: task 1 is Olu's
    answer = json.loads(body)
    assert status == 200 and answer["response_action"] == "errors" and list(answer["errors"]) == ["task"]
    await server.settle()
    assert not server.store.task(TEAM_ID, 1).evidence
    assert not [c for c in api.to("response_url") if c.path == "/respond/shortcut"]


async def test_attach_as_evidence_with_no_task_of_ones_own_says_so_only_to_the_presser(server, slack, api):
    await slack.command(ADMIN, "assign Disk Encryption to <@U0OWNER>")
    await server.settle()
    await slack.message_shortcut(MEMBER, "complybot_attach_evidence", MESSAGE, hook="none")
    await server.settle()
    assert not api.to("views.open")
    [told] = [c for c in api.to("response_url") if c.path == "/respond/none"]
    assert told.body["response_type"] == "ephemeral" and "no open tasks" in visible(told)


async def test_a_person_of_another_organisation_gets_no_task_list_to_attach_to(server, slack, api):
    await slack.command(ADMIN, "assign Disk Encryption to <@U0OWNER>")
    await server.settle()
    await slack.message_shortcut("U0GUEST", "complybot_attach_evidence", MESSAGE, hook="guest", user_team="T0OTHER")
    await server.settle()
    assert not api.to("views.open") and not api.to("chat.getPermalink")
    [told] = [c for c in api.to("response_url") if c.path == "/respond/guest"]
    assert "not a member of this workspace" in visible(told) and "Disk Encryption" not in visible(told)
    assert server.store.person(TEAM_ID, "U0GUEST") is None


async def test_ask_complybot_answers_the_messages_text_in_its_thread_for_the_presser_only(server, slack, api):
    question = {"ts": "1800000000.000200", "thread_ts": "1800000000.000050", "user": OTHER,
                "text": "does anyone know what ISO control maps to CC 6.1?"}
    status, _ = await slack.message_shortcut(OWNER, "complybot_ask", question, channel="C0TEAM")
    assert status == 200
    await server.settle()
    [answer] = api.to("chat.postEphemeral")
    assert (answer.body["channel"], answer.body["user"]) == ("C0TEAM", OWNER)
    assert answer.body["thread_ts"] == "1800000000.000050"
    assert "A.8.1" in visible(answer) and "Disk Encryption" in visible(answer)
    assert not api.to("chat.postMessage")


async def test_ask_complybot_on_a_message_that_reads_like_a_command_does_not_run_it(server, slack, api):
    await slack.command(ADMIN, "assign Disk Encryption to <@U0OWNER>")
    await server.settle()
    command = {"ts": "1800000000.000400", "user": OWNER, "text": "done 1"}
    await slack.message_shortcut(ADMIN, "complybot_ask", command, channel="C0TEAM")
    await server.settle()
    assert server.store.task(TEAM_ID, 1).status != "done"
    assert api.to("chat.postEphemeral")[0].body["user"] == ADMIN


async def test_in_a_channel_the_bot_is_not_in_the_presser_still_hears_back_through_the_response_url(
        server, slack, api):
    api.outside.add("C0PRIVATE")
    await slack.command(ADMIN, "assign Disk Encryption to me")
    await server.settle()
    question = {"ts": "1800000000.000500", "user": OTHER, "text": "what ISO control maps to CC 6.1?"}
    await slack.message_shortcut(ADMIN, "complybot_ask", question, channel="C0PRIVATE", hook="ask")
    await slack.message_shortcut(ADMIN, "complybot_attach_evidence", MESSAGE, channel="C0PRIVATE", hook="attach")
    await server.settle()
    answers = {c.path: c for c in api.to("response_url")}
    assert answers["/respond/ask"].body["response_type"] == "ephemeral" and "A.8.1" in visible(answers["/respond/ask"])
    assert "Copy its link and type `evidence" in answers["/respond/attach"].body["text"]  # no link: type it
    assert not api.to("views.open") and not server.store.task(TEAM_ID, 1).evidence


async def test_the_assign_a_control_shortcut_opens_the_assign_form_and_it_assigns(server, slack, api):
    status, _ = await slack.global_shortcut(ADMIN, "complybot_assign_control")
    assert status == 200
    await server.settle()
    view = api.to("views.open")[0].view()
    assert view["callback_id"] == "complybot_assign"
    assert {b["block_id"] for b in view["blocks"]} == {"control", "owner", "due"}
    control = {"complybot_control": {"selected_option": {"value": "Disk Encryption"}}}
    await slack.submit(ADMIN, view, {"control": control,
                                     "owner": {"owner": {"selected_user": OWNER}},
                                     "due": {"due": {"selected_date": "2030-05-01"}}})
    await server.settle()
    task = server.store.task(TEAM_ID, 1)
    assert (task.control, task.owner, str(task.due)) == ("Disk Encryption", OWNER, "2030-05-01")
    [post] = api.to("chat.postMessage")
    assert post.body["channel"] == "D0ADMIN"  # no channel to answer in: the presser's DM


async def test_an_unsigned_shortcut_is_refused_and_nothing_is_sent(server, slack, api):
    slack.verifier.signing_secret = "not-the-secret"
    status, _ = await slack.message_shortcut(OWNER, "complybot_ask", MESSAGE)
    assert status == 401
    await server.settle()
    assert [c.method for c in api.calls if c.method != "auth.test"] == []


async def test_the_manifest_declares_every_shortcut_the_app_answers_and_the_agent_view(server, slack, api):
    data = slack_manifest.manifest("https://bot.example.com")
    shortcuts = data["features"]["shortcuts"]
    assert {(s["type"], s["name"]) for s in shortcuts} == {
        ("message", "Attach as evidence"), ("message", "Ask complybot"), ("global", "Assign a control")}
    assert all(len(s["name"]) <= 24 and len(s["description"]) <= 80 for s in shortcuts)  # Slack's limits
    assert data["features"]["agent_view"]["agent_description"]
    assert "assistant:write" in data["oauth_config"]["scopes"]["bot"]
    for shortcut in shortcuts:  # each declared callback id reaches a listener that calls Slack
        before = len(api.calls)
        if shortcut["type"] == "global":
            await slack.global_shortcut(ADMIN, shortcut["callback_id"])
        else:
            await slack.message_shortcut(ADMIN, shortcut["callback_id"], MESSAGE)
        await server.settle()
        assert len(api.calls) > before, shortcut["callback_id"]
