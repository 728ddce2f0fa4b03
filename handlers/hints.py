"""A task command typed another way ("mark 3 done", "complete 3", "show my tasks", "what's overdue?"):
when the question engine finds nothing to answer, point to the command (a button that runs it) and to
`help`, instead of "outside what I know". Nothing is changed: the person presses or types the command."""
from __future__ import annotations

import re

from handlers.types import Action, Reply

# (pattern, command template): the first that matches names the command; {n} is the task number typed
HINTS = (
    (re.compile(r"\b(?:mark|set)\b.*\b(?:done|complete|completed|finished)\b|\b(?:complete|completed|finish|"
                r"finished|close|closed|done with|tick off)\b"), "done {n}"),
    (re.compile(r"\boverdue\b"), "tasks overdue"),
    (re.compile(r"\bdue soon\b|\bdue this week\b"), "tasks due soon"),
    (re.compile(r"\b(?:my|show|list|open)\b.*\btasks?\b|\btodo\b|\bto-do\b"), "tasks"),
)
TASK_NUMBER = re.compile(r"(?:#|\btask\s+)?\b(\d{1,9})\b")


def command_hint(text: str) -> Reply | None:
    """The command `text` most likely means, as a reply with its button, or None."""
    lowered = text.casefold()
    number = TASK_NUMBER.search(lowered)
    for pattern, template in HINTS:
        if not pattern.search(lowered) or ("{n}" in template and not number):
            continue
        command = template.format(n=number[1] if number else "")
        return Reply(f"That looks like a task command: did you mean `{command}`? `help` lists every command.",
                     actions=(Action(label=command, value=command, style="primary"),), ephemeral=True,
                     kind="command_hint", outcome="refused")
    return None
