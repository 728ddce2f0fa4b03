"""A fake Slack Web API and a fake Slack sender of signed requests, for tests and benchmarks.

`FakeSlackAPI` is an aiohttp app on 127.0.0.1 (port 0) that answers the Web API methods complybot uses
the way Slack does and records every call (method, body, token). Like Slack, it refuses blocks and
views that slack_sdk's Block Kit models reject (`invalid_blocks`, `invalid_arguments`; 400 on a
response URL), so every end-to-end test checks what it sends. `fail_next` makes it answer 429 with
Retry-After, 500 or 503, or drop the connection, for retry tests; `fail_rate` fails that share of all
calls at random (benchmarks). It also records posts to response URLs (`/respond/...`, method
"response_url", which `fail_next` and `fail_rate` fail too), which tests put into slash command and
interactivity payloads.

`SignedSlack` posts events, slash commands, interactions and options to the server under test, signed
exactly as Slack signs them (v0 HMAC-SHA256 via slack_sdk's SignatureVerifier).
"""
from __future__ import annotations

import asyncio
import itertools
import json
import random
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from aiohttp import ClientSession, web
from slack_sdk.signature import SignatureVerifier

from bot.runtime import RUNTIME
from tests.fakes.loopback import forbid_internet, serve_on_loopback

TEAM_ID = "T0001"
DROP = 0  # a `fail_next` status: the connection is closed without an answer
BOT_USER_ID = "UBOT"
BOT_ID = "BBOT"


@dataclass
class Call:
    method: str  # Web API method ("chat.postMessage") or "response_url"
    body: dict[str, Any]
    token: str = ""
    path: str = ""

    def blocks(self) -> list[dict]:
        blocks = self.body.get("blocks") or self.body.get("view", {}).get("blocks") or []
        return json.loads(blocks) if isinstance(blocks, str) else blocks

    def view(self) -> dict:
        view = self.body.get("view") or {}
        return json.loads(view) if isinstance(view, str) else view

    def all_text(self) -> str:
        """Everything a person could see in this call, as one string (for assertions)."""
        return json.dumps(self.body, ensure_ascii=False)


@dataclass
class FakeSlackAPI:
    users: dict[str, dict] = field(default_factory=dict)  # user id -> users.info "user" object
    installer: str = "U0001"  # oauth.v2.access's authed_user: who installed the app
    calls: list[Call] = field(default_factory=list)
    uneditable: set = field(default_factory=set)  # message ts that chat.update refuses (cant_update_message)
    teams_by_token: dict[str, str] = field(default_factory=dict)  # bot token -> its workspace (auth.test)
    outside: set = field(default_factory=set)  # channels the bot is not in: no ephemeral posts, no permalinks
    sockets: list = field(default_factory=list)  # Socket Mode connections (web.WebSocketResponse)
    arrival_times: dict[str, float] = field(default_factory=dict)  # response URL path -> first arrival (perf_counter)
    uploads: dict[str, bytes] = field(default_factory=dict)  # file id -> the bytes a files_upload_v2 sent
    channel_members: dict[str, list[str]] = field(default_factory=dict)  # channel id -> user ids (conversations.members)
    channel_names: dict[str, str] = field(default_factory=dict)  # channel id -> name (conversations.list)
    fail_rate: float = 0.0  # share of calls (Web API and response URLs) answered with a random failure
    _failures: list[tuple[str, int, int]] = field(default_factory=list)
    _random: random.Random = field(default_factory=lambda: random.Random(10))  # seeded: runs compare
    _ts = itertools.count(1)
    _changed: asyncio.Condition | None = None
    _runner: web.AppRunner | None = None
    base_url: str = ""
    root_url: str = ""

    async def start(self) -> "FakeSlackAPI":
        app = web.Application()
        app.router.add_post("/api/{method}", self._api)
        app.router.add_get("/api/{method}", self._api)  # users.info and a few others are GET
        app.router.add_post("/respond/{hook}", self._response_url)
        app.router.add_post("/upload/{file_id}", self._upload)  # where files.getUploadURLExternal points
        app.router.add_get("/socket", self._socket)  # Socket Mode: the URL apps.connections.open hands out
        self._changed = asyncio.Condition()
        self._runner, self.root_url = await serve_on_loopback(app)
        self.base_url = f"{self.root_url}api/"  # what SLACK_API_URL / AsyncWebClient(base_url=...) take
        return self

    async def stop(self) -> None:
        if self._runner:
            await self._runner.cleanup()

    def response_url(self, hook: str = "hook") -> str:
        return f"{self.root_url}respond/{hook}"

    def fail_next(self, method: str, status: int = 429, retry_after: int = 0) -> None:
        """The next call of `method` ("response_url" for any response URL) gets `status` (429 with
        Retry-After, 500, 503) instead of an answer; status DROP closes the connection unanswered."""
        self._failures.append((method, status, retry_after))

    async def _failure(self, request: web.Request, method: str, body: dict) -> web.StreamResponse | None:
        """The failure this call gets (`fail_next`, then `fail_rate`), recorded as `method!status`; None
        when it is to be answered."""
        failure = next(((i, f) for i, f in enumerate(self._failures) if f[0] == method), None)
        if failure is not None:
            del self._failures[failure[0]]
            _, status, retry_after = failure[1]
        elif self.fail_rate and self._random.random() < self.fail_rate:
            status, retry_after = self._random.choice((429, 500, 503, DROP)), 0
        else:
            return None
        await self._record(Call(f"{method}!{status}", body, path=request.path))
        if status == DROP:
            request.transport.abort()  # the client sees the connection close with no answer
            return web.Response(status=500)
        headers = {"Retry-After": str(retry_after)} if status == 429 else {}
        return web.json_response({"ok": False, "error": "ratelimited" if status == 429 else "fatal_error"},
                                 status=status, headers=headers)

    def add_user(self, user_id: str, name: str, email: str = "", tz: str = "Europe/Berlin", team_id: str = "") -> None:
        """A person of the workspace (of another organisation's, Slack Connect, with `team_id`)."""
        self.users[user_id] = {
            "id": user_id, "team_id": team_id or TEAM_ID, "name": name.lower(), "real_name": name, "tz": tz,
            "is_bot": False, "profile": {"display_name": name, "real_name": name, "email": email},
        }

    def to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    async def wait_for(self, method: str, count: int = 1, timeout: float = 5.0) -> list[Call]:
        """Wait until `method` has been called `count` times; the calls so far."""
        assert self._changed is not None

        async def enough() -> None:
            async with self._changed:
                await self._changed.wait_for(lambda: len(self.to(method)) >= count)

        try:
            await asyncio.wait_for(enough(), timeout)
        except TimeoutError:
            raise AssertionError(f"{method} called {len(self.to(method))} times, wanted {count}: "
                                 f"{[c.method for c in self.calls]}") from None
        return self.to(method)

    async def _record(self, call: Call) -> None:
        assert self._changed is not None
        async with self._changed:
            self.calls.append(call)
            self._changed.notify_all()

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        body = await _body(request)
        token = request.headers.get("Authorization", "").removeprefix("Bearer ") or body.pop("token", "")
        failed = await self._failure(request, method, body)
        if failed is not None:
            return failed
        await self._record(Call(method, body, token))
        if not token:
            return web.json_response({"ok": False, "error": "not_authed"})
        return web.json_response(self._answer(method, body, token))

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        """Socket Mode as Slack runs it: `hello`, then envelopes pushed with `push`; acks are recorded."""
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        self.sockets.append(socket)
        await socket.send_json({"type": "hello", "num_connections": 1, "debug_info": {"host": "fake"}})
        async for frame in socket:
            if frame.type == web.WSMsgType.TEXT:
                await self._record(Call("socket_ack", json.loads(frame.data)))
        return socket

    async def push(self, envelope: dict) -> None:
        """Send a Socket Mode envelope (events_api, slash_commands, interactive) to the connected app."""
        await self.sockets[-1].send_json(envelope)

    async def _upload(self, request: web.Request) -> web.Response:
        self.uploads[request.match_info["file_id"]] = await request.read()
        return web.Response(text="OK - uploaded")

    async def _response_url(self, request: web.Request) -> web.StreamResponse:
        body = await _body(request)
        failed = await self._failure(request, "response_url", body)
        if failed is not None:
            return failed
        if _invalid_payload("chat.respond", body):  # Slack answers 400 and shows nothing
            await self._record(Call("response_url!400", body, path=request.path))
            return web.Response(status=400, text="invalid_blocks")
        self.arrival_times.setdefault(request.path, time.perf_counter())
        await self._record(Call("response_url", body, path=request.path))
        return web.Response(text="ok")

    def _answer(self, method: str, body: dict, token: str = "") -> dict:
        ts = f"{int(time.time())}.{next(self._ts):06d}"
        refused = _invalid_payload(method, body)
        if refused:
            return {"ok": False, "error": refused}
        if method == "auth.test":
            return {"ok": True, "url": "https://acme.slack.com/", "team": "Acme", "user": "complybot",
                    "team_id": self.teams_by_token.get(token, TEAM_ID), "user_id": BOT_USER_ID, "bot_id": BOT_ID,
                    "is_enterprise_install": False}
        if method == "chat.postMessage":
            return {"ok": True, "channel": body.get("channel"), "ts": ts,
                    "message": {"text": body.get("text", ""), "ts": ts, "bot_id": BOT_ID}}
        if method == "chat.update":
            if body.get("ts") in self.uneditable:
                return {"ok": False, "error": "cant_update_message"}
            return {"ok": True, "channel": body.get("channel"), "ts": body.get("ts"), "text": body.get("text", "")}
        if method in ("chat.postEphemeral", "chat.getPermalink") and body.get("channel") in self.outside:
            return {"ok": False, "error": "channel_not_found"}
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": ts}
        if method == "chat.getPermalink":
            channel, message_ts = body.get("channel", ""), body.get("message_ts", "")
            if not channel or not message_ts:
                return {"ok": False, "error": "invalid_arguments"}
            return {"ok": True, "channel": channel,
                    "permalink": f"https://acme.slack.com/archives/{channel}/p{message_ts.replace('.', '')}"}
        if method == "assistant.threads.setSuggestedPrompts":
            prompts = body.get("prompts")
            prompts = json.loads(prompts) if isinstance(prompts, str) else prompts
            if not body.get("channel_id") or not prompts or len(prompts) > 4 or \
                    any(set(p) != {"title", "message"} for p in prompts):
                return {"ok": False, "error": "invalid_arguments"}
            return {"ok": True}
        if method in ("views.open", "views.publish", "views.update", "views.push"):
            view = body.get("view") or {}
            view = json.loads(view) if isinstance(view, str) else view
            return {"ok": True, "view": {**view, "id": f"V{next(self._ts):08d}", "team_id": TEAM_ID}}
        if method == "users.info":
            user = self.users.get(body.get("user", ""))
            return {"ok": True, "user": user} if user else {"ok": False, "error": "user_not_found"}
        if method == "users.list":  # paged like Slack: `limit` per page, then response_metadata.next_cursor
            return self._page("members", list(self.users.values()), body)
        if method == "conversations.list":
            return self._page("channels", [{"id": i, "name": n} for i, n in self.channel_names.items()], body)
        if method == "conversations.members":
            return self._page("members", self.channel_members.get(body.get("channel", ""), []), body)
        if method == "conversations.open":
            users = str(body.get("users", ""))
            return {"ok": True, "channel": {"id": "D" + users.split(",")[0].removeprefix("U")}}
        if method == "files.getUploadURLExternal":
            file_id = f"F{next(self._ts):08d}"
            return {"ok": True, "upload_url": f"{self.root_url}upload/{file_id}", "file_id": file_id}
        if method == "files.completeUploadExternal":
            files = body.get("files")
            files = json.loads(files) if isinstance(files, str) else files or []
            return {"ok": True, "files": [{"id": f["id"], "title": f.get("title", "")} for f in files]}
        if method == "apps.connections.open":
            return {"ok": True, "url": self.root_url.replace("http://", "ws://") + "socket"}
        if method == "oauth.v2.access":
            return {"ok": True, "access_token": "xoxb-installed", "token_type": "bot", "scope": "commands",
                    "bot_user_id": BOT_USER_ID, "app_id": "A0001", "team": {"id": TEAM_ID, "name": "Acme"},
                    "enterprise": None, "is_enterprise_install": False,
                    "authed_user": {"id": self.installer, "scope": "", "access_token": None, "token_type": None}}
        return {"ok": False, "error": "unknown_method"}


    @staticmethod
    def _page(name: str, items: list, body: dict) -> dict:
        start, limit = int(body.get("cursor") or 0), int(body.get("limit") or 100)
        following = str(start + limit) if start + limit < len(items) else ""
        return {"ok": True, name: items[start:start + limit], "response_metadata": {"next_cursor": following}}


def _invalid_payload(method: str, body: dict) -> str:
    """Slack's error for blocks or a view it would refuse ('' when fine), checked with slack_sdk's models."""
    from slack_sdk.errors import SlackObjectFormationError
    from slack_sdk.models.blocks import Block
    from slack_sdk.models.views import View

    def loaded(value):
        return json.loads(value) if isinstance(value, str) else value

    try:
        if method.startswith("views.") and body.get("view"):
            View(**loaded(body["view"])).to_dict()
        elif method.startswith("chat.") and body.get("blocks"):
            if any(Block.parse(block) is None or not Block.parse(block).to_dict() for block in loaded(body["blocks"])):
                return "invalid_blocks"
    except (SlackObjectFormationError, TypeError, KeyError, ValueError):
        return "invalid_arguments" if method.startswith("views.") else "invalid_blocks"
    return ""


async def _body(request: web.Request) -> dict[str, Any]:
    if request.method == "GET":
        body = {}
    elif request.content_type == "application/json":
        body = await request.json()
    else:
        body = dict(await request.post())
    return {**dict(request.query), **body}


class SignedSlack:
    """Sends requests to the server under test the way Slack does: signed, with Slack's body formats."""

    def __init__(self, server_url: str, signing_secret: str, api: FakeSlackAPI | None = None):
        self.url = server_url.rstrip("/") + "/slack/events"
        self.verifier = SignatureVerifier(signing_secret)
        self.api = api
        self.session: ClientSession | None = None
        self._ids = itertools.count(1)

    async def __aenter__(self) -> "SignedSlack":
        self.session = ClientSession()
        return self

    async def __aexit__(self, *exc) -> None:
        if self.session:
            await self.session.close()

    def headers(self, body: str, timestamp: int | None = None, content_type: str = "application/json") -> dict:
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        return {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": self.verifier.generate_signature(timestamp=stamp, body=body),
        }

    async def post(self, body: str, content_type: str, extra_headers: dict | None = None,
                   timestamp: int | None = None) -> tuple[int, str]:
        assert self.session is not None
        headers = {**self.headers(body, timestamp, content_type), **(extra_headers or {})}
        async with self.session.post(self.url, data=body.encode(), headers=headers) as response:
            return response.status, await response.text()

    async def event(self, event: dict, event_id: str | None = None, retry_num: int | None = None,
                    team: str = TEAM_ID) -> tuple[int, str]:
        event_id = event_id or f"Ev{next(self._ids):08d}"
        envelope = {
            "token": "legacy", "team_id": team, "api_app_id": "A0001", "type": "event_callback",
            "event_id": event_id, "event_time": int(time.time()), "event": event,
            "authorizations": [{"team_id": team, "user_id": BOT_USER_ID, "is_bot": True}],
        }
        headers = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": "http_timeout"} if retry_num else {}
        return await self.post(json.dumps(envelope), "application/json", headers)

    async def mention(self, user: str, text: str, channel: str = "C0001", thread_ts: str | None = None,
                      **kwargs) -> tuple[int, str]:
        ts = f"{int(time.time())}.{next(self._ids):06d}"
        event = {"type": "app_mention", "user": user, "text": f"<@{BOT_USER_ID}> {text}", "ts": ts,
                 "channel": channel, "event_ts": ts, "team": TEAM_ID}
        if thread_ts:
            event["thread_ts"] = thread_ts
        return await self.event(event, **kwargs)

    async def app_home_opened(self, user: str, tab: str = "home") -> tuple[int, str]:
        """The person opened the app's Home tab or its Messages tab (their DM with the bot)."""
        return await self.event({"type": "app_home_opened", "user": user, "channel": "D" + user.removeprefix("U"),
                                 "tab": tab, "event_ts": f"{int(time.time())}.{next(self._ids):06d}"})

    async def direct_message(self, user: str, text: str, channel: str = "", **extra) -> tuple[int, str]:
        """In the person's DM with the bot: by default the one id Slack keeps for it (as conversations.open
        and app_home_opened give it), since the bot keeps a DM id an event brings (bot/slack/dm_channels)."""
        ts = f"{int(time.time())}.{next(self._ids):06d}"
        event = {"type": "message", "channel_type": "im", "user": user, "text": text, "ts": ts,
                 "channel": channel or "D" + user.removeprefix("U"), "event_ts": ts, "team": TEAM_ID, **extra}
        return await self.event(event)

    async def command(self, user: str, text: str, channel: str = "C0001", timestamp: int | None = None,
                      hook: str = "cmd") -> tuple[int, str]:
        assert self.api is not None
        form = {
            "token": "legacy", "team_id": TEAM_ID, "team_domain": "acme", "channel_id": channel,
            "channel_name": "compliance", "user_id": user, "user_name": user.lower(), "command": "/comply",
            "text": text, "api_app_id": "A0001", "response_url": self.api.response_url(hook),
            "trigger_id": f"trigger.{next(self._ids)}",
        }
        return await self.post(urlencode(form), "application/x-www-form-urlencoded", timestamp=timestamp)

    async def interaction(self, payload: dict) -> tuple[int, str]:
        payload = {"team": {"id": TEAM_ID, "domain": "acme"}, "api_app_id": "A0001", "token": "legacy",
                   "trigger_id": f"trigger.{next(self._ids)}", **payload}
        body = urlencode({"payload": json.dumps(payload)})
        return await self.post(body, "application/x-www-form-urlencoded")

    async def press(self, user: str, button: dict, message: dict | None = None, channel: str = "C0001",
                    container: dict | None = None, hook: str = "press") -> tuple[int, str]:
        """Press a button (a Block Kit element the bot rendered) in a message, or in the App Home tab."""
        assert self.api is not None
        payload: dict[str, Any] = {
            "type": "block_actions", "user": {"id": user, "team_id": TEAM_ID},
            "actions": [{"type": "button", "action_id": button["action_id"], "block_id": button.get("block_id", "b"),
                         "value": button.get("value", ""), "action_ts": str(time.time())}],
        }
        if message is not None:
            payload.update(channel={"id": channel}, message=message, response_url=self.api.response_url(hook),
                           container=container or {"type": "message", "message_ts": message.get("ts", ""),
                                                    "channel_id": channel, "is_ephemeral": False})
        else:
            payload.update(container=container or {"type": "view", "view_id": "VHOME"},
                           view={"id": "VHOME", "type": "home"})
        return await self.interaction(payload)

    async def message_shortcut(self, user: str, callback_id: str, message: dict, channel: str = "C0001",
                               hook: str = "shortcut", user_team: str = TEAM_ID) -> tuple[int, str]:
        """A message shortcut (the message's `⋮` menu) as Slack sends it: the message, its channel, a trigger."""
        assert self.api is not None
        payload = {"type": "message_action", "callback_id": callback_id, "action_ts": str(time.time()),
                   "user": {"id": user, "team_id": user_team, "name": user.lower()},  # another: Slack Connect
                   "channel": {"id": channel, "name": "compliance"}, "message_ts": message["ts"],
                   "message": {"type": "message", **message}, "response_url": self.api.response_url(hook),
                   "is_enterprise_install": False, "enterprise": None}
        return await self.interaction(payload)

    async def global_shortcut(self, user: str, callback_id: str) -> tuple[int, str]:
        """A global shortcut (the composer's shortcut menu or search): no channel, no response URL."""
        payload = {"type": "shortcut", "callback_id": callback_id, "action_ts": str(time.time()),
                   "user": {"id": user, "team_id": TEAM_ID, "username": user.lower()},
                   "is_enterprise_install": False, "enterprise": None}
        return await self.interaction(payload)

    async def options(self, user: str, action_id: str, value: str, callback_id: str,
                      user_team: str = TEAM_ID) -> tuple[int, str]:
        payload = {"type": "block_suggestion", "user": {"id": user, "team_id": user_team}, "action_id": action_id,
                   "block_id": action_id, "value": value, "view": {"id": "VMODAL", "callback_id": callback_id,
                                                                    "type": "modal"}}
        return await self.interaction(payload)

    async def submit(self, user: str, view: dict, values: dict) -> tuple[int, str]:
        """Submit a modal the bot opened, with `values` as Slack sends them (block id -> action id -> value)."""
        payload = {"type": "view_submission", "user": {"id": user, "team_id": TEAM_ID},
                   "view": {**view, "id": "VMODAL", "state": {"values": values}}}
        return await self.interaction(payload)


def buttons(blocks: list[dict]) -> list[dict]:
    """Every button of rendered blocks, each with its block_id, in order."""
    found = []
    for block in blocks:
        for element in block.get("elements", []) + ([block["accessory"]] if "accessory" in block else []):
            if element.get("type") == "button":
                found.append({**element, "block_id": block.get("block_id", "")})
    return found


SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
BOT_TOKEN = "xoxb-test-token"


@dataclass
class SlackServer:
    """The real complybot server (bot.server.create_app) on 127.0.0.1, port 0, with Slack pointed at a fake."""

    app: web.Application
    runner: web.AppRunner
    url: str

    @property
    def store(self):
        return self.app[RUNTIME].ctx.store

    async def settle(self) -> None:
        """Wait for the work the server does after acknowledging Slack (lazy listeners)."""
        await self.app[RUNTIME].slack_runtime.work.drain(timeout=10)

    async def stop(self) -> None:
        await self.runner.cleanup()


async def start_slack_server(db_path, api: FakeSlackAPI, **env: str) -> SlackServer:
    """Scheduler off unless a test asks (COMPLYBOT_SCHEDULER="on"): its tick at start-up could DM an
    unexpected nudge to the fake whenever it happens to be a working morning somewhere."""
    from bot.config import Settings
    from bot.server import create_app

    settings = Settings.from_env({
        "COMPLYBOT_DB": str(db_path), "COMPLYBOT_HOST": "127.0.0.1", "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_API_URL": api.base_url, "COMPLYBOT_SCHEDULER": "off", **env,
    })
    app = create_app(settings)
    runner, url = await serve_on_loopback(app)
    return SlackServer(app, runner, url.rstrip("/"))


# People of the fake workspace: (user id, name, email, time zone)
ADMIN, OWNER, OTHER, MEMBER = "U0ADMIN", "U0OWNER", "U0OTHER", "U0MEMBER"
PEOPLE = ((ADMIN, "Ada", "ada@example.com", "Europe/Berlin"), (OWNER, "Olu", "olu@example.com", "America/New_York"),
          (OTHER, "Oz", "oz@example.com", "UTC"), (MEMBER, "Mo", "mo@example.com", "UTC"))


# pytest fixtures for the Slack tests: `from tests.fakes.slack_api import api, server, slack`
import pytest  # noqa: E402


@pytest.fixture
async def api(monkeypatch):
    """The fake Slack Web API with PEOPLE; the test fails if anything tried to leave 127.0.0.1."""
    attempts = forbid_internet(monkeypatch)
    fake = await FakeSlackAPI().start()
    for user_id, name, email, tz in PEOPLE:
        fake.add_user(user_id, name, email, tz)
    yield fake
    await fake.stop()
    assert attempts == [], f"the bot tried to reach {attempts}"


@pytest.fixture
async def server(tmp_path, api):
    running = await start_slack_server(tmp_path / "complybot.db", api)
    yield running
    await running.stop()


@pytest.fixture
async def slack(server, api):
    async with SignedSlack(server.url, SIGNING_SECRET, api) as client:
        yield client
