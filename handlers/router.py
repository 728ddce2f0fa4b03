"""The command grammar shared by every platform. Anything that is not a command is a question."""
from __future__ import annotations

from handlers.ports import Context
from handlers.types import MAX_MESSAGE_CHARS, Message, Reply


def handle(message: Message, ctx: Context | None = None) -> Reply:
    text = message.text.strip()
    if len(text) > MAX_MESSAGE_CHARS:
        return Reply(
            f"That message is {len(text):,} characters long; I read up to {MAX_MESSAGE_CHARS:,}. "
            "Please ask a shorter question.",
            ephemeral=True,
            kind="too_long",
        )
    from handlers import ask

    return ask.reply_for(text)
