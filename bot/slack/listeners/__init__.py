"""Bolt listeners, one module per kind (as in Slack's bolt-python starter template), each with
`register(app, runtime)`. Listeners acknowledge at once; Web API calls happen in lazy listeners."""
from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.slack.conversation import SlackRuntime
from bot.slack.listeners import actions, commands, events, options, shortcuts, views


def register(app: AsyncApp, runtime: SlackRuntime) -> None:
    for kind in (events, commands, actions, views, options, shortcuts):
        kind.register(app, runtime)


async def just_ack(ack) -> None:
    await ack()
