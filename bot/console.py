"""The console: replies drawn as plain text for a terminal or a log, and a `Sender` that writes there.

`render(reply)` is the plain-text drawing shared by `complybot chat` and the log sender: the headline,
each section (title, progress bar, lines) and buttons as hints — `[Done → done 12]` means "type
`done 12`".
"""
from __future__ import annotations

import getpass
import logging
import re
import sys
from typing import TextIO

from handlers.replies import action_hint, lead, plain_lines
from handlers.types import Outgoing, Reply, plain_text


def render(reply: Reply) -> str:
    lines = [lead(reply)]
    for section in reply.sections:
        lines.extend(line.replace("*", "") if line.startswith("*") else line
                     for line in plain_lines(section, with_actions=True))
    if reply.actions:
        lines.append("   " + "  ".join(action_hint(a) for a in reply.actions))
    return plain_text("\n".join(lines))


class ConsoleSender:
    """Proactive messages (nudges, digests) written to a stream or, without one, to the log."""

    def __init__(self, stream: TextIO | None = None, logger: logging.Logger | None = None):
        self.stream = stream
        self.logger = logger or logging.getLogger("complybot.console")

    async def send(self, outgoing: Outgoing) -> None:
        to = f"@{outgoing.user}" if outgoing.user else f"#{outgoing.channel}" if outgoing.channel else "(nobody)"
        text = f"[{outgoing.workspace} → {to}]\n{render(outgoing.reply)}"
        if self.stream is not None:
            print(text, file=self.stream, flush=True)
        else:
            self.logger.info("%s", text)


def write(reply: Reply, stream: TextIO = sys.stdout) -> None:
    print(render(reply), file=stream, flush=True)


# -- the local workspace: `complybot chat` and the playground act in it as the person at this machine --

LOCAL_WORKSPACE = "local"


def local_user_name() -> str:
    try:
        return getpass.getuser() or "me"
    except Exception:  # no user name in a container: any local name will do
        return "me"


def local_user_id(name: str) -> str:
    return f"local:{name.casefold()}"


def as_local_admin(ctx):
    """`complybot chat` and the playground act alike: the person at this machine is an admin of the
    local workspace, and @name of someone new adds them (there is no directory to look people up in)."""
    from dataclasses import replace

    return replace(ctx, admins=(*ctx.admins, local_user_id(local_user_name())), resolve_user=console_people(ctx.store))


def console_people(store):
    """On the console, mentioning @name of someone new adds them to the local workspace (no directory)."""
    def resolve(workspace: str, token: str):
        name = token.strip().lstrip("@")
        if workspace != LOCAL_WORKSPACE or not re.fullmatch(r"[\w.\-]{1,40}", name):
            return None
        return store.upsert_person(workspace, local_user_id(name), name=name)

    return resolve
