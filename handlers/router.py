"""The command grammar shared by every platform. Anything that is not a command is a question.

`handle(message, ctx)` is the one entry point. A command runs inside one store transaction together
with registering its sender; a `Refusal` or any failure rolls it all back, so nothing changes, and the
person gets a polite private answer (never a stack trace).
"""
from __future__ import annotations

import logging
import re

from handlers.ports import Context
from handlers.types import MAX_MESSAGE_CHARS, Message, Reply

log = logging.getLogger(__name__)

HELP_ROWS = (
    ("assign <control> to @person [due <date>] [every month|quarter|year] [note ...]",
     "give a control to an owner; the control by name (typos are fine) or by reference (`assign CC6.1 to @ana` "
     "offers the controls that cover it)"),
    ("tasks · tasks @person · tasks overdue · tasks due soon · tasks all · tasks done · tasks iso|soc2",
     "list open tasks: yours, someone's, late, due within 7 days, everyone's, finished, with references"),
    ("done <task> · start <task> · reopen <task>", "finish, start or reopen a task (its number or control name); "
     "finishing a recurring task creates the next one, one period after the previous due date"),
    ("block <task> <reason>", "mark a task blocked and say why"),
    ("reassign <task> to @person", "give a task to someone else (admins)"),
    ("due <task> <date>", "change the due date"),
    ("snooze <task> <days>", "pause reminders for a few days (1–90)"),
    ("evidence <task> <url> [note]", "attach an evidence link for the auditor"),
    ("na <control or reference> <justification>", "not applicable, with the reason the Statement of "
     "Applicability shows"),
    ("history <task>", "the audit trail of a task"),
    ("status · status soc2 · status iso", "coverage of each framework: %, counts, progress bar"),
    ("gap iso · gap soc2", "what is not covered yet, with owners and due dates"),
    ("admin add @person", "make someone an admin (admins)"),
    ("digest here weekly mon 09:00 [Europe/Berlin] · digest off · digest now",
     "post a weekly status digest in this channel (admins), stop it, or show one now"),
    ("nudges · nudges before 7,1 every 3 escalate 7 window 09:00-10:00 days mon-fri · nudges default",
     "show the reminder schedule, or change it for this workspace (admins)"),
    ("help", "this list"),
)
DATE_HELP = "Dates: 2026-12-15, Dec 15, tomorrow, friday, next friday, in 2 weeks, end of month, end of quarter."
ROLE_HELP = ("Roles: admins assign and change any task; members update their own tasks and assign only to "
             "themselves. The first person of a workspace is an admin.")

_TASK_NUMBER = re.compile(r"(?:task\s*)?#?\d{1,9}\b", re.I)


def handle(message: Message, ctx: Context | None = None) -> Reply:
    text = message.text.strip()
    if len(text) > MAX_MESSAGE_CHARS:
        return Reply(
            f"That message is {len(text):,} characters long; I read up to {MAX_MESSAGE_CHARS:,}. "
            "Please ask a shorter question.",
            ephemeral=True,
            kind="too_long",
        )
    command = parse(text)
    if command is None:
        from handlers import ask

        return ask.reply_for(text)
    name, args = command
    if name == "help":
        return help_reply()
    if ctx is None or ctx.store is None:
        return Reply("Task commands need complybot's database; run `complybot chat` or the server.",
                     ephemeral=True, kind="no_store")
    return run(name, args, message, ctx)


def parse(text: str) -> tuple[str, str] | None:
    """(command, arguments) when `text` is a command of the grammar, None when it is a question."""
    text = text.strip()
    if not text or text.endswith("?"):
        return None
    word, args = (text.split(None, 1) + [""])[:2]
    word, args = word.casefold(), args.strip()
    if word == "my" and args.casefold().startswith("tasks"):
        return "tasks", args[5:].strip()
    if word in ("assign", "tasks", "reassign", "snooze", "na"):
        return word, args
    if word == "admin":  # "admin access control" is a question about a control
        return (word, args) if not args or args.split()[0].casefold() == "add" else None
    if word == "block":  # "block usb ports" may be a question; a task number or a control name makes it a command
        return (word, args) if not args or _TASK_NUMBER.match(args) or _starts_with_control(args) else None
    if word == "help" and _TASK_NUMBER.fullmatch(args):  # the "Need help" button of a nudge
        return "need_help", args
    if word == "help":
        return ("help", args) if not args or args.split()[0].casefold() in _commands() else None
    if word == "digest" and (not args or args.split()[0].casefold() in ("here", "off", "now")):
        return word, args
    if word == "nudges":
        return word, args
    if word in ("status", "gap"):
        from handlers.tasks import framework_of

        return (word, args) if not args or framework_of(args) else None
    if word in ("done", "start", "reopen", "history"):
        return (word, args) if not args or _TASK_NUMBER.fullmatch(args) or _names_control(args) else None
    if word == "due":
        return (word, args) if _TASK_NUMBER.match(args) or _ends_with_date(args) else None
    if word == "evidence":
        return (word, args) if _TASK_NUMBER.match(args) or re.search(r"<?https?://", args, re.I) else None
    return None


def _commands() -> set[str]:
    """The words `help <word>` asks about: every command's, from the one table of handlers."""
    return (set(_handlers()) - {"need_help"}) | {"help"}


def _names_control(text: str) -> bool:
    from handlers.tasks import SURE_SCORE, match_controls

    found = match_controls(text, limit=1)
    return bool(found) and found[0][1] >= SURE_SCORE


def _starts_with_control(text: str) -> bool:
    from handlers.tasks import head_sizes

    words = text.split()
    return any(_names_control(" ".join(words[:size])) for size in head_sizes(len(words)))


def _ends_with_date(text: str) -> bool:
    from datetime import date

    from handlers.dates import DateError, parse_due

    words = text.split()
    for size in range(1, min(len(words) - 1, 4) + 1):
        try:
            parse_due(" ".join(words[-size:]), date(1970, 1, 1))
            return True
        except DateError:
            continue
    return False


def _handlers():
    from handlers import digest, reminders, roles, status, tasks

    return {
        "assign": tasks.assign, "tasks": tasks.list_tasks, "done": tasks.done, "start": tasks.start,
        "reopen": tasks.reopen, "block": tasks.block, "reassign": tasks.reassign, "due": tasks.due,
        "snooze": tasks.snooze, "evidence": tasks.evidence, "na": tasks.not_applicable, "history": tasks.history,
        "status": status.status, "gap": status.gap, "admin": roles.admin_add, "digest": digest.command,
        "need_help": reminders.need_help, "nudges": reminders.configure,
    }


def run(name: str, args: str, message: Message, ctx: Context) -> Reply:
    """Run one command in one transaction; refusals and failures roll back and answer privately."""
    from handlers.roles import Refusal, Request, actor_for

    try:
        with ctx.store.transaction():
            request = Request(message, ctx, actor_for(message, ctx))
            if not args and name in ("done", "start", "reopen", "history", "block", "due", "snooze", "evidence",
                                     "na", "reassign", "assign", "admin"):
                raise Refusal(f"Usage: `{_usage(name)}`. Type `help` for every command.", kind="usage")
            return _handlers()[name](request, args)
    except Refusal as refusal:
        return refusal.reply()
    except Exception as error:  # never a stack trace in chat or in the log line
        log.error("command %s failed in workspace %s: %s", name, message.workspace, type(error).__name__)
        return Reply("Sorry, that failed on my side and nothing was changed. Please try again.",
                     ephemeral=True, kind="error")


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
                if replies[-1].ephemeral:
                    raise _Undone
    except _Undone:
        pass
    return replies


def _usage(name: str) -> str:
    for usage, _ in HELP_ROWS:
        for part in usage.split(" · "):
            if part.split()[0] == name:
                return part
    return name


def help_reply() -> Reply:
    from handlers.types import Section

    lines = tuple(f"`{usage}` — {what}" for usage, what in HELP_ROWS)
    section = Section(title="Commands", lines=lines + (DATE_HELP, ROLE_HELP))
    text = "Here is what I understand. Anything else is read as a question about SOC 2 or ISO 27001.\n" + \
        "\n".join(section.lines)
    return Reply(text, sections=(section,), kind="help")
