"""End to end in Teams: the real server (create_app) on 127.0.0.1, Bot Framework activities shaped as Teams
sends them posted to /api/messages, and a fake Bot Connector (another port) that records what the bot
sends. Auth is off here (COMPLYBOT_TEAMS_LOCAL=1 on loopback); tests/test_teams_security.py covers auth."""
from __future__ import annotations

import asyncio
import json
import sqlite3
from urllib.parse import unquote
from dataclasses import dataclass

import pytest
from aiohttp import ClientSession, web

from bot.config import Settings
from bot.runtime import RUNTIME
from bot.server import create_app
from handlers.types import Outgoing, Reply, Section
from tests.fakes.bot_connector import FakeBotConnector, TeamsActivities, new_user
from tests.fakes.loopback import forbid_internet, serve_on_loopback


@dataclass
class Server:
    app: web.Application
    runner: web.AppRunner
    url: str

    async def post(self, activity: dict, headers: dict | None = None) -> int:
        async with ClientSession() as session:
            async with session.post(f"{self.url}/api/messages", json=activity, headers=headers or {}) as response:
                await response.read()
                return response.status

    async def invoke(self, activity: dict) -> tuple[int, dict]:
        """Post an invoke (a pressed Action.Execute): Teams reads the answer from the HTTP response."""
        async with ClientSession() as session:
            async with session.post(f"{self.url}/api/messages", json=activity) as response:
                return response.status, await response.json()

    async def stop(self) -> None:
        await self.runner.cleanup()


async def start_server(db_path, **env: str) -> Server:
    settings = Settings.from_env({"COMPLYBOT_DB": str(db_path), "COMPLYBOT_HOST": "127.0.0.1",
                                  "COMPLYBOT_TEAMS_LOCAL": "1",
                                  "COMPLYBOT_SCHEDULER": "off",  # the tests tick by hand (run_tick)
                                  **env})
    app = create_app(settings)
    runner, url = await serve_on_loopback(app)
    return Server(app, runner, url.rstrip("/"))


@pytest.fixture
def no_internet(monkeypatch):
    attempts = forbid_internet(monkeypatch)
    yield attempts
    assert attempts == [], f"the bot tried to reach {attempts}"


@pytest.fixture
async def connector():
    fake = await FakeBotConnector().start()
    yield fake
    await fake.stop()


@pytest.fixture
async def server(tmp_path, connector, no_internet):
    running = await start_server(tmp_path / "complybot.db")
    yield running
    await running.stop()


def submit_values(card: dict) -> list[dict]:
    """Every button (Action.Execute) of a card, wherever it sits (card actions or ActionSets)."""
    found = []

    def walk(node):
        if isinstance(node, dict):
            if node.get("type") == "Action.Execute":
                found.append({"title": node.get("title"), "verb": node.get("verb"), "data": node.get("data")})
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(card)
    return found


def button(card: dict, label: str) -> dict:
    return next(b for b in submit_values(card) if b["title"].lower().startswith(label))


async def assign_and_list(server: Server, connector: FakeBotConnector, teams: TeamsActivities, admin, owner) -> dict:
    """The admin writes first (the first person of a tenant is its admin) and assigns a control to the
    owner by mention in a channel; the owner lists their tasks in a personal chat. The Teams call of
    that listing."""
    start = len(connector.calls)
    await server.post(teams.channel(admin, "hello"))
    await server.post(teams.channel(
        admin, f"assign Multi-Factor Authentication to <at>{owner.name}</at> due 2031-03-31", mentions=(owner,)))
    await server.post(teams.personal(owner, "tasks"))
    return (await connector.wait_for(start + 3))[-1]


async def test_channel_question_is_answered_in_its_thread(server, connector):
    teams = TeamsActivities(connector.service_url)
    alice = new_user("Alice Admin")
    activity = teams.channel(alice, "what ISO control maps to CC 6.1?")

    assert await server.post(activity) == 201
    [call] = await connector.wait_for(1)
    # A reply to the post: POST /v3/conversations/{19:…@thread.tacv2;messageid=…}/activities/{id}
    assert call.kind == "reply"
    assert call.conversation_id == activity["conversation"]["id"]
    assert call.conversation_id.startswith(teams.channel_id)
    assert call.activity_id == activity["id"]
    # The Agents SDK sends the id as path characters (":", "@", ";", "=" are all legal in a path
    # segment); botbuilder percent-encoded them. Either way the connector reads back the same id.
    assert call.raw_path.startswith("/v3/conversations/") and teams.channel_id in unquote(call.raw_path)
    assert "A.5.15" in call.all_text() or "A.8" in call.all_text(), call.all_text()
    assert "<at>" not in call.all_text()


async def test_personal_chat_question(server, connector):
    teams = TeamsActivities(connector.service_url)
    bob = new_user("Bob")
    activity = teams.personal(bob, "A.8.5 in SOC 2?")

    assert await server.post(activity) == 201
    [call] = await connector.wait_for(1)
    assert call.conversation_id == activity["conversation"]["id"]
    assert "CC6" in call.all_text(), call.all_text()


async def test_assign_tasks_done_button_updates_the_card(server, connector):
    teams = TeamsActivities(connector.service_url)
    alice, bob = new_user("Alice Admin"), new_user("Bob Owner")
    connector.add_members(alice, bob)
    # Alice writes first (the first person of a tenant is its admin), then assigns to Bob by mention.
    assert await server.post(teams.channel(alice, "hello")) == 201
    await connector.wait_for(1)
    assign = teams.channel(alice, f"assign Multi-Factor Authentication to <at>{bob.name}</at> due 2031-03-31", mentions=(bob,))
    assert await server.post(assign) == 201
    calls = await connector.wait_for(2)
    assigned = calls[-1].all_text()
    assert "Multi-Factor Authentication" in assigned and bob.name in assigned, assigned
    store = server.app[RUNTIME].ctx.store
    [task] = store.tasks(teams.tenant_id)
    # Teams' mention carried only Bob's Teams id; the bot asked Teams (GET …/members/{id}) for his
    # Entra object id, so the task is his under the id he writes with. Each person is asked about once.
    assert connector.member_lookups == [alice.member_id, bob.member_id]
    assert connector.member_lookup_conversations == [teams.team_id] * 2  # a channel's members: the team's
    assert task.owner == bob.aad_object_id
    assert store.person(teams.tenant_id, bob.aad_object_id).email == bob.email
    assert store.person(teams.tenant_id, alice.aad_object_id).email == alice.email

    # Bob lists his tasks in his personal chat: a card with Done / Snooze buttons.
    listing = teams.personal(bob, "tasks")
    assert await server.post(listing) == 201
    calls = await connector.wait_for(3)
    cards = calls[-1].cards()
    assert cards and cards[0]["version"] == "1.5" and cards[0]["fallbackText"]
    done = button(cards[0], "done")
    assert button(cards[0], "snooze")["data"]["complybot"].startswith("snooze")

    # Bob presses Done: Teams invokes adaptiveCard/action with the button's data; the card in the
    # answer replaces the pressed one for him at once, and the message is updated for everyone.
    card_id = "card-activity-1"
    press = teams.card_execute(bob, card_id, done, listing["conversation"])
    status, answer = await server.invoke(press)
    assert status == 200 and answer["statusCode"] == 200
    assert answer["type"] == "application/vnd.microsoft.card.adaptive" and answer["value"]["version"] == "1.5"
    calls = await connector.wait_for(4)
    update = calls[-1]
    assert update.kind == "update" and update.method == "PUT"
    assert update.activity_id == card_id and update.conversation_id == listing["conversation"]["id"]
    assert update.cards() == [answer["value"]] and "done" in update.all_text().lower()  # a card replaces the card
    assert store.task(teams.tenant_id, task.id).status == "done"
    assert connector.member_lookups == [alice.member_id, bob.member_id]  # still: once per person

    # Progress: the status card draws a bar per framework and counts the finished control.
    await server.post(teams.channel(alice, "status"))
    status = (await connector.wait_for(5))[-1]
    bars = [block["text"] for block in _text_blocks(status.cards()[0]) if block["text"].endswith("%")]
    assert len(bars) >= 2 and all(set(bar.split()[0]) <= {"▓", "░"} for bar in bars), bars
    assert "1 of 118 controls finished" in status.all_text()


def _text_blocks(node) -> list[dict]:
    if isinstance(node, dict):
        found = [node] if node.get("type") == "TextBlock" else []
        return found + [b for value in node.values() for b in _text_blocks(value)]
    if isinstance(node, list):
        return [b for value in node for b in _text_blocks(value)]
    return []


async def test_someone_elses_task_button_changes_nothing(server, connector):
    teams = TeamsActivities(connector.service_url)
    alice, bob, mallory = new_user("Alice Admin"), new_user("Bob Owner"), new_user("Mallory")
    connector.add_members(alice, bob, mallory)
    listing = await assign_and_list(server, connector, teams, alice, bob)
    done = button(listing.cards()[0], "done")
    store = server.app[RUNTIME].ctx.store
    [task] = store.tasks(teams.tenant_id)
    events_before = store.events(teams.tenant_id, task.id)

    status, answer = await server.invoke(
        teams.card_execute(mallory, "card-9", done, teams.personal(mallory, "")["conversation"]))
    # The refusal is shown to Mallory alone (an invoke message), and no card is replaced or sent.
    assert status == 200 and answer["type"] == "application/vnd.microsoft.activity.message", answer
    assert "not" in answer["value"].lower() or "only" in answer["value"].lower(), answer["value"]
    assert len(connector.calls) == 3 and all(call.kind != "update" for call in connector.calls)
    assert store.task(teams.tenant_id, task.id) == task
    assert store.events(teams.tenant_id, task.id) == events_before


async def bobs_done_button(server: Server, connector: FakeBotConnector):
    """Alice assigns a task to Bob, who lists his tasks: (teams, Bob, the Done button of his card)."""
    teams = TeamsActivities(connector.service_url)
    alice, bob = new_user("Alice Admin"), new_user("Bob Owner")
    connector.add_members(alice, bob)
    listing = await assign_and_list(server, connector, teams, alice, bob)
    return teams, bob, button(listing.cards()[0], "done")


async def test_a_legacy_submit_button_still_works(server, connector):
    """Cards sent before Universal Actions carry Action.Submit: a press arrives as a message."""
    teams, bob, done = await bobs_done_button(server, connector)
    [task] = server.app[RUNTIME].ctx.store.tasks(teams.tenant_id)
    conversation = teams.personal(bob, "")["conversation"]
    assert await server.post(teams.card_submit(bob, "card-old", done["data"], conversation)) == 201
    update = (await connector.wait_for(4))[-1]
    assert update.kind == "update" and update.activity_id == "card-old"
    assert server.app[RUNTIME].ctx.store.task(teams.tenant_id, task.id).status == "done"


async def test_welcome_when_the_bot_is_added_to_a_team(server, connector):
    teams = TeamsActivities(connector.service_url)
    alice = new_user("Alice Admin")
    assert await server.post(teams.bot_added(alice)) == 201
    [call] = await connector.wait_for(1)
    assert call.conversation_id == teams.team_id
    assert "complybot" in call.all_text() and "tasks" in call.all_text()


async def test_personal_install_welcomes_and_keeps_the_chat_for_reminders(server, connector):
    teams = TeamsActivities(connector.service_url)
    ida = new_user("Ida")
    added = teams.bot_added(ida, personal=True)
    assert await server.post(added) == 201
    [welcome] = await connector.wait_for(1)
    assert welcome.conversation_id == added["conversation"]["id"] and "tasks" in welcome.all_text()
    await server.app[RUNTIME].senders["teams"].send(
        Outgoing(workspace=teams.tenant_id, user=ida.aad_object_id, reply=Reply("Due soon"), platform="teams"))
    calls = await connector.wait_for(2)
    assert calls[1].conversation_id == added["conversation"]["id"] and calls[1].text == "Due soon"
    assert all(call.kind != "create_conversation" for call in calls)


async def test_a_proactive_send_teams_refuses_raises_so_delivery_retries_it(server, connector):
    """The SDK hands an error inside a proactive turn to on_turn_error; the sender must still see it,
    or delivery would record a nudge Teams never took as sent (and the person would get an apology)."""
    teams = TeamsActivities(connector.service_url)
    ida = new_user("Ida")
    assert await server.post(teams.bot_added(ida, personal=True)) == 201
    await connector.wait_for(1)
    connector.fail_next = 1  # Teams answers the proactive post with a 500
    with pytest.raises(Exception):
        await server.app[RUNTIME].senders["teams"].send(
            Outgoing(workspace=teams.tenant_id, user=ida.aad_object_id, reply=Reply("Due soon"), platform="teams"))
    await asyncio.sleep(0.2)
    assert len(connector.calls) == 1  # no apology went out in its place
    await server.app[RUNTIME].senders["teams"].send(  # and the retry goes through
        Outgoing(workspace=teams.tenant_id, user=ida.aad_object_id, reply=Reply("Due soon"), platform="teams"))
    calls = await connector.wait_for(2)
    assert calls[1].text == "Due soon"


async def test_group_chat_message_is_handled(server, connector):
    teams = TeamsActivities(connector.service_url)
    carol = new_user("Carol")
    assert await server.post(teams.group_chat(carol, "what ISO control maps to CC 6.1?")) == 201
    [call] = await connector.wait_for(1)
    assert call.conversation_id == teams.group_chat_id


async def test_proactive_message_after_a_restart(tmp_path, connector, no_internet):
    """A reference saved before a restart still reaches the person and the channel afterwards."""
    db = tmp_path / "complybot.db"
    teams = TeamsActivities(connector.service_url)
    dana = new_user("Dana")
    first = await start_server(db)
    await first.post(teams.personal(dana, "hello"))
    await first.post(teams.channel(dana, "hello"))
    await connector.wait_for(2)
    await first.stop()  # the runner stops and the database is closed

    second = await start_server(db)
    try:
        sender = second.app[RUNTIME].senders["teams"]
        nudge = Reply("Task 1 (A.8.5) is due in 3 days.", sections=(Section(title="Due soon", lines=("A.8.5",)),))
        await sender.send(Outgoing(workspace=teams.tenant_id, user=dana.aad_object_id, reply=nudge, platform="teams"))
        await sender.send(Outgoing(workspace=teams.tenant_id, channel=teams.channel_id,
                                   reply=Reply("Weekly digest: 0 of 1 tasks done."), platform="teams"))
        calls = await connector.wait_for(4)
    finally:
        await second.stop()
    dm, post = calls[2], calls[3]
    # proactive messages go as a reply to the continuation's fresh id; never a real message's
    incoming_ids = {call.activity_id for call in calls[:2]}
    assert dm.activity_id not in incoming_ids and post.activity_id not in incoming_ids
    assert dm.conversation_id == teams.personal(dana, "")["conversation"]["id"]
    assert "due in 3 days" in dm.all_text() and dm.cards()
    assert post.conversation_id == teams.channel_id  # a new post, not a thread reply
    assert "Weekly digest" in post.text
    saved = sqlite3.connect(db).execute("SELECT kind, reference FROM teams_conversations").fetchall()
    assert {kind for kind, _ in saved} == {"personal", "channel"}
    assert all(json.loads(ref)["serviceUrl"] == connector.service_url for _, ref in saved)


async def test_proactive_message_to_someone_only_mentioned_opens_a_chat(server, connector):
    teams = TeamsActivities(connector.service_url)
    alice, erin = new_user("Alice Admin"), new_user("Erin")
    await server.post(teams.channel(alice, f"hello <at>{erin.name}</at>", mentions=(erin,)))
    await connector.wait_for(1)
    await server.app[RUNTIME].senders["teams"].send(
        Outgoing(workspace=teams.tenant_id, user=erin.member_id, reply=Reply("Hi Erin"), platform="teams"))
    calls = await connector.wait_for(3)
    create, send = calls[1], calls[2]
    assert create.kind == "create_conversation"
    assert create.body["members"] == [{"id": erin.member_id}]
    assert create.body["channelData"]["tenant"]["id"] == teams.tenant_id
    assert send.conversation_id.startswith("a:") and send.text == "Hi Erin"
    # the new chat is saved: the next message to Erin goes straight there
    await server.app[RUNTIME].senders["teams"].send(
        Outgoing(workspace=teams.tenant_id, user=erin.member_id, reply=Reply("Again"), platform="teams"))
    calls = await connector.wait_for(4)
    assert calls[3].conversation_id == send.conversation_id and calls[3].text == "Again"


async def test_bot_mention_is_removed_and_people_become_ids(server, connector):
    teams = TeamsActivities(connector.service_url)
    alice, bob = new_user("Alice"), new_user("Bob")
    from bot.teams.activities import message_from, neutral_text
    from bot.teams.members import ConversationBook
    from bot.teams.route import parse_activity

    activity = parse_activity(teams.channel(alice, f"ping <at>{bob.name}</at> now", mentions=(bob,)))
    text = neutral_text(activity, ConversationBook(server.app[RUNTIME].ctx.store), teams.tenant_id)
    assert text == f"ping <@{bob.member_id}> now"  # Teams sent no aadObjectId for Bob and we never met him
    message = message_from(activity, text, teams.tenant_id)
    assert message.workspace == teams.tenant_id and message.user == alice.aad_object_id
    assert message.channel == teams.channel_id and not message.is_direct


async def test_people_get_their_teams_name_and_time_zone(server, connector):
    teams = TeamsActivities(connector.service_url, time_zone="America/Chicago")
    gil = new_user("Gil Lopez")
    await server.post(teams.personal(gil, "hello"))
    odd = TeamsActivities(connector.service_url, tenant_id=teams.tenant_id, time_zone="Mars/Olympus_Mons")
    hal = new_user("Hal")
    await server.post(odd.personal(hal, "hello"))
    await connector.wait_for(2)
    store = server.app[RUNTIME].ctx.store
    person = store.person(teams.tenant_id, gil.aad_object_id)
    assert (person.name, person.tz, person.role) == ("Gil Lopez", "America/Chicago", "admin")
    assert store.person(teams.tenant_id, hal.aad_object_id).tz == "UTC"  # unknown zone: the default


async def test_a_resent_activity_is_handled_once(server, connector):
    """Teams re-sends an activity when the bot took over 15 s: the same id must not assign twice."""
    teams = TeamsActivities(connector.service_url)
    alice, bob = new_user("Alice Admin"), new_user("Bob Owner")
    connector.add_members(alice, bob)
    await server.post(teams.channel(alice, "hello"))
    assign = teams.channel(alice, f"assign Multi-Factor Authentication to <at>{bob.name}</at>", mentions=(bob,))
    assert await server.post(assign) == 201
    assert await server.post(assign) == 200  # the re-send: acknowledged, not processed
    await connector.wait_for(2)
    assert len(connector.calls) == 2
    assert len(server.app[RUNTIME].ctx.store.tasks(teams.tenant_id)) == 1
    again = teams.channel(alice, "tasks all")  # a new activity id goes through
    assert await server.post(again) == 201


async def test_bot_framework_emulator_works_in_local_mode(server, connector):
    """The Emulator sends no tenant and no token: in local mode it is the local workspace."""
    activity = {
        "type": "message", "id": "em-1", "channelId": "emulator", "serviceUrl": connector.service_url.replace(
            "127.0.0.1", "localhost"), "from": {"id": "emulator-user", "name": "User"},
        "conversation": {"id": "em-conv|livechat"}, "recipient": {"id": "bot", "name": "Bot"},
        "text": "tasks", "timestamp": "2026-11-28T10:00:00.000Z",
    }
    assert await server.post(activity) == 201
    [call] = await connector.wait_for(1)
    assert call.conversation_id == "em-conv|livechat" and "tasks" in call.all_text().lower()
    assert server.app[RUNTIME].ctx.store.person("local", "emulator-user") is not None


async def test_the_scheduler_nudges_an_owner_in_teams(server, connector):
    """The reminders' tick delivers through the Teams sender: Bob, assigned by mention in a channel and
    never in a personal chat with the bot, gets his nudge in a new 1:1 chat."""
    from datetime import datetime, timezone

    from bot.delivery import Senders
    from bot.scheduler import run_tick

    teams = TeamsActivities(connector.service_url)
    alice, bob = new_user("Alice Admin"), new_user("Bob Owner")
    connector.add_members(alice, bob)
    await server.post(teams.channel(alice, "hello"))
    await server.post(teams.channel(
        alice, f"assign Multi-Factor Authentication to <at>{bob.name}</at> due 2031-03-31", mentions=(bob,)))
    await connector.wait_for(2)

    week_before = datetime(2031, 3, 24, 9, 30, tzinfo=timezone.utc)  # a Monday morning, 7 days ahead
    result = await run_tick(server.app[RUNTIME].ctx.store, Senders(server.app[RUNTIME].senders), week_before)
    assert result.sent == 1
    create, nudge = connector.calls[2], connector.calls[3]
    assert create.kind == "create_conversation" and create.body["members"] == [{"id": bob.member_id}]
    assert nudge.conversation_id.startswith("a:") and "Multi-Factor Authentication" in nudge.all_text()
    again = await run_tick(server.app[RUNTIME].ctx.store, Senders(server.app[RUNTIME].senders), week_before)
    assert again.sent == 0 and len(connector.calls) == 4  # exactly once


async def test_a_weekly_digest_subscribed_in_a_channel_is_posted_there(server, connector):
    from datetime import datetime, timezone

    from bot.delivery import Senders
    from bot.scheduler import run_tick

    teams = TeamsActivities(connector.service_url)
    alice = new_user("Alice Admin")
    await server.post(teams.channel(alice, "digest here weekly mon 09:00 UTC"))
    [confirmation] = await connector.wait_for(1)
    assert "digest" in confirmation.all_text().lower()

    monday = datetime(2031, 3, 24, 9, 5, tzinfo=timezone.utc)
    result = await run_tick(server.app[RUNTIME].ctx.store, Senders(server.app[RUNTIME].senders), monday)
    assert result.sent == 1
    digest = connector.calls[1]
    assert digest.conversation_id == teams.channel_id  # a new post in the channel, not in a thread
    assert "SOC 2" in digest.all_text()


async def test_admins_configured_by_email_are_admins_in_teams(tmp_path, connector, no_internet):
    """COMPLYBOT_ADMINS names people by email; only Teams knows a person's email (asked once)."""
    running = await start_server(tmp_path / "complybot.db", COMPLYBOT_ADMINS="carol@contoso.example")
    try:
        teams = TeamsActivities(connector.service_url)
        alice, carol, dave, bob = (new_user(n) for n in ("Alice", "Carol", "Dave", "Bob"))
        connector.add_members(alice, carol, dave, bob)
        await running.post(teams.channel(alice, "hello"))  # the first person: an admin anyway
        store = running.app[RUNTIME].ctx.store
        for who in (dave, carol):  # Dave is a plain member: he may assign only to himself
            before = len(connector.calls)
            await running.post(teams.channel(
                who, f"assign Multi-Factor Authentication to <at>{bob.name}</at>", mentions=(bob,)))
            await connector.wait_for(before + 1)
            if who is dave:
                assert store.tasks(teams.tenant_id) == [] and "admin" in connector.calls[-1].all_text().lower()
        [task] = store.tasks(teams.tenant_id)
        assert task.assigner == carol.aad_object_id and task.owner == bob.aad_object_id
    finally:
        await running.stop()


async def test_lone_surrogates_and_unnormalised_text_are_ordinary_text(server, connector):
    """Valid JSON, not encodable in UTF-8 (in the text and the sender's name): it used to end in
    "Sorry, that failed on my side"."""
    teams = TeamsActivities(connector.service_url)
    eve = new_user("Eve \ud800")
    assert await server.post(teams.personal(eve, "assign Multi-Factor Authentication to me note \ud800 cafe\u0301")) == 201
    [call] = await connector.wait_for(1)
    assert "Assigned Multi-Factor Authentication" in call.all_text(), call.all_text()
    store = server.app[RUNTIME].ctx.store
    [task] = store.tasks(teams.tenant_id)
    assert task.note == "\ufffd caf\u00e9"  # replaced, and NFC
    assert store.person(teams.tenant_id, eve.aad_object_id).name == "Eve \ufffd"


async def test_a_members_words_are_data_in_the_admins_card(server, connector):
    """A member's block reason disguising a link and typing a mention reaches the admin's card as text."""
    from tests.test_teams_render import live_links, walk_text_blocks

    teams = TeamsActivities(connector.service_url)
    alice, bob = new_user("Alice Admin"), new_user("Bob Owner")
    connector.add_members(alice, bob)
    await assign_and_list(server, connector, teams, alice, bob)
    reason = f"[Click to re-verify your SSO](https://evil.example/login) or ask <@{alice.aad_object_id}>"
    await server.post(teams.personal(bob, f"block 1 {reason}"))
    await server.post(teams.channel(alice, "tasks all"))
    listing = (await connector.wait_for(5))[-1]

    [card] = listing.cards()
    assert "Click to re-verify your SSO" in listing.all_text()
    for block in walk_text_blocks(card):
        assert live_links(block["text"]) == set(), block["text"]
        assert "<at>" not in block["text"], block["text"]
    assert "entities" not in card["msteams"] and not listing.body.get("entities")


async def test_a_failed_turn_is_apologised_for_without_the_error(server, connector, capfd, caplog):
    """The SDK's own turn-error handler sends the exception's text to the person and prints a
    traceback: complybot's apologises, and the log names the error's type and place only."""
    teams = TeamsActivities(connector.service_url)
    connector.fail_next = 1  # the reply fails (Teams has an outage); the apology goes through
    assert await server.post(teams.personal(new_user("Ivy"), "what ISO control maps to CC 6.1?")) == 201
    [apology] = await connector.wait_for(1)
    assert connector.failed == 1
    assert apology.text.startswith("Sorry, something went wrong on my side"), apology.text
    assert "Exception" not in apology.all_text() and "500" not in apology.all_text()
    printed = capfd.readouterr()
    assert "Traceback" not in printed.out + printed.err
    [turn_error] = [r for r in caplog.records if getattr(r, "event", "") == "teams.turn_error"]
    assert turn_error.fields["error"].startswith("ClientResponseError at "), turn_error.fields
    assert not any(r.exc_info for r in caplog.records)


async def test_a_button_whose_card_cannot_be_updated_still_shows_its_result(server, connector):
    teams, bob, done = await bobs_done_button(server, connector)
    connector.fail_next = 1  # the update for everyone fails
    status, answer = await server.invoke(teams.card_execute(bob, "card-2", done, teams.personal(bob, "")["conversation"]))
    assert status == 200 and answer["type"] == "application/vnd.microsoft.card.adaptive"
    assert "done" in json.dumps(answer["value"]).lower() and connector.failed == 1
    [task] = server.app[RUNTIME].ctx.store.tasks(teams.tenant_id, statuses=None)
    assert task.status == "done"
