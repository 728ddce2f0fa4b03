"""Policy acceptance end to end on the platforms: the real server with the real Bolt app and a fake Slack
Web API (users.list, conversations.members, signed requests), and the real botbuilder adapter with a
fake Bot Connector. Publish, the DMs once each in each person's working morning, the Accept button
(twice), a person of another organisation, a late joiner, a channel's members."""
from __future__ import annotations

import contextlib
import json
from datetime import datetime, timedelta, timezone

import pytest
import time_machine

from bot.delivery import Senders
from bot.runtime import RUNTIME
from bot.scheduler import run_tick
from tests.fakes.slack_api import SIGNING_SECRET, TEAM_ID, SignedSlack, api, buttons, start_slack_server  # noqa: F401
from tests.test_teams_e2e import button, connector, no_internet, server  # noqa: F401 (fixtures)
from tests.fakes.bot_connector import TeamsActivities, new_user

UTC = timezone.utc
AUP = "Acceptable Use Policy"
OWNER, OTHER, EXTERNAL, LATE = "U0OWNER", "U0OTHER", "U0EXT", "U0LATE"


def asks(api) -> list:
    return [c for c in api.to("chat.postMessage") if "Please read" in c.body.get("text", "")]


async def tick_through(server, traveller, day: int, hours=range(7, 16), minute=5):
    """Ticks at `minute` past each hour of 2027-01-`day` (UTC): Berlin's, London's and New York's mornings."""
    for hour in hours:
        traveller.move_to(datetime(2027, 1, day, hour, minute, tzinfo=UTC))
        await run_tick(server.store, Senders(server.app[RUNTIME].senders), datetime.now(UTC), server.app[RUNTIME].directories)


@pytest.fixture
async def slack_api(api):  # noqa: F811
    """The fake Web API's people, one of another organisation (Slack Connect), and two channels."""
    api.add_user(EXTERNAL, "Ext", "ext@partner.example", "UTC", team_id="T0PARTNER")
    api.channel_members["C0SEC"] = [OWNER, OTHER, EXTERNAL]
    api.channel_names.update(C0GENERAL="general", C0SEC="security")
    return api


@contextlib.asynccontextmanager
async def slack_at(tmp_path, api, moment: datetime):
    """The server and a signed Slack client, the clock starting at `moment` and running on."""
    with time_machine.travel(moment, tick=True) as traveller:
        server = await start_slack_server(tmp_path / "c.db", api)
        try:
            async with SignedSlack(server.url, SIGNING_SECRET, api) as slack:
                yield server, slack, traveller
        finally:
            await server.stop()


async def test_a_policy_in_slack_from_publishing_to_the_auditors_row(tmp_path, slack_api):
    api = slack_api
    async with slack_at(tmp_path, api, datetime(2027, 1, 4, 6, 0, tzinfo=UTC)) as (server, slack, traveller):
        await slack.direct_message("U0ADMIN", f'policy publish "{AUP}" <https://docs.example.com/aup> '
                                              "version 3 to everyone")
        await server.settle()
        assert "Published" in api.to("chat.postMessage")[-1].body["text"]
        await tick_through(server, traveller, 4)
        dms = asks(api)
        assert sorted(c.body["channel"] for c in dms) == ["D0ADMIN", "D0MEMBER", "D0OTHER", "D0OWNER"]
        read = len(api.to("users.list"))
        await tick_through(server, traveller, 4, hours=(15,), minute=9)  # the same hour: within MEMBERS_TTL
        assert len(api.to("users.list")) == read  # the membership is cached, not read every tick
        owners = next(c for c in dms if c.body["channel"] == "D0OWNER")
        accept = next(b for b in buttons(owners.blocks()) if b["value"] == "policy accept 1")
        message = {"ts": owners.body.get("ts", "1.1"), "blocks": owners.blocks()}
        for _ in range(2):  # pressed twice: one acceptance
            status, _ = await slack.press(OWNER, accept, message, channel="D0OWNER")
            assert status == 200
            await server.settle()
        answer = server.store.campaign_answer(TEAM_ID, 1, OWNER)
        assert answer["answer"] == "accepted" and answer["answered_via"] == "slack D0OWNER"
        accepted = [e for e in server.store.events(TEAM_ID) if e.action == "policy accepted"]
        assert len(accepted) == 1
        await slack.press(EXTERNAL, accept, message, channel="D0EXT")  # another organisation's person
        await server.settle()
        assert server.store.campaign_answer(TEAM_ID, 1, EXTERNAL) is None
        assert len([e for e in server.store.events(TEAM_ID) if e.action.startswith("policy ")]) == 2

        api.add_user(LATE, "Lee", "lee@example.com", "UTC")  # joins the workspace the next day
        await slack.direct_message("U0ADMIN", f'policy publish "Security Policy" '
                                              "<https://docs.example.com/sec> version 1 to <#C0SEC|security>")
        await server.settle()
        before = len(asks(api))
        await tick_through(server, traveller, 5)
        new = [c.body["channel"] for c in asks(api)[before:]]
        assert sorted(new) == ["D0LATE", "D0OTHER", "D0OWNER"]  # the late joiner; the channel's own
        assert all("Security Policy" in c.body["text"] for c in asks(api)[before:]
                   if c.body["channel"] != "D0LATE")


async def test_a_policy_in_teams_is_asked_in_a_personal_chat_and_accepted_by_its_card(server, connector):  # noqa: F811
    teams = TeamsActivities(connector.service_url)
    alice, bob = new_user("Alice Admin"), new_user("Bob Owner")
    connector.add_members(alice, bob)
    await server.post(teams.channel(alice, "hello"))
    await server.post(teams.personal(bob, "tasks"))
    await server.post(teams.channel(alice, f'policy publish "{AUP}" https://docs.example.com/aup version 3 '
                                           "to everyone"))
    calls = await connector.wait_for(3)
    assert "Published" in calls[-1].all_text(), calls[-1].all_text()
    store = server.app[RUNTIME].ctx.store
    monday = datetime(2031, 3, 24, 8, 30, tzinfo=UTC)  # 09:30 in Berlin, their zone
    result = await run_tick(store, Senders(server.app[RUNTIME].senders), monday, server.app[RUNTIME].directories)
    assert result.sent == 2
    again = await run_tick(store, Senders(server.app[RUNTIME].senders), monday, server.app[RUNTIME].directories)
    assert again.sent == 0  # exactly once
    bobs = next(c for c in connector.calls[3:] if AUP in c.all_text() and c.cards()
                and c.conversation_id == teams.personal(bob, "x")["conversation"]["id"])
    accept = button(bobs.cards()[0], "accept")
    press = teams.card_submit(bob, "card-1", accept["data"], teams.personal(bob, "x")["conversation"])
    for _ in range(2):
        assert await server.post({**press, "id": f"press-{_}"}) == 201
    await connector.wait_for(len(connector.calls))
    assert store.campaign_answer(teams.tenant_id, 1, bob.aad_object_id)["answer"] == "accepted"
    assert len([e for e in store.events(teams.tenant_id) if e.action == "policy accepted"]) == 1
    assert json.dumps(accept["data"]).count("policy accept 1") == 1
    elsewhere = TeamsActivities(connector.service_url, tenant_id="other-tenant")  # another organisation
    mallory = new_user("Mallory")
    connector.add_members(mallory)
    calls = len(connector.calls)
    steal = elsewhere.card_submit(mallory, "card-2", accept["data"], elsewhere.personal(mallory, "x")["conversation"])
    assert await server.post(steal) == 201
    await connector.wait_for(calls + 1)
    assert [e for e in store.events("other-tenant") if e.action.startswith("policy ")] == []
    assert store.campaign_counts(teams.tenant_id, 1) == {"accepted": 1, "question": 0, "pending": 1}


async def test_everyone_in_teams_is_the_roster_of_the_team_guests_left_out(server, connector):  # noqa: F811
    """Carol never wrote to the bot; she is in the team the bot was added to, so she is asked too (in a new
    1:1 chat). A guest of the team is not."""
    teams = TeamsActivities(connector.service_url)
    alice, carol, guest = new_user("Alice Admin"), new_user("Carol Colleague"), new_user("Gus Guest")
    connector.add_members(alice, carol, guest)
    connector.members[guest.member_id]["userRole"] = "guest"
    await server.post(teams.channel(alice, f'policy publish "{AUP}" https://docs.example.com/aup version 3 '
                                           "to everyone"))
    await connector.wait_for(1)
    store = server.app[RUNTIME].ctx.store
    monday = datetime(2031, 3, 24, 9, 30, tzinfo=UTC)  # working hours in Berlin (Alice) and UTC (Carol: unknown)
    result = await run_tick(store, Senders(server.app[RUNTIME].senders), monday, server.app[RUNTIME].directories)
    assert result.sent == 2
    asked = sorted(store.campaign_users(teams.tenant_id, 1))
    assert asked == sorted([alice.aad_object_id, carol.aad_object_id])
    opened = [c.body["members"] for c in connector.calls if c.kind == "create_conversation"]
    assert {"id": carol.member_id} in [m[0] for m in opened]


async def test_a_teams_roster_is_read_page_by_page_and_an_outage_is_no_roster(server, connector):  # noqa: F811
    """Every page of the roster is read (two members a page here); a member of another tenant is left out.
    When Teams fails for the only team the directory cannot tell (None) and posts nothing in the channel."""
    teams = TeamsActivities(connector.service_url)
    people = [new_user(f"Person {n}") for n in range(5)]
    stranger = new_user("Stranger")
    connector.add_members(*people, stranger)
    connector.members[stranger.member_id]["tenantId"] = "other-tenant"
    await server.post(teams.channel(people[0], "hello"))
    await connector.wait_for(1)
    directory = server.app[RUNTIME].directories["teams"]
    directory.PAGE = 2
    assert sorted(await directory.members(teams.tenant_id)) == sorted(p.aad_object_id for p in people)
    assert await directory.members(teams.tenant_id, "19:some-channel") is None  # channel audiences: Slack's
    calls = len(connector.calls)
    connector.fail_next = 1
    assert await directory.members(teams.tenant_id) is None
    assert connector.failed == 1 and len(connector.calls) == calls  # no apology in the team's channel


async def test_a_server_killed_mid_campaign_asks_everyone_exactly_once(tmp_path):
    """40 people; Slack takes the first batch of DMs and does not answer; the process is SIGKILLed. After a
    restart past the lease, every person has exactly one DM: 0 duplicates, 0 lost."""
    import asyncio
    import signal

    from bot.delivery import LEASE, SEND_BATCH
    from bot.store import Store
    from handlers.ports import Context
    from tests.serving import ServeProcess
    from tests.test_delivery import HangingSlack, until
    from tests.test_tasks import FixedClock, say
    from tests.fakes.slack_api import BOT_TOKEN

    api = await HangingSlack().start()
    people = [f"U{n:04d}" for n in range(40)]
    for user in ["U0ADMIN", *people[1:]]:
        api.add_user(user, user.lower(), tz="UTC")
    store = Store.open(tmp_path / "complybot.db")
    store.upsert_person(TEAM_ID, "U0ADMIN", name="ada", tz="UTC", platform="slack")
    with time_machine.travel(datetime(2027, 1, 15, 12, tzinfo=UTC), tick=False):
        say(Context(store=store, clock=FixedClock(datetime(2027, 1, 15, 12, tzinfo=UTC))),
            f'policy publish "{AUP}" https://docs.example.com/aup version 3 to everyone', user="U0ADMIN",
            workspace=TEAM_ID)
    store.close()
    env = dict(COMPLYBOT_SCHEDULER="on", SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=SIGNING_SECRET,
               SLACK_API_URL=api.base_url)
    morning = datetime(2027, 1, 18, 9, 5, tzinfo=UTC)
    first = ServeProcess(tmp_path, clock_at=morning.isoformat(), **env)
    try:
        await api.wait_for("chat.postMessage", count=SEND_BATCH, timeout=30)  # the batch is in Slack's hands
    finally:
        first.process.send_signal(signal.SIGKILL)  # …and the process dies before recording it
        first.process.wait(10)
        first.__exit__()
    killed = Store.open(tmp_path / "complybot.db")
    states = killed._rows("SELECT status, send_started_at IS NOT NULL AS started FROM sent_log")
    killed.close()
    assert len(states) == 40 and {s["status"] for s in states} == {"claimed"}  # all claimed, none recorded
    assert sum(s["started"] for s in states) == SEND_BATCH  # one batch mid-send, the rest not yet started
    api.release()
    second = ServeProcess(tmp_path, clock_at=(morning + LEASE + timedelta(minutes=1)).isoformat(), **env)
    try:
        def all_sent() -> bool:
            check = Store.open(tmp_path / "complybot.db")
            try:
                return check._rows("SELECT COUNT(*) AS n FROM sent_log WHERE key LIKE 'campaign:%' AND status = 'sent'"
                                   )[0]["n"] == 40
            finally:
                check.close()
        await until(all_sent, timeout=60)
        await asyncio.sleep(0.5)
    finally:
        assert second.terminate() == 0
        await api.stop()
    channels = [c.body["channel"] for c in api.to("chat.postMessage")]
    expected = sorted("D" + user.removeprefix("U") for user in ["U0ADMIN", *people[1:]])
    assert sorted(channels) == expected  # each person once: 0 duplicates, 0 lost


async def test_an_access_review_in_slack_by_its_buttons(tmp_path, slack_api):
    api = slack_api
    async with slack_at(tmp_path, api, datetime(2027, 1, 4, 8, 0, tzinfo=UTC)) as (server, slack, traveller):
        await slack.direct_message("U0ADMIN", 'review start "AWS production" reviewer <@U0OTHER> owner '
                                              "<@U0OWNER> due in 10 days\nalice, admin\ncarl, developer")
        await server.settle()
        assert "Access review 1 of AWS production started" in api.to("chat.postMessage")[-1].body["text"]
        await tick_through(server, traveller, 4, hours=(9,))
        [dm] = [c for c in api.to("chat.postMessage") if c.body["channel"] == "D0OTHER"]
        shown = {"ts": "1800000000.000100", "blocks": dm.blocks()}

        async def press(value: str, user: str = OTHER) -> dict:
            nonlocal shown
            button = next(b for b in buttons(shown["blocks"]) if b["value"] == value)
            before = len(api.to("chat.update"))
            status, _ = await slack.press(user, button, shown, channel="D0OTHER")
            assert status == 200
            await server.settle()
            if len(api.to("chat.update")) > before:
                shown = {"ts": shown["ts"], "blocks": api.to("chat.update")[-1].blocks()}
            return shown

        await press("review 1")  # Open the review: the list replaces the DM
        assert {"review 1 keep 1", "review 1 remove 2", "review 1 finish"} <= {
            b["value"] for b in buttons(shown["blocks"])}
        await press("review 1 keep 1", user=OWNER)  # not the reviewer: nothing decided
        assert server.store.review_counts(TEAM_ID, 1)["undecided"] == 2
        await press("review 1 keep 1")
        await press("review 1 remove 2")
        assert server.store.review_counts(TEAM_ID, 1) == {"keep": 1, "remove": 1, "change": 0, "undecided": 0}
        await press("review 1 finish")
        await press("review 1 sign off")
        [task] = server.store.tasks(TEAM_ID, owner=OWNER)
        assert task.control == "AWS production: remove carl" and str(task.due) == "2027-01-11"
        assert server.store.campaign(TEAM_ID, 1).state == "finished"
