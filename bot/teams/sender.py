"""Proactive Teams messages (`handlers.ports.Sender`): nudges and digests go to a saved conversation
reference through `continue_conversation`; a person the bot has met but never chatted with 1:1 gets a
new personal chat (`create_conversation`), saved for next time."""
from __future__ import annotations

from microsoft_agents.activity import Activity, ChannelAccount, ConversationParameters
from microsoft_agents.hosting.core import TurnContext
from microsoft_agents.hosting.core.authorization import AuthenticationConstants

from bot.runtime import RUNTIME
from bot.teams.cards import render
from bot.teams.members import ConversationBook
from bot.teams.proactive import proactively
from handlers.types import Outgoing


class NoConversation(LookupError):
    """complybot has no conversation with that person or channel in that tenant yet."""


class TeamsSender:
    """`handlers.ports.Sender` for Teams: posts to a saved conversation reference."""

    def __init__(self, adapter, app, app_id: str):
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

        await proactively(lambda turn: self.adapter.continue_conversation(
            self.app_id, reference.get_continuation_activity(), turn), deliver)

    async def _open_personal_chat(self, workspace: str, user: str, activity: Activity) -> None:
        """Start a 1:1 chat with someone the bot has seen (e.g. mentioned in a channel) and post there."""
        book, call = self.book, self.app[RUNTIME].ctx.store.call
        member = await call(book.member_for_user, workspace, user)
        known = await call(book.any_in, workspace)
        if member is None or known is None:
            raise NoConversation("complybot has not met that person in Teams yet")
        parameters = ConversationParameters(
            is_group=False, bot=known.agent, members=[ChannelAccount(id=member[0])], tenant_id=workspace,
            channel_data={"tenant": {"id": workspace}},
        )

        async def deliver(turn_context: TurnContext) -> None:
            reference = turn_context.activity.get_conversation_reference()
            reference.activity_id = None
            reference.user = ChannelAccount(id=member[0], name=member[1], aad_object_id=user)
            await call(book.save, workspace, "personal", reference.conversation.id, user, reference)
            await turn_context.send_activity(activity)

        await proactively(lambda turn: self.adapter.create_conversation(
            self.app_id, known.channel_id or "msteams", known.service_url,
            AuthenticationConstants.AGENTS_SDK_SCOPE, parameters, turn,
        ), deliver)
