"""The real APScheduler inside the real server: started and stopped with it, a tick that sends each
nudge once however often it runs, digest crons rebuilt from the database, and `complybot serve` with
no chat platform writing nudges and digests to its log."""
from __future__ import annotations

import asyncio
import json
import time
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
import time_machine
from aiohttp.test_utils import TestClient, TestServer

from bot.config import Settings
from bot.delivery import Senders
from bot.runtime import RUNTIME
from bot.scheduler import run_tick
from bot.server import create_app
from bot.store import Store
from tests.clockwork import RecordingSender
from tests.serving import ServeProcess

UTC = timezone.utc


def settings_for(db_path) -> Settings:
    return Settings.from_env({"COMPLYBOT_DB": str(db_path), "COMPLYBOT_HOST": "127.0.0.1"})


def seed(db_path, tz="Europe/Berlin", workspace="local", platform="console", due=date(2027, 1, 19)):
    store = Store.open(db_path)
    store.upsert_person(workspace, "me", name="me", tz=tz, platform=platform)
    store.create_task(workspace, "Backup Schedule", "me", "me", due=due)
    store.close()


async def test_scheduler_starts_and_stops_with_the_server(tmp_path):
    app = create_app(settings_for(tmp_path / "a.db"))
    async with TestClient(TestServer(app)) as client:
        scheduler = app[RUNTIME].scheduler
        assert scheduler.running
        tick = scheduler.scheduler.get_job("tick")
        assert tick.trigger.interval == timedelta(seconds=60)
        assert tick.coalesce and tick.max_instances == 1 and tick.misfire_grace_time >= 3600
        health = await (await client.get("/healthz")).json()
        assert health["scheduler"] == "running"
        assert "*" in app[RUNTIME].senders and "console" in app[RUNTIME].senders  # no platform: everything to the log
    assert not scheduler.running


async def test_digest_jobs_follow_the_database(tmp_path):
    store = Store.open(tmp_path / "a.db")
    store.ensure_workspace("T1", "slack")
    store.subscribe_digest("T1", "slack", "C1", weekdays="mon", time="09:00", tz="Europe/Berlin")
    store.close()
    app = create_app(settings_for(tmp_path / "a.db"))
    async with TestClient(TestServer(app)):
        scheduler = app[RUNTIME].scheduler
        [job] = [j for j in scheduler.scheduler.get_jobs() if j.id.startswith("digest:")]
        assert str(job.trigger.timezone) == "Europe/Berlin"
        # Monday 09:00 in Berlin, on both sides of the change to summer time (2027-03-28)
        fire = job.trigger.get_next_fire_time(None, datetime(2027, 3, 23, tzinfo=UTC))
        assert fire.isoformat() == "2027-03-29T09:00:00+02:00"
        fire = job.trigger.get_next_fire_time(None, datetime(2027, 3, 16, tzinfo=UTC))
        assert fire.isoformat() == "2027-03-22T09:00:00+01:00" and fire.weekday() == 0

        live = app[RUNTIME].ctx.store
        live.subscribe_digest("T1", "slack", "C2", weekdays="tue,fri", time="16:30", tz="America/New_York")
        live.unsubscribe_digest("T1", "slack", "C1")
        await scheduler.tick()  # a tick notices the change
        [job] = [j for j in scheduler.scheduler.get_jobs() if j.id.startswith("digest:")]
        fire = job.trigger.get_next_fire_time(None, datetime(2027, 3, 16, 12, tzinfo=UTC))
        assert fire.isoformat() == "2027-03-16T16:30:00-04:00"


async def test_the_digest_cron_posts_at_its_time_and_once(tmp_path):
    store = Store.open(tmp_path / "a.db")
    store.upsert_person("T1", "boss", name="boss", tz="UTC", platform="slack")
    with time_machine.travel(datetime(2027, 1, 1, tzinfo=UTC), tick=False):
        store.subscribe_digest("T1", "slack", "C1", weekdays="mon", time="09:00", tz="Europe/Berlin")
    store.close()
    recording = RecordingSender()
    app = create_app(settings_for(tmp_path / "a.db"))
    app[RUNTIME].senders["slack"] = recording
    with time_machine.travel(datetime(2027, 1, 18, 7, 59, 59, 800000, tzinfo=UTC), tick=True):
        async with TestClient(TestServer(app)):
            for _ in range(100):  # the cron fires at 09:00:00 Berlin, a fraction of a second from now
                if recording.sent:
                    break
                await asyncio.sleep(0.02)
            await app[RUNTIME].scheduler.tick()
            await asyncio.sleep(0.1)
    [(_, digest)] = recording.sent
    assert digest.key == "digest:T1:1:2027-01-18" and digest.channel == "C1" and digest.reply.kind == "digest"


async def test_a_fast_running_scheduler_sends_each_nudge_once(tmp_path):
    seed(tmp_path / "a.db", workspace="T1", platform="slack")
    recording = RecordingSender()
    app = create_app(settings_for(tmp_path / "a.db"))
    app[RUNTIME].senders["slack"] = recording
    app[RUNTIME].tick_seconds = 0.02
    with time_machine.travel(datetime(2027, 1, 18, 9, 5, tzinfo=ZoneInfo("Europe/Berlin")), tick=True):
        async with TestClient(TestServer(app)):
            await asyncio.sleep(0.5)  # many ticks
    assert [o.tags for _, o in recording.sent] == [("nudge:T1:1:before-1:2027-01-18",)]


async def test_with_the_scheduler_off_nothing_is_scheduled_and_healthz_says_so(tmp_path):
    """COMPLYBOT_SCHEDULER=off (an extra web instance on the same database): no APScheduler, no tick,
    so a nudge due this very morning is left to the one process that schedules."""
    seed(tmp_path / "a.db", workspace="T1", platform="slack")
    settings = Settings.from_env({"COMPLYBOT_DB": str(tmp_path / "a.db"), "COMPLYBOT_SCHEDULER": "off"})
    assert settings.scheduler is False and settings_for(tmp_path / "a.db").scheduler is True  # on by default
    recording = RecordingSender()
    app = create_app(settings)
    app[RUNTIME].senders["slack"] = recording
    with time_machine.travel(datetime(2027, 1, 18, 9, 5, tzinfo=ZoneInfo("Europe/Berlin")), tick=True):
        async with TestClient(TestServer(app)) as client:
            assert app[RUNTIME].scheduler is None
            response = await client.get("/healthz")
            health = await response.json()
            await asyncio.sleep(0.2)
    assert response.status == 200 and health["ok"] is True and health["scheduler"] == "off"
    assert recording.sent == []
    store = Store.open(tmp_path / "a.db")
    assert store.db.execute("SELECT COUNT(*) FROM sent_log").fetchone()[0] == 0  # nothing claimed either
    store.close()


def test_the_scheduler_setting_accepts_on_and_off_only():
    from bot.config import ConfigError

    assert Settings.from_env({"COMPLYBOT_SCHEDULER": "on"}).scheduler is True
    with pytest.raises(ConfigError, match="COMPLYBOT_SCHEDULER"):
        Settings.from_env({"COMPLYBOT_SCHEDULER": "sometimes"})


def morning_zone_now() -> str:
    """A fixed-offset zone where it is 09:xx right now (Etc/GMT-N means UTC+N)."""
    hour = datetime.now(UTC).hour
    offset = (9 - hour) % 24
    offset = offset - 24 if offset > 14 else offset
    return "Etc/GMT" + (f"-{offset}" if offset > 0 else f"+{-offset}" if offset < 0 else "")


@pytest.mark.skipif(datetime.now(UTC).minute >= 58, reason="the 09:xx window would close during the test")
def test_serve_with_no_chat_platform_writes_nudges_and_digests_to_the_log(tmp_path):
    tz = morning_zone_now()
    local = datetime.now(ZoneInfo(tz))
    store = Store.open(tmp_path / "complybot.db")
    store.upsert_person("local", "me", name="me", tz=tz, platform="console")
    store.update_workspace_settings("local", nudges={"workdays": "mon-sun"})
    store.create_task("local", "Backup Schedule", "me", "me", due=local.date() + timedelta(days=1))
    with time_machine.travel(local - timedelta(hours=1), tick=False):  # subscribed before today's 09:00
        store.subscribe_digest("local", "console", "me", weekdays="mon,tue,wed,thu,fri,sat,sun",
                               time=f"{local:%H}:00", tz=tz)
    store.close()

    def outgoing(server):
        events = [json.loads(line) for line in server.log_path.read_text().splitlines() if line.startswith("{")]
        return [e["msg"] for e in events if "Backup Schedule" in e.get("msg", "")]

    for run in ("first", "after a restart"):
        with ServeProcess(tmp_path, COMPLYBOT_SCHEDULER="on") as server:
            for _ in range(40 if run == "first" else 20):  # the first tick runs at start
                if len(outgoing(server)) >= 2:
                    break
                time.sleep(0.1)
            assert server.terminate() == 0
            logged = outgoing(server)
        if run == "first":
            assert len(logged) == 2, server.log_path.read_text()
            assert any("[local → @me]" in t and "Due tomorrow" in t and "done 1" in t for t in logged)
            assert any("[local → #me]" in t and "Weekly compliance digest" in t for t in logged)
        else:
            assert logged == []  # nothing sent twice


async def test_complybot_tz_is_the_zone_of_people_and_digests_without_their_own(tmp_path):
    """COMPLYBOT_TZ=Asia/Tokyo: a person the playground meets for the first time (no zone of their
    own) is nudged in Tokyo's working morning, not at 09:00 UTC, and a digest set up without a zone
    runs on Tokyo time."""
    settings = Settings.from_env({"COMPLYBOT_DB": str(tmp_path / "a.db"), "COMPLYBOT_TZ": "Asia/Tokyo",
                                  "COMPLYBOT_SCHEDULER": "off"})
    app = create_app(settings)
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        for text in ("assign Backup Schedule to @kenji due 2027-01-19", "digest here weekly mon 09:00"):
            response = await client.post("/api/playground", json={"text": text})
            assert response.status == 200 and not (await response.json())["ephemeral"]
    store = Store.open(tmp_path / "a.db")
    [kenji] = [p for p in store.people("local") if p.name == "kenji"]
    assert kenji.tz == "Asia/Tokyo"
    assert [d["tz"] for d in store.digests("local")] == ["Asia/Tokyo"]
    recording = RecordingSender()
    senders = Senders({"*": recording})
    evening_in_tokyo = datetime(2027, 1, 18, 9, 5, tzinfo=UTC)  # Monday 18:05 in Tokyo, a UTC morning
    await run_tick(store, senders, evening_in_tokyo)
    nudges = [o for _, o in recording.sent if o.user == kenji.user_id]
    assert nudges == []
    await run_tick(store, senders, datetime(2027, 1, 19, 9, 5, tzinfo=ZoneInfo("Asia/Tokyo")))
    nudges = [o for _, o in recording.sent if o.user == kenji.user_id]
    store.close()
    assert [o.tags for o in nudges] == [("nudge:local:1:due:2027-01-19",)]
