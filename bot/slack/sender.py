"""Proactive Slack messages (nudges, digests): `handlers.ports.Sender` for Slack.

Clients retry what Slack asks to be retried: 429 after its Retry-After, 500/503 with back-off, and
dropped connections. A send that still fails raises, so the caller records the failure and retries
later (the sent-log keeps delivery exactly-once)."""
from __future__ import annotations

from dataclasses import replace
from typing import Awaitable, Callable

from aiohttp import ClientSession
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.blocks import fallback_text, render
from handlers.types import Outgoing, Reply

DEFAULT_API_URL = "https://slack.com/api/"


def retry_handlers() -> list:
    return [
        AsyncConnectionErrorRetryHandler(max_retry_count=2),
        AsyncRateLimitErrorRetryHandler(max_retry_count=3),
        AsyncServerErrorRetryHandler(max_retry_count=2),
    ]


def web_client(api_url: str = "", token: str | None = None, session: ClientSession | None = None) -> AsyncWebClient:
    """A Web API client for `api_url` (SLACK_API_URL: GovSlack, a proxy, a test fake) with retries."""
    base_url = api_url or DEFAULT_API_URL
    if not base_url.endswith("/"):
        base_url += "/"
    return AsyncWebClient(token=token, base_url=base_url, session=session, retry_handlers=retry_handlers())


def message_kwargs(reply: Reply) -> dict:
    """Blocks, fallback text and no link unfurling (a pasted evidence URL must not expand in a channel)."""
    return {"text": fallback_text(reply), "blocks": render(reply), "unfurl_links": False, "unfurl_media": False}


class SlackSender:
    """Sends an `Outgoing` as a DM (`user`) or a channel post (`channel`) in its workspace."""

    platform = "slack"

    def __init__(self, client_for: Callable[[str], Awaitable[AsyncWebClient]]):
        self._client_for = client_for  # workspace (team id) -> a client holding that workspace's bot token

    async def prepare(self, outgoing: Outgoing) -> Outgoing:
        """Open the DM (conversations.open): the step before anything leaves, so a crash during it
        leaves the message unsent for bot/delivery.py to send after a restart."""
        if not outgoing.user:
            return outgoing
        client = await self._client_for(outgoing.workspace)
        opened = await client.conversations_open(users=outgoing.user)
        return replace(outgoing, user="", channel=opened["channel"]["id"])

    async def send(self, outgoing: Outgoing) -> None:
        if outgoing.user:
            outgoing = await self.prepare(outgoing)
        if not outgoing.channel:
            raise ValueError("an Outgoing needs a user or a channel")
        client = await self._client_for(outgoing.workspace)
        await client.chat_postMessage(channel=outgoing.channel, **message_kwargs(outgoing.reply))
