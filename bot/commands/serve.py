"""`complybot serve [--host] [--port] [--playground]`: the one server for Slack, Teams, the scheduler and
the local web playground. A bad setting stops it before it starts: one line naming it, exit code 2."""
from __future__ import annotations

import argparse
import sys

CONFIG_ERROR_EXIT = 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", help="address to bind (default: 0.0.0.0 when Slack or Teams is configured, "
                        "else 127.0.0.1; the playground always binds 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port to listen on (default: $PORT or 3978)")
    parser.add_argument("--playground", action="store_true", default=None,
                        help="serve the local web chat at / even when a platform is configured (binds 127.0.0.1)")


def run(args: argparse.Namespace) -> int:
    import sqlite3

    from bot.config import ConfigError, Settings

    try:
        settings = Settings.from_env(host=args.host, port=args.port, playground=args.playground)
    except ConfigError as error:
        print(f"complybot serve: {error}", file=sys.stderr)
        return CONFIG_ERROR_EXIT

    from aiohttp import web

    from bot import logs
    from bot.runtime import RUNTIME
    from bot.server import SHUTDOWN_TIMEOUT_SECONDS, create_app

    logs.setup(settings.log_level)
    try:
        app = create_app(settings)
    except sqlite3.DatabaseError as error:
        print(f"complybot serve: COMPLYBOT_DB: cannot open the database {settings.db_path!r}: {error}", file=sys.stderr)
        return CONFIG_ERROR_EXIT
    except ConfigError as error:  # an adapter's own check at mount time
        print(f"complybot serve: {error}", file=sys.stderr)
        return CONFIG_ERROR_EXIT

    def announce(_aiohttp_banner: str) -> None:
        """Called by run_app once the socket is bound (not before: the port may be taken)."""
        url = f"http://{settings.host}:{settings.port}/"
        runtime = app[RUNTIME]
        logs.event("serve.start", host=settings.host, port=settings.port, platforms=",".join(runtime.platforms) or "none",
                   playground=url if runtime.playground is not None else None, db=settings.db_path)
        if runtime.playground is not None:
            print(f"complybot playground: open {url} in your browser (Ctrl+C to stop)", flush=True)

    try:
        web.run_app(app, host=settings.host, port=settings.port, shutdown_timeout=SHUTDOWN_TIMEOUT_SECONDS,
                    print=announce, access_log=None, handle_signals=True)
    except OSError as error:  # the port is taken, or the address is not ours
        print(f"complybot serve: cannot listen on {settings.host}:{settings.port}: {error.strerror or error}", file=sys.stderr)
        return 1
    logs.event("serve.stopped")
    return 0
