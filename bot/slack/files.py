"""Files a reply asks for (`Reply.attachment`), uploaded to the conversation with files_upload_v2. The
reply's text already says how to get the file otherwise, so a failed upload is logged, never raised."""
from __future__ import annotations

import logging

from bot import logs
from handlers.types import Message, Reply

ATTACHMENTS = {"soa": ("soa", "statement-of-applicability.xlsx", "Statement of Applicability")}


async def attach(client, store, reply: Reply, message: Message) -> None:
    """Upload the file `reply.attachment` names into the message's conversation (a DM when it had none)."""
    if reply.attachment not in ATTACHMENTS or reply.outcome != "ok":
        return
    from bot.commands.export import xlsx_bytes

    what, filename, title = ATTACHMENTS[reply.attachment]
    try:
        channel = message.channel or (await client.conversations_open(users=message.user))["channel"]["id"]
        workbook = await store.call(xlsx_bytes, what, store, message.workspace)  # off the loop
        await client.files_upload_v2(channel=channel, file=workbook,
                                     filename=filename, title=title, thread_ts=message.thread or None)
    except Exception as error:  # not in the channel, no files:write yet: the text gave the CLI command
        logs.event("slack.attach_failed", logging.WARNING, workspace=message.workspace, attachment=reply.attachment,
                   error=logs.describe_exception(error))
