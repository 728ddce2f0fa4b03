"""`complybot tasks [mine|overdue|due soon|all|done|iso|soc2|@person] [--as NAME]`: the chat's `tasks`
command from the shell, on the local workspace (handy in scripts and cron)."""
from __future__ import annotations

import argparse

from bot.console import LOCAL_WORKSPACE


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("which", nargs="*", help="mine (default), overdue, due soon, all, done, iso, soc2, @person")
    parser.add_argument("--as", dest="as_name", metavar="NAME", help="whose tasks `mine` means")
    parser.add_argument("--db", metavar="PATH", help="SQLite file (default $COMPLYBOT_DB or ./complybot.db)")
    parser.add_argument("--workspace", default=LOCAL_WORKSPACE, help="workspace id (default: local, the chat's)")


def run(args: argparse.Namespace) -> int:
    from bot.commands.chat import LocalSession
    from bot.console import write

    with LocalSession(args.db, args.as_name, args.workspace) as session:
        reply = session.say(" ".join(["tasks", *args.which]))
        write(reply)
    return 1 if reply.ephemeral else 0
