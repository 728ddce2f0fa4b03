"""Events: @mentions (answered in the thread), direct messages, and the App Home tab."""
from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.slack.blocks import to_neutral_text
from bot.slack.conversation import Origin, SlackRuntime, origin_of, post_reply, slack_message
from bot.slack.files import attach
from bot.slack.home import home_view, notice_view
from handlers.types import Reply

PERSON_SUBTYPES = (None, "file_share", "thread_broadcast")  # message subtypes a person writes


def from_a_person(event: dict) -> bool:
    """Bots (this one included) and system messages (edits, joins) are never answered."""
    return bool(event.get("user")) and not event.get("bot_id") and not event.get("bot_profile") \
        and event.get("subtype") in PERSON_SUBTYPES


def register(app: AsyncApp, runtime: SlackRuntime) -> None:
    from bot.slack.listeners import just_ack

    async def answer_mention(body: dict, event: dict, client, context) -> None:
        if not from_a_person(event):
            return
        text = to_neutral_text(event.get("text", ""), context.bot_user_id or "") or "help"
        thread = event.get("thread_ts") or event["ts"]
        message = slack_message(origin=origin_of(body, context), user=event["user"], text=text,
                                channel=event["channel"], thread=thread)
        reply = await runtime.reply_to(client, message)
        await post_reply(client, reply, channel=event["channel"], user=event["user"], thread_ts=thread)
        await attach(client, runtime.ctx.store, reply, message)

    async def answer_direct_message(body: dict, event: dict, client, context) -> None:
        if event.get("channel_type") != "im" or not from_a_person(event):
            return
        text = to_neutral_text(event.get("text", ""), context.bot_user_id or "") or "help"
        message = slack_message(origin=origin_of(body, context), user=event["user"], text=text,
                                channel=event["channel"], thread=event.get("thread_ts", ""), is_direct=True)
        reply = await runtime.reply_to(client, message)
        await post_reply(client, reply, channel=event["channel"], user=event["user"],
                         thread_ts=event.get("thread_ts", ""), is_direct=True)
        await attach(client, runtime.ctx.store, reply, message)

    async def show_home(body: dict, event: dict, client, context) -> None:
        if event.get("tab", "home") == "home":
            await publish_home(runtime, client, origin_of(body, context), event["user"])

    app.event("app_mention")(ack=just_ack, lazy=[answer_mention])
    app.event("message")(ack=just_ack, lazy=[answer_direct_message])
    app.event("app_home_opened")(ack=just_ack, lazy=[show_home])


async def publish_home(runtime: SlackRuntime, client, origin: Origin, user: str, notice: Reply | None = None) -> None:
    """Build the Home tab as `user` sees it (their tasks, both frameworks' progress) and publish it."""
    tasks = await runtime.reply_to(client, slack_message(origin=origin, user=user, text="tasks", is_direct=True))
    if origin.external:  # a person of another organisation sees the refusal once, and no tasks or progress
        await client.views_publish(user_id=user, view=notice_view(tasks))
        return
    status = await runtime.reply_to(client, slack_message(origin=origin, user=user, text="status", is_direct=True))
    await client.views_publish(user_id=user, view=home_view(tasks, status, notice))
