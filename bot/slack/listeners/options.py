"""Options for the control picker of the assign modal (an external select)."""
from __future__ import annotations

import asyncio

from slack_bolt.async_app import AsyncApp

from bot.slack.conversation import SlackRuntime
from bot.slack.modals import CONTROL_ACTION, control_options

OWN_CONTROLS_WAIT_SECONDS = 1.0  # the picker must answer within 3 s: if the database is slower, without them


def register(app: AsyncApp, runtime: SlackRuntime) -> None:
    async def suggest_controls(ack, payload: dict, body: dict, context) -> None:
        team = context.team_id or body.get("team", {}).get("id", "") or body.get("user", {}).get("team_id", "")
        own = await _own_controls(runtime.ctx.store, team) if team else ()
        await ack(options=control_options(payload.get("value", ""), own=own))

    app.options(CONTROL_ACTION)(suggest_controls)


async def _own_controls(store, team: str) -> tuple:
    """The workspace's own controls, read off the loop (the answer is the ack: it cannot wait on a lock)."""
    from handlers.programme import Programme

    try:
        return await asyncio.wait_for(store.call(lambda: Programme.of(store, team).custom), OWN_CONTROLS_WAIT_SECONDS)
    except asyncio.TimeoutError:
        return ()
