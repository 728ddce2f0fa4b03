"""Slack people: who wrote, and who a `<@U…>` mention names. `users.info` is called once per person and
the name, email and time zone are kept in the store, so the handlers (and nudges in the owner's
morning) know them without asking Slack again."""
from __future__ import annotations

import asyncio
import functools
import logging
from typing import Iterable

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import logs
from bot.slack.blocks import USER_MENTION
from handlers.types import clean_text

# A command names a person or two; more mentions in one message are text. Each unknown one costs a
# users.info call (and a row of people): 330 of them in one DM spent the workspace's rate limit.
MENTIONS_LEARNED = 10


def mentioned_users(text: str) -> list[str]:
    """The first MENTIONS_LEARNED people a message mentions, each once."""
    return list(dict.fromkeys(USER_MENTION.findall(text)))[:MENTIONS_LEARNED]


class People:
    """Fetches unknown Slack users once and keeps them in the store."""

    def __init__(self) -> None:
        self._known: set[tuple[str, str]] = set()  # (workspace, user id) already in the store with a name
        self._fetching: dict[tuple[str, str], asyncio.Future] = {}  # one users.info per person, even at once

    async def learn(self, client: AsyncWebClient, store, workspace: str, user_ids: Iterable[str]) -> None:
        """Make sure each user is in the store; the first one (the sender) first, so that the first
        person of a workspace, who becomes its admin, is the one who spoke to the bot."""
        for user_id in dict.fromkeys(user_ids):
            if not user_id or (workspace, user_id) in self._known:
                continue
            key = (workspace, user_id)
            if key not in self._fetching:
                self._fetching[key] = asyncio.ensure_future(self._look_up(client, store, workspace, user_id))
            try:
                await asyncio.shield(self._fetching[key])
                self._known.add(key)
            finally:
                self._fetching.pop(key, None)

    async def _look_up(self, client: AsyncWebClient, store, workspace: str, user_id: str) -> None:
        """From the store (off the loop), or from Slack when the store has no name for them."""
        person = await store.call(store.person, workspace, user_id)
        if person is None or not person.name:
            await self._fetch(client, store, workspace, user_id)

    async def _fetch(self, client: AsyncWebClient, store, workspace: str, user_id: str) -> None:
        try:
            user = (await client.users_info(user=user_id))["user"]
        except SlackApiError as error:  # unknown user or missing scope: keep the id, the handlers can say so
            data = error.response.data if isinstance(error.response.data, dict) else {}
            logs.event("slack.users_info_failed", logging.WARNING, workspace=workspace,
                       status=error.response.status_code, error=data.get("error"))
            await store.call(functools.partial(store.upsert_person, workspace, user_id, platform="slack"))
            return
        name, email = display_name(user), (user.get("profile") or {}).get("email", "")
        await store.call(functools.partial(store.upsert_person, workspace, user_id, name=name, email=email,
                                           tz=user.get("tz", ""), is_bot=bool(user.get("is_bot")), platform="slack"))


def display_name(user: dict) -> str:
    profile = user.get("profile") or {}
    return clean_text(profile.get("display_name") or profile.get("real_name") or user.get("real_name")
                      or user.get("name", ""))


DIRECTORY_PAGE = 200  # users per users.list / conversations.members call (Slack recommends at most 200)


class SlackDirectory:
    """`handlers.ports.Directory` for Slack (campaign audiences): the workspace's people from users.list,
    a channel's from conversations.members. Bots, deactivated accounts and people of other
    organisations (Slack Connect: another team id) are left out; people new to the store are added
    (name, email, time zone) so they are asked in their own working morning."""

    def __init__(self, client_for, store):
        self._client_for = client_for  # workspace -> a client with that workspace's bot token
        self._store = store  # a callable: the store opens with the server

    async def members(self, workspace: str, channel: str = "") -> list[str] | None:
        client = await self._client_for(workspace)
        people = {}
        async for page in await client.users_list(limit=DIRECTORY_PAGE):
            for user in page.get("members", []):
                if _is_colleague(user, workspace):
                    people[user["id"]] = (user["id"], display_name(user), (user.get("profile") or {}).get("email", ""),
                                          user.get("tz", ""))
        store = self._store()
        await store.call(store.learn_people, workspace, list(people.values()))
        if not channel:
            return list(people)
        if channel.startswith("#"):  # named in the message (Slack's markup arrives as `#name`)
            channel = await _channel_id(client, channel[1:])
            if channel is None:
                logs.event("slack.channel_not_found", logging.WARNING, workspace=workspace)
                return None
        found = []
        async for page in await client.conversations_members(channel=channel, limit=DIRECTORY_PAGE):
            found += [user for user in page.get("members", []) if user in people]
        return found


def _is_colleague(user: dict, workspace: str) -> bool:
    return (not user.get("deleted") and not user.get("is_bot") and user.get("id") != "USLACKBOT"
            and user.get("team_id", workspace) == workspace and not user.get("is_stranger"))


async def _channel_id(client, name: str) -> str | None:
    async for page in await client.conversations_list(types="public_channel,private_channel", limit=DIRECTORY_PAGE,
                                                      exclude_archived=True):
        for channel in page.get("channels", []):
            if channel.get("name") == name:
                return channel["id"]
    return None
