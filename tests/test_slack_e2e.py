"""End to end in Slack: the real server (create_app) on 127.0.0.1 with the real Bolt app, requests signed
exactly as Slack signs them, and a fake Slack Web API on another port that records what the bot sent."""
from __future__ import annotations

import json

from tests.fakes.slack_api import (  # noqa: F401 (api, server and slack are fixtures)
    ADMIN, BOT_TOKEN, BOT_USER_ID, OTHER, OWNER, TEAM_ID, api, buttons, server, slack,
)


def visible(call) -> str:
    """The text and blocks of a post, as one string."""
    return call.body.get("text", "") + json.dumps(call.blocks(), ensure_ascii=False)


async def test_a_direct_message_is_answered_in_the_dm(server, slack, api):
    status, _ = await slack.direct_message(ADMIN, "x" * 40_000)
    assert status == 200
    await server.settle()
    [post] = api.to("chat.postMessage")
    assert post.body["channel"] == "D" + ADMIN.removeprefix("U") and "thread_ts" not in post.body
    assert "40,000 characters" in visible(post)
    assert post.token == BOT_TOKEN
    assert api.calls[0].method == "auth.test"  # Bolt checks its token before anything else


QUESTION = "what ISO control maps to CC 6.1?"


def assert_cc61_answer(call) -> None:
    shown = visible(call)
    assert "A.8.1" in shown and "Disk Encryption" in shown, shown[:500]


async def test_a_question_by_mention_is_answered_in_its_thread(server, slack, api):
    status, _ = await slack.mention(ADMIN, QUESTION, channel="C0GENERAL")
    assert status == 200
    await server.settle()
    [post] = api.to("chat.postMessage")
    event_ts = post.body["thread_ts"]
    assert post.body["channel"] == "C0GENERAL" and event_ts
    assert post.body["unfurl_links"] is False
    assert_cc61_answer(post)
    assert post.blocks()[0]["type"] == "section"


async def test_a_mention_inside_a_thread_is_answered_in_that_thread(server, slack, api):
    await slack.mention(ADMIN, QUESTION, thread_ts="1700000000.000100")
    await server.settle()
    [post] = api.to("chat.postMessage")
    assert post.body["thread_ts"] == "1700000000.000100"


async def test_a_question_by_direct_message(server, slack, api):
    await slack.direct_message(OWNER, QUESTION, channel="D0OWNER")
    await server.settle()
    [post] = api.to("chat.postMessage")
    assert post.body["channel"] == "D0OWNER" and "thread_ts" not in post.body
    assert_cc61_answer(post)


async def test_a_question_by_slash_command_answers_through_the_response_url(server, slack, api):
    status, body = await slack.command(ADMIN, QUESTION, hook="q1")
    assert status == 200 and body == ""  # acknowledged at once, answered right after
    await server.settle()
    [answer] = api.to("response_url")
    assert answer.path == "/respond/q1"
    assert answer.body["response_type"] == "in_channel"
    assert_cc61_answer(answer)
    assert not api.to("chat.postMessage")


async def test_people_are_fetched_once_and_kept(server, slack, api):
    await slack.direct_message(ADMIN, "help")
    await slack.direct_message(ADMIN, "status")
    await slack.command(ADMIN, "assign Disk Encryption to <@U0OWNER>")
    await server.settle()
    asked = [call.body.get("user") for call in api.to("users.info")]
    assert sorted(asked) == [ADMIN, OWNER]
    owner = server.store.person(TEAM_ID, OWNER)
    assert (owner.name, owner.email, owner.tz) == ("Olu", "olu@example.com", "America/New_York")
    assert server.store.person(TEAM_ID, ADMIN).role == "admin"  # the first person of the workspace


async def test_assign_then_tasks_then_the_done_button(server, slack, api):
    await slack.command(ADMIN, "assign Disk Encryption to <@U0OWNER> due 2030-01-15", hook="assign")
    await slack.command(ADMIN, "assign User Access Review to <@U0OWNER> due 2030-03-01", hook="assign2")
    await server.settle()
    assigned = next(c for c in api.to("response_url") if c.path == "/respond/assign")
    assert "Assigned Disk Encryption to @Olu as task 1" in visible(assigned)

    await slack.mention(OWNER, "tasks", channel="C0TEAM")
    await server.settle()
    [listing] = api.to("chat.postMessage")
    assert listing.body["channel"] == "C0TEAM"
    assert "#1 Disk Encryption" in visible(listing) and "2030-01-15" in visible(listing)
    labels = {b["text"]["text"]: b for b in buttons(listing.blocks())[:2]}  # task 1's buttons come first
    assert set(labels) == {"Done", "Snooze 1 week"}  # a member is offered no Reassign: only an admin may
    assert labels["Done"]["value"] == "done 1" and labels["Done"]["style"] == "primary"

    message = {"ts": "1800000000.000200", "text": listing.body["text"], "blocks": listing.blocks()}
    status, _ = await slack.press(OWNER, labels["Done"], message, channel="C0TEAM")
    assert status == 200
    await server.settle()
    [update] = api.to("chat.update")
    assert update.body["channel"] == "C0TEAM" and update.body["ts"] == "1800000000.000200"
    assert "done" in visible(update).lower()
    assert server.store.task(TEAM_ID, 1).status == "done"
    still = [b["value"] for b in buttons(update.blocks())]
    assert "done 2" in still and "done 1" not in still  # the other task keeps its buttons


async def test_snooze_button_from_an_ephemeral_answer_replaces_it(server, slack, api):
    await slack.command(ADMIN, "assign Disk Encryption to me", hook="assign")
    await server.settle()
    [assigned] = api.to("response_url")
    snooze = next(b for b in buttons(assigned.blocks()) if b["text"]["text"] == "Snooze 1 week")
    message = {"ts": "", "blocks": assigned.blocks()}
    await slack.press(ADMIN, snooze, message, container={"type": "message", "is_ephemeral": True}, hook="snooze")
    await server.settle()
    replaced = [c for c in api.to("response_url") if c.path == "/respond/snooze"]
    assert replaced and replaced[0].body["replace_original"] is True
    assert server.store.task(TEAM_ID, 1).snoozed_until is not None


async def test_app_home_shows_my_tasks_progress_and_buttons(server, slack, api):
    await slack.command(ADMIN, "assign Disk Encryption to <@U0OWNER> due 2030-01-15")
    await server.settle()
    status, _ = await slack.app_home_opened(OWNER)
    assert status == 200
    await server.settle()
    [published] = api.to("views.publish")
    assert published.body["user_id"] == OWNER
    view = published.view()
    assert view["type"] == "home"
    shown = json.dumps(view, ensure_ascii=False)
    assert "#1 Disk Encryption" in shown and "2030-01-15" in shown
    assert "SOC 2" in shown and "ISO 27001" in shown and "%" in shown
    block_ids = [b["block_id"] for b in view["blocks"] if "block_id" in b]
    assert len(block_ids) == len(set(block_ids))  # Slack rejects a view with repeated block ids

    done = next(b for b in buttons(view["blocks"]) if b["text"]["text"] == "Done")
    await slack.press(OWNER, done)  # pressed in the Home tab: no message, the view is published again
    await server.settle()
    assert len(api.to("views.publish")) == 2
    assert server.store.task(TEAM_ID, 1).status == "done"
    refreshed = json.dumps(api.to("views.publish")[1].view(), ensure_ascii=False)
    assert "#1 Disk Encryption" not in refreshed.split("Your open tasks")[1]


async def test_assign_with_no_arguments_opens_the_modal_and_its_submission_assigns(server, slack, api):
    status, _ = await slack.command(ADMIN, "assign", channel="C0TEAM")
    assert status == 200
    await server.settle()
    [opened] = api.to("views.open")
    assert opened.body["trigger_id"].startswith("trigger.")
    view = opened.view()
    elements = {b["block_id"]: b["element"]["type"] for b in view["blocks"] if b["type"] == "input"}
    assert elements == {"control": "external_select", "owner": "users_select", "due": "datepicker"}

    status, body = await slack.options(ADMIN, "complybot_control", "disk encr", view["callback_id"])
    assert status == 200
    options = [o["value"] for o in json.loads(body)["options"]]
    assert options[0] == "Disk Encryption"

    values = {"control": {"complybot_control": {"type": "external_select",
                                                "selected_option": {"value": "Disk Encryption"}}},
              "owner": {"owner": {"type": "users_select", "selected_user": OWNER}},
              "due": {"due": {"type": "datepicker", "selected_date": "2030-02-01"}}}
    status, body = await slack.submit(ADMIN, view, values)
    assert status == 200 and "errors" not in body
    await server.settle()
    [announced] = api.to("chat.postMessage")
    assert announced.body["channel"] == "C0TEAM"
    assert "Assigned Disk Encryption to @Olu" in visible(announced)
    task = server.store.task(TEAM_ID, 1)
    assert (task.control, task.owner, str(task.due)) == ("Disk Encryption", OWNER, "2030-02-01")


async def test_a_refused_modal_submission_shows_the_reason_on_the_field(server, slack, api):
    await slack.command(ADMIN, "assign", channel="C0TEAM")
    await server.settle()
    view = api.to("views.open")[0].view()
    values = {"control": {"complybot_control": {"selected_option": {"value": "Disk Encryption"}}},
              "owner": {"owner": {"selected_user": OWNER}},
              "due": {"due": {"selected_date": "2001-01-01"}}}
    status, body = await slack.submit(ADMIN, view, values)
    answer = json.loads(body)
    assert status == 200 and answer["response_action"] == "errors"
    assert list(answer["errors"]) == ["due"] and "past" in answer["errors"]["due"].lower()
    await server.settle()
    assert server.store.task(TEAM_ID, 1) is None and not api.to("chat.postMessage")


async def test_a_modal_refusal_shows_under_the_field_it_names_not_the_one_its_words_suggest(server, slack, api):
    await slack.command(ADMIN, "assign Disk Encryption to <@U0OWNER>", hook="first")  # owned, no due date
    await slack.command(ADMIN, "assign", channel="C0TEAM")
    await server.settle()
    view = api.to("views.open")[0].view()
    before = (server.store.tasks(TEAM_ID, statuses=None), server.store.events(TEAM_ID))
    values = {"control": {"complybot_control": {"selected_option": {"value": "Disk Encryption"}}},
              "owner": {"owner": {"selected_user": OTHER}},
              "due": {"due": {"selected_date": "2030-02-01"}}}
    status, body = await slack.submit(ADMIN, view, values)
    answer = json.loads(body)
    assert status == 200 and answer["response_action"] == "errors"
    assert list(answer["errors"]) == ["control"], answer  # "already owned … no due date" is about the control
    assert "already owned" in answer["errors"]["control"] and "no due date" in answer["errors"]["control"]
    await server.settle()
    assert (server.store.tasks(TEAM_ID, statuses=None), server.store.events(TEAM_ID)) == before


async def open_reassign_modal(server, slack, api) -> dict:
    """Task 1 (Disk Encryption, owned by OWNER) posted in C0TEAM, and its Reassign button pressed: the modal."""
    await slack.command(ADMIN, "assign Disk Encryption to <@U0OWNER>", hook="assign")
    await server.settle()
    reassign = next(b for b in buttons(api.to("response_url")[0].blocks()) if b["text"]["text"] == "Reassign")
    await slack.press(ADMIN, reassign, {"ts": "1800000000.000400"}, channel="C0TEAM")
    await server.settle()
    [opened] = api.to("views.open")
    return opened.view()


async def test_the_reassign_button_opens_the_modal_for_that_task(server, slack, api):
    view = await open_reassign_modal(server, slack, api)
    assert json.loads(view["private_metadata"]) == {"channel": "C0TEAM", "task": "1"}
    await slack.submit(ADMIN, view, {"owner": {"owner": {"selected_user": OTHER}}})
    await server.settle()
    assert server.store.task(TEAM_ID, 1).owner == OTHER
    [announced] = api.to("chat.postMessage")
    assert announced.body["channel"] == "C0TEAM" and "@Oz" in visible(announced)


async def test_a_reassign_modal_refused_on_its_date_leaves_the_owner_as_it_was(server, slack, api):
    view = await open_reassign_modal(server, slack, api)
    task, events = server.store.task(TEAM_ID, 1), server.store.events(TEAM_ID)
    status, body = await slack.submit(ADMIN, view, {"owner": {"owner": {"selected_user": OTHER}},
                                                    "due": {"due": {"selected_date": "2001-01-01"}}})
    answer = json.loads(body)
    assert status == 200 and answer["response_action"] == "errors"
    assert list(answer["errors"]) == ["due"] and "past" in answer["errors"]["due"].lower()
    await server.settle()
    assert task.owner == OWNER and server.store.task(TEAM_ID, 1) == task  # the reassignment went with the date
    assert server.store.events(TEAM_ID) == events and not api.to("chat.postMessage")


async def test_bots_and_system_messages_are_ignored(server, slack, api):
    await slack.direct_message(BOT_USER_ID, "status", bot_id="BBOT")  # its own message
    await slack.direct_message("U0OTHERBOT", "status", bot_id="B0OTHER", subtype="bot_message")
    await slack.direct_message(ADMIN, "status", subtype="message_changed")
    await slack.event({"type": "message", "channel_type": "channel", "user": ADMIN, "text": "status",
                       "channel": "C0TEAM", "ts": "1.2"})
    status, _ = await slack.event({"type": "tokens_revoked", "tokens": {"bot": [BOT_USER_ID]}})
    assert status == 200  # acknowledged (not 404, which Slack would retry); one workspace has nothing to forget
    await server.settle()
    assert not api.to("chat.postMessage") and not api.to("chat.postEphemeral")


async def test_a_failure_inside_gets_a_polite_answer_and_no_stack_trace(server, slack, api, monkeypatch, caplog):
    from handlers import router

    def broken(message, ctx=None):
        raise RuntimeError("secret detail /etc/passwd")

    monkeypatch.setattr(router, "handle", broken)
    await slack.direct_message(ADMIN, "status")
    await server.settle()
    [post] = api.to("chat.postMessage")
    assert "Sorry, something went wrong" in visible(post)
    assert "secret detail" not in visible(post) and "Traceback" not in visible(post)
    assert "secret detail" not in caplog.text and "Traceback" not in caplog.text


async def test_rate_limits_and_server_errors_are_retried(server, slack, api):
    api.fail_next("chat.postMessage", 429, retry_after=0)
    api.fail_next("chat.postMessage", 500)
    await slack.direct_message(ADMIN, "help")
    await server.settle()
    assert [c.method for c in api.calls if c.method.startswith("chat.postMessage")] == [
        "chat.postMessage!429", "chat.postMessage!500", "chat.postMessage"]


async def test_work_acknowledged_before_a_shutdown_is_finished_not_dropped(tmp_path, api):
    from tests.fakes.slack_api import SIGNING_SECRET, SignedSlack, start_slack_server

    running = await start_slack_server(tmp_path / "complybot.db", api)
    async with SignedSlack(running.url, SIGNING_SECRET, api) as client:
        status, _ = await client.command(ADMIN, "assign Disk Encryption to me", hook="late")
    assert status == 200
    await running.stop()  # no settle(): shutdown itself must let the answer go out
    [answer] = api.to("response_url")
    assert "Assigned Disk Encryption" in visible(answer)


async def test_a_message_the_bot_cannot_edit_is_replaced_through_its_response_url(server, slack, api):
    await slack.command(ADMIN, "assign Disk Encryption to me", hook="assign")
    await server.settle()
    answer = api.to("response_url")[0]
    api.uneditable.add("1800000000.000600")
    done = next(b for b in buttons(answer.blocks()) if b["text"]["text"] == "Done")
    await slack.press(ADMIN, done, {"ts": "1800000000.000600", "blocks": answer.blocks()}, hook="fallback")
    await server.settle()
    assert len(api.to("chat.update")) == 1  # tried first, refused by Slack
    [replaced] = [c for c in api.to("response_url") if c.path == "/respond/fallback"]
    assert replaced.body["replace_original"] is True and "done" in visible(replaced).lower()
    assert server.store.task(TEAM_ID, 1).status == "done"


async def test_complybot_serve_runs_slack_and_logs_no_secret(tmp_path, api):
    from tests.fakes.slack_api import SIGNING_SECRET, SignedSlack
    from tests.serving import ServeProcess

    with ServeProcess(tmp_path, COMPLYBOT_HOST="127.0.0.1", SLACK_BOT_TOKEN=BOT_TOKEN,
                      SLACK_SIGNING_SECRET=SIGNING_SECRET, SLACK_API_URL=api.base_url) as serve:
        async with SignedSlack(serve.url, SIGNING_SECRET, api) as client:
            status, _ = await client.command(ADMIN, "assign Disk Encryption to me", hook="serve")
            assert status == 200
            [answer] = await api.wait_for("response_url")
            async with client.session.get(f"{serve.url}/healthz") as health:
                assert "slack" in (await health.json())["platforms"]
        assert "Assigned Disk Encryption" in visible(answer)
        assert serve.terminate() == 0
        logs = serve.log_path.read_text()
    assert "/slack/events" in logs and '"level": "warning"' not in logs
    for secret in (BOT_TOKEN, SIGNING_SECRET, "Disk Encryption to me"):
        assert secret not in logs


async def test_reassign_from_the_home_tab_tells_by_dm_and_refreshes_the_tab(server, slack, api):
    await slack.command(ADMIN, "assign Disk Encryption to me")
    await slack.event({"type": "app_home_opened", "user": ADMIN, "tab": "home", "event_ts": "1.0"})
    await server.settle()
    home = api.to("views.publish")[0].view()
    reassign = next(b for b in buttons(home["blocks"]) if b["text"]["text"] == "Reassign")
    await slack.press(ADMIN, reassign)  # in the Home tab: no channel
    await server.settle()
    view = api.to("views.open")[0].view()
    assert json.loads(view["private_metadata"]) == {"channel": "", "task": "1"}
    await slack.submit(ADMIN, view, {"owner": {"owner": {"selected_user": OWNER}},
                                     "due": {"due": {"selected_date": "2030-05-01"}}})
    await server.settle()
    task = server.store.task(TEAM_ID, 1)
    assert (task.owner, str(task.due)) == (OWNER, "2030-05-01")
    assert [c.body["users"] for c in api.to("conversations.open")] == [ADMIN]
    posts = api.to("chat.postMessage")
    assert [p.body["channel"] for p in posts] == ["D0ADMIN", "D0ADMIN"]  # the reassignment, then the new date
    refreshed = json.dumps(api.to("views.publish")[-1].view())
    assert len(api.to("views.publish")) == 2 and "Disk Encryption" not in refreshed.split("Progress")[0]


async def test_each_turn_logs_workspace_command_kind_latency_and_no_text(server, slack, api, caplog):
    caplog.set_level("INFO")
    long_question = "what ISO control maps to CC 6.1? " + "please tell me in detail " * 10
    await slack.command(ADMIN, long_question, hook="q2")
    await slack.command(OTHER, "done 999", hook="q3")
    await server.settle()
    turns = [record.fields for record in caplog.records if getattr(record, "event", "") == "slack.turn"]
    assert [(t["workspace"], t["command"], t["kind"], t["outcome"]) for t in turns] == [
        (TEAM_ID, "question", "iso_for_soc2", "ok"), (TEAM_ID, "done", turns[1]["kind"], "refused")]
    assert all(isinstance(t["latency_ms"], float) for t in turns)
    assert "text" not in turns[0] and "what ISO" not in caplog.text and "done 999" not in caplog.text


async def test_the_unblock_button_on_a_blocked_task_clears_the_block(server, slack, api):
    await slack.command(ADMIN, "assign Disk Encryption to <@U0OWNER>", hook="assign")
    await server.settle()
    await slack.command(OWNER, "block 1 waiting for the MDM vendor", hook="block")
    await server.settle()
    blocked = next(c for c in api.to("response_url") if c.path == "/respond/block")
    labels = [b["text"]["text"] for b in buttons(blocked.blocks())]
    assert labels == ["Done", "Snooze 1 week", "Unblock"]  # the owner, a member: no Reassign
    unblock = next(b for b in buttons(blocked.blocks()) if b["text"]["text"] == "Unblock")
    await slack.press(OWNER, unblock, {"ts": "1800000000.000700", "blocks": blocked.blocks()}, channel="C0TEAM")
    await server.settle()
    task = server.store.task(TEAM_ID, 1)
    assert (task.status, task.blocked_reason) == ("open", "")
    assert "no longer blocked" in visible(api.to("chat.update")[0])


async def test_export_soa_in_slack_attaches_the_workbook_for_admins_only(server, slack, api):
    import io

    import openpyxl

    await slack.command(ADMIN, 'soa set org "Acme Ltd" version 1.2', hook="set")
    await slack.command(OWNER, "export soa", hook="member", channel="C0TEAM")
    await server.settle()
    assert not api.to("files.getUploadURLExternal") and not api.uploads  # a member: refused, nothing sent
    await slack.command(ADMIN, "export soa", hook="admin", channel="C0TEAM")
    await server.settle()
    answer = next(c for c in api.to("response_url") if c.path == "/respond/admin")
    assert "complybot export soa" in visible(answer)
    [completed] = api.to("files.completeUploadExternal")
    assert completed.body["channel_id"] == "C0TEAM"
    [workbook] = api.uploads.values()
    rows = list(openpyxl.load_workbook(io.BytesIO(workbook)).active.iter_rows(values_only=True))
    assert rows[0][:2] == ("Organisation", "Acme Ltd") and sum(1 for r in rows if str(r[0]).startswith("A.")) == 93


async def test_the_control_picker_offers_the_workspaces_own_controls(server, slack, api):
    await slack.command(ADMIN, 'control add "Code Review" iso A.8.28 soc2 CC8.1', hook="add")
    await server.settle()
    status, body = await slack.options(ADMIN, "complybot_control", "code rev", "complybot_assign")
    assert status == 200 and json.loads(body)["options"][0]["value"] == "Code Review"
    status, body = await slack.options(ADMIN, "complybot_control", "A.8.28", "complybot_assign")
    assert [o["value"] for o in json.loads(body)["options"]] == ["Code Review", "A.8.28 itself"]


async def test_lone_surrogates_and_unnormalised_text_are_ordinary_text(server, slack, api):
    """Valid JSON, not encodable in UTF-8: it used to end in "Sorry, that failed on my side"."""
    await slack.direct_message(ADMIN, "assign Disk Encryption to me note \ud800 cafe\u0301")
    await server.settle()
    [post] = api.to("chat.postMessage")
    assert "Assigned Disk Encryption" in visible(post)
    assert server.store.task(TEAM_ID, 1).note == "\ufffd caf\u00e9"  # replaced, and NFC


async def test_the_assign_modal_is_answered_without_waiting_for_a_rate_limited_users_info(server, slack, api):
    """users.info answers 429 (Retry-After 1) to the first look-ups, ~4 s in all: the submission's answer
    (its ack) is decided from the database alone, refusals still show on their field, and the people
    are learnt after the ack."""
    await slack.command(ADMIN, "assign", channel="C0TEAM")
    await server.settle()
    view = api.to("views.open")[0].view()
    assert not api.to("users.info")  # opening the modal looked nobody up
    for _ in range(4):  # the submitter's look-up and the client's three retries; the owner's then works
        api.fail_next("users.info", 429, retry_after=1)
    control = {"complybot_control": {"selected_option": {"value": "Disk Encryption"}}}
    owner = {"owner": {"selected_user": OWNER}}

    status, body = await slack.submit(ADMIN, view, {"control": control, "owner": owner,
                                                    "due": {"due": {"selected_date": "2001-01-01"}}})
    answer = json.loads(body)
    assert status == 200 and list(answer["errors"]) == ["due"] and "past" in answer["errors"]["due"].lower()
    assert len(api.to("users.info!429")) <= 1  # answered before Slack's Retry-After allowed a second try

    status, body = await slack.submit(ADMIN, view, {"control": control, "owner": owner,
                                                    "due": {"due": {"selected_date": "2030-02-01"}}})
    assert status == 200 and "errors" not in body
    assert len(api.to("users.info!429")) <= 2
    task = server.store.task(TEAM_ID, 1)
    assert (task.control, task.owner, str(task.due)) == ("Disk Encryption", OWNER, "2030-02-01")
    assert server.store.person(TEAM_ID, ADMIN).role == "admin"  # the submitter, first of the workspace
    await server.settle()
    [announced] = api.to("chat.postMessage")
    assert announced.body["channel"] == "C0TEAM" and "Assigned Disk Encryption" in visible(announced)
    assert server.store.person(TEAM_ID, OWNER).name == "Olu"  # learnt once Slack answered
