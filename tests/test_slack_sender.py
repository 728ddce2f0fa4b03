"""Proactive Slack messages (nudges, digests) through the server's Slack sender, with Slack's retry
rules; and distribution to many workspaces through Bolt's OAuth flow with installations in our SQLite."""
from __future__ import annotations

import re

import pytest
from aiohttp import ClientSession
from slack_sdk.errors import SlackApiError

from bot.runtime import RUNTIME
from handlers.types import Action, Outgoing, Reply, Section
from tests.fakes.slack_api import (  # noqa: F401 (api and server are fixtures)
    ADMIN, OWNER, SIGNING_SECRET, TEAM_ID, SignedSlack, api, buttons, server, start_slack_server,
)

NUDGE = Reply("Reminder: task 1 is due tomorrow.",
              sections=(Section("#1 Disk Encryption", ("Due tomorrow",), actions=(Action("Done", "done 1", "primary"),)),),
              kind="nudge")


async def test_a_nudge_goes_to_the_persons_dm_with_buttons(server, api):
    sender = server.app[RUNTIME].senders["slack"]
    await sender.send(Outgoing(workspace=TEAM_ID, user=ADMIN, reply=NUDGE, platform="slack"))
    [opened] = api.to("conversations.open")
    assert opened.body["users"] == ADMIN
    [post] = api.to("chat.postMessage")
    assert post.body["channel"] == "D0ADMIN"
    assert post.body["text"] == "Reminder: task 1 is due tomorrow."
    assert [b["value"] for b in buttons(post.blocks())] == ["done 1"]


async def test_a_digest_goes_to_its_channel(server, api):
    await server.app[RUNTIME].senders["slack"].send(Outgoing(workspace=TEAM_ID, channel="C0DIGEST", reply=NUDGE))
    assert [c.body["channel"] for c in api.to("chat.postMessage")] == ["C0DIGEST"]
    assert not api.to("conversations.open")


async def test_rate_limits_and_server_errors_are_retried_and_one_message_arrives(server, api):
    api.fail_next("chat.postMessage", 429, retry_after=0)
    api.fail_next("chat.postMessage", 500)
    api.fail_next("conversations.open", 503)
    await server.app[RUNTIME].senders["slack"].send(Outgoing(workspace=TEAM_ID, user=ADMIN, reply=NUDGE))
    assert [c.method for c in api.calls if c.method.startswith("chat.")] == [
        "chat.postMessage!429", "chat.postMessage!500", "chat.postMessage"]
    assert len(api.to("chat.postMessage")) == 1


async def test_a_send_that_keeps_failing_raises_so_the_caller_can_retry_later(server, api):
    for _ in range(3):
        api.fail_next("chat.postMessage", 500)
    with pytest.raises(SlackApiError):
        await server.app[RUNTIME].senders["slack"].send(Outgoing(workspace=TEAM_ID, channel="C0X", reply=NUDGE))
    assert not api.to("chat.postMessage")


async def test_oauth_install_keeps_the_installation_and_serves_that_workspace(tmp_path, api):
    server = await start_slack_server(tmp_path / "complybot.db", api, SLACK_BOT_TOKEN="",
                                      SLACK_CLIENT_ID="1234.5678", SLACK_CLIENT_SECRET="client-secret")
    try:
        async with ClientSession() as browser:
            async with browser.get(f"{server.url}/slack/install") as page:
                assert page.status == 200
                html = await page.text()
            state = re.search(r"state=([\w-]+)", html).group(1)
            assert "client_id=1234.5678" in html and "chat%3Awrite" in html.replace(":", "%3A")
            assert f"{api.root_url}oauth/v2/authorize?" in html  # next to SLACK_API_URL, not slack.com
            async with browser.get(f"{server.url}/slack/oauth_redirect?code=forged&state=wrong",
                                   headers={"Cookie": f"slack-app-oauth-state={state}"}) as refused:
                assert refused.status >= 400
            assert server.store.db.execute("SELECT COUNT(*) FROM slack_installations").fetchone()[0] == 0
            async with browser.get(f"{server.url}/slack/oauth_redirect?code=c0de&state={state}",
                                   headers={"Cookie": f"slack-app-oauth-state={state}"}) as done:
                assert done.status == 200
        [exchange] = api.to("oauth.v2.access")
        assert exchange.body["code"] == "c0de"
        assert server.store.db.execute("SELECT team_id FROM slack_installations").fetchall() == [(TEAM_ID,)]

        async with SignedSlack(server.url, SIGNING_SECRET, api) as slack:
            await slack.direct_message(ADMIN, "help")
        await server.settle()
        [answer] = api.to("chat.postMessage")
        assert answer.token == "xoxb-installed"  # the installed workspace's own bot token
        await server.app[RUNTIME].senders["slack"].send(Outgoing(workspace=TEAM_ID, channel="C0D", reply=NUDGE))
        assert api.to("chat.postMessage")[-1].token == "xoxb-installed"
        with pytest.raises(LookupError):
            await server.app[RUNTIME].senders["slack"].send(Outgoing(workspace="T0OTHER", channel="C0D", reply=NUDGE))

        async with SignedSlack(server.url, SIGNING_SECRET, api) as slack:  # the workspace removes the app
            status, _ = await slack.event({"type": "app_uninstalled"})
        assert status == 200
        await server.settle()
        assert server.store.db.execute("SELECT COUNT(*) FROM slack_installations").fetchone()[0] == 0
        with pytest.raises(LookupError):
            await server.app[RUNTIME].senders["slack"].send(Outgoing(workspace=TEAM_ID, channel="C0D", reply=NUDGE))
    finally:
        await server.stop()


async def start_oauth_server(tmp_path, api):
    return await start_slack_server(tmp_path / "complybot.db", api, SLACK_BOT_TOKEN="",
                                    SLACK_CLIENT_ID="1234.5678", SLACK_CLIENT_SECRET="client-secret")


async def oauth_install(server) -> int:
    """A browser through `/slack/install` and Slack's redirect back; the redirect's status."""
    async with ClientSession() as browser:
        async with browser.get(f"{server.url}/slack/install") as page:
            state = re.search(r"state=([\w-]+)", await page.text()).group(1)
        async with browser.get(f"{server.url}/slack/oauth_redirect?code=c0de&state={state}",
                               headers={"Cookie": f"slack-app-oauth-state={state}"}) as done:
            return done.status


async def test_the_installing_user_is_the_workspaces_first_admin_not_the_first_to_talk(tmp_path, api):
    api.installer = OWNER
    server = await start_oauth_server(tmp_path, api)
    try:
        assert await oauth_install(server) == 200
        async with SignedSlack(server.url, SIGNING_SECRET, api) as slack:
            await slack.direct_message(ADMIN, "help")  # someone else speaks first
        await server.settle()
        assert server.store.person(TEAM_ID, OWNER).role == "admin"
        assert server.store.person(TEAM_ID, ADMIN).role == "member"
        assert await oauth_install(server) == 200  # a reinstall changes no role
        assert server.store.person(TEAM_ID, ADMIN).role == "member"
    finally:
        await server.stop()


async def test_install_page_hits_keep_a_bounded_number_of_states_and_the_newest_still_installs(tmp_path, api):
    from bot.slack.installations import MAX_LIVE_STATES

    server = await start_oauth_server(tmp_path, api)
    try:
        async with ClientSession() as browser:
            states = []
            for _ in range(MAX_LIVE_STATES + 50):  # anyone may open the install page, as often as they like
                async with browser.get(f"{server.url}/slack/install") as page:
                    states.append(re.search(r"state=([\w-]+)", await page.text()).group(1))
            assert server.store.db.execute("SELECT COUNT(*) FROM slack_oauth_states").fetchone()[0] == MAX_LIVE_STATES
            async with browser.get(f"{server.url}/slack/oauth_redirect?code=c0de&state={states[0]}",
                                   headers={"Cookie": f"slack-app-oauth-state={states[0]}"}) as oldest:
                assert oldest.status >= 400  # expired to make room
            async with browser.get(f"{server.url}/slack/oauth_redirect?code=c0de&state={states[-1]}",
                                   headers={"Cookie": f"slack-app-oauth-state={states[-1]}"}) as newest:
                assert newest.status == 200
        assert server.store.db.execute("SELECT team_id FROM slack_installations").fetchall() == [(TEAM_ID,)]
    finally:
        await server.stop()


async def test_socket_mode_receives_events_over_the_websocket_and_serves_no_http_route(tmp_path, api):
    server = await start_slack_server(tmp_path / "complybot.db", api, SLACK_SIGNING_SECRET="",
                                      SLACK_APP_TOKEN="xapp-1-test")
    try:
        [connect] = await api.wait_for("apps.connections.open")
        assert connect.token == "xapp-1-test"
        assert api.sockets, "the server did not open the Socket Mode connection"
        async with ClientSession() as session:  # without a signing secret nothing is accepted over HTTP
            async with session.post(f"{server.url}/slack/events", data="{}") as response:
                assert response.status in (404, 405)
        event = {"type": "message", "channel_type": "im", "user": ADMIN, "text": "help", "ts": "1.1",
                 "channel": "D0SOCKET"}
        await api.push({"envelope_id": "env-1", "type": "events_api", "accepts_response_payload": False,
                        "payload": {"type": "event_callback", "team_id": TEAM_ID, "event_id": "Ev0SOCKET",
                                    "event": event, "api_app_id": "A0001"}})
        [ack] = await api.wait_for("socket_ack")
        assert ack.body["envelope_id"] == "env-1"
        [post] = await api.wait_for("chat.postMessage")
        assert post.body["channel"] == "D0SOCKET" and "Commands" in post.body["text"] + str(post.blocks())
    finally:
        await server.stop()
