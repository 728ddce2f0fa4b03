"""Shortcuts: *Attach as evidence* and *Ask complybot* on any message (its `⋮` menu), and *Assign a
control* from the shortcut menu. Each acts as the person who pressed it, through the same grammar and
permission checks as typing the command; answers and refusals only the presser sees."""
from __future__ import annotations

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError

from bot.slack.blocks import to_neutral_text
from bot.slack.conversation import SlackRuntime, origin_of, post_reply, slack_message
from bot.slack.modals import assign_modal, evidence_modal
from handlers.roles import EXTERNAL_REFUSAL, Refusal, is_admin
from handlers.types import Reply

ATTACH_EVIDENCE = "complybot_attach_evidence"
ASK = "complybot_ask"
ASSIGN = "complybot_assign_control"
SHORTCUTS = (  # (type, callback id, name, description) as the manifest declares them
    ("message", ATTACH_EVIDENCE, "Attach as evidence", "Keep a link to this message as evidence of a task"),
    ("message", ASK, "Ask complybot", "Answer this message's question about SOC 2 or ISO 27001"),
    ("global", ASSIGN, "Assign a control", "Give a control to an owner, with a due date"),
)

NO_LINK = Reply("I could not get a link to that message (I may not be allowed to read that conversation). "
                "Copy its link and type `evidence <task> <link>` instead.", ephemeral=True, kind="no_permalink",
                outcome="refused")
NO_TASKS = Reply("You have no open tasks to attach evidence to: `tasks` lists yours, and an admin can assign "
                 "you one.", ephemeral=True, kind="no_tasks", outcome="refused")


def register(app: AsyncApp, runtime: SlackRuntime) -> None:
    from bot.slack.listeners import just_ack

    async def attach_evidence(body: dict, client, context) -> None:
        origin, user = origin_of(body, context), body["user"]["id"]
        response_url = body.get("response_url", "")
        if origin.external:  # a person of another organisation: no commands, and no list of our tasks
            await runtime.respond(response_url, Refusal(EXTERNAL_REFUSAL, kind="external").reply(),
                                  response_type="ephemeral")
            return
        try:
            permalink = (await client.chat_getPermalink(channel=body["channel"]["id"],
                                                        message_ts=body["message_ts"]))["permalink"]
        except SlackApiError:  # a conversation the bot cannot see
            await runtime.respond(response_url, NO_LINK, response_type="ephemeral")
            return
        if not await runtime.ctx.store.call(changeable_tasks, runtime.ctx, origin.team, user):
            await runtime.respond(response_url, NO_TASKS, response_type="ephemeral")
            return
        await client.views_open(trigger_id=body["trigger_id"],
                                view=evidence_modal(permalink=permalink, response_url=response_url))

    async def ask(body: dict, client, context) -> None:
        channel, user = body["channel"]["id"], body["user"]["id"]
        shown = body.get("message") or {}
        thread = shown.get("thread_ts") or shown.get("ts") or body.get("message_ts", "")
        text = to_neutral_text(shown.get("text", ""), context.bot_user_id or "")
        message = slack_message(origin=origin_of(body, context), user=user, text=text, channel=channel, thread=thread)
        reply = await runtime.answer_question(client, message)
        try:  # in the message's thread, for the presser only
            await post_reply(client, reply, channel=channel, user=user, thread_ts=thread, only_to_asker=True)
        except SlackApiError:  # a conversation the bot is not in: its response URL still reaches the presser
            await runtime.respond(body.get("response_url", ""), reply, response_type="ephemeral")

    async def assign(body: dict, client) -> None:
        await client.views_open(trigger_id=body["trigger_id"], view=assign_modal())

    app.message_shortcut(ATTACH_EVIDENCE)(ack=just_ack, lazy=[attach_evidence])
    app.message_shortcut(ASK)(ack=just_ack, lazy=[ask])
    app.global_shortcut(ASSIGN)(ack=just_ack, lazy=[assign])


def changeable_tasks(ctx, team: str, user: str) -> list:
    """The open tasks `user` may attach evidence to: an admin's are all of them, a member's their own.
    (The picker only offers; the `evidence` command decides, as when typed.) Blocking: `store.call` it."""
    person = ctx.store.person(team, user)
    admin = person is not None and is_admin(ctx, person)
    return ctx.store.tasks(team, owner=None if admin else user)

