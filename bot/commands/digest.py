"""`complybot digest --preview [--workspace ID]`: print the weekly status digest of a workspace (the
local one by default) as it would be posted now, without posting or recording anything."""
from __future__ import annotations

import argparse
import sys

from bot.console import LOCAL_WORKSPACE


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--preview", action="store_true", required=True,
                        help="print the digest instead of posting it (the only mode; posting is the server's job)")
    parser.add_argument("--workspace", default=LOCAL_WORKSPACE, metavar="ID",
                        help="Slack team id or Teams tenant id (default: the local workspace of `complybot chat`)")
    parser.add_argument("--db", metavar="PATH", help="SQLite file (default $COMPLYBOT_DB or ./complybot.db)")


def run(args: argparse.Namespace) -> int:
    from bot.config import default_timezone
    from bot.console import write
    from bot.store import Store
    from handlers import digest
    from handlers.ports import SystemClock

    store = Store.open(args.db, default_tz=default_timezone())
    try:
        known = [w["id"] for w in store.workspaces()]
        if store.workspace(args.workspace) is None and known:
            print(f"complybot digest: no workspace {args.workspace} in {store.path} (known: {', '.join(known)})",
                  file=sys.stderr)
            return 1
        write(digest.preview(store, args.workspace, SystemClock().now()))  # a fresh database: how to start
        return 0
    finally:
        store.close()
