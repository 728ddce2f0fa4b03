"""Modal submissions: their fields become commands (`assign`/`reassign`/`due` for the assign modal,
`evidence` for *Attach as evidence*). A refusal (unknown control, past date, someone else's task) shows
on the field in the modal and undoes the other fields' commands, so a refused submission changes
nothing; success closes it and tells the presser: where the assign modal was opened (or as a DM from
the Home tab or the shortcut menu), the evidence outcome only to the presser."""
from __future__ import annotations

import asyncio

from slack_bolt.async_app import AsyncApp

from bot.slack.conversation import Origin, SlackRuntime, origin_of, post_reply, slack_message
from bot.slack.listeners.events import publish_home
from bot.slack.modals import CALLBACK_ID, EVIDENCE_CALLBACK_ID, blame, evidence_submission, submission
from bot.slack.work import once_claimed

ERROR_LIMIT = 150  # characters Slack shows under an input
ACK_WAIT_SECONDS = 2.0  # Slack shows an error when a submission is not answered within 3 s
LOOKUP_WAIT_SECONDS = 0.5  # users.info answers in ~0.2 s; a rate-limited one must not hold the 3 s ack


def register(app: AsyncApp, runtime: SlackRuntime) -> None:
    def on_submit(parse, announce):
        async def submit(ack, body: dict, view: dict, client, context, request) -> None:
            meta, commands = parse(view)
            user = body["user"]["id"]
            origin = origin_of(body, context)
            channel = meta.get("channel", "")
            messages = [slack_message(origin=origin, user=user, text=command, channel=channel,
                                      is_direct=not channel or channel.startswith("D")) for _, command in commands]
            # A refusal undoes the fields before it. The answer decides the ack, so people Slack is slow
            # to tell us about (users.info rate-limited) are taken by id and learnt after the ack.
            turn = runtime.work.spawn(once_claimed(  # a replay whose claim was undecided at the ack never runs
                runtime.claims.pending(request),
                runtime.replies_together(client, messages, lookup_wait=LOOKUP_WAIT_SECONDS)))
            await asyncio.wait({turn}, timeout=ACK_WAIT_SECONDS)
            if not turn.done():  # the database is slow (locked): close the modal, tell the outcome when known
                await ack()
                runtime.work.spawn(_announce_when_done(runtime, client, turn, origin, meta, user, announce))
                return
            replies = turn.result()
            if replies is None:  # a replayed submission
                await ack()
                return
            if _refused(replies):
                refusal = replies[-1]
                block_id = commands[len(replies) - 1][0]
                inputs = {block["block_id"] for block in view.get("blocks", []) if "block_id" in block}
                await ack(response_action="errors",
                          errors={blame(block_id, refusal.field, inputs): refusal.text[:ERROR_LIMIT]})
                return
            await ack()
            runtime.work.spawn(announce(runtime, client, replies, origin, meta, user))

        return submit

    app.view(CALLBACK_ID)(on_submit(submission, _announce))
    app.view(EVIDENCE_CALLBACK_ID)(on_submit(evidence_submission, _confirm_evidence))


async def _announce_when_done(runtime: SlackRuntime, client, turn, origin: Origin, meta: dict, user: str,
                              announce) -> None:
    """A submission acknowledged before its commands finished: a refusal, which the closed modal can
    no longer show, goes to the person like any refused command; success is announced as usual."""
    replies = await turn
    if replies is None:
        return
    await announce(runtime, client, replies[-1:] if _refused(replies) else replies, origin, meta, user)


def _refused(replies: list) -> bool:
    return replies[-1].outcome in ("refused", "error")


async def _announce(runtime: SlackRuntime, client, replies: list, origin: Origin, meta: dict, user: str) -> None:
    """Post the outcome where the modal was opened; opened from the Home tab or the shortcut menu (no
    channel), tell the person in a DM and show the Home tab again with the change."""
    channel = meta.get("channel", "")
    if not channel:
        if not _refused(replies):
            await publish_home(runtime, client, origin, user)
        channel = await runtime.dm_channel(client, origin.team, user)
    for reply in replies:
        await post_reply(client, reply, channel=channel, user=user, is_direct=channel.startswith("D"))


async def _confirm_evidence(runtime: SlackRuntime, client, replies: list, origin: Origin, meta: dict,
                            user: str) -> None:
    """Only the presser hears about it, in the conversation of the message (its shortcut's response URL)."""
    for reply in replies:
        await runtime.respond(meta.get("response_url", ""), reply, response_type="ephemeral")
