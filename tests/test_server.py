"""The shared server: /healthz, one structured log line per request, no secret or stack trace in a
response or a log line, the playground's loopback guard, and a graceful SIGTERM."""
from __future__ import annotations

import io
import json
import logging
import socket
import threading
import time
import urllib.request

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot import logs
from bot.config import Settings
from bot.runtime import RUNTIME
from bot.server import create_app
from tests.serving import ServeProcess


@pytest.fixture
def log_buffer():
    """Our real log setup (JSON lines, redacted) at DEBUG, writing to a buffer."""
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    buffer = io.StringIO()
    logs.setup("DEBUG", stream=buffer)
    yield buffer
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in saved_handlers:
        root.addHandler(handler)
    root.setLevel(saved_level)
    logging.captureWarnings(False)


@pytest.fixture
def log_lines(log_buffer):
    """The lines logged so far, as parsed JSON."""
    return lambda: [json.loads(line) for line in log_buffer.getvalue().splitlines()]


@pytest.fixture
async def client(tmp_path):
    """The real app on 127.0.0.1 (port 0), playground on."""
    app = create_app(Settings.from_env({"COMPLYBOT_DB": str(tmp_path / "complybot.db"), "COMPLYBOT_SCHEDULER": "off"}))

    async def boom(request):
        raise RuntimeError("upstream said token=xoxb-1111-2222-abcdef for ops@example.com")

    app.router.add_get("/boom", boom)
    async with TestClient(TestServer(app, host="127.0.0.1", port=0)) as test_client:
        yield test_client


# -- /healthz ------------------------------------------------------------------------------------

def test_healthz_of_a_running_server(tmp_path):
    with ServeProcess(tmp_path, COMPLYBOT_SCHEDULER="on") as server:
        status, body = server.get_json("/healthz")
        server.terminate()
    assert body == {"ok": True, "database": "ok", "scheduler": "running", "platforms": [], "playground": True}
    assert status == 200


def test_healthz_names_the_platforms_that_are_on(tmp_path):
    with ServeProcess(tmp_path, COMPLYBOT_TEAMS_LOCAL="1") as server:
        status, body = server.get_json("/healthz")
        server.terminate()
    assert body["platforms"] == ["teams"]
    assert body["playground"] is False  # a platform is configured and --playground was not asked


async def test_healthz_says_when_the_database_is_unreachable(client):
    client.server.app[RUNTIME].ctx.store.close()
    response = await client.get("/healthz")
    body = await response.json()
    assert response.status == 503
    assert body["ok"] is False and body["database"] == "unreachable"


# -- structured logs -----------------------------------------------------------------------------

async def test_one_log_line_per_request_with_its_id(client, log_lines):
    response = await client.post("/api/playground", json={"text": "what ISO control maps to CC 6.1?"},
                                 headers={"X-Request-Id": "req-42"})
    assert response.status == 200
    assert response.headers["X-Request-Id"] == "req-42"
    requests = [line for line in log_lines() if line["event"] == "request"]
    assert len(requests) == 1
    line = requests[0]
    assert line["request_id"] == "req-42"
    assert (line["platform"], line["workspace"], line["outcome"], line["status"]) == ("playground", "local", "ok", 200)
    assert (line["command"], line["kind"]) == ("question", "iso_for_soc2")
    assert isinstance(line["latency_ms"], float)
    assert "CC 6.1" not in json.dumps(line)  # no message text in the request line


async def test_an_unsafe_request_id_is_replaced(client):
    response = await client.get("/healthz", headers={"X-Request-Id": "x\" onerror=alert(1)"})
    assert response.headers["X-Request-Id"].isalnum()


async def test_an_unexpected_error_shows_no_trace_and_logs_no_secret(client, log_lines):
    response = await client.get("/boom")
    text = await response.text()
    assert response.status == 500
    assert "Traceback" not in text and "xoxb" not in text and "RuntimeError" not in text
    assert json.loads(text)["request_id"] == response.headers["X-Request-Id"]
    logged = "\n".join(json.dumps(line) for line in log_lines())
    errors = [line for line in log_lines() if line["event"] == "request.error"]
    assert errors and errors[0]["error"].startswith("RuntimeError at ")
    assert "xoxb" not in logged and "ops@example.com" not in logged and "Traceback" not in logged


@pytest.mark.parametrize("secret, kept", [
    ("xoxb-1234-5678-abcdefgh", "xox?-[redacted]"),
    ("xoxp-1234-5678-abcdefgh", "xox?-[redacted]"),
    ("xapp-1-A0123-456-abcdef", "xapp-[redacted]"),
    ("Authorization: Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjM0NSJ9.c2lnbmF0dXJl", "Bearer [redacted]"),
    ("X-Slack-Signature v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503", "v0=[redacted]"),
    ("owner is jane.doe@example.com", "[email redacted]"),
    ("signing_secret=8f742231b10e8888abcd99yyyzzz85a5", "signing_secret=[redacted]"),
    ("POST https://hooks.slack.com/commands/T1/1234-5678/abcdef - status: 503", "[slack hook redacted] - status"),
])
def test_redaction_safety_net(secret, kept):
    clean = logs.redact(secret)
    assert kept in clean
    for leaked in ("1234-5678", "abcdef", "eyJzdWIi", "a2114d57", "jane.doe", "8f742231"):
        assert leaked not in clean


def test_third_party_log_records_are_redacted_and_carry_no_stack_trace(log_lines):
    try:
        raise ValueError("bad token xoxb-9-9-zzzz")
    except ValueError:
        logging.getLogger("slack_bolt.App").exception("failed for %s", "bob@example.com")
    line = log_lines()[-1]
    assert line["logger"] == "slack_bolt.App"
    assert "bob@example.com" not in line["msg"] and "[email redacted]" in line["msg"]
    assert "ValueError at tests/test_server.py" in line["msg"]
    assert "Traceback" not in json.dumps(line) and "zzzz" not in json.dumps(line)


def test_a_turn_is_logged_by_its_command_name_never_its_text():
    from handlers.router import command_of

    assert command_of("evidence 1 https://drive.example/q3 the Q3 report") == "evidence"
    assert command_of("what ISO control maps to CC 6.1 and why does it matter?") == "question"
    assert command_of("assign " + "x" * 40_000) == "assign"


# -- playground guard and limits ---------------------------------------------------------------------

async def test_playground_refuses_a_foreign_host_header(client):
    response = await client.post("/api/playground", json={"text": "status"}, headers={"Host": "evil.example"})
    assert response.status == 403
    page = await client.get("/", headers={"Host": "attacker.example:3978"})
    assert page.status == 403


async def test_playground_refuses_other_sites_posting_from_the_browser(client):
    forged = await client.post("/api/playground", data='{"text": "assign disk encryption to @eve"}',
                               headers={"Content-Type": "text/plain"})  # a "simple" cross-site form post
    assert forged.status == 415
    other_origin = await client.post("/api/playground", json={"text": "assign disk encryption to @eve"},
                                     headers={"Origin": "https://evil.example"})
    assert other_origin.status == 403
    own_page = await client.post("/api/playground", json={"text": "help"},
                                 headers={"Origin": f"http://127.0.0.1:{client.port}"})
    assert own_page.status == 200
    listed = await (await client.post("/api/playground", json={"text": "tasks all"})).json()
    assert "eve" not in listed["text"]


async def test_playground_page_and_security_headers(client):
    response = await client.get("/")
    assert response.status == 200
    assert "complybot playground" in await response.text()
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]


async def test_playground_rejects_malformed_input_politely(client):
    response = await client.post("/api/playground", data="not json", headers={"Content-Type": "application/json"})
    assert response.status == 400
    assert "Send JSON" in await response.text()
    huge = await client.post("/api/playground", data=b"x" * (2 * 1024 * 1024),
                             headers={"Content-Type": "application/json"})
    assert huge.status == 413


async def test_a_very_long_message_gets_a_polite_reply(client):
    response = await client.post("/api/playground", json={"text": "a" * 40_000})
    body = await response.json()
    assert response.status == 200
    assert body["ephemeral"] is True and "40,000 characters" in body["text"]


# -- graceful shutdown ----------------------------------------------------------------------------

def test_sigterm_finishes_the_request_in_flight_then_closes_the_database(tmp_path):
    with ServeProcess(tmp_path, COMPLYBOT_TEST_HOOKS="1", COMPLYBOT_SCHEDULER="on") as server:
        outcome = {}

        def slow_request():
            request = urllib.request.Request(server.url + "/__test__/slow?seconds=2", data=b"", method="POST")
            with urllib.request.urlopen(request, timeout=30) as response:
                outcome["status"], outcome["body"] = response.status, json.load(response)

        client_thread = threading.Thread(target=slow_request)
        client_thread.start()
        time.sleep(0.7)  # the handler is now sleeping inside the request
        sent_at = time.monotonic()
        server.process.send_signal(15)
        refused_at = _wait_until_refused(server.port)
        client_thread.join(30)
        exit_code = server.process.wait(30)
        events = server.log_events()

    assert refused_at - sent_at < 1.5, "still accepting connections after SIGTERM"
    assert outcome == {"status": 200, "body": {"ok": True, "tasks": 0}}, server.logs()
    assert exit_code == 0
    names = [event["event"] for event in events]
    slow = next(i for i, e in enumerate(events) if e["event"] == "request" and e.get("path") == "/__test__/slow")
    assert events[slow]["status"] == 200
    # the request finished, then the scheduler stopped (after its tick in flight), then the database closed
    assert slow < names.index("scheduler.stop") < names.index("database.closed") < names.index("serve.stopped")


def _wait_until_refused(port: int, timeout: float = 5) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                time.sleep(0.05)
        except OSError:
            return time.monotonic()
    return float("inf")


async def test_playground_acts_as_someone_else_like_chat_dash_dash_as(client):
    async def say(text, as_name=""):
        response = await client.post("/api/playground", json={"text": text, "as": as_name})
        assert response.status == 200
        return await response.json()

    assigned = await say("assign disk encryption to @alice due in 2 weeks")  # the local user is an admin
    assert assigned["kind"] == "assign", assigned["text"]
    mine = await say("tasks", as_name="alice")
    assert "Disk Encryption" in mine["text"]
    refused = await say("done 1", as_name="bob")  # a member pressing Done on alice's task
    assert refused["ephemeral"] is True
    assert "Disk Encryption" not in (await say("tasks done"))["text"]  # nothing changed


def test_a_taken_port_is_one_line_and_exit_1(tmp_path):
    from tests.serving import clean_env, run_complybot

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_complybot("serve", "--port", str(port), cwd=tmp_path,
                               env=clean_env(COMPLYBOT_DB=str(tmp_path / "complybot.db")))
    assert result.returncode == 1
    assert result.stdout == ""  # no "open the playground" promise for a server that never listened
    assert result.stderr.strip().splitlines()[-1].startswith(f"complybot serve: cannot listen on 127.0.0.1:{port}")


async def test_sigterm_lets_the_scheduler_tick_in_flight_finish(tmp_path):
    """A digest missed a minute ago goes out in the first tick; Slack answers slowly; SIGTERM arrives
    while the tick waits for Slack. The tick finishes: the message arrives and is recorded as sent."""
    import asyncio
    from datetime import datetime, timedelta, timezone

    from bot.store import Store
    from tests.fakes.slack_api import BOT_TOKEN, SIGNING_SECRET, TEAM_ID, FakeSlackAPI

    class SlowSlack(FakeSlackAPI):
        posting = asyncio.Event()

        async def _api(self, request):
            if request.match_info["method"] == "chat.postMessage":
                self.posting.set()
                await asyncio.sleep(2)
            return await super()._api(request)

    now = datetime.now(timezone.utc)
    store = Store.open(tmp_path / "complybot.db")
    store.ensure_workspace(TEAM_ID, "slack")
    subscription = store.subscribe_digest(TEAM_ID, "slack", "C0DIGEST", weekdays="mon,tue,wed,thu,fri,sat,sun",
                                          time=(now - timedelta(minutes=1)).strftime("%H:%M"), tz="UTC")
    store.db.execute("UPDATE digests SET created_at = ? WHERE id = ?",  # subscribed two days ago
                     [(now - timedelta(days=2)).isoformat(), subscription["id"]])
    store.close()

    api = await SlowSlack().start()
    try:
        server = await asyncio.to_thread(
            ServeProcess, tmp_path, "--host", "127.0.0.1", SLACK_BOT_TOKEN=BOT_TOKEN,
            SLACK_SIGNING_SECRET=SIGNING_SECRET, SLACK_API_URL=api.base_url, COMPLYBOT_SCHEDULER="on")
        with server:
            await asyncio.wait_for(api.posting.wait(), 20)  # the tick is now waiting for Slack
            server.process.send_signal(15)
            exit_code = await asyncio.to_thread(server.process.wait, 30)
    finally:
        await api.stop()
    events = server.log_events()

    assert exit_code == 0
    posts = api.to("chat.postMessage")
    assert [call.body.get("channel") for call in posts] == ["C0DIGEST"], server.logs()
    store = Store.open(tmp_path / "complybot.db")
    sent = [row for row in store.db.execute("SELECT key, status FROM sent_log").fetchall() if row[0].startswith("digest:")]
    store.close()
    assert len(sent) == 1 and sent[0][1] == "sent", sent
    names = [event["event"] for event in events]
    assert names.index("scheduler.stop") < names.index("database.closed")


async def test_the_playground_takes_lone_surrogates_as_ordinary_text(client):
    """Valid JSON, not encodable in UTF-8: it used to end in "Sorry, that failed on my side"."""
    response = await client.post("/api/playground", data='{"text": "assign Disk Encryption to me note \\ud800 cafe\\u0301",'
                                                          ' "as": "Eve \\ud800"}', headers={"Content-Type": "application/json"})
    reply = await response.json()
    assert reply["kind"] != "error" and "Assigned Disk Encryption" in reply["text"], reply
    [task] = client.server.app[RUNTIME].ctx.store.tasks("local")
    assert task.note == "\ufffd caf\u00e9"  # replaced, and NFC


def test_the_playground_sends_the_bots_mentions_as_plain_text():
    """The page shows every word of a reply as data; the bot's mention tokens never reach it."""
    from bot.playground import reply_json
    from handlers.types import Reply, Section, mention

    body = reply_json(Reply(f"ask {mention('local:bob')}", sections=(Section(f"{mention('local:bob')}", (f"owner {mention('local:bob')}",)),)))
    assert (body["text"], body["sections"][0]["title"], body["sections"][0]["lines"]) == (
        "ask <@local:bob>", "<@local:bob>", ["owner <@local:bob>"])


def test_an_error_names_its_place_without_this_machines_paths():
    """A library's error is placed inside the library (the virtualenv may sit inside the project)."""
    from slack_bolt.request.internals import extract_team_id

    places = []
    for fail in (lambda: json.loads("{"), lambda: extract_team_id(None)):
        try:
            fail()
        except Exception as error:  # noqa: BLE001
            places.append(logs.describe_exception(error))
    assert places[0].startswith("JSONDecodeError at json/") and places[1].startswith(
        "AttributeError at slack_bolt/request/internals.py:")
