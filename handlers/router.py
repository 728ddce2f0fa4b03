"""The command grammar shared by every platform. Anything that is not a command is a question.

`handle(message, ctx)` is the one entry point. A command runs inside one store transaction together
with registering its sender; a `Refusal` or any failure rolls it all back, so nothing changes, and the
person gets a polite private answer (never a stack trace).
"""
from __future__ import annotations

import logging

from handlers.ports import Context
from handlers.types import MAX_MESSAGE_CHARS, Command, Message, Reply

log = logging.getLogger(__name__)

ABSTAINED = "abstain"  # the answer kind of a question the knowledge base cannot answer

DATE_HELP = "Dates: 2026-12-15, Dec 15, tomorrow, friday, next friday, in 2 weeks, end of month, end of quarter."
ROLE_HELP = ("Roles: admins assign and change any task; members update their own tasks and assign only to "
             "themselves. The first person of a workspace is an admin.")

def handle(message: Message, ctx: Context | None = None) -> Reply:
    text = message.text.strip()
    if len(text) > MAX_MESSAGE_CHARS:
        return _too_long(text)
    command = parse(text)
    if command is None:
        from handlers import ask, hints, memory

        reply = ask.reply_for(text, memory.recall(message, ctx))
        memory.remember(message, ctx, reply)
        if reply.kind == ABSTAINED:  # nothing to answer: perhaps a task command typed another way
            return hints.command_hint(text) or reply
        return reply
    name, args = command
    if not commands()[name].needs_store:
        return commands()[name].handler(None, args)
    if ctx is None or ctx.store is None:
        return Reply("Task commands need complybot's database; run `complybot chat` or the server.",
                     ephemeral=True, kind="no_store", outcome="refused")
    return run(name, args, message, ctx)


def question(message: Message) -> Reply:
    """Someone else's words read only as a question (Ask complybot on a message): a message that looks
    like a command is never run as the command of the person who asked about it."""
    from handlers import ask

    text = message.text.strip()
    return _too_long(text) if len(text) > MAX_MESSAGE_CHARS else ask.reply_for(text)


def _too_long(text: str) -> Reply:
    return Reply(f"That message is {len(text):,} characters long; I read up to {MAX_MESSAGE_CHARS:,}. "
                 "Please ask a shorter question.", ephemeral=True, kind="too_long", outcome="refused")


def commands() -> dict[str, Command]:
    """The one table of commands, in the order `help` lists them: each handler module's `COMMANDS`."""
    global _TABLE
    if _TABLE is None:
        from handlers import campaigns, digest, evidence, exports, programme, reminders, reviews, roles, status, tasks

        table: dict[str, Command] = {}
        for command in (*tasks.COMMANDS, *evidence.COMMANDS, *status.COMMANDS, *programme.COMMANDS, *exports.COMMANDS,
                        *roles.COMMANDS, *digest.COMMANDS, *reminders.COMMANDS, *campaigns.COMMANDS, *reviews.COMMANDS,
                        *COMMANDS):
            if command.name in table:
                raise ValueError(f"two commands are called {command.name!r}")
            table[command.name] = command
        _TABLE = table
    return _TABLE


_TABLE: dict[str, Command] | None = None


def needs_store(text: str) -> bool:
    """Whether answering `text` touches the database: a command that needs it does; a question,
    help or a message too long to read does not."""
    text = text.strip()
    command = parse(text) if len(text) <= MAX_MESSAGE_CHARS else None
    return command is not None and commands()[command[0]].needs_store


def parse(text: str) -> tuple[str, str] | None:
    """(command, arguments) when `text` is a command of the grammar, None when it is a question."""
    text = text.strip()
    if not text or text.endswith("?"):
        return None
    words = text.split()
    folded = [w.casefold() for w in words]
    for command in commands().values():
        for start in command.starts:
            head = start.split()
            if folded[:len(head)] == head:
                rest = text.split(None, len(head))
                args = rest[len(head)].strip() if len(rest) > len(head) else ""
                if command.accepts(args):
                    return command.name, args
    return None


def command_of(text: str) -> str:
    """What a message asks for, for the logs (which never hold its text): a command's name or "question"."""
    command = parse(text[:MAX_MESSAGE_CHARS + 1])
    return command[0] if command else "question"


def _help_words() -> set[str]:
    """The words `help <word>` asks about: the first word of every listed command."""
    return {start.split()[0] for c in commands().values() if not c.hidden for start in c.starts}


def _help_accepts(args: str) -> bool:
    return not args or args.split()[0].casefold() in _help_words()


def run(name: str, args: str, message: Message, ctx: Context) -> Reply:
    """Run one command in one transaction; refusals and failures roll back and answer privately."""
    from handlers.roles import Refusal, Request, actor_for

    try:
        with ctx.store.transaction():
            request = Request(message, ctx, actor_for(message, ctx))
            command = commands()[name]
            if not args and command.needs_args:
                raise Refusal(f"Usage: `{command.syntax}`. Type `help` for every command.", kind="usage")
            return command.handler(request, args)
    except Refusal as refusal:
        return refusal.reply()
    except Exception as error:  # never a stack trace in chat or in the log line
        log.error("command %s failed in workspace %s: %s", name, message.workspace, type(error).__name__)
        return Reply("Sorry, that failed on my side and nothing was changed. Please try again.",
                     ephemeral=True, kind="error", outcome="error")


class _Undone(Exception):
    """Raised inside `handle_together`'s transaction to roll back the commands that went before."""


def handle_together(messages: list[Message], ctx: Context) -> list[Reply]:
    """Commands that stand or fall together (the fields of one form): answered in order in ONE
    transaction; the first refusal or failure is the last reply and undoes the ones before it."""
    replies: list[Reply] = []
    try:
        with ctx.store.transaction():  # each command's own transaction becomes a savepoint inside it
            for message in messages:
                replies.append(handle(message, ctx))
                if replies[-1].outcome in ("refused", "error"):
                    raise _Undone
    except _Undone:
        pass
    return replies


def help_reply(req=None, args: str = "") -> Reply:
    from handlers.types import Section

    lines = tuple(f"`{c.usage}` — {c.help}" for c in commands().values() if not c.hidden)
    section = Section(title="Commands", lines=lines + (DATE_HELP, ROLE_HELP))
    text = "Here is what I understand. Anything else is read as a question about SOC 2 or ISO 27001.\n" + \
        "\n".join(section.lines)
    return Reply(text, sections=(section,), kind="help")


COMMANDS = (Command("help", "help", "this list", help_reply, accepts=_help_accepts, needs_store=False),)
