"""Exactly once: claim → send → record survives crashes, concurrent ticks and failing platforms.

"Restart" here means what a restart leaves behind: the process is cut off at a given step (its
committed SQLite state is all that remains), a new Store connection is opened on the same file and the
next tick runs. The Slack tests go through the real server, the real Bolt client and SlackSender to the
fake Slack Web API (tests/fakes/slack_api.py) over HTTP on 127.0.0.1; the last test kills a real
`complybot serve` process (SIGKILL) while Slack holds its message unanswered, and restarts it.
"""
from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import threading
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
import time_machine
from aiohttp import web

from bot import delivery
from bot.delivery import LEASE, MAX_ATTEMPTS, Senders
from bot.runtime import RUNTIME
from bot.scheduler import claim_nudges, run_tick
from bot.store import Store
from tests.fakes.slack_api import BOT_TOKEN, SIGNING_SECRET, TEAM_ID, Call, FakeSlackAPI, _body, start_slack_server
from tests.serving import clean_env, free_port

UTC = timezone.utc
WS = "T1"
MONDAY_0905 = datetime(2027, 1, 18, 9, 5, tzinfo=UTC)


class PlatformError(Exception):
    """What an HTTP client raises for a refused request: a status and the response headers."""

    def __init__(self, status: int, retry_after: int | None = None):
        super().__init__(f"HTTP {status} token xoxb-secret")  # text that must never be stored
        self.status = status
        self.headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}


class FakePlatform:
    """Records what arrived; fails the first calls as scripted; can die after accepting a message."""

    def __init__(self, failures=(), die_after_accepting: bool = False, delay: float = 0.0):
        self.arrived: list = []
        self.calls = 0
        self.failures = list(failures)
        self.die_after_accepting = die_after_accepting
        self.delay = delay

    async def send(self, outgoing) -> None:
        self.calls += 1
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.failures:
            raise self.failures.pop(0)
        self.arrived.append(outgoing)
        if self.die_after_accepting:
            raise ProcessKilled()


class ProcessKilled(BaseException):
    """The process stops here: nothing after this line runs (not even `except Exception`)."""


@pytest.fixture
def db_path(tmp_path):
    path = tmp_path / "bot.db"
    store = Store.open(path)
    store.upsert_person(WS, "boss", name="boss", tz="UTC", platform="slack")
    store.upsert_person(WS, "alice", name="alice", tz="UTC")
    store.upsert_person(WS, "bob", name="bob", tz="UTC")
    with time_machine.travel(datetime(2027, 1, 4, tzinfo=UTC), tick=False):
        store.create_task(WS, "Backup Schedule", "alice", "boss", due=date(2027, 1, 18))
        store.create_task(WS, "Penetration Test", "alice", "boss", due=date(2027, 1, 19))
        store.create_task(WS, "Vendor Review", "bob", "boss", due=date(2027, 1, 18))
    store.close()
    return path


def tick(path, platform, now):
    store = Store.open(path)
    try:
        return asyncio.run(run_tick(store, Senders({"slack": platform}), now))
    finally:
        store.close()


def rows(path):
    store = Store.open(path)
    try:
        return {r["key"]: r for r in store._rows("SELECT * FROM sent_log")}
    finally:
        store.close()


def delivered_keys(platform) -> list[str]:
    return sorted(key for outgoing in platform.arrived for key in outgoing.tags)


EXPECTED = sorted([f"nudge:{WS}:1:due:2027-01-18", f"nudge:{WS}:2:before-1:2027-01-18", f"nudge:{WS}:3:due:2027-01-18"])


def test_a_tick_sends_each_nudge_once_and_records_it(db_path):
    platform = FakePlatform()
    tick(db_path, platform, MONDAY_0905)
    tick(db_path, platform, MONDAY_0905 + timedelta(minutes=1))
    assert delivered_keys(platform) == EXPECTED and len(platform.arrived) == 2  # alice's two tasks: one message
    assert {r["status"] for r in rows(db_path).values()} == {"sent"}
    assert {r["attempts"] for r in rows(db_path).values()} == {1}


def test_restart_between_claim_and_send_sends_once_after_the_lease(db_path):
    store = Store.open(db_path)
    claimed = asyncio.run(claim_nudges(store, Senders({"slack": FakePlatform()}), MONDAY_0905))  # …and the process dies
    store.close()
    assert len(claimed) == 2 and {r["status"] for r in rows(db_path).values()} == {"claimed"}

    platform = FakePlatform()
    tick(db_path, platform, MONDAY_0905 + timedelta(minutes=1))  # restarted: the dead claim still holds its lease
    assert platform.arrived == []
    tick(db_path, platform, MONDAY_0905 + LEASE + timedelta(minutes=1))
    tick(db_path, platform, MONDAY_0905 + LEASE + timedelta(minutes=2))
    assert delivered_keys(platform) == EXPECTED and len(platform.arrived) == 2
    assert {r["status"] for r in rows(db_path).values()} == {"sent"}


def test_restart_between_send_and_record_never_sends_twice(db_path):
    dying = FakePlatform(die_after_accepting=True)
    with pytest.raises(ProcessKilled):
        tick(db_path, dying, MONDAY_0905)
    assert dying.arrived  # the platform has them (one batch); our record does not say so

    platform = FakePlatform()
    for minutes in (1, 10, 30):
        tick(db_path, platform, MONDAY_0905 + timedelta(minutes=minutes))
    everything = delivered_keys(dying) + delivered_keys(platform)
    assert sorted(everything) == EXPECTED  # nothing lost, nothing twice
    in_doubt = [r for r in rows(db_path).values() if r["last_error"].startswith("unconfirmed")]
    assert len(in_doubt) == len(delivered_keys(dying)) and all(r["status"] == "sent" for r in in_doubt)


def test_a_platform_that_can_tell_gets_the_unsent_message_resent(db_path):
    class Checking(FakePlatform):
        async def was_delivered(self, outgoing):
            return False  # e.g. the message is not in the conversation history

    store = Store.open(db_path)
    senders = Senders({"slack": FakePlatform()})
    [first, *_] = asyncio.run(claim_nudges(store, senders, MONDAY_0905))
    store.db.execute("UPDATE sent_log SET send_started_at = ? WHERE message_id = ?", [MONDAY_0905.isoformat(), first])
    store.close()  # died inside send(), before the request left

    platform = Checking()
    tick(db_path, platform, MONDAY_0905 + LEASE + timedelta(minutes=1))
    tick(db_path, platform, MONDAY_0905 + LEASE + timedelta(minutes=2))
    assert delivered_keys(platform) == EXPECTED


def test_two_ticks_at_once_send_nothing_twice(db_path):
    platform = FakePlatform(delay=0.05)

    async def both():
        one, two = Store.open(db_path), Store.open(db_path)  # two connections, as two processes would have
        try:
            await asyncio.gather(run_tick(one, Senders({"slack": platform}), MONDAY_0905),
                                 run_tick(two, Senders({"slack": platform}), MONDAY_0905))
        finally:
            one.close(), two.close()

    asyncio.run(both())
    assert delivered_keys(platform) == EXPECTED and len(platform.arrived) == 2


def test_two_ticks_in_two_threads_send_nothing_twice(db_path):
    platform = FakePlatform(delay=0.01)
    start = threading.Barrier(4)

    def run():
        start.wait()
        tick(db_path, platform, MONDAY_0905)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert delivered_keys(platform) == EXPECTED and len(platform.arrived) == 2


def test_500_then_429_are_retried_with_backoff_and_retry_after(db_path):
    platform = FakePlatform(failures=[PlatformError(500), PlatformError(429, retry_after=120)])
    tick(db_path, platform, MONDAY_0905)  # alice's message fails (500), bob's fails (429)
    assert platform.arrived == []
    first = rows(db_path)
    assert {r["status"] for r in first.values()} == {"failed"}
    assert {r["last_error"] for r in first.values()} == {"PlatformError HTTP 500", "PlatformError HTTP 429"}
    assert all("xoxb" not in r["last_error"] for r in first.values())

    tick(db_path, platform, MONDAY_0905 + timedelta(seconds=31))  # 500: back-off of 30 s has passed
    assert [sorted(o.tags) for o in platform.arrived] == [EXPECTED[:2]]
    tick(db_path, platform, MONDAY_0905 + timedelta(seconds=90))  # 429: Retry-After 120 s not yet
    assert len(platform.arrived) == 1
    tick(db_path, platform, MONDAY_0905 + timedelta(seconds=121))
    tick(db_path, platform, MONDAY_0905 + timedelta(hours=2))
    assert delivered_keys(platform) == EXPECTED and len(platform.arrived) == 2
    assert {k: r["attempts"] for k, r in rows(db_path).items()} == {EXPECTED[0]: 2, EXPECTED[1]: 2, EXPECTED[2]: 2}


def test_a_send_that_keeps_failing_is_given_up_after_max_attempts(db_path):
    platform = FakePlatform(failures=[PlatformError(500)] * 100)
    moment = MONDAY_0905
    for _ in range(36):  # three hours of ticks: the back-off (30 s doubling) runs out of attempts
        tick(db_path, platform, moment)
        moment += timedelta(minutes=5)
    assert platform.arrived == [] and platform.calls == 2 * MAX_ATTEMPTS
    assert {(r["status"], r["attempts"], r["next_attempt_at"]) for r in rows(db_path).values()} == {("failed", MAX_ATTEMPTS, None)}


def test_backoff_doubles_up_to_an_hour_and_honours_retry_after():
    assert [delivery.backoff(n, None).total_seconds() for n in (1, 2, 3, 8, 20)] == [30, 60, 120, 3600, 3600]
    assert delivery.backoff(1, 600).total_seconds() == 600


def test_after_downtime_only_the_latest_rung_goes_out_once(db_path):
    platform = FakePlatform()
    # down from before the 7-day rung until two days after the due date; back on Wednesday 09:30
    for minutes in range(0, 120, 10):
        tick(db_path, platform, datetime(2027, 1, 20, 9, 0, tzinfo=UTC) + timedelta(minutes=minutes))
    assert delivered_keys(platform) == sorted(
        [f"nudge:{WS}:1:due:2027-01-18", f"nudge:{WS}:2:due:2027-01-19", f"nudge:{WS}:3:due:2027-01-18"])
    assert len(platform.arrived) == 2


def test_no_sender_for_a_platform_means_no_claim(db_path):
    store = Store.open(db_path)
    try:
        assert asyncio.run(claim_nudges(store, Senders({"teams": FakePlatform()}), MONDAY_0905)) == []
        assert store._rows("SELECT * FROM sent_log") == []
    finally:
        store.close()


# -- end to end through the real Slack adapter ---------------------------------------------------


ALICE = "U0ALICE"


def seed_slack(db_path, tz="Europe/Berlin"):
    store = Store.open(db_path)
    store.upsert_person(TEAM_ID, "U0BOSS", name="Boss", tz="UTC", platform="slack")
    store.upsert_person(TEAM_ID, ALICE, name="Alice", tz=tz)
    store.create_task(TEAM_ID, "Backup Schedule", ALICE, "U0BOSS", due=date(2027, 1, 19))
    store.close()


async def until(condition, timeout: float = 15.0) -> None:
    for _ in range(int(timeout / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not met in time")


async def test_a_nudge_reaches_slack_as_a_dm_with_buttons(tmp_path):
    api = await FakeSlackAPI().start()
    with time_machine.travel(datetime(2027, 1, 18, 9, 5, tzinfo=ZoneInfo("Europe/Berlin")), tick=True):
        seed_slack(tmp_path / "c.db")
        server = await start_slack_server(tmp_path / "c.db", api, COMPLYBOT_SCHEDULER="on")  # the scheduler ticks at start
        try:
            [post] = await api.wait_for("chat.postMessage")
            assert api.to("conversations.open")[0].body["users"] == ALICE
            assert post.body["channel"] == "D0ALICE"
            text = post.all_text()
            assert "Backup Schedule" in text and "A.8.13" in text and "CC7.5" in text and "Due tomorrow" in text
            values = [e.get("value") for b in post.blocks() for e in b.get("elements", []) if isinstance(e, dict)]
            assert {"done 1", "snooze 1 7"} <= set(values)
            await server.app[RUNTIME].scheduler.tick()  # a second tick in the same morning sends nothing
            assert len(api.to("chat.postMessage")) == 1
        finally:
            await server.stop()
            await api.stop()


async def test_slack_failing_beyond_its_client_retries_is_retried_by_the_outbox(tmp_path):
    api = await FakeSlackAPI().start()
    for _ in range(3):  # the Slack client itself retries a 500 twice; the third failure reaches us
        api.fail_next("chat.postMessage", 500)
    with time_machine.travel(datetime(2027, 1, 18, 9, 5, tzinfo=ZoneInfo("Europe/Berlin")), tick=True) as traveller:
        seed_slack(tmp_path / "c.db")
        server = await start_slack_server(tmp_path / "c.db", api, COMPLYBOT_SCHEDULER="on")
        try:
            await api.wait_for("chat.postMessage!500", count=3, timeout=15)
            store = server.app[RUNTIME].ctx.store
            await until(lambda: store._rows("SELECT status FROM sent_log") == [{"status": "failed"}])
            scheduler = server.app[RUNTIME].scheduler
            await scheduler.tick()  # too early for the retry
            assert api.to("chat.postMessage") == []
            for status, retry_after in ((429, 60),) * 4:  # then Slack rate-limits us, past the client's retries
                api.fail_next("chat.postMessage", status, retry_after=0)
            traveller.shift(31)
            await scheduler.tick()
            assert api.to("chat.postMessage") == [] and len(api.to("chat.postMessage!429")) == 4
            traveller.shift(61)
            await scheduler.tick()
            assert len(api.to("chat.postMessage")) == 1
            traveller.shift(3600)
            await scheduler.tick()
            assert len(api.to("chat.postMessage")) == 1  # in the end exactly one message
            [row] = store._rows("SELECT status, attempts FROM sent_log")
            assert row == {"status": "sent", "attempts": 3}
        finally:
            await server.stop()
            await api.stop()


async def test_a_missed_digest_reaches_its_slack_channel_once_after_a_restart(tmp_path):
    api = await FakeSlackAPI().start()
    store = Store.open(tmp_path / "c.db")
    store.upsert_person(TEAM_ID, "U0BOSS", name="Boss", tz="UTC", platform="slack")
    with time_machine.travel(datetime(2027, 1, 4, tzinfo=UTC), tick=False):
        store.subscribe_digest(TEAM_ID, "slack", "C0STATUS", weekdays="mon", time="09:00", tz="Europe/Berlin")
    store.close()
    try:
        for restart in range(2):  # down at 09:00 on Monday; up at 11:00, then restarted at 11:05
            moment = datetime(2027, 1, 18, 11, 5 * restart, tzinfo=ZoneInfo("Europe/Berlin"))
            with time_machine.travel(moment, tick=True):
                server = await start_slack_server(tmp_path / "c.db", api, COMPLYBOT_SCHEDULER="on")
                try:
                    [post] = await api.wait_for("chat.postMessage")
                    await server.app[RUNTIME].scheduler.tick()
                finally:
                    await server.stop()
        assert len(api.to("chat.postMessage")) == 1
        assert post.body["channel"] == "C0STATUS" and "Weekly compliance digest" in post.all_text()
    finally:
        await api.stop()


# -- a real process killed mid-send ----------------------------------------------------------------




# `complybot serve` in a process whose clock starts at argv[1] and runs on (time-machine)
SERVE_AT = ("import sys, time_machine; time_machine.travel(sys.argv[1], tick=True).start(); "
            "from bot.cli import main; sys.exit(main(sys.argv[2:]))")


class HangingSlack(FakeSlackAPI):
    """Slack that takes the message and then does not answer until `release()`."""

    hang: bool = True
    _released: asyncio.Event | None = None

    async def _api(self, request):
        if self.hang and request.match_info["method"] == "chat.postMessage":
            self._released = self._released or asyncio.Event()
            await self._record(Call("chat.postMessage", await _body(request)))
            await self._released.wait()
            return web.json_response({"ok": False, "error": "fatal_error"}, status=500)
        return await super()._api(request)

    def release(self) -> None:
        self.hang = False
        if self._released:
            self._released.set()


def serve_at(moment: datetime, db_path, api) -> subprocess.Popen:
    env = clean_env(COMPLYBOT_DB=str(db_path), COMPLYBOT_HOST="127.0.0.1", SLACK_BOT_TOKEN=BOT_TOKEN,
                    SLACK_SIGNING_SECRET=SIGNING_SECRET, SLACK_API_URL=api.base_url)
    return subprocess.Popen([sys.executable, "-c", SERVE_AT, moment.isoformat(), "serve", "--port", str(free_port())],
                            env=env, cwd=db_path.parent, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def test_a_server_killed_between_send_and_record_does_not_send_again_after_restart(tmp_path):
    api = await HangingSlack().start()
    db = tmp_path / "c.db"
    with time_machine.travel(datetime(2027, 1, 10, tzinfo=UTC), tick=False):
        seed_slack(db)
    morning = datetime(2027, 1, 18, 9, 5, tzinfo=ZoneInfo("Europe/Berlin"))
    first = serve_at(morning, db, api)
    try:
        await api.wait_for("chat.postMessage", timeout=30)  # Slack has it; the server waits for the answer
    finally:
        first.send_signal(signal.SIGKILL)  # …and dies before recording anything
        first.wait(10)
    [row] = rows(db).values()
    assert row["status"] == "claimed" and row["send_started_at"]

    api.release()
    second = serve_at(morning + LEASE + timedelta(minutes=1), db, api)  # restarted after the lease ran out
    try:
        await until(lambda: rows(db)[row["key"]]["status"] == "sent", timeout=30)
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(30) == 0
        await api.stop()
    assert len(api.to("chat.postMessage")) == 1  # nothing sent twice, and the one message was not lost
    assert rows(db)[row["key"]]["last_error"].startswith("unconfirmed")


def test_a_message_says_only_what_its_tick_won(db_path):
    from bot.delivery import Claim, Draft, claim_all, outgoing
    from handlers.types import Reply

    store = Store.open(db_path)
    try:
        def draft(keys):
            return Draft(WS, "slack", [Claim(k) for k in keys], user="alice",
                         compose=lambda won: Reply(" + ".join(keys[i] for i in won)))

        [first] = claim_all(store, [draft(["k1"])], MONDAY_0905)  # another tick took k1
        composed = {}
        [second] = claim_all(store, [draft(["k1", "k2"])], MONDAY_0905, composed)
        assert claim_all(store, [draft(["k1", "k2"])], MONDAY_0905) == []  # nothing left: no message
        assert composed[second].reply.text == "k2" and composed[second].tags == ("k2",)
        assert outgoing(store, second).reply.text == "k2" and outgoing(store, first).reply.text == "k1"
        assert store._rows("SELECT COUNT(*) AS n FROM outbox") == [{"n": 2}]
    finally:
        store.close()


class SlowOpeningSlack(FakeSlackAPI):
    """Slack that answers `allow(n)` conversations.open calls and holds every later one unanswered
    (until `release()`), so a server can be killed while it waits to open a DM."""

    budget: int = 0
    held: int = 0
    _released: asyncio.Event | None = None

    def allow(self, opens: int) -> None:
        self.budget, self.held = opens, 0

    async def _api(self, request):
        if request.match_info["method"] == "conversations.open" and not (self._released and self._released.is_set()):
            if self.budget <= 0:
                self._released = self._released or asyncio.Event()
                self.held += 1
                await self._released.wait()
            self.budget -= 1
        return await super()._api(request)

    def release(self) -> None:
        self._released = self._released or asyncio.Event()
        self._released.set()


KILL_ROUNDS = 5
OWNERS_PER_ROUND = 25  # one full send batch goes out, then the process dies opening the next DMs


async def test_nudges_cut_off_while_opening_the_dm_are_sent_once_after_a_kill(tmp_path):
    """kill -9 during conversations.open, round after round: every nudge that provably never left is
    sent after the restart, none twice (each owner has one task, so one DM each)."""
    api = await SlowOpeningSlack().start()
    db = tmp_path / "c.db"
    with time_machine.travel(datetime(2027, 1, 10, tzinfo=UTC), tick=False):
        seed_slack(db)  # Alice's task, and the admin
    owners = [ALICE]
    morning = datetime(2027, 1, 18, 9, 5, tzinfo=ZoneInfo("Europe/Berlin"))
    restart = LEASE + timedelta(minutes=1)  # each restart comes after the dead process's leases lapsed
    try:
        for number in range(KILL_ROUNDS):
            store = Store.open(db)
            with time_machine.travel(datetime(2027, 1, 10, tzinfo=UTC), tick=False):
                for index in range(OWNERS_PER_ROUND):
                    owner = f"U{number}{index:02d}"
                    store.upsert_person(TEAM_ID, owner, name=owner, tz="Europe/Berlin")
                    store.create_task(TEAM_ID, "Backup Schedule", owner, "U0BOSS", due=date(2027, 1, 19))
                    owners.append(owner)
            store.close()
            api.allow(delivery.SEND_BATCH)
            process = serve_at(morning + number * restart, db, api)
            try:
                await until(lambda: api.held > 0, timeout=30)  # the next batch waits for its DMs to open
            finally:
                process.send_signal(signal.SIGKILL)
                process.wait(10)
        api.release()
        process = serve_at(morning + KILL_ROUNDS * restart, db, api)
        try:
            await until(lambda: {r["status"] for r in rows(db).values()} == {"sent"}, timeout=30)
        finally:
            process.send_signal(signal.SIGTERM)
            assert process.wait(30) == 0
    finally:
        api.release()
        await api.stop()
    received = [call.body["channel"] for call in api.to("chat.postMessage")]
    per_owner = {owner: received.count("D" + owner.removeprefix("U")) for owner in owners}
    lost = sorted(owner for owner, count in per_owner.items() if count == 0)
    twice = sorted(owner for owner, count in per_owner.items() if count > 1)
    print(f"kill -9 rounds: {KILL_ROUNDS}, nudges: {len(owners)}, lost: {len(lost)}, duplicates: {len(twice)}")
    assert (lost, twice) == ([], [])
    assert not [r for r in rows(db).values() if r["last_error"].startswith("unconfirmed")]
