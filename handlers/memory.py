"""Conversation memory: the subject of the last answer a person got in a conversation, so that a follow-up
("and for ISO?", "what about A.8.24", "why?") is read as about it (`ask.reply_for(text, previous)`).

A conversation is where a platform keeps one discussion together: a Slack thread or DM, a Teams chat or
channel thread, the console, a playground page. The key is workspace + conversation + person: someone else
in the same thread, or the same ids in another workspace, never continue another person's subject. The
subject is kept in the database (a `SubjectMemory`, bot/memory_store.py), so it survives a restart and holds
across web instances; without a store a question is still answered, only without memory. A person of another
organisation (`Message.external`, e.g. a Slack Connect guest) may ask, but nothing about them is kept, so they
get no follow-ups.
"""
from __future__ import annotations

import json
import logging
from datetime import timedelta

from handlers.ports import Context, SubjectMemory
from handlers.types import Message, Reply

log = logging.getLogger(__name__)

# issue 11: a follow-up comes while the answer is still on screen; half an hour later "and for ISO?" is
# more likely a new question than a reply to something scrolled away
FOLLOW_UP_WINDOW = timedelta(minutes=30)


def conversation_of(message: Message) -> str:
    """The conversation a message belongs to: its platform, channel (a direct chat without one: "direct")
    and thread; "" when none is remembered: no channel, no thread, not direct (e.g. the Slack Home tab),
    or a sender of another organisation."""
    place = message.channel or ("direct" if message.is_direct else "")
    if message.external or not place and not message.thread:
        return ""
    return json.dumps([message.platform, place, message.thread], separators=(",", ":"))


def recall(message: Message, ctx: Context | None) -> str | None:
    """The subject this person's last answer in this conversation had, if it is fresh; None otherwise."""
    memory, conversation = _memory(ctx), conversation_of(message)
    if memory is None or not conversation:
        return None
    try:
        now = ctx.clock.now().timestamp()
        return memory.subject_for(message.workspace, conversation, message.user, now) or None
    except Exception as error:  # the question is still answered, only without memory
        log.warning("conversation memory unreadable in workspace %s: %s", message.workspace, type(error).__name__)
        return None


def remember(message: Message, ctx: Context | None, reply: Reply) -> None:
    """Keep the reply's subject for this person's next turn here; a refusal keeps nothing (changes nothing)."""
    memory, conversation = _memory(ctx), conversation_of(message)
    if memory is None or not conversation or not reply.subject or reply.outcome != "ok":
        return
    try:
        now = ctx.clock.now()
        memory.keep_subject(message.workspace, conversation, message.user, reply.subject, now.timestamp(),
                            (now + FOLLOW_UP_WINDOW).timestamp())
    except Exception as error:  # the answer is given all the same; the next turn just starts afresh
        log.warning("conversation memory not saved in workspace %s: %s", message.workspace, type(error).__name__)


def _memory(ctx: Context | None) -> SubjectMemory | None:
    return ctx.store if ctx is not None and ctx.store is not None else None
