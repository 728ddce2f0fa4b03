"""Another connection holding SQLite's write lock (a backup tool, a second process, a long migration)
must not stall the server: the real `complybot serve`, signed Slack requests, and an outside sqlite3
connection holding `BEGIN IMMEDIATE` on the same file. Slack is acknowledged and /healthz answers
(saying the database is slow) while the lock is held; once it is released, every command acknowledged
meanwhile has taken effect."""
from __future__ import annotations

import asyncio
import json
import sqlite3
import time

from bot.runtime import RUNTIME
from tests.fakes.slack_api import (  # noqa: F401 (api, server and slack are fixtures)
    ADMIN, BOT_TOKEN, OWNER, SIGNING_SECRET, TEAM_ID, SignedSlack, api, server, slack,
)
from tests.serving import ServeProcess

HOLD_SECONDS = 5.0


class OutsideWriteLock:
    """Another connection holding the database's write lock (BEGIN IMMEDIATE) inside a `with`."""

    def __init__(self, path):
        self.path = path

    def __enter__(self) -> "OutsideWriteLock":
        self.conn = sqlite3.connect(self.path, isolation_level=None)
        self.conn.execute("BEGIN IMMEDIATE")
        self.taken = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        self.conn.execute("ROLLBACK")
        self.conn.close()

    @property
    def held_for(self) -> float:
        return time.perf_counter() - self.taken


async def meet(server, slack, *people: str) -> None:
    """People the server knows (the first is the workspace's admin): no users.info in the way."""
    for person in people:
        await slack.command(person, "status", hook=f"meet-{person}")
        await server.settle()
CONTROLS = ("Disk Encryption", "Backup Schedule", "Penetration Test", "Vendor Review", "Antivirus",
            "Asset Inventory", "Firewall Rules", "Intrusion Detection")


async def test_a_write_lock_held_outside_stalls_neither_acks_nor_healthz_and_loses_nothing(tmp_path, api):
    serve = await asyncio.to_thread(ServeProcess, tmp_path, COMPLYBOT_HOST="127.0.0.1", SLACK_BOT_TOKEN=BOT_TOKEN,
                                    SLACK_SIGNING_SECRET=SIGNING_SECRET, SLACK_API_URL=api.base_url)
    with serve:
        async with SignedSlack(serve.url, SIGNING_SECRET, api) as slack:
            await slack.command(ADMIN, "status", hook="warm-up")  # the admin is known, Bolt has its auth.test
            await api.wait_for("response_url")
            with OutsideWriteLock(tmp_path / "complybot.db") as lock:
                acks = await asyncio.gather(
                    *(slack.command(ADMIN, f"assign {name} to me", hook=f"c{n}") for n, name in enumerate(CONTROLS[:4])),
                    *(slack.mention(ADMIN, f"assign {name} to me") for name in CONTROLS[4:]),
                )
                acked_in = lock.held_for
                async with slack.session.get(f"{serve.url}/healthz") as response:
                    health = await response.json()
                answered_in = lock.held_for
                still_locked = lock.held_for < HOLD_SECONDS
                await asyncio.sleep(max(HOLD_SECONDS - lock.held_for, 0))
            print(f"with the write lock held: 8 acks within {acked_in:.2f} s, /healthz within {answered_in:.2f} s")
            assert [status for status, _ in acks] == [200] * len(CONTROLS)
            assert still_locked  # every ack and /healthz came while the lock was held
            assert response.status == 200 and health["database"] == "slow"

            answers = await api.wait_for("response_url", count=1 + 4, timeout=30)
            await api.wait_for("chat.postMessage", count=4, timeout=30)
            async with slack.session.get(f"{serve.url}/healthz") as response:
                assert (await response.json())["database"] == "ok"
        assert serve.terminate() == 0
    store = sqlite3.connect(tmp_path / "complybot.db")
    created = {row[0] for row in store.execute("SELECT control FROM tasks WHERE workspace = ?", [TEAM_ID])}
    store.close()
    assert created == set(CONTROLS)  # every command acknowledged during the lock took effect, once
    assert all("Assigned" in answer.all_text() for answer in answers[1:])


async def test_teams_is_answered_while_the_write_lock_is_held_and_the_turn_follows(tmp_path, monkeypatch):
    """Teams re-sends an activity it has no answer for within 15 s: the route answers while the lock
    is held, the turn runs once the lock is released, and the re-send is still handled only once."""
    from tests.fakes.bot_connector import FakeBotConnector, TeamsActivities, new_user
    from tests.fakes.loopback import forbid_internet
    from tests.test_teams_e2e import start_server

    attempts = forbid_internet(monkeypatch)
    connector = await FakeBotConnector().start()
    server = await start_server(tmp_path / "complybot.db")
    try:
        teams = TeamsActivities(connector.service_url)
        alice = new_user("Alice Admin")
        assert await server.post(teams.personal(alice, "hello")) == 201  # the first person: the admin
        await connector.wait_for(1)
        with OutsideWriteLock(tmp_path / "complybot.db") as lock:
            assign = teams.personal(alice, "assign Disk Encryption to me")
            statuses = await asyncio.gather(server.post(assign), server.post(assign))  # …and Teams' re-send
            still_locked = lock.held_for < HOLD_SECONDS
            await asyncio.sleep(max(HOLD_SECONDS - lock.held_for, 0))
        assert still_locked and statuses == [202, 202]
        calls = await connector.wait_for(2, timeout=30)
        await server.app[RUNTIME].teams_work.drain(timeout=10)
        assert len(connector.calls) == 2 and "Assigned Disk Encryption" in calls[1].all_text()
        assert [t.control for t in server.app[RUNTIME].ctx.store.tasks(teams.tenant_id)] == ["Disk Encryption"]
    finally:
        await server.stop()
        await connector.stop()
    assert attempts == []


async def test_a_scheduler_tick_waiting_for_the_write_lock_leaves_the_server_answering(tmp_path):
    """The tick's claims wait for the lock on the store's thread, not on the event loop."""
    from datetime import date, datetime
    from zoneinfo import ZoneInfo

    import time_machine
    from aiohttp.test_utils import TestClient, TestServer

    from bot.config import Settings
    from bot.server import create_app
    from tests.clockwork import RecordingSender

    app = create_app(Settings.from_env({"COMPLYBOT_DB": str(tmp_path / "a.db"), "COMPLYBOT_HOST": "127.0.0.1"}))
    recording = RecordingSender()
    app[RUNTIME].senders["slack"] = recording
    with time_machine.travel(datetime(2027, 1, 18, 9, 5, tzinfo=ZoneInfo("Europe/Berlin")), tick=True):
        async with TestClient(TestServer(app, host="127.0.0.1")) as client:
            await asyncio.sleep(0.2)  # the tick at start-up: nothing is due yet
            store = app[RUNTIME].ctx.store
            store.upsert_person("T1", "me", name="me", tz="Europe/Berlin", platform="slack")
            store.create_task("T1", "Backup Schedule", "me", "me", due=date(2027, 1, 19))
            with OutsideWriteLock(tmp_path / "a.db") as lock:
                tick = asyncio.ensure_future(app[RUNTIME].scheduler.tick())
                await asyncio.sleep(0.2)  # the tick is waiting to claim
                response = await client.get("/healthz")
                health = await response.json()
                still_locked = lock.held_for < HOLD_SECONDS and not tick.done()
            await tick
    assert still_locked and response.status == 200 and health["database"] == "slow"
    assert [o.tags for _, o in recording.sent] == [("nudge:T1:1:before-1:2027-01-18",)]


async def test_an_assign_modal_submitted_during_the_lock_is_closed_in_time_and_its_outcome_follows(
        tmp_path, server, slack, api):
    await slack.command(ADMIN, "assign", channel="C0TEAM")
    await server.settle()
    view = api.to("views.open")[0].view()
    await meet(server, slack, ADMIN, OWNER)
    control = {"complybot_control": {"selected_option": {"value": "Disk Encryption"}}}
    owner = {"owner": {"selected_user": OWNER}}
    with OutsideWriteLock(tmp_path / "complybot.db") as lock:
        accepted, refused = await asyncio.gather(
            slack.submit(ADMIN, view, {"control": control, "owner": owner, "due": {"due": {"selected_date": "2030-02-01"}}}),
            slack.submit(ADMIN, view, {"control": {"complybot_control": {"selected_option": {"value": "Backup Schedule"}}},
                                       "owner": owner, "due": {"due": {"selected_date": "2001-01-01"}}}))
        still_locked = lock.held_for < HOLD_SECONDS
    assert still_locked and accepted == (200, "") and refused == (200, "")  # both modals closed in time
    await server.settle()
    [task] = server.store.tasks(TEAM_ID)  # the refused submission changed nothing
    assert (task.control, task.owner, str(task.due)) == ("Disk Encryption", OWNER, "2030-02-01")
    [announced] = api.to("chat.postMessage")
    [refusal] = api.to("chat.postEphemeral")  # the closed modal cannot show it: the submitter is told
    assert "Assigned Disk Encryption" in announced.all_text() and announced.body["channel"] == "C0TEAM"
    assert refusal.body["user"] == ADMIN and "past" in refusal.all_text().lower()


async def test_the_control_picker_answers_while_commands_wait_for_the_write_lock(tmp_path, server, slack, api):
    """A command waiting for the lock must not hold up the picker's options (their answer is the ack)."""
    await meet(server, slack, ADMIN)
    with OutsideWriteLock(tmp_path / "complybot.db") as lock:
        assert (await slack.command(ADMIN, "assign Disk Encryption to me", hook="waits"))[0] == 200
        await asyncio.sleep(0.2)  # its turn is waiting for the lock now
        status, body = await slack.options(ADMIN, "complybot_control", "disk encr", "complybot_assign")
        still_locked = lock.held_for < HOLD_SECONDS
    assert still_locked and status == 200
    assert json.loads(body)["options"][0]["value"] == "Disk Encryption"
    await server.settle()
    assert [t.control for t in server.store.tasks(TEAM_ID)] == ["Disk Encryption"]


async def test_with_oauth_the_installation_lookup_before_each_ack_does_not_wait_behind_the_lock(tmp_path, api):
    """Bolt finds the workspace's installation before every ack: that read must not queue behind
    writes waiting for the lock (it has a connection of its own)."""
    from slack_sdk.oauth.installation_store import Installation

    from bot.slack.installations import SQLiteInstallationStore
    from tests.fakes.slack_api import BOT_USER_ID, start_slack_server

    server = await start_slack_server(tmp_path / "complybot.db", api, SLACK_BOT_TOKEN="",
                                      SLACK_CLIENT_ID="1234.5678", SLACK_CLIENT_SECRET="client-secret")
    try:
        await SQLiteInstallationStore(lambda: server.store).async_save(Installation(
            app_id="A0001", team_id=TEAM_ID, bot_token="xoxb-installed", bot_id="BBOT", bot_user_id=BOT_USER_ID,
            user_id=ADMIN))
        async with SignedSlack(server.url, SIGNING_SECRET, api) as slack:
            await slack.command(ADMIN, "status", hook="warm-up")
            await server.settle()
            with OutsideWriteLock(tmp_path / "complybot.db") as lock:
                first = await slack.command(ADMIN, "assign Disk Encryption to me", hook="first")
                await asyncio.sleep(0.2)  # its turn waits for the lock on the store's thread
                later = await asyncio.gather(slack.mention(ADMIN, "assign Backup Schedule to me"),
                                             slack.command(ADMIN, "assign Antivirus to me", hook="later"))
                still_locked = lock.held_for < HOLD_SECONDS
            assert still_locked and [status for status, _ in (first, *later)] == [200, 200, 200]
            await server.settle()
        assert sorted(t.control for t in server.store.tasks(TEAM_ID)) == ["Antivirus", "Backup Schedule",
                                                                           "Disk Encryption"]
        assert {call.token for call in api.to("chat.postMessage")} == {"xoxb-installed"}
    finally:
        await server.stop()


async def test_a_modal_submission_replayed_during_the_lock_assigns_once(tmp_path, server, slack, api):
    """Both deliveries are answered in time although neither claim can be decided; the one that loses
    its claim once the lock is released never runs."""
    from urllib.parse import urlencode

    await slack.command(ADMIN, "assign", channel="C0TEAM")
    await server.settle()
    view = api.to("views.open")[0].view()
    await meet(server, slack, ADMIN, OWNER)
    payload = {"type": "view_submission", "user": {"id": ADMIN, "team_id": TEAM_ID}, "team": {"id": TEAM_ID},
               "api_app_id": "A0001", "token": "legacy", "trigger_id": "trigger.replayed",
               "view": {**view, "id": "VMODAL", "state": {"values": {
                   "control": {"complybot_control": {"selected_option": {"value": "Disk Encryption"}}},
                   "owner": {"owner": {"selected_user": OWNER}}}}}}
    body = urlencode({"payload": json.dumps(payload)})
    with OutsideWriteLock(tmp_path / "complybot.db") as lock:
        answers = await asyncio.gather(*(slack.post(body, "application/x-www-form-urlencoded") for _ in range(2)))
        still_locked = lock.held_for < HOLD_SECONDS
    assert still_locked and answers == [(200, ""), (200, "")]
    await server.settle()
    assert [t.control for t in server.store.tasks(TEAM_ID)] == ["Disk Encryption"]
    assert len(api.to("chat.postMessage")) == 1
    assert api.to("chat.postEphemeral") == []  # the replay did not even run to be refused ("already owned")


async def test_an_event_resent_during_the_lock_is_answered_once(tmp_path, server, slack, api):
    """Slack re-sends an event (same event id) it thinks we missed: both are acknowledged while the
    lock keeps their claims undecided, and only the claim's winner runs once it is released."""
    await meet(server, slack, ADMIN)
    with OutsideWriteLock(tmp_path / "complybot.db") as lock:
        first = await slack.mention(ADMIN, "assign Disk Encryption to me", event_id="Ev0RESENT")
        again = await slack.mention(ADMIN, "assign Disk Encryption to me", event_id="Ev0RESENT", retry_num=1)
        still_locked = lock.held_for < HOLD_SECONDS
    assert still_locked and first[0] == again[0] == 200
    await server.settle()
    assert [t.control for t in server.store.tasks(TEAM_ID)] == ["Disk Encryption"]
    assert len(api.to("chat.postMessage")) == 1 and api.to("chat.postEphemeral") == []


async def test_work_acknowledged_runs_even_when_its_claim_failed():
    """A lock held past busy_timeout fails the claim itself: the acknowledged work still runs (at least
    once beats lost: Slack does not resend what was acknowledged)."""
    from bot.slack.work import once_claimed

    failed = asyncio.get_running_loop().create_future()
    failed.set_exception(sqlite3.OperationalError("database is locked"))
    lost = asyncio.get_running_loop().create_future()
    lost.set_result(False)

    async def work() -> str:
        return "done"

    assert await once_claimed(failed, work()) == "done"
    assert await once_claimed(lost, work()) is None
