"""`complybot chat`: talk to complybot in this terminal — questions and every task command, on the local
workspace of the SQLite store (./complybot.db or $COMPLYBOT_DB). The local user is an admin;
`--as NAME` acts as someone else (a member unless made admin)."""
from __future__ import annotations

import argparse
import sys

from bot.console import LOCAL_WORKSPACE, as_local_admin, local_user_id, local_user_name

PROMPT = "you> "
MAX_LINE_CHARS = 100_000  # a pasted novel is refused by the router anyway; never read unbounded lines


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--as", dest="as_name", metavar="NAME", help="act as this person of the local workspace")
    parser.add_argument("--db", metavar="PATH", help="SQLite file (default $COMPLYBOT_DB or ./complybot.db)")
    parser.add_argument("--workspace", default=LOCAL_WORKSPACE, help=argparse.SUPPRESS)


def run(args: argparse.Namespace) -> int:
    from bot.console import write

    if hasattr(sys.stdin, "reconfigure"):
        sys.stdin.reconfigure(errors="replace")  # binary junk becomes text the router can refuse politely
    with LocalSession(args.db, args.as_name, args.workspace) as session:
        interactive = sys.stdin.isatty()
        if interactive:
            _line_editing()
            print(f"complybot — local chat as @{session.name}. Ask a question or type `help`; Ctrl-D or `exit` "
                  "quits.")
        for line in _lines(interactive):
            text = line.strip()
            if not text:
                continue
            if text.casefold() in ("exit", "quit", ":q"):
                break
            write(session.say(text))
            if interactive:
                print()
    return 0


class LocalSession:
    """The local workspace as one person: the local user (an admin) or `as_name`. Used by `chat` and
    `tasks`."""

    def __init__(self, db: str | None, as_name: str | None = None, workspace: str = LOCAL_WORKSPACE):
        from bot.config import database_path, default_timezone
        from bot.store import Store
        from handlers.ports import Context

        self.name = (as_name or local_user_name()).strip().lstrip("@") or "me"
        self.workspace = workspace
        self.store = Store.open(db or database_path(), default_tz=default_timezone())
        self.ctx = as_local_admin(Context(store=self.store, admins=_configured_admins()))

    def say(self, text: str):
        from handlers.router import handle
        from handlers.types import Message

        return handle(Message(platform="console", workspace=self.workspace, user=local_user_id(self.name), text=text,
                              user_name=self.name, is_direct=True), self.ctx)

    def __enter__(self) -> "LocalSession":
        return self

    def __exit__(self, *exc) -> None:
        self.store.close()


def _lines(interactive: bool):
    """Input lines until EOF or Ctrl-C; over-long lines arrive cut (the router refuses them politely)."""
    while True:
        try:
            if interactive:
                line = input(PROMPT)
            else:
                line = sys.stdin.readline(MAX_LINE_CHARS)
                if not line:
                    return
                if not line.endswith("\n"):  # the rest of a very long line: skip it
                    while (more := sys.stdin.readline(MAX_LINE_CHARS)) and not more.endswith("\n"):
                        pass
        except (EOFError, KeyboardInterrupt):
            if interactive:
                print()
            return
        yield line


def _line_editing() -> None:
    """Arrow keys and history at the prompt, as in any shell; readline also reads the line itself, so a
    paste is not cut at the terminal's 4,095 characters (the router then says its real length)."""
    try:
        import readline  # noqa: F401 (importing it is what makes input() use it)
    except ImportError:  # not on every platform (Windows): plain input() still works
        pass


def _configured_admins() -> tuple[str, ...]:
    """COMPLYBOT_ADMINS, when the settings read; chat needs no Slack or Teams settings to be right."""
    from bot.config import ConfigError, Settings

    try:
        return tuple(Settings.from_env().admins)
    except ConfigError:
        return ()
