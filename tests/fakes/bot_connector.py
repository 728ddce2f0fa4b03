"""A fake Bot Connector (the Teams side of the Bot Framework), and Teams-shaped activities, for tests.

`FakeBotConnector` is an aiohttp app on 127.0.0.1 (port 0) that answers the Bot Connector REST API the
bot uses, as Teams does, and records every call:

    POST /v3/conversations                                   create a conversation (proactive 1:1)
    POST /v3/conversations/{id}/activities                   send to a conversation
    POST /v3/conversations/{id}/activities/{activityId}      reply to an activity
    PUT  /v3/conversations/{id}/activities/{activityId}      update an activity (a card after a button)
    GET  /v3/conversations/{id}/members/{memberId}           one member (aadObjectId, email) or 404
    GET  /v3/conversations/{id}/pagedmembers                 the team's roster, paged

Register the people Teams knows with `add_members(...)`; `fail_next = n` answers the next n sends, replies,
updates and roster pages with 500, as Teams does in an outage.

Conversation ids arrive URL-encoded (`19%3A…%40thread.tacv2`); aiohttp decodes them in match_info.
Put `connector.service_url` in the `serviceUrl` of the activities you post to the bot.

`TeamsActivities` builds activities shaped as Teams sends them: personal chat (`a:…` conversation),
channel (`19:…@thread.tacv2`, `channelData.channel/team`), group chat (`19:…@thread.v2`), with
`<at>…</at>` mentions in `entities`, `channelData.tenant.id`, `conversation.tenantId`; a pressed card
button (`card_execute`: an `adaptiveCard/action` invoke; `card_submit`: a legacy Action.Submit).
"""
from __future__ import annotations

import asyncio
import itertools
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes.loopback import serve_on_loopback

BOT_ID = "28:bot-app-id"
BOT_NAME = "complybot"


@dataclass
class ConnectorCall:
    method: str  # "POST" | "PUT"
    kind: str  # "create_conversation" | "send" | "reply" | "update"
    conversation_id: str  # decoded
    activity_id: str  # the activity replied to / updated; "" otherwise
    body: dict[str, Any]
    authorization: str = ""
    raw_path: str = ""  # as sent, still URL-encoded

    @property
    def text(self) -> str:
        return self.body.get("text") or ""

    def cards(self) -> list[dict]:
        return [a["content"] for a in self.body.get("attachments") or []
                if a.get("contentType") == "application/vnd.microsoft.card.adaptive"]

    def all_text(self) -> str:
        """Everything a person could see in this call (text, summary, cards), for assertions."""
        return json.dumps({"text": self.text, "summary": self.body.get("summary"), "cards": self.cards()},
                          ensure_ascii=False)


@dataclass
class FakeBotConnector:
    calls: list[ConnectorCall] = field(default_factory=list)
    members: dict[str, dict] = field(default_factory=dict)  # Teams id -> TeamsChannelAccount JSON
    member_lookups: list[str] = field(default_factory=list)
    member_lookup_conversations: list[str] = field(default_factory=list)  # decoded, as asked
    service_url: str = ""
    fail_next: int = 0  # answer this many of the next sends, replies, updates, roster pages with 500 (not recorded)
    failed: int = 0
    _ids = itertools.count(1000)
    _runner: web.AppRunner | None = None
    _changed: asyncio.Condition | None = None

    async def start(self) -> "FakeBotConnector":
        app = web.Application()
        app.router.add_post("/v3/conversations", self._create_conversation)
        app.router.add_post("/v3/conversations/{conversation}/activities", self._send)
        app.router.add_post("/v3/conversations/{conversation}/activities/{activity}", self._reply)
        app.router.add_put("/v3/conversations/{conversation}/activities/{activity}", self._update)
        app.router.add_get("/v3/conversations/{conversation}/members/{member}", self._member)
        app.router.add_get("/v3/conversations/{conversation}/pagedmembers", self._paged_members)
        self._changed = asyncio.Condition()
        self._runner, self.service_url = await serve_on_loopback(app)
        return self

    async def stop(self) -> None:
        if self._runner:
            await self._runner.cleanup()

    async def _record(self, request: web.Request, kind: str) -> ConnectorCall:
        call = ConnectorCall(
            method=request.method, kind=kind, conversation_id=request.match_info.get("conversation", ""),
            activity_id=request.match_info.get("activity", ""), body=await request.json(),
            authorization=request.headers.get("Authorization", ""), raw_path=request.raw_path,
        )
        async with self._changed:
            self.calls.append(call)
            self._changed.notify_all()
        return call

    async def _create_conversation(self, request: web.Request) -> web.Response:
        await self._record(request, "create_conversation")
        return web.json_response({"id": f"a:{uuid.uuid4().hex}", "activityId": str(next(self._ids))}, status=201)

    def _failing(self) -> bool:
        if self.fail_next <= 0:
            return False
        self.fail_next, self.failed = self.fail_next - 1, self.failed + 1
        return True

    async def _send(self, request: web.Request) -> web.Response:
        if self._failing():
            return web.json_response({"error": {"code": "ServiceError", "message": "Internal error"}}, status=500)
        await self._record(request, "send")
        return web.json_response({"id": str(next(self._ids))}, status=201)

    async def _reply(self, request: web.Request) -> web.Response:
        if self._failing():
            return web.json_response({"error": {"code": "ServiceError", "message": "Internal error"}}, status=500)
        await self._record(request, "reply")
        return web.json_response({"id": str(next(self._ids))}, status=201)

    async def _update(self, request: web.Request) -> web.Response:
        if self._failing():
            return web.json_response({"error": {"code": "ServiceError", "message": "Internal error"}}, status=500)
        call = await self._record(request, "update")
        return web.json_response({"id": call.activity_id}, status=200)

    async def _member(self, request: web.Request) -> web.Response:
        member_id = request.match_info["member"]
        self.member_lookups.append(member_id)
        self.member_lookup_conversations.append(request.match_info["conversation"])
        if member_id not in self.members:
            return web.json_response({"error": {"code": "MemberNotFoundInConversation",
                                                "message": "The member could not be found."}}, status=404)
        return web.json_response(self.members[member_id])

    async def _paged_members(self, request: web.Request) -> web.Response:
        """The roster of the team a channel belongs to, `pageSize` at a time (continuationToken: an offset)."""
        if self._failing():
            return web.json_response({"error": {"code": "ServiceError"}}, status=500)
        start = int(request.query.get("continuationToken") or 0)
        size = int(request.query.get("pageSize") or 200)
        members = list(self.members.values())
        page = {"members": members[start:start + size]}
        if start + size < len(members):  # the last page has no continuationToken (the SDK refuses a null one)
            page["continuationToken"] = str(start + size)
        return web.json_response(page)

    def add_members(self, *users: "TeamsUser") -> None:
        for user in users:
            self.members[user.member_id] = {**user.account(), "email": user.email,
                                            "userPrincipalName": user.email, "userRole": "user"}

    async def wait_for(self, count: int, timeout: float = 5.0) -> list[ConnectorCall]:
        """Wait until at least `count` calls were recorded in total; return them all."""
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: len(self.calls) >= count), timeout)
        return list(self.calls)


# -- activities as Teams sends them ---------------------------------------------------------------

@dataclass
class TeamsUser:
    member_id: str  # 29:… Teams user id
    aad_object_id: str
    name: str

    @property
    def email(self) -> str:
        return f"{self.name.split()[0].lower()}@contoso.example"

    def account(self) -> dict:
        return {"id": self.member_id, "name": self.name, "aadObjectId": self.aad_object_id}

    def mention(self) -> dict:
        """A mention entity as Teams sends it (Teams puts only the Teams id and name in `mentioned`)."""
        return {"type": "mention", "text": f"<at>{self.name}</at>",
                "mentioned": {"id": self.member_id, "name": self.name}}


def new_user(name: str) -> TeamsUser:
    return TeamsUser(member_id=f"29:1{uuid.uuid4().hex}", aad_object_id=str(uuid.uuid4()), name=name)


@dataclass
class TeamsActivities:
    service_url: str
    tenant_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    team_id: str = field(default_factory=lambda: f"19:{uuid.uuid4().hex}@thread.tacv2")
    channel_id: str = field(default_factory=lambda: f"19:{uuid.uuid4().hex}@thread.tacv2")
    group_chat_id: str = field(default_factory=lambda: f"19:{uuid.uuid4().hex}@thread.v2")
    time_zone: str = "Europe/Berlin"

    def _base(self, sender: TeamsUser, conversation: dict, channel_data: dict, **extra: Any) -> dict:
        return {
            "type": "message",
            "id": str(uuid.uuid4().int)[:13],
            "timestamp": "2026-11-28T10:00:00.000Z",
            "localTimestamp": "2026-11-28T11:00:00.000+01:00",
            "localTimezone": self.time_zone,
            "serviceUrl": self.service_url,
            "channelId": "msteams",
            "from": sender.account(),
            "conversation": {**conversation, "tenantId": self.tenant_id},
            "recipient": {"id": BOT_ID, "name": BOT_NAME},
            "textFormat": "plain",
            "locale": "en-US",
            "channelData": {**channel_data, "tenant": {"id": self.tenant_id}},
            **extra,
        }

    def personal(self, sender: TeamsUser, text: str, mentions: tuple[TeamsUser, ...] = ()) -> dict:
        conversation = {"conversationType": "personal", "id": f"a:1{sender.member_id[4:]}"}
        return self._base(sender, conversation, {}, text=text, entities=[m.mention() for m in mentions])

    def channel(self, sender: TeamsUser, text: str, mentions: tuple[TeamsUser, ...] = (),
                mention_bot: bool = True) -> dict:
        """A new post in a channel (Teams delivers the bot's @mention in entities and in the text)."""
        entities = [m.mention() for m in mentions]
        if mention_bot:
            text = f"<at>{BOT_NAME}</at> {text}"
            entities.insert(0, {"type": "mention", "text": f"<at>{BOT_NAME}</at>",
                                "mentioned": {"id": BOT_ID, "name": BOT_NAME}})
        message_id = str(uuid.uuid4().int)[:13]
        conversation = {"isGroup": True, "conversationType": "channel",
                        "id": f"{self.channel_id};messageid={message_id}"}
        channel_data = {"teamsChannelId": self.channel_id, "teamsTeamId": self.team_id,
                        "channel": {"id": self.channel_id}, "team": {"id": self.team_id}}
        activity = self._base(sender, conversation, channel_data, text=text, entities=entities)
        activity["id"] = message_id
        return activity

    def group_chat(self, sender: TeamsUser, text: str, mentions: tuple[TeamsUser, ...] = ()) -> dict:
        entities = [{"type": "mention", "text": f"<at>{BOT_NAME}</at>", "mentioned": {"id": BOT_ID, "name": BOT_NAME}},
                    *(m.mention() for m in mentions)]
        conversation = {"isGroup": True, "conversationType": "groupChat", "id": self.group_chat_id}
        return self._base(sender, conversation, {}, text=f"<at>{BOT_NAME}</at> {text}", entities=entities)

    def card_execute(self, sender: TeamsUser, card_activity_id: str, button: dict, conversation: dict) -> dict:
        """What Teams posts when someone presses an Action.Execute button (Universal Actions) of the
        bot's card: an `adaptiveCard/action` invoke, answered in the HTTP response."""
        value = {"action": {"type": "Action.Execute", "verb": button.get("verb"), "data": button.get("data") or {}},
                 "trigger": "manual"}
        activity = self._base(sender, conversation, {}, name="adaptiveCard/action", value=value,
                              replyToId=card_activity_id)
        activity["type"] = "invoke"
        activity["channelData"]["source"] = {"name": "message"}
        return activity

    def card_submit(self, sender: TeamsUser, card_activity_id: str, data: dict, conversation: dict) -> dict:
        """What Teams posts when someone presses an Action.Submit button of a card (cards the bot sent
        before it used Universal Actions carry these)."""
        activity = self._base(sender, conversation, {}, value=data, replyToId=card_activity_id)
        activity["channelData"]["source"] = {"name": "message"}
        activity["channelData"]["legacy"] = {"replyToId": card_activity_id}
        return activity

    def bot_added(self, sender: TeamsUser, personal: bool = False) -> dict:
        """conversationUpdate when someone adds the bot to a team (its General channel), or installs it
        for themselves (`personal`)."""
        if personal:
            conversation, channel_data = {"conversationType": "personal", "id": f"a:1{sender.member_id[4:]}"}, {}
        else:
            conversation = {"isGroup": True, "conversationType": "channel", "id": self.team_id}
            channel_data = {"team": {"id": self.team_id, "name": "Security"}, "eventType": "teamMemberAdded"}
        activity = self._base(sender, conversation, channel_data,
                              membersAdded=[{"id": BOT_ID}])
        activity["type"] = "conversationUpdate"
        activity.pop("textFormat")
        return activity
