"""The assign modal's submission: its fields become `assign`/`reassign`/`due` commands. A refusal
(unknown control, past date, someone else's task) shows on the field in the modal; success closes it
and posts the result where the modal was opened (or as a DM from the Home tab)."""
from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.slack.conversation import SlackRuntime, post_reply, slack_message
from bot.slack.listeners.events import publish_home
from bot.slack.modals import CALLBACK_ID, blame, submission

ERROR_LIMIT = 150  # characters Slack shows under an input


def register(app: AsyncApp, runtime: SlackRuntime) -> None:
    async def submit_assign(ack, body: dict, view: dict, client, context) -> None:
        meta, commands = submission(view)
        user = body["user"]["id"]
        team = context.team_id or body.get("team", {}).get("id", "")
        channel = meta.get("channel", "")
        replies = []
        for block_id, command in commands:
            message = slack_message(team=team, user=user, text=command, channel=channel,
                                    is_direct=not channel or channel.startswith("D"))
            reply = await runtime.reply_to(client, message)
            if reply.ephemeral:
                inputs = {block["block_id"] for block in view.get("blocks", []) if "block_id" in block}
                await ack(response_action="errors",
                          errors={blame(block_id, reply.text, inputs): reply.text[:ERROR_LIMIT]})
                return
            replies.append(reply)
        await ack()
        runtime.work.spawn(_announce(runtime, client, replies, team, channel, user))

    app.view(CALLBACK_ID)(submit_assign)


async def _announce(runtime: SlackRuntime, client, replies: list, team: str, channel: str, user: str) -> None:
    """Post the outcome where the modal was opened; opened from the Home tab (no channel), tell the
    person in a DM and show the Home tab again with the change."""
    if not channel:
        await publish_home(runtime, client, team, user)
        channel = (await client.conversations_open(users=user))["channel"]["id"]
    for reply in replies:
        await post_reply(client, reply, channel=channel, user=user, is_direct=channel.startswith("D"))
