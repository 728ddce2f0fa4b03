"""Buttons (Done, Snooze 1 week, Reassign, ...). A button's value is a command of the shared grammar,
run as if the presser typed it, so the same permission checks apply. The message is then updated
with the result; a refusal is shown only to the presser and changes nothing."""
from __future__ import annotations

import re

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError

from bot.slack.blocks import ACTION_PREFIX, BLOCK_LIMIT, fallback_text, render
from bot.slack.conversation import SlackRuntime, origin_of, slack_message
from bot.slack.listeners.events import publish_home
from bot.slack.modals import assign_modal, modal_request


def register(app: AsyncApp, runtime: SlackRuntime) -> None:
    from bot.slack.listeners import just_ack

    async def press_button(body: dict, action: dict, client, context) -> None:
        command = action.get("value", "")
        user = body["user"]["id"]
        origin = origin_of(body, context)
        container = body.get("container") or {}
        response_url = body.get("response_url", "")
        channel = (body.get("channel") or {}).get("id") or container.get("channel_id", "")
        wanted = None if origin.external else modal_request(command)  # an outsider gets the refusal, not a form
        if wanted is not None:
            await client.views_open(trigger_id=body["trigger_id"], view=assign_modal(channel=channel, **wanted))
            return
        message = slack_message(origin=origin, user=user, text=command, channel=channel,
                                is_direct=channel.startswith("D"))
        reply = await runtime.reply_to(client, message)
        if container.get("type") == "view":  # the Home tab: show it again, refreshed, with the outcome
            await publish_home(runtime, client, origin, user, notice=reply)
        elif reply.ephemeral:  # refused or failed: tell the presser only, leave the message as it was
            await runtime.respond(response_url, reply, response_type="ephemeral", replace_original=False)
        elif container.get("is_ephemeral") or not container.get("message_ts"):
            await runtime.respond(response_url, reply, replace_original=True)
        else:
            blocks = render(reply)
            original = (body.get("message") or {}).get("blocks")
            if original:  # a list of tasks keeps its other tasks: only the pressed buttons give way
                blocks = splice(original, action.get("block_id", ""), blocks)
            try:
                await client.chat_update(channel=channel, ts=container["message_ts"], text=fallback_text(reply),
                                         blocks=blocks)
            except SlackApiError:  # e.g. a /comply answer the bot may not edit: its response URL may
                await runtime.respond(response_url, reply, blocks=blocks, replace_original=True)

    app.action(re.compile(f"^{ACTION_PREFIX}"))(ack=just_ack, lazy=[press_button])


def splice(blocks: list[dict], pressed_block_id: str, outcome: list[dict]) -> list[dict]:
    """The message's blocks with the pressed actions block replaced by the outcome's blocks."""
    if not any(block.get("block_id") == pressed_block_id for block in blocks):
        return outcome
    renamed = [{**block, "block_id": f"{pressed_block_id}_{block['block_id']}"[-255:]} if "block_id" in block
               else block for block in outcome]  # unique in the message, within Slack's 255 characters
    spliced: list[dict] = []
    for block in blocks:
        spliced.extend(renamed if block.get("block_id") == pressed_block_id else [block])
    return spliced[:BLOCK_LIMIT]
