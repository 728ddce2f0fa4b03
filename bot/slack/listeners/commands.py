"""`/comply <anything>`: questions and every task command; a bare `assign` opens the assign modal."""
from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.slack.blocks import to_neutral_text
from bot.slack.conversation import SlackRuntime, origin_of, slack_message
from bot.slack.files import attach
from bot.slack.modals import assign_modal, modal_request

COMMAND = "/comply"


def register(app: AsyncApp, runtime: SlackRuntime) -> None:
    from bot.slack.listeners import just_ack

    async def answer_command(body: dict, client, context) -> None:
        text = to_neutral_text(body.get("text", "")) or "help"
        channel = body.get("channel_id", "")
        origin = origin_of(body, context)
        wanted = None if origin.external else modal_request(text)  # an outsider gets the refusal, not a form
        if wanted is not None:
            await client.views_open(trigger_id=body["trigger_id"], view=assign_modal(channel=channel, **wanted))
            return
        message = slack_message(origin=origin, user=body["user_id"], text=text, channel=channel,
                                is_direct=channel.startswith("D"))
        reply = await runtime.reply_to(client, message)
        await runtime.respond(body.get("response_url", ""), reply,
                              response_type="ephemeral" if reply.ephemeral else "in_channel")
        await attach(client, runtime.ctx.store, reply, message)

    app.command(COMMAND)(ack=just_ack, lazy=[answer_command])
