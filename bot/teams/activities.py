"""Teams activities → neutral `Message` → `handlers.router.handle` → the reply, in the conversation.

Personal chat, group chat and channel messages become a `Message` (tenant = workspace, the bot's `<at>`
mention removed, other mentions rewritten to `<@aadObjectId or id>`). A pressed button of our card
(`Action.Execute`, an `adaptiveCard/action` invoke) runs its command as a message from the presser (same
permission checks): the resulting card replaces the pressed one in place, for everyone; a refusal is
shown to the presser alone and the card stays. `Action.Submit` presses of cards sent before Universal
Actions arrive as messages and still work.
"""
from __future__ import annotations

import functools
import html
import logging
import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from microsoft_agents.activity import Activity, AdaptiveCardInvokeResponse, AdaptiveCardInvokeValue, ChannelAccount
from microsoft_agents.hosting.core import ActivityHandler, TurnContext

from bot import logs
from bot.runtime import RUNTIME
from bot.teams.cards import SUBMIT_KEY, Mentions, card_of, render
from bot.teams.members import ConversationBook, learn, person_id
from bot.turns import run_turn
from handlers.types import MAX_MESSAGE_CHARS, Message, Reply

WELCOME = Reply(
    "Hi, I'm complybot. I help your team get and keep SOC 2 and ISO/IEC 27001:2022.\n\n"
    "- Ask me anything: *what ISO control maps to CC 6.1?*, *A.8.5 in SOC 2?*, *disk encryption*\n"
    "- Give a control an owner: *assign Multi-Factor Authentication to @person due end of quarter*\n"
    "- See tasks with Done and Snooze buttons: *tasks*; progress: *status*; every command: *help*\n\n"
    "In a channel or group chat, mention me first: *@complybot tasks*.",
    kind="welcome",
)
SORRY = "Sorry, something went wrong on my side and nothing was changed. Please try again."
NO_TENANT = "I can only work inside a Microsoft Teams organisation (tenant)."
CONTRADICTORY = "?"
CARD = "application/vnd.microsoft.card.adaptive"  # an invoke answer that replaces the pressed card
MESSAGE = "application/vnd.microsoft.activity.message"  # an invoke answer shown to the presser only
_HTML_TAG = re.compile(r"</?[A-Za-z][^<>]*>")


def tenant_of(activity: Activity) -> str:
    """The tenant id ("" when the activity names none, CONTRADICTORY when its two places disagree)."""
    channel_data = activity.channel_data if isinstance(activity.channel_data, dict) else {}
    tenant = channel_data.get("tenant") if isinstance(channel_data.get("tenant"), dict) else {}
    from_channel_data = str(tenant.get("id") or "")
    from_conversation = str((activity.conversation.tenant_id if activity.conversation else "") or "")
    if from_channel_data and from_conversation and from_channel_data != from_conversation:
        return CONTRADICTORY
    return from_channel_data or from_conversation


def conversation_kind(activity: Activity) -> str:
    kind = activity.conversation.conversation_type or ""
    if kind in ("personal", "groupChat", "channel"):
        return kind
    return "groupChat" if activity.conversation.is_group else "personal"


def conversation_key(activity: Activity) -> str:
    """The id to post to later: a channel's own id (not one thread's `…;messageid=…`), or the chat id."""
    channel_data = activity.channel_data if isinstance(activity.channel_data, dict) else {}
    channel = channel_data.get("channel") if isinstance(channel_data.get("channel"), dict) else {}
    conversation_id = activity.conversation.id
    if conversation_kind(activity) == "channel":
        return str(channel.get("id") or conversation_id.split(";", 1)[0])
    return conversation_id


def _mentioned(activity: Activity) -> list:
    """The mention entities that name someone (typed by the SDK: `text`, `mentioned`)."""
    return [m for m in activity.get_mentions() if m.mentioned is not None and m.mentioned.id]


def neutral_text(activity: Activity, book: ConversationBook | None, workspace: str) -> str:
    """The text with the bot's mention removed and people's mentions as `<@id>`."""
    text = activity.text or ""
    bot_id = activity.recipient.id if activity.recipient else ""
    for mention in _mentioned(activity):
        if not mention.text:
            continue
        mentioned = mention.mentioned
        if mentioned.id == bot_id:
            text = text.replace(mention.text, " ")
            continue
        user = mentioned.aad_object_id or (book.user_for_member(workspace, mentioned.id) if book else "") or mentioned.id
        text = text.replace(mention.text, f"<@{user}>")
    # Formatted messages arrive as HTML (<p>, <div>, <br>): keep the words; `<@id>` is not a tag here.
    text = html.unescape(_HTML_TAG.sub(" ", text))
    return " ".join(text.split())


def time_zone_of(activity: Activity) -> str:
    """The sender's IANA time zone, which Teams sends with each message (nudges come in their morning)."""
    name = activity.local_timezone if isinstance(activity.local_timezone, str) else ""
    try:
        return name if name and ZoneInfo(name) else ""
    except (ZoneInfoNotFoundError, ValueError):
        return ""


def command_in(data: object) -> str:
    """The command a button of our card carries in its data, or ""."""
    command = data.get(SUBMIT_KEY) if isinstance(data, dict) else None
    return command.strip() if isinstance(command, str) and len(command) <= MAX_MESSAGE_CHARS else ""


def submitted_command(activity: Activity) -> str:
    """The command of a pressed `Action.Submit` (a message whose value is the button's data), or ""."""
    return command_in(activity.value)


def message_from(activity: Activity, text: str, workspace: str) -> Message:
    sender = activity.from_property
    return Message(
        platform="teams",
        workspace=workspace,
        user=person_id(sender),
        text=text,
        channel=conversation_key(activity),
        thread=activity.conversation.id,
        user_name=(sender.name or "") if sender else "",
        is_direct=conversation_kind(activity) == "personal",
    )


class ComplyBot(ActivityHandler):
    """Reads the shared Context (`app[RUNTIME].ctx`) per turn: one store for every platform."""

    def __init__(self, app, auth_enabled: bool):
        self.app = app
        self.auth_enabled = auth_enabled

    @property
    def book(self) -> ConversationBook:
        return ConversationBook(self.app[RUNTIME].ctx.store)

    async def call(self, work, *args):
        """Store work off the event loop (it may wait for the database's write lock)."""
        return await self.app[RUNTIME].ctx.store.call(work, *args)

    async def render(self, reply: Reply, workspace: str, as_card: bool = False) -> Activity:
        """The reply for Teams (mentions are looked up in the store: off the loop)."""
        return await self.call(functools.partial(render, reply, self.book, workspace, as_card=as_card))

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
        book = self.book
        bot_id = activity.recipient.id if activity.recipient else ""
        sender = activity.from_property
        if sender is not None and sender.id and sender.id != bot_id:  # first: the first person is admin
            await learn(turn_context, book, workspace, sender, time_zone_of(activity))
        for mention in _mentioned(activity):
            if mention.mentioned.id != bot_id:
                await learn(turn_context, book, workspace, mention.mentioned)
        kind = conversation_kind(activity)
        reference = activity.get_conversation_reference()
        reference.activity_id = None  # proactive posts start a new message, not a reply
        reference.conversation.id = conversation_key(activity)
        reference.user = reference.user if kind == "personal" else None
        await self.call(book.save, workspace, kind, conversation_key(activity),
                        person_id(sender) if kind == "personal" else "", reference)

    async def on_message_activity(self, turn_context: TurnContext) -> None:
        activity = turn_context.activity
        workspace = self.workspace_of(activity)
        if not workspace:
            await turn_context.send_activity(NO_TENANT)
            return
        await self.remember(turn_context, workspace)
        command = submitted_command(activity)
        if command:
            await self._submitted(turn_context, workspace, command)
            return
        if activity.value is not None and not (activity.text or "").strip():
            return  # a submit from a card that is not ours: nothing to do
        text = await self.call(neutral_text, activity, self.book, workspace)
        reply = await self._answer(message_from(activity, text, workspace))
        await turn_context.send_activity(await self.render(reply, workspace))

    async def _submitted(self, turn_context: TurnContext, workspace: str, command: str) -> None:
        """A legacy `Action.Submit`: run the command as the presser, then replace the card for everyone
        (a refusal is a new message: it must not wipe the card)."""
        activity = turn_context.activity
        reply = await self._answer(message_from(activity, command, workspace))
        if reply.ephemeral or not activity.reply_to_id:
            await turn_context.send_activity(await self.render(reply, workspace))
            return
        rendered = await self.render(reply, workspace, as_card=True)
        if not await self._replace_card(turn_context, rendered, activity.reply_to_id):
            await turn_context.send_activity(await self.render(reply, workspace))  # the result, still

    async def on_adaptive_card_invoke(self, turn_context: TurnContext,
                                      invoke_value: AdaptiveCardInvokeValue) -> AdaptiveCardInvokeResponse:
        """A pressed `Action.Execute`: run its command as the presser. The answer's card replaces the
        pressed card for the presser at once, and the message is updated so everyone sees it; a refusal
        (or a button that is not ours) is shown to the presser alone and changes nothing."""
        activity = turn_context.activity
        workspace = self.workspace_of(activity)
        command = command_in(invoke_value.action.data)
        if not workspace or not command:
            return _shown_to_presser(NO_TENANT if not workspace else "That button is not one of mine.")
        await self.remember(turn_context, workspace)
        reply = await self._answer(message_from(activity, command, workspace))
        if reply.ephemeral:
            return _shown_to_presser(await self.call(Mentions(self.book, workspace).render, reply.text))
        rendered = await self.render(reply, workspace, as_card=True)
        if activity.reply_to_id:
            await self._replace_card(turn_context, rendered, activity.reply_to_id)
        return AdaptiveCardInvokeResponse(status_code=200, type=CARD, value=card_of(rendered))

    async def _replace_card(self, turn_context: TurnContext, rendered: Activity, card_id: str) -> bool:
        """Update the pressed card's message for everyone; False if Teams refused (the change is made:
        the presser must still see its result)."""
        rendered.id = card_id
        try:
            await turn_context.update_activity(rendered)
        except Exception as error:
            logs.event("teams.card_update_failed", logging.WARNING, error=logs.describe_exception(error))
            return False
        return True

    async def _answer(self, message: Message) -> Reply:
        """A question on the loop, a command on the store's thread (bot/turns.py)."""
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
        await turn_context.send_activity(await self.render(WELCOME, workspace))


def _shown_to_presser(text: str) -> AdaptiveCardInvokeResponse:
    return AdaptiveCardInvokeResponse(status_code=200, type=MESSAGE, value=text)
