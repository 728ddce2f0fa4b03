"""The `complybot` command. Each subcommand lives in `bot/commands/<name>.py` and exposes
`add_arguments(parser)` and `run(args) -> int`; heavy libraries are imported inside `run` so that
`complybot ask` starts fast."""
from __future__ import annotations

import argparse
import importlib
import sys

# subcommand -> (module under bot.commands, one-line help). Add a line to add a command.
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "ask": ("ask", "answer a question (or one per line from standard input)"),
    "chat": ("chat", "chat with complybot in this terminal (the local workspace)"),
    "export": ("export", "export the mapping, the Statement of Applicability, tasks, the audit log, a policy's "
                         "acceptances or an access review"),
    "review": ("review", "start an access review with its accounts from a CSV file (review import)"),
    "tasks": ("tasks", "list control tasks of the local workspace (mine, overdue, due soon, all, @person)"),
    "serve": ("serve", "run the server: Slack, Teams, reminders, /healthz, and the local web playground"),
    "digest": ("digest", "print the weekly status digest of a workspace (--preview)"),
    "backup": ("backup", "copy the database to PATH safely, even while the server runs"),
    "restore": ("backup", "replace the database with the backup at PATH (stop the server first)"),
    "teams-package": ("teams_package", "write the Microsoft Teams app package (manifest and icons) to upload"),
    "slack-manifest": ("slack_manifest", "print the Slack app manifest (YAML) for your server's https:// address"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="complybot", description="SOC 2 and ISO 27001 assistant")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module_name, help_text) in SUBCOMMANDS.items():
        module = importlib.import_module(f"bot.commands.{module_name}")
        sub_parser = sub.add_parser(name, help=help_text, description=help_text)
        module.add_arguments(sub_parser)
        sub_parser.set_defaults(run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help()
        return 2
    try:
        return args.run(args) or 0
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
