"""Random HTTP requests against the real server (bot.server.create_app on 127.0.0.1, Slack pointed at the
fake Web API, Teams with Bot Framework auth on): random methods, paths, headers, content types and
bodies shaped like Slack's and Teams' (events, slash commands, buttons, activities) or like nothing.

Unsigned (or unauthenticated) requests get no 5xx, and nothing is sent anywhere because of them: a
listener on 127.0.0.1 that every body names as its response URL or service URL must receive nothing,
and the fake Slack API no call. Signed requests run for real. No response and no log line (captured at
DEBUG, our real log setup) holds a stack trace or a secret."""
from __future__ import annotations

import json
import random
import time
from urllib.parse import urlencode

import jwt
import pytest
from aiohttp import ClientSession, ClientTimeout, web
from cryptography.hazmat.primitives.asymmetric import rsa
from slack_sdk.signature import SignatureVerifier
from yarl import URL

from tests.fakes.loopback import serve_on_loopback
from tests.fakes.slack_api import (  # noqa: F401 (api is a fixture)
    ADMIN, BOT_TOKEN, BOT_USER_ID, MEMBER, SIGNING_SECRET, TEAM_ID, api, start_slack_server,
)
from tests.fuzzing import Fuzz
from tests.test_server import log_buffer  # noqa: F401 (a fixture)

SEED = 20261208
UNSIGNED, SIGNED = 1_000, 300
APP_ID = "0f6a2a3e-6b1c-4c3e-9a8e-2d4c5b6a7e8f"
APP_PASSWORD = "teams-app-password-Zz81"
SECRETS = (SIGNING_SECRET, BOT_TOKEN, APP_PASSWORD)
TRACES = ("Traceback", 'File "', "site-packages/")
SLACK_PATHS = ("/slack/events", "/slack/events?x=%00", "/slack/events?ssl_check=1")
OTHER_PATHS = ("/healthz", "/", "/api/playground", "/slack/install", "/slack/oauth_redirect?code=x&state=y",
               "/slack/events/",
         "/slack/events?x=%00", "/SLACK/EVENTS", "/slack//events", "/api/messages/../messages",
         "/..%2f..%2fetc%2fpasswd", "/%ff%fe", "/playground/../../bot/config.py", "/__test__/slow",
         "/" + "a" * 3000)
METHODS = ("POST", "POST", "POST", "POST", "GET", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD")
CONTENT_TYPES = ("application/json", "application/x-www-form-urlencoded", "text/plain", "",
                 "multipart/form-data; boundary=xyz", "application/json; charset=utf-77", "application/xml",
                 "application/x-www-form-urlencoded; charset=latin-1", "*/*", "application/json, text/html")
TIMESTAMPS = ("abc", "", "-1", "0", "1e99", "99999999999999999999999", " 1 ", "١٢٣", "nan", None)


@pytest.fixture
async def trap():
    """A listener on 127.0.0.1 that records whatever reaches it (an SSRF would land here)."""
    hits: list[str] = []

    async def record(request: web.Request) -> web.Response:
        hits.append(f"{request.method} {request.path}")
        return web.json_response({"ok": True, "id": "1"})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", record)
    runner, url = await serve_on_loopback(app)
    yield url, hits
    await runner.cleanup()


class Requests:
    """Seeded random requests; `body` shapes come from what Slack and Teams really send."""

    def __init__(self, seed: int, trap_url: str, response_url: str):
        self.random = random.Random(seed)
        self.fuzz = Fuzz(seed)
        self.trap_url, self.response_url = trap_url, response_url
        self.attacker = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def url(self, answer_to: str) -> str:
        return self.random.choice((answer_to, self.trap_url + "respond/x", answer_to + "?a=b", "not a url",
                                   "file:///etc/passwd", self.trap_url.replace("127.0.0.1", "localhost")))

    def slack_body(self, answer_to: str) -> tuple[str, str]:
        """(content type, body) of an event, a command, an interaction, an options request, or junk."""
        text, user = self.fuzz.text(), self.random.choice((ADMIN, MEMBER, "U0NEW", "", "<@U1>"))
        team = self.random.choice((TEAM_ID, TEAM_ID, "T0OTHER", "", None))
        kind = self.random.randrange(8)
        if kind == 0:
            event = {"type": self.random.choice(("app_mention", "message", "app_home_opened", "app_uninstalled",
                                                 "tokens_revoked", "reaction_added", "")), "user": user,
                     "text": f"<@{BOT_USER_ID}> {text}", "ts": f"{time.time():.6f}", "channel": "C0FUZZ",
                     "channel_type": self.random.choice(("im", "channel")), "team": team,
                     "user_team": self.random.choice((team, "T0GUEST"))}
            body = {"type": "event_callback", "team_id": team, "event_id": f"Ev{self.random.getrandbits(40)}",
                    "event": event, "authorizations": [{"team_id": TEAM_ID, "user_id": BOT_USER_ID}]}
            return "application/json", json.dumps(body)
        if kind == 1:
            form = {"team_id": team or "", "user_id": user, "channel_id": "C0FUZZ", "command": "/comply",
                    "text": text, "response_url": self.url(answer_to), "trigger_id": "t.1"}
            return "application/x-www-form-urlencoded", urlencode(form, errors="surrogatepass")
        if kind == 2:
            value = self.random.choice((text, "done 1", "snooze 1 7", "reassign 1", "assign", "help 1"))
            payload = {"type": self.random.choice(("block_actions", "view_submission", "block_suggestion",
                                                   "shortcut", "message_action", "view_closed")),
                       "team": {"id": team}, "user": {"id": user, "team_id": team},
                       "response_url": self.url(answer_to), "trigger_id": "t.2", "channel": {"id": "C0FUZZ"},
                       "actions": [{"action_id": self.random.choice(("complybot_done_1", "x", "")),
                                    "block_id": "b", "value": value}],
                       "view": {"callback_id": "complybot_assign", "private_metadata": text[:200],
                                "state": {"values": {"owner": {"owner": {"selected_user": user}}}}},
                       "container": {"type": self.random.choice(("message", "view")), "message_ts": "1.1"}}
            form = {"payload": json.dumps(payload)}
            return "application/x-www-form-urlencoded", urlencode(form, errors="surrogatepass")
        if kind == 3:
            return "application/x-www-form-urlencoded", self.random.choice((
                "payload=notjson", "payload=", "payload=[1,2]", "payload=null", "a=b&a=c", "%zz", "payload=%7B"))
        if kind == 4:
            return "application/json", self.random.choice(("[]", "[1]", "null", "{", '{"type":', "1e999", '"x"',
                                                           '{"type": "url_verification", "challenge": "c"}',
                                                           '{"type": "url_verification"}', "\ufeff{}"))
        if kind == 5:
            return self.random.choice(CONTENT_TYPES), "".join(
                chr(self.random.randrange(1, 0x2FFF)) for _ in range(self.random.randrange(0, 300)))
        if kind == 6:
            return "application/json", json.dumps({"type": "event_callback", "event": text, "team_id": [1]})
        return self.random.choice(CONTENT_TYPES), text

    def teams_body(self) -> str:
        activity = {"type": self.random.choice(("message", "conversationUpdate", "invoke", "", None)),
                    "id": str(self.random.getrandbits(40)), "serviceUrl": self.random.choice(
                        (self.trap_url, "https://evil.example/", "", None)), "channelId": "msteams",
                    "from": {"id": "29:x", "aadObjectId": "a"}, "recipient": {"id": "28:bot"},
                    "conversation": self.random.choice(({"id": "a:1", "tenantId": "t"}, None, "x", [])),
                    "channelData": {"tenant": {"id": self.random.choice(("t", "u", None))}},
                    "text": self.fuzz.text(), "value": self.random.choice((None, {"complybot": "done 1"}, "x"))}
        return self.random.choice((json.dumps(activity), "[]", "{", "null", self.fuzz.text()))

    def authorization(self) -> str | None:
        claims = {"iss": self.random.choice(("https://attacker.example.com", "", "sts.windows.net")),
                  "aud": self.random.choice((APP_ID, "other")), "exp": int(time.time()) + self.random.choice((-9, 600)),
                  "serviceurl": self.trap_url}
        return self.random.choice((None, "", "Bearer", "Bearer x.y.z", "Basic dXNlcjpwYXNz", "Bearer " + "A" * 5000,
                                   "Bearer " + jwt.encode(claims, self.attacker, algorithm="RS256")))

    def unsigned(self) -> dict:
        """One request no platform signed: a forged, missing or malformed signature and timestamp."""
        path = self.random.choice(self.random.choice((SLACK_PATHS, SLACK_PATHS, ("/api/messages",), OTHER_PATHS)))
        method = self.random.choice(METHODS)
        headers: dict[str, str] = {}
        if path.startswith("/api/messages"):
            content_type, body = "application/json", self.teams_body()
            auth = self.authorization()
            if auth is not None:
                headers["Authorization"] = auth
        else:
            content_type, body = self.slack_body(self.trap_url + "respond/unsigned")
            stamp = self.random.choice(TIMESTAMPS + (str(int(time.time())),))
            if stamp is not None:
                headers["X-Slack-Request-Timestamp"] = stamp
            signature = self.random.choice((None, "", "v0=", "v0=" + "0" * 64, "v1=abc", "v0=zz" * 30,
                                            SignatureVerifier("not-the-secret").generate_signature(
                                                timestamp=stamp or "0", body=body.encode("utf-8", "replace"))))
            if signature is not None:
                headers["X-Slack-Signature"] = signature
        if self.random.random() < 0.2:
            headers["X-Slack-Retry-Num"] = self.random.choice(("1", "x", "-1"))
        if self.random.random() < 0.1:
            headers["X-Request-Id"] = self.random.choice(("id-1", "\" onerror=", "a" * 100))
        if content_type and self.random.random() < 0.9:
            headers["Content-Type"] = self.random.choice((content_type, self.random.choice(CONTENT_TYPES)))
        data = body.encode("utf-8", "surrogatepass")
        if self.random.random() < 0.02:
            data = self.random.choice((b"\xff\xfe\x00", b"\x80" * 50, b"{" * 100_000, b"x" * 1_100_000))
        return {"method": method, "path": path, "headers": headers, "data": data}

    def signed(self) -> dict:
        """A request signed with the real secret, shaped like Slack's (or like junk Slack never sends)."""
        content_type, body = self.slack_body(self.response_url)
        body = body.encode("utf-8", "replace").decode()  # Slack sends UTF-8 (JSON may still escape \ud800)
        stamp = str(int(time.time()))
        signature = SignatureVerifier(SIGNING_SECRET).generate_signature(timestamp=stamp, body=body)
        headers = {"Content-Type": content_type, "X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": signature}
        return {"method": "POST", "path": "/slack/events", "headers": headers, "data": body.encode()}


async def send(session: ClientSession, base: str, request: dict) -> tuple[int, str]:
    url = URL(base + request["path"], encoded=True)
    async with session.request(request["method"], url, data=request["data"], headers=request["headers"],
                               skip_auto_headers=("Content-Type",)) as response:
        return response.status, await response.text(errors="replace")


def clean(text: str) -> list[str]:
    return [marker for marker in SECRETS + TRACES if marker in text]


async def test_random_requests_get_no_5xx_unsigned_and_show_no_trace_or_secret(tmp_path, api, trap, log_buffer):
    trap_url, hits = trap
    server = await start_slack_server(tmp_path / "complybot.db", api, MicrosoftAppId=APP_ID,
                                      MicrosoftAppPassword=APP_PASSWORD, COMPLYBOT_TEAMS_LOCAL="0")
    requests = Requests(SEED, trap_url, api.response_url("signed"))
    bad, statuses = [], {"unsigned": {}, "signed": {}}
    try:
        async with ClientSession(timeout=ClientTimeout(total=20)) as session:
            for _ in range(UNSIGNED):
                request = requests.unsigned()
                status, body = await send(session, server.url, request)
                statuses["unsigned"][status] = statuses["unsigned"].get(status, 0) + 1
                if status >= 500 or clean(body):
                    bad.append((request["method"], request["path"][:40], status, request["data"][:80], clean(body)))
            await server.settle()
            sent_for_unsigned = (list(hits), [c.method for c in api.calls])
            for _ in range(SIGNED):
                request = requests.signed()
                status, body = await send(session, server.url, request)
                statuses["signed"][status] = statuses["signed"].get(status, 0) + 1
                if clean(body):
                    bad.append(("signed", status, request["data"][:80], clean(body)))
            await server.settle()
    finally:
        await server.stop()
    log = log_buffer.getvalue()
    assert not bad and sent_for_unsigned == ([], []), (
        f"{len(bad)} bad responses {statuses}, e.g. {bad[:4]}; sent for unsigned requests: {sent_for_unsigned}")
    assert statuses["signed"].get(200, 0) >= SIGNED // 5 and api.calls  # the signed ones really ran
    assert not clean(log), f"the log holds {clean(log)}"
