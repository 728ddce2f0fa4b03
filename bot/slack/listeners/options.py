"""Options for the control picker of the assign modal (an external select)."""
from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.slack.conversation import SlackRuntime
from bot.slack.modals import CONTROL_ACTION, control_options


def register(app: AsyncApp, runtime: SlackRuntime) -> None:
    async def suggest_controls(ack, payload: dict, body: dict, context) -> None:
        from handlers.programme import Programme

        team = context.team_id or body.get("team", {}).get("id", "") or body.get("user", {}).get("team_id", "")
        own = Programme.of(runtime.ctx.store, team).custom if team else ()
        await ack(options=control_options(payload.get("value", ""), own=own))

    app.options(CONTROL_ACTION)(suggest_controls)
