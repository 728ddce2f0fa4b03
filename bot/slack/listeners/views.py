"""The assign modal's submission: its fields become `assign`/`reassign`/`due` commands. A refusal
(unknown control, past date, someone else's task) shows on the field in the modal and undoes the other
fields' commands, so a refused submission changes nothing; success closes it
and posts the result where the modal was opened (or as a DM from the Home tab)."""
from __future__ import annotations

import asyncio

from slack_bolt.async_app import AsyncApp

from bot.slack.conversation import Origin, SlackRuntime, origin_of, post_reply, slack_message
from bot.slack.listeners.events import publish_home
from bot.slack.modals import CALLBACK_ID, blame, submission
from bot.slack.work import once_claimed

ERROR_LIMIT = 150  # characters Slack shows under an input
ACK_WAIT_SECONDS = 2.0  # Slack shows an error when a submission is not answered within 3 s
LOOKUP_WAIT_SECONDS = 0.5  # users.info answers in ~0.2 s; a rate-limited one must not hold the 3 s ack


def register(app: AsyncApp, runtime: SlackRuntime) -> None:
    async def submit_assign(ack, body: dict, view: dict, client, context, request) -> None:
        meta, commands = submission(view)
        user = body["user"]["id"]
        origin = origin_of(body, context)
        channel = meta.get("channel", "")
        messages = [slack_message(origin=origin, user=user, text=command, channel=channel,
                                  is_direct=not channel or channel.startswith("D")) for _, command in commands]
        # A refusal undoes the fields before it. The answer decides the ack, so people Slack is slow
        # to tell us about (users.info rate-limited) are taken by id and learnt after the ack.
        turn = runtime.work.spawn(once_claimed(  # a replay whose claim was undecided at the ack never runs
            runtime.claims.pending(request), runtime.replies_together(client, messages, lookup_wait=LOOKUP_WAIT_SECONDS)))
        await asyncio.wait({turn}, timeout=ACK_WAIT_SECONDS)
        if not turn.done():  # the database is slow (locked): close the modal, tell the outcome when known
            await ack()
            runtime.work.spawn(_announce_when_done(runtime, client, turn, origin, channel, user))
            return
        replies = turn.result()
        if replies is None:  # a replayed submission
            await ack()
            return
        refusal = replies[-1]
        if refusal.outcome in ("refused", "error"):
            block_id = commands[len(replies) - 1][0]
            inputs = {block["block_id"] for block in view.get("blocks", []) if "block_id" in block}
            await ack(response_action="errors",
                      errors={blame(block_id, refusal.field, inputs): refusal.text[:ERROR_LIMIT]})
            return
        await ack()
        runtime.work.spawn(_announce(runtime, client, replies, origin, channel, user))

    app.view(CALLBACK_ID)(submit_assign)


async def _announce_when_done(runtime: SlackRuntime, client, turn, origin: Origin, channel: str, user: str) -> None:
    """A submission acknowledged before its commands finished: a refusal, which the closed modal can
    no longer show, goes to the person like any refused command; success is announced as usual."""
    replies = await turn
    if replies is None:
        return
    if replies[-1].outcome in ("refused", "error"):
        channel = channel or (await client.conversations_open(users=user))["channel"]["id"]
        await post_reply(client, replies[-1], channel=channel, user=user, is_direct=channel.startswith("D"))
        return
    await _announce(runtime, client, replies, origin, channel, user)


async def _announce(runtime: SlackRuntime, client, replies: list, origin: Origin, channel: str, user: str) -> None:
    """Post the outcome where the modal was opened; opened from the Home tab (no channel), tell the
    person in a DM and show the Home tab again with the change."""
    if not channel:
        await publish_home(runtime, client, origin, user)
        channel = (await client.conversations_open(users=user))["channel"]["id"]
    for reply in replies:
        await post_reply(client, reply, channel=channel, user=user, is_direct=channel.startswith("D"))
