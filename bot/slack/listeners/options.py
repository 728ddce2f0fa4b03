"""Options for the external selects: the assign modal's control picker, and the evidence modal's task
picker (only the tasks the presser may change; nothing for a person of another organisation)."""
from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.slack.conversation import SlackRuntime, origin_of
from bot.slack.listeners.shortcuts import changeable_tasks
from bot.slack.modals import CONTROL_ACTION, TASK_ACTION, control_options, task_options


def register(app: AsyncApp, runtime: SlackRuntime) -> None:
    async def suggest_controls(ack, payload: dict, body: dict, context) -> None:
        from handlers.programme import Programme

        team = context.team_id or body.get("team", {}).get("id", "") or body.get("user", {}).get("team_id", "")
        own = Programme.of(runtime.ctx.store, team).custom if team else ()
        await ack(options=control_options(payload.get("value", ""), own=own))

    async def suggest_tasks(ack, payload: dict, body: dict, context) -> None:
        origin = origin_of(body, context)
        tasks = [] if origin.external else changeable_tasks(runtime, origin.team, body["user"]["id"])
        await ack(options=task_options(tasks, payload.get("value", "")))

    app.options(CONTROL_ACTION)(suggest_controls)
    app.options(TASK_ACTION)(suggest_tasks)
