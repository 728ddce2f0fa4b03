"""Forged, malformed and replayed requests at the real server's `/slack/events`: anything Slack did not
sign gets 401 at once and nothing is ever sent anywhere for it (a real listener on 127.0.0.1 named as
the response URL must receive nothing); a signed body that is no Slack payload gets a polite 400; a
signed body may name only Slack's own hosts to be answered at; a replayed command or button press is
acknowledged and does nothing, even after a restart."""
from __future__ import annotations

import asyncio
import json
import logging
import socket
import time
from urllib.parse import urlencode

import pytest
from aiohttp import ClientSession

from bot.runtime import RUNTIME
from tests.fakes.slack_api import (  # noqa: F401 (api, server and slack are fixtures)
    ADMIN, OWNER, SIGNING_SECRET, TEAM_ID, SignedSlack, api, buttons, server, slack, start_slack_server,
)


class Listener:
    """A real TCP listener on 127.0.0.1 that counts every connection and never answers (a silent port
    holds a client that connects until its timeout)."""

    def __init__(self) -> None:
        self.connections = 0
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> "Listener":
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc) -> None:
        assert self._server is not None
        self._server.close()

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}/hook"

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        await reader.read(65536)


def closed_port_url() -> str:
    with socket.socket() as probe:  # a port that was free a moment ago: connecting to it is refused
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}/hook"


def bodies(response_url: str) -> list[tuple[str, str]]:
    """(content type, body) naming `response_url`: a slash command form, JSON, a block_actions payload."""
    form = {"team_id": TEAM_ID, "user_id": ADMIN, "command": "/comply", "text": "assign Disk Encryption to me",
            "channel_id": "C0001", "response_url": response_url, "trigger_id": "trigger.forged"}
    press = {"type": "block_actions", "team": {"id": TEAM_ID}, "user": {"id": ADMIN, "team_id": TEAM_ID},
             "response_url": response_url, "trigger_id": "trigger.forged2", "channel": {"id": "C0001"},
             "actions": [{"type": "button", "action_id": "complybot_0", "value": "status"}]}
    return [("application/x-www-form-urlencoded", urlencode(form)),
            ("application/json", json.dumps({**form, "type": "event_callback"})),
            ("application/x-www-form-urlencoded", urlencode({"payload": json.dumps(press)}))]


def unsigned_headers(body: str) -> list[dict]:
    """Every way a request can fail Slack's signature check."""
    now = str(int(time.time()))
    forger = SignedSlack("http://unused", "not-the-signing-secret").verifier
    genuine = SignedSlack("http://unused", SIGNING_SECRET).verifier
    stale = str(int(time.time()) - 5 * 60 - 5)
    return [
        {"X-Slack-Request-Timestamp": "abc",
         "X-Slack-Signature": genuine.generate_signature(timestamp="abc", body=body)},
        {"X-Slack-Request-Timestamp": "1" + "0" * 400, "X-Slack-Signature": "v0=00"},
        {"X-Slack-Request-Timestamp": now},  # no signature
        {"X-Slack-Signature": genuine.generate_signature(timestamp=now, body=body)},  # no timestamp
        {},
        {"X-Slack-Request-Timestamp": stale,
         "X-Slack-Signature": genuine.generate_signature(timestamp=stale, body=body)},
        {"X-Slack-Request-Timestamp": now, "X-Slack-Signature": forger.generate_signature(timestamp=now, body=body)},
        {"X-Slack-Request-Timestamp": now, "X-Slack-Signature": "v0=" + "0" * 64},
    ]


async def post(session: ClientSession, url: str, body: str | bytes, headers: dict) -> int:
    async with session.post(f"{url}/slack/events", data=body, headers=headers) as response:
        return response.status


async def test_an_unsigned_request_naming_any_response_url_gets_401_and_nothing_is_sent(server, api, caplog):
    caplog.set_level(logging.DEBUG)
    async with Listener() as silent, ClientSession() as session:
        for response_url in (silent.url, closed_port_url(), api.response_url("forged")):
            for content_type, body in bodies(response_url):
                for headers in unsigned_headers(body):
                    status = await post(session, server.url, body, {"Content-Type": content_type, **headers})
                    assert status == 401, (headers, body[:60])
                    # nothing was started that could still send: no lazy listener, no apology
                    assert server.app[RUNTIME].slack_runtime.work.pending == 0
        await server.settle()
        await asyncio.sleep(0.2)  # an outbound connection in flight would reach the listener by now
        assert silent.connections == 0
    assert api.calls == [] and server.store.count_tasks(TEAM_ID) == 0
    loud = [r for r in caplog.records if r.levelno > logging.DEBUG]
    assert loud == [], [(r.levelname, r.getMessage()) for r in loud]


GARBAGE = [("application/json", "{not json"), ("application/json", "[1, 2]"), ("application/json", '"text"'),
           ("application/x-www-form-urlencoded", "payload=notjson"),
           ("application/x-www-form-urlencoded", "payload=%5B1%5D"), ("application/json", "")]


@pytest.mark.parametrize("content_type, body", GARBAGE)
async def test_unsigned_garbage_is_401_and_logs_nothing_above_debug(server, api, caplog, content_type, body):
    caplog.set_level(logging.DEBUG)
    async with ClientSession() as session:
        now = str(int(time.time()))
        for headers in ({}, {"X-Slack-Request-Timestamp": "abc", "X-Slack-Signature": "v0=1"},
                        {"X-Slack-Request-Timestamp": now, "X-Slack-Signature": "v0=" + "0" * 64}):
            assert await post(session, server.url, body, {"Content-Type": content_type, **headers}) == 401
        assert await post(session, server.url, b"\xff\xfe\x00garbage", {"X-Slack-Request-Timestamp": now,
                                                                       "X-Slack-Signature": "v0=1"}) == 401
    loud = [r for r in caplog.records if r.levelno > logging.DEBUG]
    assert loud == [], [(r.levelname, r.getMessage()) for r in loud]


SIGNED_ODD_SHAPES = [  # JSON objects, signed, but not as Slack shapes them (each was a 500 in Bolt or ours)
    ("application/json", '{"type": "event_callback"}'), ("application/json", '{"command": 5, "text": []}'),
    ("application/json", '{"type": "event_callback", "event": "mention"}'),
    ("application/json", '{"type": "event_callback", "authorizations": [1]}'),
    ("application/json", '{"type": "block_actions", "team": 5, "user": {"id": "U1"}}'),
    ("application/x-www-form-urlencoded", "payload=" + json.dumps({"type": "view_submission", "view": []})),
    ("application/json", '{"command": "/comply", "team_id": {"id": "T1"}, "user_id": "U1", "text": "help"}'),
    ("application/json", '{"type": "block_actions", "response_url": 5, "actions": [{"action_id": 1}]}'),
    *(("application/x-www-form-urlencoded", "payload=" + json.dumps(
        {"type": kind, "team": {"id": "T0001"}, "user": {"id": "U0001"}, "view": view}))
      for kind in ("view_submission", "view_closed")
      for view in ({"type": "modal", "callback_id": "complybot_assign"}, {"id": "V1", "callback_id": "complybot_assign"},
                   {"type": "modal", "callback_id": "complybot_evidence"}, {"id": "V1", "callback_id": "complybot_evidence"})),
    ("application/json", '{"type": "event_callback", "team_id": "T0001", "event": {"user": "U1", "text": "hi"}}'),
    *(("application/x-www-form-urlencoded", "payload=" + json.dumps(
        {"type": kind, "team": {"id": "T0001"}, "user": {"id": "U0001"}, "trigger_id": "t.1", **extra}))
      for kind, extra in (("block_actions", {"actions": []}), ("block_actions", {}), ("shortcut", {}),
                          ("message_action", {}), ("block_actions", {"actions": [{"block_id": "b"}]}))),
]


@pytest.mark.parametrize("content_type, body", GARBAGE + SIGNED_ODD_SHAPES)
async def test_signed_garbage_gets_a_polite_4xx_never_a_500(server, slack, api, caplog, content_type, body):
    status, text = await slack.post(body, content_type)
    assert 400 <= status < 500, (status, text)
    await server.settle()
    assert "Traceback" not in text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_a_signed_request_is_answered_only_on_slacks_hosts(server, slack, api):
    async with Listener() as listener:
        form = {"team_id": TEAM_ID, "user_id": ADMIN, "command": "/comply", "text": "help", "channel_id": "C0001",
                "response_url": listener.url, "trigger_id": "trigger.elsewhere"}
        status, _ = await slack.post(urlencode(form), "application/x-www-form-urlencoded")
        assert status == 200
        await server.settle()
        await asyncio.sleep(0.2)
        assert listener.connections == 0
    assert not api.to("response_url")
    async with ClientSession() as session, session.get(f"{server.url}/healthz") as health:
        assert (await health.json())["slack"]["answers_refused"] == 1


@pytest.mark.parametrize("url, answered", [
    ("https://hooks.slack.com/commands/T0001/1/abc", True), ("https://hooks.slack-gov.com/actions/T0001/1/abc", True),
    ("https://HOOKS.SLACK.COM/commands/T0001/1/abc", True), ("http://127.0.0.1:5555/respond/x", True),
    ("http://hooks.slack.com/commands/x", False), ("https://hooks.slack.com.evil.example/x", False),
    ("https://hooks.slack.com@evil.example/x", False), ("https://evil.example\\@hooks.slack.com/x", False),
    ("https://user:pw@hooks.slack.com/x", False), ("https://hooks.slack.com:8443/x", False),
    ("http://127.0.0.1:5556/respond/x", False), ("http://localhost:5555/respond/x", False),
    ("javascript:alert(1)", False), ("", False), (None, False), (5, False),
])
def test_only_slacks_hosts_and_the_configured_api_origin_are_answered(url, answered):
    from bot.slack.response_urls import origin, trusted_origins

    assert (origin(url) in trusted_origins("http://127.0.0.1:5555/api/")) is answered


def evidence_command(api) -> str:
    return urlencode({"token": "legacy", "team_id": TEAM_ID, "team_domain": "acme", "channel_id": "C0001",
                      "user_id": ADMIN, "command": "/comply", "text": "evidence 1 https://drive.example/q3 Q3 report",
                      "response_url": api.response_url("evidence"), "trigger_id": "trigger.evidence"})


async def test_a_replayed_slash_command_runs_once_even_after_a_restart(tmp_path, server, slack, api):
    await slack.command(ADMIN, "assign Disk Encryption to me")
    await server.settle()
    body = evidence_command(api)
    stamp = int(time.time())
    for _ in range(3):  # the same signed bytes, three times within the five minutes
        status, _ = await slack.post(body, "application/x-www-form-urlencoded", timestamp=stamp)
        assert status == 200
    # Slack-style re-delivery: signed anew (a later timestamp), marked as a retry, same trigger
    status, _ = await slack.post(body, "application/x-www-form-urlencoded", {"X-Slack-Retry-Num": "1"},
                                 timestamp=stamp + 2)
    assert status == 200
    await server.settle()
    assert len(server.store.task(TEAM_ID, 1).evidence) == 1
    assert len([c for c in api.to("response_url") if c.path == "/respond/evidence"]) == 1

    await server.stop()
    restarted = await start_slack_server(tmp_path / "complybot.db", api)
    try:
        async with SignedSlack(restarted.url, SIGNING_SECRET, api) as again:
            status, _ = await again.post(body, "application/x-www-form-urlencoded", timestamp=stamp)
        assert status == 200
        await restarted.settle()
        assert len(restarted.store.task(TEAM_ID, 1).evidence) == 1
    finally:
        await restarted.stop()


async def test_a_replayed_button_press_does_nothing_the_second_time(server, slack, api):
    await slack.command(ADMIN, "assign Disk Encryption to <@U0OWNER>", hook="assign")
    await server.settle()
    blocks = api.to("response_url")[0].blocks()
    done = next(b for b in buttons(blocks) if b["text"]["text"] == "Done")
    payload = {"type": "block_actions", "team": {"id": TEAM_ID, "domain": "acme"}, "api_app_id": "A0001",
               "token": "legacy", "trigger_id": "trigger.press1", "user": {"id": OWNER, "team_id": TEAM_ID},
               "actions": [{"type": "button", "action_id": done["action_id"], "block_id": done["block_id"],
                            "value": done["value"], "action_ts": "1800000000.1"}],
               "channel": {"id": "C0TEAM"}, "response_url": api.response_url("press"),
               "container": {"type": "message", "is_ephemeral": True}, "message": {"ts": "", "blocks": blocks}}
    body = urlencode({"payload": json.dumps(payload)})
    stamp = int(time.time())
    for _ in range(3):
        status, _ = await slack.post(body, "application/x-www-form-urlencoded", timestamp=stamp)
        assert status == 200
    await server.settle()
    assert server.store.task(TEAM_ID, 1).status == "done"
    # one answer: a second run would have answered again ("already done")
    assert len([c for c in api.to("response_url") if c.path == "/respond/press"]) == 1
    assert [e.action for e in server.store.events(TEAM_ID)].count("done") == 1
