"""Microsoft Teams: the botbuilder adapter. EVERY botbuilder import of the project lives in this file.

botbuilder-python is archived; moving to the Microsoft 365 Agents SDK should touch this file only.
The rest of the project sees neutral `Message` / `Reply` / `Outgoing` objects.

- `mount(app, settings)` puts a `CloudAdapter(ConfigurationBotFrameworkAuthentication(config))` behind
  `POST /api/messages` and registers `app[RUNTIME].senders["teams"]`. Auth is off only for an empty
  MicrosoftAppId with COMPLYBOT_TEAMS_LOCAL=1 on a loopback host (the Emulator, end-to-end tests).
- Incoming: personal chat, group chat and channel messages become a `Message` (tenant = workspace, the
  bot's `<at>` mention removed, other mentions rewritten to `<@aadObjectId or id>`) for
  `handlers.router.handle`; the reply goes back as text, or as an Adaptive Card 1.5 with a text
  fallback when it has sections or buttons. A pressed `Action.Submit` carries a command in its data,
  runs as a message from the presser (same permission checks) and updates the card in place.
- Auth: botbuilder verifies tokens against signing keys that `OpenIdKeys` fetches (aiohttp, with a
  timeout, one fetch at a time, backing off after a failure) in place of botbuilder's blocking fetch.
- Proactive: the conversation reference of every personal chat, group chat and channel the bot sees is
  saved in SQLite (`teams_conversations`); `TeamsSender` posts through `continue_conversation`, and opens
  a personal chat (`create_conversation`) for a person who never wrote to the bot 1:1.
"""
from __future__ import annotations

import asyncio
import functools
import html
import json
import logging
import math
import re
import time
from dataclasses import dataclass
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import aiohttp
from aiohttp import web
from botbuilder.core import ActivityHandler, CardFactory, MessageFactory, TurnContext
from botbuilder.core.teams import TeamsInfo
from botbuilder.integration.aiohttp import CloudAdapter, ConfigurationBotFrameworkAuthentication
from botbuilder.schema import (
    Activity,
    ChannelAccount,
    ConversationParameters,
    ConversationReference,
    Mention,
)
from botframework.connector.auth import JwtTokenExtractor
from jwt.algorithms import RSAAlgorithm

from bot import logs
from bot.background import BackgroundWork
from bot.config import ConfigError, Settings, is_loopback
from bot.runtime import RUNTIME
from bot.store import utc_now
from bot.turns import run_turn
from handlers.replies import lead
from handlers.types import (
    MAX_MESSAGE_CHARS, MENTION, Action, Message, Outgoing, Reply, Section, clean_text, progress_bar,
)

ROUTE = "/api/messages"
ADAPTIVE_CARD_VERSION = "1.5"
BODY_BYTES = 18_000  # card body budget: with the fallback text the message stays under Teams' ~28 KB
FALLBACK_CHARS = 3_000
SUMMARY_CHARS = 200  # the notification preview
SEEN_SECONDS = 3600  # how long an activity id is remembered against re-sends
ACK_WAIT_SECONDS = 2.0  # Teams re-sends what it has no answer for in 15 s; a slower turn goes on after the answer
SUBMIT_KEY = "complybot"  # Action.Submit data: {"complybot": "<command in the shared grammar>"}
WELCOME = Reply(
    "Hi, I'm complybot. I help your team get and keep SOC 2 and ISO/IEC 27001:2022.\n\n"
    "- Ask me anything: *what ISO control maps to CC 6.1?*, *A.8.5 in SOC 2?*, *disk encryption*\n"
    "- Give a control an owner: *assign Multi-Factor Authentication to @person due end of quarter*\n"
    "- See tasks with Done and Snooze buttons: *tasks*; progress: *status*; every command: *help*\n\n"
    "In a channel or group chat, mention me first: *@complybot tasks*.",
    kind="welcome",
)
SORRY = "Sorry, something went wrong on my side and nothing was changed. Please try again."
TURN_FAILED = "Sorry, something went wrong on my side. Check with `tasks` before trying again."
_MENTION = re.compile(r"<@([^<>\s]{1,128})>")
_HTML_TAG = re.compile(r"</?[A-Za-z][^<>]*>")


class BotConfig:
    """The configuration object botbuilder's Configuration* classes read (attribute names are theirs)."""

    def __init__(self, settings: Settings):
        self.APP_ID = settings.microsoft_app_id
        self.APP_PASSWORD = settings.microsoft_app_password
        self.APP_TYPE = settings.microsoft_app_type
        self.APP_TENANTID = settings.microsoft_app_tenant_id


def check_auth(settings: Settings) -> None:
    """Bot Framework auth may be off only for local testing on a loopback address."""
    if not settings.microsoft_app_id and not (settings.teams_local and is_loopback(settings.host)):
        raise ConfigError(
            "MicrosoftAppId is empty, which turns Bot Framework auth off: allowed only with "
            f"COMPLYBOT_TEAMS_LOCAL=1 on a loopback host (host is {settings.host or 'unset'})"
        )


# -- people and conversations (SQLite) ---------------------------------------------------------------

def person_id(account: ChannelAccount | None) -> str:
    """How complybot names a Teams person: the Entra (AAD) object id where present, else the Teams id."""
    return (account.aad_object_id or account.id or "") if account is not None else ""


def _activity_key(activity: Activity) -> str:
    return f"{activity.channel_id}:{activity.conversation.id}:{activity.id}"


@dataclass
class ConversationBook:
    """Conversation references and Teams member ids, per tenant, in the shared SQLite store."""

    store: object  # bot.store.Store

    def remember_member(self, workspace: str, member_id: str, user_id: str, name: str) -> None:
        with self.store.transaction():  # the connection is shared with the scheduler's thread
            self.store.db.execute(
                "INSERT INTO teams_members (workspace, member_id, user_id, name, updated_at) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (workspace, member_id) DO UPDATE SET user_id = excluded.user_id,"
                " name = CASE WHEN excluded.name != '' THEN excluded.name ELSE name END, updated_at = excluded.updated_at"
                " WHERE user_id != excluded.user_id OR (excluded.name != '' AND name != excluded.name)",
                [workspace, member_id, user_id, name, utc_now()],
            )

    def user_for_member(self, workspace: str, member_id: str) -> str:
        row = self.store.db.execute(
            "SELECT user_id FROM teams_members WHERE workspace = ? AND member_id = ?", [workspace, member_id]
        ).fetchone()
        return row[0] if row else ""

    def member_for_user(self, workspace: str, user_id: str) -> tuple[str, str] | None:
        """(Teams member id, name) of a person, if the bot has seen them."""
        row = self.store.db.execute(
            "SELECT member_id, name FROM teams_members WHERE workspace = ? AND (user_id = ? OR member_id = ?)"
            " ORDER BY updated_at DESC LIMIT 1", [workspace, user_id, user_id],
        ).fetchone()
        return (row[0], row[1]) if row else None

    def save(self, workspace: str, kind: str, conversation_id: str, user_id: str,
             reference: ConversationReference) -> None:
        with self.store.transaction():
            self.store.db.execute(
                "INSERT INTO teams_conversations (workspace, conversation_id, kind, user_id, reference, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (workspace, conversation_id) DO UPDATE SET"
                " kind = excluded.kind, user_id = excluded.user_id, reference = excluded.reference,"
                " updated_at = excluded.updated_at WHERE reference != excluded.reference OR user_id != excluded.user_id",
                [workspace, conversation_id, kind, user_id, json.dumps(reference.serialize(), sort_keys=True), utc_now()],
            )

    def first_delivery(self, activity: Activity) -> bool:
        """Claim the activity's id: False when it was already handled (Teams re-sends an activity the
        bot took more than 15 s to answer). Ids are remembered for an hour."""
        if not activity.id:
            return True
        now = time.time()
        with self.store.transaction():
            inserted = self.store.db.execute("INSERT OR IGNORE INTO teams_activities (key, received_at) VALUES (?, ?)",
                                             [_activity_key(activity), now]).rowcount
            if inserted:  # forget old ids (an indexed range: cheap)
                self.store.db.execute("DELETE FROM teams_activities WHERE received_at < ?", [now - SEEN_SECONDS])
        return bool(inserted)

    def forget_delivery(self, activity: Activity) -> None:
        """The activity failed before it was handled: let Teams' re-send through."""
        with self.store.transaction():
            self.store.db.execute("DELETE FROM teams_activities WHERE key = ?", [_activity_key(activity)])

    def _reference(self, sql: str, params: list) -> ConversationReference | None:
        row = self.store.db.execute(sql, params).fetchone()
        return ConversationReference().deserialize(json.loads(row[0])) if row else None

    def personal(self, workspace: str, user_id: str) -> ConversationReference | None:
        return self._reference(
            "SELECT reference FROM teams_conversations WHERE workspace = ? AND kind = 'personal' AND user_id = ?"
            " ORDER BY updated_at DESC LIMIT 1", [workspace, user_id])

    def conversation(self, workspace: str, conversation_id: str) -> ConversationReference | None:
        return self._reference(
            "SELECT reference FROM teams_conversations WHERE workspace = ? AND conversation_id = ?",
            [workspace, conversation_id])

    def channels(self, workspace: str) -> list[ConversationReference]:
        """The channel conversations of the tenant the bot is in (their teams' rosters are its people)."""
        rows = self.store.db.execute("SELECT reference FROM teams_conversations WHERE workspace = ? AND kind = 'channel'"
                                     " ORDER BY conversation_id", [workspace]).fetchall()
        return [ConversationReference().deserialize(json.loads(row[0])) for row in rows]

    def any_in(self, workspace: str) -> ConversationReference | None:
        """Any reference of the tenant: its service URL and bot account open new personal chats."""
        return self._reference(
            "SELECT reference FROM teams_conversations WHERE workspace = ? ORDER BY updated_at DESC LIMIT 1",
            [workspace])


# -- Teams activity → neutral Message ----------------------------------------------------------------

CONTRADICTORY = "?"


def parse_activity(body: object) -> Activity | None:
    """A Bot Framework activity from its JSON (None if it is not an object; ValueError if malformed)."""
    return Activity().deserialize(body) if isinstance(body, dict) else None


def tenant_of(activity: Activity) -> str:
    """The tenant id ("" when the activity names none, CONTRADICTORY when its two places disagree)."""
    channel_data = activity.channel_data if isinstance(activity.channel_data, dict) else {}
    tenant = channel_data.get("tenant") if isinstance(channel_data.get("tenant"), dict) else {}
    from_channel_data = str(tenant.get("id") or "")
    conversation = activity.conversation
    extra = getattr(conversation, "additional_properties", None) or {}
    # botbuilder maps `tenantID`; Teams sends `conversation.tenantId`, which lands in additional_properties
    from_conversation = str(getattr(conversation, "tenant_id", "") or extra.get("tenantId") or "")
    if from_channel_data and from_conversation and from_channel_data != from_conversation:
        return CONTRADICTORY
    return from_channel_data or from_conversation


def conversation_kind(activity: Activity) -> str:
    kind = getattr(activity.conversation, "conversation_type", "") or ""
    if kind in ("personal", "groupChat", "channel"):
        return kind
    return "groupChat" if getattr(activity.conversation, "is_group", False) else "personal"


def conversation_key(activity: Activity) -> str:
    """The id to post to later: a channel's own id (not one thread's `…;messageid=…`), or the chat id."""
    channel_data = activity.channel_data if isinstance(activity.channel_data, dict) else {}
    channel = channel_data.get("channel") if isinstance(channel_data.get("channel"), dict) else {}
    conversation_id = activity.conversation.id if activity.conversation else ""
    if conversation_kind(activity) == "channel":
        return str(channel.get("id") or conversation_id.split(";", 1)[0])
    return conversation_id


def neutral_text(activity: Activity, book: ConversationBook | None, workspace: str) -> str:
    """The text with the bot's mention removed and people's mentions as `<@id>`."""
    text = activity.text or ""
    bot_id = activity.recipient.id if activity.recipient else ""
    for entity in activity.entities or []:
        if (entity.type or "").lower() != "mention":
            continue
        mention = _as_mention(entity)
        mentioned = mention.mentioned
        if mentioned is None or not mention.text:
            continue
        if mentioned.id == bot_id:
            text = text.replace(mention.text, " ")
            continue
        user = mentioned.aad_object_id or (book.user_for_member(workspace, mentioned.id) if book else "") or mentioned.id
        text = text.replace(mention.text, f"<@{user}>")
    # Formatted messages arrive as HTML (<p>, <div>, <br>): keep the words; `<@id>` is not a tag here.
    text = html.unescape(_HTML_TAG.sub(" ", text))
    return " ".join(text.split())


def _as_mention(entity) -> Mention:
    """An incoming entity keeps `text`/`mentioned` in additional_properties; read it as a Mention."""
    return Mention().deserialize({**(entity.additional_properties or {}), "type": entity.type})


def time_zone_of(activity: Activity) -> str:
    """The sender's IANA time zone, which Teams sends with each message (nudges come in their morning)."""
    name = activity.local_timezone if isinstance(activity.local_timezone, str) else ""
    try:
        return name if name and ZoneInfo(name) else ""
    except (ZoneInfoNotFoundError, ValueError):
        return ""


def submitted_command(activity: Activity) -> str:
    """The command an Action.Submit button of our card carries, or ""."""
    value = activity.value if isinstance(activity.value, dict) else {}
    command = value.get(SUBMIT_KEY)
    return command.strip() if isinstance(command, str) and len(command) <= MAX_MESSAGE_CHARS else ""


def message_from(activity: Activity, text: str, workspace: str) -> Message:
    sender = activity.from_property
    return Message(
        platform="teams",
        workspace=workspace,
        user=person_id(sender),
        text=text,
        channel=conversation_key(activity),
        thread=activity.conversation.id if activity.conversation else "",
        user_name=(sender.name or "") if sender else "",
        is_direct=conversation_kind(activity) == "personal",
    )


# -- neutral Reply → Teams activity ------------------------------------------------------------------

@dataclass
class Mentions:
    """Reply text → Teams Markdown. The bot's own mentions (`handlers.types.mention`) become Teams mentions
    `<at>Name</at>` with their entities; everything else is data: a `<@id>` in it is shown as the name,
    never a mention, and Markdown links (`[label](url)`, `<url>`) and tags are defused, so a person's
    words can't become a disguised link or a mention in someone else's card. A bare URL stays one (Teams
    links it, showing where it goes)."""

    book: ConversationBook | None
    workspace: str

    def __post_init__(self):
        self.entities: list[dict] = []

    def render(self, text: str) -> str:
        parts = MENTION.split(text)  # odd parts: the user ids of the bot's own mentions
        return "".join(self._mention(part) if odd % 2 else self._data(part) for odd, part in enumerate(parts))

    def _data(self, text: str) -> str:
        return _defuse_markdown(_MENTION.sub(lambda match: self._name(match[1]), text))

    def _name(self, user: str) -> str:
        """How a person is shown without mentioning them: never a raw id."""
        known = self.book.member_for_user(self.workspace, user) if self.book else None
        if known and known[1]:
            return f"@{known[1]}"
        person = self.book.store.person(self.workspace, user) if self.book else None
        return f"@{person.name}" if person and person.name else "someone"

    def _mention(self, user: str) -> str:
        known = self.book.member_for_user(self.workspace, user) if self.book else None
        if known is None:  # never seen in Teams: the name complybot knows
            return _defuse_markdown(self._name(user))
        member_id, name = known
        tag = f"<at>{_defuse_markdown(name or 'someone')}</at>"
        if all(entity["text"] != tag for entity in self.entities):
            self.entities.append({"type": "mention", "text": tag, "mentioned": {"id": member_id, "name": name}})
        return tag


def _defuse_markdown(text: str) -> str:
    """A word joiner (invisible) after every `]` and `<`: no `[label](url)`, `[label][ref]`, `<url>` or
    `<at>` can form, whether or not a Teams client honours backslash escapes."""
    return text.replace("]", "]\u2060").replace("<", "<\u2060")


def _submit(action: Action) -> dict:
    submit = {"type": "Action.Submit", "title": action.label[:80], "data": {SUBMIT_KEY: action.value}}
    if action.style == "primary":
        submit["style"] = "positive"
    elif action.style == "danger":
        submit["style"] = "destructive"
    return submit


def _section_elements(section: Section, mentions: Mentions) -> list[dict]:
    elements: list[dict] = []
    if section.title:
        elements.append(_text_block(mentions.render(section.title), weight="Bolder"))
    if section.progress is not None:
        elements.append(_text_block(progress_bar(section.progress), fontType="Monospace", spacing="Small"))
    for line in section.lines:
        elements.append(_text_block(mentions.render(line), spacing="Small"))
    if section.actions:
        elements.append({"type": "ActionSet", "actions": [_submit(a) for a in section.actions]})
    return elements


def _text_block(text: str, **style) -> dict:
    return {"type": "TextBlock", "text": text, "wrap": True, **style}


def adaptive_card(reply: Reply, mentions: Mentions) -> dict:
    """An Adaptive Card 1.5 of the reply: its lead, sections (title, lines, progress, buttons), buttons.
    One TextBlock per line: Teams does not reliably break lines inside a TextBlock."""
    body = [_text_block(mentions.render(line), spacing="None") for line in lead(reply).strip().split("\n") if line.strip()]
    for section in reply.sections:
        container = _section_elements(section, mentions)
        if container:
            body.append({"type": "Container", "items": container, "separator": True, "spacing": "Medium"})
    fallback = mentions.render(reply.text)
    card = {
        "type": "AdaptiveCard",
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "version": ADAPTIVE_CARD_VERSION,
        "fallbackText": fallback if len(fallback) <= FALLBACK_CHARS else fallback[:FALLBACK_CHARS - 1] + "…",
        "body": _within_budget(body, BODY_BYTES),
        "msteams": {"width": "Full"},
    }
    if reply.actions:
        card["actions"] = [_submit(a) for a in reply.actions]
    if mentions.entities:
        card["msteams"]["entities"] = mentions.entities
    return card


def _within_budget(body: list[dict], budget: int) -> list[dict]:
    """The first elements that fit in `budget` bytes, and a note of what is left out: Teams refuses
    a message over about 28 KB, so a long list is cut rather than lost entirely."""
    used = 0
    for count, element in enumerate(body):
        used += len(json.dumps(element, ensure_ascii=False).encode())
        if used > budget:
            return body[:count] + [_text_block(f"…and {len(body) - count} more not shown here.", isSubtle=True)]
    return body


def render(reply: Reply, book: ConversationBook | None, workspace: str, as_card: bool = False) -> Activity:
    """A one-line reply as a text message; anything with lines, sections or buttons (or `as_card`,
    for replacing a card in place) as a card."""
    mentions = Mentions(book, workspace)
    if not as_card and not reply.sections and not reply.actions and "\n" not in reply.text.strip():
        activity = MessageFactory.text(mentions.render(reply.text))
    else:
        card = adaptive_card(reply, mentions)
        activity = MessageFactory.attachment(CardFactory.adaptive_card(card))
        activity.summary = card["fallbackText"][:SUMMARY_CHARS]
    if mentions.entities:
        activity.entities = [Mention().deserialize(entity) for entity in mentions.entities]  # serialises whole
    return activity


# -- the bot ------------------------------------------------------------------------------------------

class ComplyBot(ActivityHandler):
    """Reads the shared Context (`app[RUNTIME].ctx`) per turn: one store for every platform."""

    def __init__(self, app: web.Application, auth_enabled: bool):
        self.app = app
        self.auth_enabled = auth_enabled

    @property
    def book(self) -> ConversationBook:
        return ConversationBook(self.app[RUNTIME].ctx.store)

    async def call(self, work, *args):
        """Store work off the event loop (it may wait for the database's write lock)."""
        return await self.app[RUNTIME].ctx.store.call(work, *args)

    def workspace_of(self, activity: Activity) -> str:
        tenant = tenant_of(activity)
        if tenant == CONTRADICTORY:
            return ""
        if tenant:
            return tenant
        return "" if self.auth_enabled else "local"  # the Emulator sends no tenant

    async def remember(self, turn_context: TurnContext, workspace: str) -> None:
        """Save who wrote and whom they mentioned (Teams id ↔ complybot id, name, email, time zone) and
        where (the conversation reference, for proactive messages)."""
        activity = turn_context.activity
        bot_id = activity.recipient.id if activity.recipient else ""
        sender = activity.from_property
        if sender is not None and sender.id and sender.id != bot_id:  # first: the first person is admin
            await self._learn(turn_context, workspace, sender, time_zone_of(activity))
        for entity in activity.entities or []:
            mentioned = _as_mention(entity).mentioned if (entity.type or "").lower() == "mention" else None
            if mentioned and mentioned.id and mentioned.id != bot_id:
                await self._learn(turn_context, workspace, mentioned)
        kind = conversation_kind(activity)
        reference = TurnContext.get_conversation_reference(activity)
        reference.activity_id = None  # proactive posts start a new message, not a reply
        reference.conversation.id = conversation_key(activity)
        reference.user = reference.user if kind == "personal" else None
        await self.call(self.book.save, workspace, kind, conversation_key(activity),
                        person_id(sender) if kind == "personal" else "", reference)

    async def _learn(self, turn_context: TurnContext, workspace: str, account: ChannelAccount, tz: str = "") -> None:
        """Remember a person. The first time, ask Teams about them: mentions carry only the Teams id (so
        a task assigned by mention must get the Entra object id the person writes with), and only Teams
        knows the email (COMPLYBOT_ADMINS may name admins by email)."""
        book = self.book
        known = await self.call(book.user_for_member, workspace, account.id)
        user, name, email = account.aad_object_id or known, account.name or "", ""
        if not known:
            try:
                member = await TeamsInfo.get_member(turn_context, account.id)
                user, name, email = person_id(member) or user, member.name or name, member.email or ""
            except Exception as error:  # not in this conversation, or Teams unreachable: what we have
                logs.event("teams.member_lookup_failed", logging.WARNING, error=type(error).__name__)
        user, name = user or account.id, clean_text(name)
        await self.call(book.remember_member, workspace, account.id, user, name)
        store = self.app[RUNTIME].ctx.store
        await self.call(functools.partial(store.upsert_person, workspace, user, name, email=email, tz=tz,
                                          platform="teams"))

    async def on_message_activity(self, turn_context: TurnContext) -> None:
        activity = turn_context.activity
        workspace = self.workspace_of(activity)
        if not workspace:
            await turn_context.send_activity("I can only work inside a Microsoft Teams organisation (tenant).")
            return
        await self.remember(turn_context, workspace)
        command = submitted_command(activity)
        if command:
            await self._button(turn_context, workspace, command)
            return
        if activity.value is not None and not (activity.text or "").strip():
            return  # a submit from a card that is not ours: nothing to do
        text = await self.call(neutral_text, activity, self.book, workspace)
        reply = await self._answer(message_from(activity, text, workspace))
        await turn_context.send_activity(await self.call(render, reply, self.book, workspace))

    async def _button(self, turn_context: TurnContext, workspace: str, command: str) -> None:
        """Run the button's command as the presser, then show the result in place of the card."""
        activity = turn_context.activity
        reply = await self._answer(message_from(activity, command, workspace))
        if reply.ephemeral or not activity.reply_to_id:  # a refusal must not wipe the card for everyone
            await turn_context.send_activity(await self.call(render, reply, self.book, workspace))
            return
        rendered = await self.call(functools.partial(render, reply, self.book, workspace, as_card=True))
        rendered.id = activity.reply_to_id
        await turn_context.update_activity(rendered)

    async def _answer(self, message: Message) -> Reply:
        return await run_turn(self.app[RUNTIME].ctx, [message.text], lambda: self._handle(message))

    def _handle(self, message: Message) -> Reply:
        from handlers import router

        logs.note(workspace=message.workspace, user=message.user, command=router.command_of(message.text))
        try:
            reply = router.handle(message, self.app[RUNTIME].ctx)
        except Exception as error:  # the person gets a polite answer; the log gets the type and place
            logs.event("teams.handler_error", logging.ERROR, error=logs.describe_exception(error))
            return Reply(SORRY, ephemeral=True, kind="error")
        logs.note(kind=reply.kind or None)
        return reply

    async def on_members_added_activity(self, members_added: list[ChannelAccount], turn_context: TurnContext) -> None:
        """The bot was added to a team, a chat or someone's personal scope: remember where, say hello."""
        activity = turn_context.activity
        bot_id = activity.recipient.id if activity.recipient else ""
        if not any(member.id == bot_id for member in members_added):
            return
        workspace = self.workspace_of(activity)
        if not workspace:
            return
        await self.remember(turn_context, workspace)
        await turn_context.send_activity(await self.call(render, WELCOME, self.book, workspace))


async def _on_turn_error(turn_context: TurnContext, error: Exception) -> None:
    logs.event("teams.turn_error", logging.ERROR, error=logs.describe_exception(error))
    try:
        await turn_context.send_activity(TURN_FAILED)
    except Exception as send_error:  # the channel itself may be what failed
        logs.event("teams.turn_error_reply_failed", logging.WARNING, error=logs.describe_exception(send_error))


# -- proactive messages ---------------------------------------------------------------------------------

class NoConversation(LookupError):
    """complybot has no conversation with that person or channel in that tenant yet."""


class TeamsSender:
    """`handlers.ports.Sender` for Teams: posts to a saved conversation reference."""

    def __init__(self, adapter: CloudAdapter, app: web.Application, app_id: str):
        self.adapter, self.app, self.app_id = adapter, app, app_id

    @property
    def book(self) -> ConversationBook:
        return ConversationBook(self.app[RUNTIME].ctx.store)

    async def send(self, outgoing: Outgoing) -> None:
        book, call = self.book, self.app[RUNTIME].ctx.store.call  # store work off the event loop
        activity = await call(render, outgoing.reply, book, outgoing.workspace)
        if outgoing.user:
            reference = await call(book.personal, outgoing.workspace, outgoing.user)
            if reference is None:
                await self._open_personal_chat(outgoing.workspace, outgoing.user, activity)
                return
        else:
            reference = await call(book.conversation, outgoing.workspace, outgoing.channel)
            if reference is None:
                raise NoConversation("no Teams conversation saved for that channel (add complybot to it first)")

        async def deliver(turn_context: TurnContext) -> None:
            await turn_context.send_activity(activity)

        await self.adapter.continue_conversation(reference, deliver, self.app_id)

    async def _open_personal_chat(self, workspace: str, user: str, activity: Activity) -> None:
        """Start a 1:1 chat with someone the bot has seen (e.g. mentioned in a channel) and post there."""
        book, call = self.book, self.app[RUNTIME].ctx.store.call
        member = await call(book.member_for_user, workspace, user)
        known = await call(book.any_in, workspace)
        if member is None or known is None:
            raise NoConversation("complybot has not met that person in Teams yet")
        parameters = ConversationParameters(
            is_group=False, bot=known.bot, members=[ChannelAccount(id=member[0])], tenant_id=workspace,
            channel_data={"tenant": {"id": workspace}},
        )

        async def deliver(turn_context: TurnContext) -> None:
            reference = TurnContext.get_conversation_reference(turn_context.activity)
            reference.activity_id = None
            reference.user = ChannelAccount(id=member[0], name=member[1], aad_object_id=user)
            await call(book.save, workspace, "personal", reference.conversation.id, user, reference)
            await turn_context.send_activity(activity)

        await self.adapter.create_conversation(
            self.app_id, deliver, parameters, channel_id=known.channel_id or "msteams", service_url=known.service_url
        )


class TeamsDirectory:
    """`handlers.ports.Directory` for Teams (campaign audiences): the rosters of the teams complybot was
    added to, read through a saved channel reference (GET …/pagedmembers). Guests and people of another
    tenant are left out; everyone found is remembered (Teams id ↔ person, name, email) so the Teams sender
    can open a chat with them. Channels' own audiences are Slack's only (None)."""

    PAGE = 200

    def __init__(self, adapter: CloudAdapter, app: web.Application, app_id: str):
        self.adapter, self.app, self.app_id = adapter, app, app_id

    async def members(self, workspace: str, channel: str = "") -> list[str] | None:
        store = self.app[RUNTIME].ctx.store
        book = ConversationBook(store)
        references = await store.call(book.channels, workspace)
        if channel or not references:
            return None
        found: dict = {}  # person id -> TeamsChannelAccount

        async def collect(turn_context: TurnContext) -> None:
            connector = turn_context.turn_state.get(self.adapter.BOT_CONNECTOR_CLIENT_KEY)
            token = None
            while True:
                page = await connector.conversations.get_teams_conversation_paged_members(
                    turn_context.activity.conversation.id, self.PAGE, token)
                for member in page.members or []:
                    if _is_colleague(member, workspace):
                        found[person_id(member)] = member
                token = page.continuation_token
                if not token:
                    return

        for reference in references:
            await self.adapter.continue_conversation(reference, collect, self.app_id)
        await store.call(self._remember, store, book, workspace, list(found.values()))
        return list(found)

    @staticmethod
    def _remember(store, book: "ConversationBook", workspace: str, members: list) -> None:
        with store.transaction():
            for member in members:
                book.remember_member(workspace, member.id, person_id(member), clean_text(member.name or ""))
            store.learn_people(workspace, [(person_id(m), clean_text(m.name or ""), m.email or "", "") for m in members])


def _is_colleague(member, workspace: str) -> bool:
    tenant = getattr(member, "tenant_id", None) or ""
    return (getattr(member, "user_role", "") or "").casefold() != "guest" and tenant in ("", workspace)


# -- the Bot Framework's signing keys ----------------------------------------------------------------

KEY_FETCH_SECONDS = 5  # the metadata and its keys together: a slow endpoint holds a request no longer
KEYS_MAX_AGE = 24 * 3600  # botbuilder's own refresh interval
UNKNOWN_KEY_REFRESH = 3600  # an unknown key id refreshes at most hourly (botbuilder's rule), however many arrive
RETRY_FIRST, RETRY_MAX = 2, 600  # after a failed fetch no request fetches for 2 s, doubling up to 10 min


class SigningKeysUnavailable(Exception):
    """The keys could not be fetched (or are backing off after a failure): the token can't be verified."""


class UnknownSigningKey(Exception):
    """The token names a key id that is not among the published keys."""


@dataclass(frozen=True)
class SigningKey:
    """What botbuilder's JwtTokenExtractor reads of a key (the attributes of its `_OpenIdConfig`)."""

    public_key: object
    endorsements: list


class OpenIdKeys:
    """The signing keys of one OpenID metadata URL, in place of botbuilder's `_OpenIdMetadata`, which
    fetches them with a blocking `requests.get` on the event loop, without a timeout, and again for
    every request while the endpoint fails. Here: aiohttp within KEY_FETCH_SECONDS, one fetch at a
    time (concurrent requests wait for it), and after a failure no fetch until a growing delay has
    passed; meanwhile tokens that need the keys are refused at once."""

    def __init__(self, url: str):
        self.url = url
        self.keys: dict[str, SigningKey] = {}
        self.fetched_at = -math.inf
        self.failures = 0
        self.retry_at = -math.inf
        self._fetching: asyncio.Future | None = None

    async def get(self, key_id: str) -> SigningKey:
        """botbuilder's interface: the key that signed a token (an exception refuses the token)."""
        age = time.monotonic() - self.fetched_at
        if age > KEYS_MAX_AGE or (key_id not in self.keys and age > UNKNOWN_KEY_REFRESH):
            await self._refresh()
        if time.monotonic() - self.fetched_at > KEYS_MAX_AGE:
            raise SigningKeysUnavailable("the Bot Framework's signing keys could not be fetched")
        if key_id not in self.keys:
            raise UnknownSigningKey("the token's key id is not a Bot Framework signing key")
        return self.keys[key_id]

    async def _refresh(self) -> None:
        if self._fetching is None:
            if time.monotonic() < self.retry_at:
                return
            self._fetching = asyncio.ensure_future(self._fetch())
        await asyncio.shield(self._fetching)  # a request that goes away does not cancel the fetch

    async def _fetch(self) -> None:
        try:
            async with asyncio.timeout(KEY_FETCH_SECONDS), aiohttp.ClientSession() as session:
                async with session.get(self.url) as response:
                    response.raise_for_status()
                    jwks_uri = (await response.json(content_type=None))["jwks_uri"]
                async with session.get(jwks_uri) as response:
                    response.raise_for_status()
                    self.keys = _signing_keys((await response.json(content_type=None))["keys"])
            self.fetched_at, self.failures, self.retry_at = time.monotonic(), 0, -math.inf
        except Exception as error:  # slow, down, or nonsense: refuse tokens for a while, then try again
            self.failures += 1
            delay = min(RETRY_FIRST * 2 ** (self.failures - 1), RETRY_MAX)
            self.retry_at = time.monotonic() + delay
            logs.event("teams.signing_keys_unavailable", logging.WARNING, error=type(error).__name__,
                       failures=self.failures, retry_in_seconds=delay)
        finally:
            self._fetching = None


def _signing_keys(jwks: list) -> dict[str, SigningKey]:
    keys = {}
    for jwk in jwks:
        try:
            keys[jwk["kid"]] = SigningKey(RSAAlgorithm.from_jwk(json.dumps(jwk)), list(jwk.get("endorsements") or []))
        except (KeyError, TypeError, ValueError):  # a key we cannot read signs nothing we accept
            continue
    return keys


class OpenIdKeyCaches(dict):
    """botbuilder's `JwtTokenExtractor.metadataCache` (metadata URL → keys), answering every URL it asks
    for (Bot Framework, Emulator, government clouds) with an OpenIdKeys, so botbuilder never fetches.
    `fetch_from` replaces every URL (tests: a loopback OpenID endpoint)."""

    def __init__(self, fetch_from: str = ""):
        super().__init__()
        self.fetch_from = fetch_from

    def get(self, url: str, default=None) -> OpenIdKeys:
        if url not in self:
            self[url] = OpenIdKeys(self.fetch_from or url)
        return self[url]


# -- the route ---------------------------------------------------------------------------------------------

def mount(app: web.Application, settings: Settings) -> None:
    """Serve Teams at POST /api/messages and register the Teams sender."""
    check_auth(settings)
    # Teams' channelData has fields botbuilder's models lack (teamsChannelId, …): msrest would log a
    # warning for each on every message.
    logging.getLogger("msrest.serialization").setLevel(logging.ERROR)
    JwtTokenExtractor.metadataCache = OpenIdKeyCaches(settings.teams_openid_url)  # a class attribute: per process
    adapter = CloudAdapter(ConfigurationBotFrameworkAuthentication(BotConfig(settings)))
    adapter.on_turn_error = _on_turn_error
    auth_enabled = bool(settings.microsoft_app_id)
    bot = ComplyBot(app, auth_enabled)
    app[RUNTIME].teams_adapter = adapter
    app[RUNTIME].teams_work = work = BackgroundWork("teams")
    app[RUNTIME].senders["teams"] = TeamsSender(adapter, app, settings.microsoft_app_id)
    app[RUNTIME].directories["teams"] = TeamsDirectory(adapter, app, settings.microsoft_app_id)
    app[RUNTIME].platforms.append("teams")

    async def messages(request: web.Request) -> web.Response:
        return await _process(request, adapter, bot, auth_enabled, work)

    async def finish_work(_app: web.Application) -> None:
        await work.drain()

    app.router.add_post(ROUTE, messages)
    app.on_shutdown.append(finish_work)


def _refuse(status: int, reason: str) -> web.Response:
    logs.note(outcome="refused", reason=reason)
    return web.json_response({"error": reason}, status=status)


async def _process(request: web.Request, adapter: CloudAdapter, bot: ComplyBot, auth_enabled: bool,
                   work: BackgroundWork) -> web.Response:
    if "application/json" not in request.headers.get("Content-Type", ""):
        return _refuse(415, "expected an application/json Bot Framework activity")
    try:
        activity = parse_activity(json.loads(await request.read()))
    except ValueError:
        activity = None
    if activity is None or not activity.type or not activity.service_url or not activity.conversation:
        return _refuse(400, "not a Bot Framework activity")
    if not auth_enabled and not is_loopback(urlsplit(activity.service_url).hostname or ""):
        return _refuse(400, "with auth off (local mode) the serviceUrl must be a loopback address")
    # Authenticate first and apart: nothing is processed or sent for a request that fails.
    try:
        authenticated = await adapter.bot_framework_authentication.authenticate_request(
            activity, request.headers.get("Authorization") or None
        )
    except Exception as error:  # missing, malformed, forged or expired token alike
        logs.event("teams.unauthorized", logging.WARNING, error=type(error).__name__)
        return _refuse(401, "unauthorized")
    logs.note(workspace=tenant_of(activity).strip(CONTRADICTORY) or None)
    turn = asyncio.ensure_future(_turn(adapter, bot, authenticated, activity))
    await asyncio.wait({turn}, timeout=ACK_WAIT_SECONDS)
    if not turn.done():  # the database is slow (another connection holds the write lock): answer now
        work.spawn(turn)  # tracked: shutdown finishes it
        logs.note(outcome="accepted")
        return web.Response(status=202)
    return turn.result()


async def _turn(adapter: CloudAdapter, bot: ComplyBot, authenticated, activity: Activity) -> web.Response:
    """Claim the activity (Teams re-sends) and run the turn; its replies go through the connector."""
    if not await bot.call(bot.book.first_delivery, activity):  # off the loop, like all store work here
        logs.note(outcome="duplicate")
        return web.Response(status=200)
    try:
        invoke_response = await adapter.process_activity(authenticated, activity, bot.on_turn)
    except Exception:
        await bot.call(bot.book.forget_delivery, activity)
        raise
    if invoke_response:
        return web.json_response(invoke_response.body, status=invoke_response.status)
    return web.Response(status=201)
