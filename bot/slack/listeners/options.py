"""Options for the external selects: the assign modal's control picker, and the evidence modal's task
picker (only the tasks the presser may change; nothing for a person of another organisation)."""
from __future__ import annotations

import asyncio

from slack_bolt.async_app import AsyncApp

from bot.slack.conversation import SlackRuntime, origin_of
from bot.slack.listeners.shortcuts import changeable_tasks
from bot.slack.modals import CONTROL_ACTION, TASK_ACTION, control_options, task_options

OWN_CONTROLS_WAIT_SECONDS = 1.0  # the picker must answer within 3 s: if the database is slower, without them
TASKS_WAIT_SECONDS = 1.0  # likewise for the task picker: if the database is slower, no options this time


def register(app: AsyncApp, runtime: SlackRuntime) -> None:
    async def suggest_controls(ack, payload: dict, body: dict, context) -> None:
        team = context.team_id or body.get("team", {}).get("id", "") or body.get("user", {}).get("team_id", "")
        own = await _own_controls(runtime.ctx.store, team) if team else ()
        await ack(options=control_options(payload.get("value", ""), own=own))

    async def suggest_tasks(ack, payload: dict, body: dict, context) -> None:
        origin = origin_of(body, context)
        tasks = [] if origin.external else await _tasks(runtime.ctx, origin.team, body["user"]["id"])
        await ack(options=task_options(tasks, payload.get("value", "")))

    app.options(CONTROL_ACTION)(suggest_controls)
    app.options(TASK_ACTION)(suggest_tasks)


async def _own_controls(store, team: str) -> tuple:
    """The workspace's own controls, read off the loop (the answer is the ack: it cannot wait on a lock)."""
    from handlers.programme import Programme

    try:
        return await asyncio.wait_for(store.call(lambda: Programme.of(store, team).custom), OWN_CONTROLS_WAIT_SECONDS)
    except asyncio.TimeoutError:
        return ()


async def _tasks(ctx, team: str, user: str) -> list:
    """The tasks `user` may attach evidence to, read off the loop within the ack's time."""
    try:
        return await asyncio.wait_for(ctx.store.call(changeable_tasks, ctx, team, user), TASKS_WAIT_SECONDS)
    except asyncio.TimeoutError:
        return []
