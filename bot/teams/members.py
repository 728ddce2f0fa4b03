"""Who and where in Teams: the member map (Teams id ↔ complybot id, name), saved conversation references
(for proactive messages) and activity ids already handled, per tenant, in the shared SQLite store; and
the teams' rosters as the campaign Directory (`TeamsDirectory`)."""
from __future__ import annotations

import functools
import json
import logging
import time
from dataclasses import dataclass

from microsoft_agents.activity import Activity, ChannelAccount, ConversationReference
from microsoft_agents.hosting.core import TurnContext
from microsoft_agents.hosting.core.connector import ConnectorClientBase

from bot import logs
from bot.runtime import RUNTIME
from bot.teams.proactive import proactively
from bot.store import utc_now
from handlers.types import clean_text

SEEN_SECONDS = 3600  # how long an activity id is remembered against re-sends


def person_id(account: ChannelAccount | None) -> str:
    """How complybot names a Teams person: the Entra (AAD) object id where present, else the Teams id."""
    return (account.aad_object_id or account.id or "") if account is not None else ""


def _activity_key(activity: Activity) -> str:
    return f"{activity.channel_id}:{activity.conversation.id}:{activity.id}"


def dump_reference(reference: ConversationReference) -> str:
    """The stored form: the Bot Framework's JSON (camelCase, `bot`), as botbuilder wrote it."""
    return json.dumps(reference.model_dump(mode="json", by_alias=True, exclude_none=True), sort_keys=True)


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
                [workspace, conversation_id, kind, user_id, dump_reference(reference), utc_now()],
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
        return ConversationReference.model_validate(json.loads(row[0])) if row else None

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
        return [ConversationReference.model_validate(json.loads(row[0])) for row in rows]

    def learn_roster(self, workspace: str, members: list[ChannelAccount]) -> None:
        """Remember a team's colleagues (Teams id ↔ person, name) and add them as people, in one transaction."""
        with self.store.transaction():
            for member in members:
                self.remember_member(workspace, member.id, person_id(member), clean_text(member.name or ""))
            self.store.learn_people(workspace, [(person_id(m), clean_text(m.name or ""),
                                                 str((m.model_extra or {}).get("email") or ""), "") for m in members])

    def any_in(self, workspace: str) -> ConversationReference | None:
        """Any reference of the tenant: its service URL and bot account open new personal chats."""
        return self._reference(
            "SELECT reference FROM teams_conversations WHERE workspace = ? ORDER BY updated_at DESC LIMIT 1",
            [workspace])


async def learn(turn_context: TurnContext, book: ConversationBook, workspace: str, account: ChannelAccount,
                tz: str = "") -> None:
    """Remember a person. The first time, ask Teams about them: mentions carry only the Teams id (so a
    task assigned by mention must get the Entra object id the person writes with), and only Teams knows
    the email (COMPLYBOT_ADMINS may name admins by email). Store work runs on the store's thread (it may
    wait for the write lock)."""
    call = book.store.call
    known = await call(book.user_for_member, workspace, account.id)
    user, name, email = account.aad_object_id or known, account.name or "", ""
    if not known:
        try:
            member = await _member(turn_context, account.id)
            extra = member.model_extra or {}
            user, name, email = person_id(member) or user, member.name or name, str(extra.get("email") or "")
        except Exception as error:  # not in this conversation, or Teams unreachable: what we have
            logs.event("teams.member_lookup_failed", logging.WARNING, error=type(error).__name__)
    user, name = user or account.id, clean_text(name)
    await call(book.remember_member, workspace, account.id, user, name)
    await call(functools.partial(book.store.upsert_person, workspace, user, name, email=email, tz=tz,
                                 platform="teams"))


async def _member(turn_context: TurnContext, member_id: str) -> ChannelAccount:
    """GET /v3/conversations/{id}/members/{memberId}: a Teams member with aadObjectId and email. In a
    team's channel the id is the team's (as botbuilder's TeamsInfo.get_member asked), else the chat's."""
    activity = turn_context.activity
    channel_data = activity.channel_data if isinstance(activity.channel_data, dict) else {}
    team = channel_data.get("team") if isinstance(channel_data.get("team"), dict) else {}
    connector = turn_context.services.get(ConnectorClientBase)
    return await connector.conversations.get_conversation_member(str(team.get("id") or activity.conversation.id),
                                                                 member_id)


class TeamsDirectory:
    """`handlers.ports.Directory` for Teams (campaign audiences): the rosters of the teams complybot was
    added to, read through a saved channel reference (GET …/pagedmembers). Guests and people of another
    tenant are left out; everyone found is remembered (Teams id ↔ person, name, email) so the Teams sender
    can open a chat with them. Channels' own audiences are Slack's only (None)."""

    PAGE = 200  # members per page: the most …/pagedmembers gives at once

    def __init__(self, adapter, app, app_id: str):
        self.adapter, self.app, self.app_id = adapter, app, app_id

    async def members(self, workspace: str, channel: str = "") -> list[str] | None:
        book = ConversationBook(self.app[RUNTIME].ctx.store)
        references = await book.store.call(book.channels, workspace)
        if channel or not references:
            return None
        found: dict[str, ChannelAccount] = {}  # person id -> member
        failed: list[Exception] = []

        async def collect(turn_context: TurnContext) -> None:
            connector, token = turn_context.services.get(ConnectorClientBase), None
            while True:
                page = await connector.conversations.get_conversation_paged_members(
                    turn_context.activity.conversation.id, self.PAGE, token)
                found.update((person_id(m), m) for m in page.members or [] if _is_colleague(m, workspace))
                token = page.continuation_token
                if not token:
                    return

        for reference in references:
            try:
                await proactively(lambda turn: self.adapter.continue_conversation(
                    self.app_id, reference.get_continuation_activity(), turn), collect)
            except Exception as error:  # Teams unreachable, the bot removed from the team, …
                failed.append(error)
        if failed:
            logs.event("teams.roster_failed", logging.WARNING, teams=len(failed), of=len(references),
                       error=logs.describe_exception(failed[0]))
            if len(failed) == len(references):  # nothing read: cannot tell now, the campaign asks again later
                return None
        # Audiences only grow, so the rosters that were read count now (a team the bot left fails each time).
        await book.store.call(book.learn_roster, workspace, list(found.values()))
        return list(found)


def _is_colleague(member: ChannelAccount, workspace: str) -> bool:
    """Not a guest (userRole), and of this tenant when Teams says which."""
    role = str((member.model_extra or {}).get("userRole") or "")
    return role.casefold() != "guest" and (member.tenant_id or "") in ("", workspace)
