"""Each person's DM channel is opened once, ever: `conversations.open` is Tier 3 (~50 a minute), so a
busy morning of nudges must not call it before every message. Through the real scheduler and delivery
path, the real server restarted each morning, and the fake Slack Web API counting the calls."""
from __future__ import annotations

from collections import Counter
from datetime import date, datetime
from zoneinfo import ZoneInfo

import time_machine

from bot.runtime import RUNTIME
from bot.store import Store
from tests.fakes.slack_api import TEAM_ID, FakeSlackAPI, api, server, slack, start_slack_server  # noqa: F401 (fixtures)

PEOPLE = [f"U0P{n:03d}" for n in range(60)]  # more than one send batch (SEND_BATCH = 20) at once
BERLIN = ZoneInfo("Europe/Berlin")
MORNINGS = (datetime(2027, 1, 18, 9, 5, tzinfo=BERLIN),  # Mon: A due tomorrow, B in 7 days: one message each
            datetime(2027, 1, 19, 9, 5, tzinfo=BERLIN),  # Tue: A due today
            datetime(2027, 1, 25, 9, 5, tzinfo=BERLIN))  # next Mon: B due today


def seed(db_path) -> None:
    store = Store.open(db_path)
    store.upsert_person(TEAM_ID, "U0BOSS", name="Boss", tz="UTC", platform="slack")
    for user in PEOPLE:
        store.upsert_person(TEAM_ID, user, name=user, tz="Europe/Berlin", platform="slack")
        store.create_task(TEAM_ID, "Backup Schedule", user, "U0BOSS", due=date(2027, 1, 19))
        store.create_task(TEAM_ID, "Disk Encryption", user, "U0BOSS", due=date(2027, 1, 25))
    store.close()


async def test_a_morning_of_nudges_opens_each_persons_dm_once_ever(tmp_path):
    api = await FakeSlackAPI().start()
    seed(tmp_path / "c.db")
    try:
        for day, morning in enumerate(MORNINGS, start=1):
            with time_machine.travel(morning, tick=True):
                server = await start_slack_server(tmp_path / "c.db", api, COMPLYBOT_SCHEDULER="on")  # ticks at start
                try:
                    await api.wait_for("chat.postMessage", count=len(PEOPLE) * day, timeout=30)
                finally:
                    await server.stop()
        posts = api.to("chat.postMessage")
        assert len(posts) == len(PEOPLE) * len(MORNINGS)
        assert Counter(p.body["channel"] for p in posts) == {"D" + u.removeprefix("U"): 3 for u in PEOPLE}
        opened = Counter(c.body["users"] for c in api.to("conversations.open"))
        assert opened == {user: 1 for user in PEOPLE}  # three mornings, two restarts: one open per person
    finally:
        await api.stop()


async def test_concurrent_sends_to_one_person_share_one_open(server, api):
    import asyncio

    from handlers.types import Outgoing, Reply

    sender = server.app[RUNTIME].senders["slack"]
    await asyncio.gather(*(sender.send(Outgoing(workspace=TEAM_ID, user="U0ADMIN", reply=Reply(f"note {n}")))
                           for n in range(5)))
    assert [c.body["users"] for c in api.to("conversations.open")] == ["U0ADMIN"]
    assert {c.body["channel"] for c in api.to("chat.postMessage")} == {"D0ADMIN"}


async def test_a_dm_or_an_app_home_visit_brings_the_channel_id_so_nudges_need_no_open(server, slack, api):
    from handlers.types import Outgoing, Reply

    await slack.direct_message("U0OWNER", "help", channel="D0OWNER")
    await slack.app_home_opened("U0OTHER", tab="messages")  # its channel: D0OTHER
    await slack.direct_message("U0GUEST", "hello", channel="D0GUEST", user_team="T0ELSEWHERE")  # an outsider
    await server.settle()
    sender = server.app[RUNTIME].senders["slack"]
    for user in ("U0OWNER", "U0OTHER"):
        await sender.send(Outgoing(workspace=TEAM_ID, user=user, reply=Reply("Reminder")))
    assert not api.to("conversations.open")
    assert [c.body["channel"] for c in api.to("chat.postMessage")][-2:] == ["D0OWNER", "D0OTHER"]
    assert server.store.db.execute("SELECT user_id FROM slack_dm_channels WHERE user_id = 'U0GUEST'").fetchall() == []
