"""`complybot review import --csv accounts.csv --system "AWS production" --reviewer ana [--owner bob]
[--due "in 10 days"] [--every quarter]`: start an access review whose accounts come from a CSV file
(`name, role` per row; a header row `name,role` is skipped) instead of lines pasted in chat. It runs the
chat's `review start` as the local admin (or `--as`), in one transaction, so the same checks apply."""
from __future__ import annotations

import argparse
import sys

from bot.console import LOCAL_WORKSPACE

HEADER = ("name", "role")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=("import",), help="import: start a review from a CSV file")
    parser.add_argument("--csv", required=True, metavar="PATH", help="the accounts: name, role per row")
    parser.add_argument("--system", required=True, help="the system reviewed, e.g. \"AWS production\"")
    parser.add_argument("--reviewer", required=True, help="who reviews (name, email or user id)")
    parser.add_argument("--owner", help="the system's owner, who gets removals as tasks (default: you)")
    parser.add_argument("--due", help='e.g. "in 10 days" or 2027-01-31 (default: in 14 days)')
    parser.add_argument("--every", choices=("quarter", "year"), help="repeat the review")
    parser.add_argument("--as", dest="as_name", metavar="NAME", help="who starts it (an admin)")
    parser.add_argument("--workspace", default=LOCAL_WORKSPACE, help="workspace id (default: local, the chat's)")
    parser.add_argument("--db", metavar="PATH", help="SQLite file (default $COMPLYBOT_DB or ./complybot.db)")


def run(args: argparse.Namespace) -> int:
    import csv

    from bot.commands.chat import LocalSession
    from bot.console import local_user_id, write
    from handlers.router import run as run_command
    from handlers.types import Message

    try:
        with open(args.csv, encoding="utf-8-sig", newline="") as handle:
            rows = [row for row in csv.reader(handle) if any(cell.strip() for cell in row)]
    except OSError as error:
        print(f"complybot review: cannot read {args.csv}: {error.strerror}", file=sys.stderr)
        return 1
    if rows and tuple(cell.strip().casefold() for cell in rows[0][:2]) == HEADER:
        rows = rows[1:]
    lines = [f"{row[0].replace(',', ' ')}, {row[1] if len(row) > 1 else ''}" for row in rows]
    command = f'start "{args.system}" reviewer {_person(args.reviewer)}'
    command += f" owner {_person(args.owner)}" if args.owner else ""
    command += f" due {args.due}" if args.due else ""
    command += f" every {args.every}" if args.every else ""
    with LocalSession(args.db, args.as_name, args.workspace) as session:
        message = Message(platform="console", workspace=session.workspace, user=local_user_id(session.name),
                          text="review import", user_name=session.name, is_direct=True)
        reply = run_command("review", "\n".join([command, *lines]), message, session.ctx)
        write(reply)
    return 1 if reply.ephemeral else 0


def _person(name: str) -> str:
    return name if name.startswith(("@", "<@")) else f"@{name}"
