"""One turn of a Slack conversation: payload → neutral `Message` → `handlers.router.handle` → `Reply`
→ a Slack post. Shared by every listener, so mentions, DMs, /comply, buttons, modals and the Home
tab all go through the same grammar and permission checks."""
from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import ClientSession, web
from slack_sdk.web.async_client import AsyncWebClient

from bot import logs
from bot.background import BackgroundWork
from bot.runtime import RUNTIME
from bot.slack.people import People, mentioned_users
from bot.slack.response_urls import ResponseURLs
from bot.slack.sender import message_kwargs
from bot.turns import run_turn
from handlers import router
from handlers.ports import Context
from handlers.types import Message, Reply

SORRY = Reply("Sorry, something went wrong on my side and I could not finish that. Please try again in a "
              "minute; if it keeps happening, tell your complybot admin.", ephemeral=True, kind="error",
              outcome="error")


@dataclass
class SlackRuntime:
    """What the listeners share: the aiohttp app (its `RUNTIME.ctx` holds the store), the people cache and the
    tracker of work done after Slack got its acknowledgement."""

    web_app: web.Application
    people: People = field(default_factory=People)
    work: BackgroundWork = field(default_factory=BackgroundWork)
    claims: Any = None  # bot.slack.work.TrackedLazyListenerRunner: de-dup claims still being decided
    http: ClientSession | None = None  # one connection pool to Slack for the server's life (keep-alive)
    answers: ResponseURLs = field(default_factory=ResponseURLs)  # where answers may go, and what was lost

    @property
    def ctx(self) -> Context:
        return self.web_app[RUNTIME].ctx

    async def reply_to(self, client: AsyncWebClient, message: Message) -> Reply:
        """Learn the people involved, then let the shared router answer. Never raises."""
        [reply] = await self._turn(client, [message], lambda: [router.handle(message, self.ctx)])
        return reply

    async def replies_together(self, client: AsyncWebClient, messages: list[Message],
                               lookup_wait: float | None = None) -> list[Reply]:
        """Commands that stand or fall together (one modal's fields), answered until the first refusal,
        which undoes the ones before it (`router.handle_together`). With `lookup_wait`, people Slack
        has not answered about within that many seconds are taken by id, and learnt afterwards (a
        modal's answer is its acknowledgement, due within 3 s). Never raises."""
        return await self._turn(client, messages, lambda: router.handle_together(messages, self.ctx), lookup_wait)

    async def _turn(self, client: AsyncWebClient, messages: list[Message], answer,
                    lookup_wait: float | None = None) -> list[Reply]:
        started = time.perf_counter()
        # The HTTP request's log line was written at the ack; each command gets a line of its own.
        turns = [dict(platform="slack", workspace=m.workspace, command=router.command_of(m.text)) for m in messages]
        try:
            if lookup_wait is None:
                await self._learn_people(client, messages)
            else:
                learning = self.work.spawn(self._learn_people(client, messages))  # finishes after the ack
                await asyncio.wait({learning}, timeout=lookup_wait)
                if not learning.done():
                    await self.ctx.store.call(self._take_people_by_id, messages)
            replies = await run_turn(self.ctx, [m.text for m in messages], answer)
        except Exception as error:  # the person gets an apology, the log gets the type, nobody a traceback
            logs.event("slack.turn_failed", logging.ERROR, **turns[0], error=logs.describe_exception(error),
                       latency_ms=_elapsed_ms(started))
            return [SORRY]
        for turn, reply in zip(turns, replies):
            logs.event("slack.turn", **turn, kind=reply.kind, latency_ms=_elapsed_ms(started),
                       outcome=reply.outcome)
        return replies

    async def _learn_people(self, client: AsyncWebClient, messages: list[Message]) -> None:
        for message in messages:
            if message.external:  # a person of another organisation is never registered here
                continue
            await self.people.learn(client, self.ctx.store, message.workspace,
                                    [message.user, *mentioned_users(message.text)])

    def _take_people_by_id(self, messages: list[Message]) -> None:
        """Store whoever is not stored yet by id alone (sender first: the first person is the admin)."""
        for message in messages:
            for user_id in [] if message.external else [message.user, *mentioned_users(message.text)]:
                self.ctx.store.upsert_person(message.workspace, user_id, platform="slack")

    async def respond(self, response_url: str, reply: Reply, blocks: list[dict] | None = None, **options) -> None:
        """Answer through a response URL (slash commands, buttons) on the shared connection pool, only on
        Slack's hosts, retried (`ResponseURLs.send`); Bolt's `respond` would open a new connection for
        every answer and post wherever the body says."""
        if response_url:
            kwargs = message_kwargs(reply)
            if blocks is not None:
                kwargs["blocks"] = blocks
            await self.answers.send(self.http, response_url, reply.kind, **kwargs, **options)


def _elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)


@dataclass(frozen=True)
class Origin:
    """Where a payload comes from: the installing workspace (the store's workspace) and whether the
    person acting belongs to another organisation (a Slack Connect channel shared with them)."""

    team: str
    external: bool = False


def origin_of(body: dict, context) -> Origin:
    """The installing workspace is the one complybot was authorised for (auth.test or the installation);
    the person's own team is the one the payload names for them: `event.user_team` (or `event.team`) in
    events, `user.team_id` (or `team.id`) in interactions, `team_id` in slash commands. An enterprise id
    of the installing org (Enterprise Grid) is the same organisation."""
    authorized = getattr(context, "authorize_result", None)
    host = (authorized.team_id if authorized else None) or context.team_id or body.get("team_id") or ""
    organisation = {host, (authorized.enterprise_id if authorized else None) or context.enterprise_id} - {None, ""}
    person_team = _person_team(body)
    return Origin(team=host, external=bool(person_team) and person_team not in organisation)


def _person_team(body: dict) -> str:
    event, user, team = (body.get(key) if isinstance(body.get(key), dict) else {} for key in ("event", "user", "team"))
    if event:
        return str(event.get("user_team") or event.get("team") or "")
    return str(user.get("team_id") or team.get("id") or body.get("team_id") or "")


def slack_message(*, origin: Origin, user: str, text: str, channel: str = "", thread: str = "",
                  is_direct: bool = False) -> Message:
    return Message(platform="slack", workspace=origin.team, user=user, text=text, channel=channel, thread=thread,
                   is_direct=is_direct, external=origin.external)


async def post_reply(client: AsyncWebClient, reply: Reply, *, channel: str, user: str, thread_ts: str = "",
                     is_direct: bool = False) -> None:
    """Post in a channel (in the thread when given); a refusal or error only the asker sees."""
    kwargs = message_kwargs(reply)
    if thread_ts:
        kwargs["thread_ts"] = thread_ts
    if reply.ephemeral and not is_direct:
        kwargs.pop("unfurl_links"), kwargs.pop("unfurl_media")
        await client.chat_postEphemeral(channel=channel, user=user, **kwargs)
    else:
        await client.chat_postMessage(channel=channel, **kwargs)
