"""Slack security on the real server: forged or stale requests are refused, retried events do nothing
twice (even after a restart), user text cannot make the bot post a broadcast or a disguised link, and
a member cannot finish someone else's task with a button."""
from __future__ import annotations

import json
import time

from tests.fakes.slack_api import (  # noqa: F401 (api, server and slack are fixtures)
    ADMIN, MEMBER, SIGNING_SECRET, TEAM_ID, SignedSlack, api, buttons, server, slack, start_slack_server,
)


async def test_a_bad_signature_is_refused_and_nothing_runs(server, api):
    async with SignedSlack(server.url, "not-the-signing-secret", api) as forger:
        status, _ = await forger.command(ADMIN, "assign Disk Encryption to me")
        assert status == 401
        status, _ = await forger.mention(ADMIN, "status")
        assert status == 401
    await server.settle()
    assert api.calls == [] and server.store.count_tasks(TEAM_ID) == 0


async def test_a_request_without_signature_headers_is_refused(server):
    from aiohttp import ClientSession

    async with ClientSession() as session:
        async with session.post(f"{server.url}/slack/events", json={"type": "url_verification",
                                                                     "challenge": "x"}) as response:
            assert response.status == 401


async def test_a_request_older_than_five_minutes_is_refused(server, slack, api):
    stale = int(time.time()) - 5 * 60 - 5
    status, _ = await slack.command(ADMIN, "assign Disk Encryption to me", timestamp=stale)
    assert status == 401
    fresh_enough = int(time.time()) - 4 * 60
    status, _ = await slack.command(ADMIN, "help", timestamp=fresh_enough)
    assert status == 200  # the same request inside the window is fine: the clock check is the reason
    await server.settle()
    assert server.store.count_tasks(TEAM_ID) == 0


async def test_a_retried_event_makes_no_second_task_even_after_a_restart(tmp_path, server, slack, api):
    await slack.mention(ADMIN, "assign Disk Encryption to <@U0OWNER>", event_id="Ev0RETRY1")
    await server.settle()
    assert server.store.count_tasks(TEAM_ID) == 1
    status, _ = await slack.mention(ADMIN, "assign Disk Encryption to <@U0OWNER>", event_id="Ev0RETRY1",
                                    retry_num=1)
    assert status == 200  # acknowledged, so Slack stops retrying
    await server.settle()
    assert server.store.count_tasks(TEAM_ID) == 1
    assert len(api.to("chat.postMessage")) == 1  # and no second answer either

    await server.stop()
    restarted = await start_slack_server(tmp_path / "complybot.db", api)
    try:
        async with SignedSlack(restarted.url, SIGNING_SECRET, api) as again:
            status, _ = await again.mention(ADMIN, "assign Disk Encryption to <@U0OWNER>", event_id="Ev0RETRY1",
                                            retry_num=2)
        assert status == 200
        await restarted.settle()
        assert restarted.store.count_tasks(TEAM_ID) == 1
        assert len(api.to("chat.postMessage")) == 1
    finally:
        await restarted.stop()


async def test_broadcasts_and_disguised_links_in_user_text_are_not_posted_as_markup(server, slack, api):
    # Slack sends typed `<` and `>` as entities and a typed @channel as <!channel>; both come back as text
    text = "assign &lt;!channel&gt; <!here> &lt;https://evil.example|your bonus&gt; to <@U0OWNER>"
    await slack.mention(ADMIN, text, channel="C0TEAM")
    await server.settle()
    posts = api.to("chat.postEphemeral") + api.to("chat.postMessage")
    assert posts
    sent = "".join(call.body.get("text", "") + json.dumps(call.blocks()) for call in posts)
    assert "&lt;!channel&gt;" in sent  # the reply quotes what was typed, shown as the characters typed
    for markup in ("<!channel>", "<!here>", "<https://evil"):
        assert markup not in sent
    assert server.store.count_tasks(TEAM_ID) == 0


async def test_a_member_pressing_done_on_someone_elses_task_is_refused_and_nothing_changes(server, slack, api):
    await slack.command(ADMIN, "assign Disk Encryption to <@U0OWNER>", hook="assign")
    await slack.direct_message(MEMBER, "help")  # the member is known to the workspace
    await server.settle()
    done = next(b for b in buttons(api.to("response_url")[0].blocks()) if b["text"]["text"] == "Done")
    before = server.store.dump()

    message = {"ts": "1800000000.000500", "blocks": api.to("response_url")[0].blocks()}
    status, _ = await slack.press(MEMBER, done, message, channel="C0TEAM", hook="refused")
    assert status == 200
    await server.settle()
    [refusal] = [c for c in api.to("response_url") if c.path == "/respond/refused"]
    assert refusal.body["response_type"] == "ephemeral" and refusal.body["replace_original"] is False
    assert "belongs to @Olu" in refusal.body["text"]
    assert not api.to("chat.update")  # the shared message is left as it was
    assert server.store.dump() == before
    assert server.store.task(TEAM_ID, 1).status == "open"


async def test_slacks_url_verification_is_answered_when_signed(server, slack):
    status, body = await slack.post(json.dumps({"type": "url_verification", "challenge": "c-123",
                                                "token": "legacy"}), "application/json")
    assert status == 200 and "c-123" in body
