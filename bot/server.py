"""One aiohttp application for every platform: /slack/events, /api/messages, /healthz, the playground.

Platforms plug in through `mount(app, settings)` functions in their adapter modules, called only when
configured, so an unconfigured platform's libraries are never imported.

Shutdown (SIGTERM/SIGINT, handled by `web.run_app` in `complybot serve`): aiohttp stops listening,
closes idle connections, runs `on_shutdown`, waits up to SHUTDOWN_TIMEOUT_SECONDS for requests in
flight, then runs the cleanup contexts (scheduler) and `on_cleanup` (the database is closed last).
"""
from __future__ import annotations

import asyncio
import logging
import re
import time
import uuid

from aiohttp import web

from bot import logs
from bot.config import Settings
from bot.console import LOCAL_WORKSPACE
from bot.runtime import RUNTIME, Runtime

MAX_BODY_BYTES = 1024 * 1024  # Slack and Teams payloads are far smaller; refuse anything huge
SHUTDOWN_TIMEOUT_SECONDS = 25.0  # platforms send SIGKILL ~30 s after SIGTERM (Heroku, Fly, Render)
PLATFORM_BY_PATH = (("/slack/", "slack"), ("/api/messages", "teams"), ("/api/playground", "playground"))
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
QUIET_PATHS = ("/healthz",)  # probed every few seconds: logged at debug level only
CLIENT_GONE = 499  # the client closed the connection before the answer (nginx's code)
# anyone can send unsigned requests, or half a body and hang up: at info level they could fill the log
QUIET_STATUSES = (401, CLIENT_GONE)


def platform_for(path: str) -> str:
    for prefix, platform in PLATFORM_BY_PATH:
        if path.startswith(prefix):
            return platform
    return ""


def outcome_for(status: int) -> str:
    return "ok" if status < 400 else "refused" if status < 500 else "error"


@web.middleware
async def request_log(request: web.Request, handler) -> web.StreamResponse:
    """One log line per request; an unexpected error becomes a plain 500 with no stack trace."""
    given_id = request.headers.get("X-Request-Id", "")
    request_id = given_id if _SAFE_REQUEST_ID.match(given_id) else uuid.uuid4().hex[:16]
    token = logs.begin_request(request_id, platform=platform_for(request.path) or None)
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        response.headers["X-Request-Id"] = request_id
        return response
    except web.HTTPException as http_error:
        status = http_error.status
        raise
    except asyncio.CancelledError:
        status = CLIENT_GONE
        raise
    except Exception as error:
        if isinstance(error, ConnectionResetError) and client_gone(request):  # e.g. closed mid-body: no error of ours
            status = CLIENT_GONE
            return web.Response(status=status)  # nobody is there to read it
        logs.event("request.error", logging.ERROR, error=logs.describe_exception(error))
        return web.json_response(
            {"ok": False, "error": "Something went wrong on our side. It has been logged.", "request_id": request_id},
            status=500,
            headers={"X-Request-Id": request_id},
        )
    finally:
        fields = logs.end_request(token)
        fields.setdefault("outcome", outcome_for(status))
        level = logging.DEBUG if request.path in QUIET_PATHS or status in QUIET_STATUSES else logging.INFO
        logs.event(
            "request", level, method=request.method, path=request.path, status=status,
            latency_ms=round((time.perf_counter() - started) * 1000, 1), **fields,
        )


def client_gone(request: web.Request) -> bool:
    """The client's connection is closed (a reset of ours to Slack or Microsoft leaves it open)."""
    return request.transport is None or request.transport.is_closing()


HEALTH_WAIT_SECONDS = 0.5  # /healthz answers within this however busy or locked the database is


def database_state(conn, store) -> str:
    """Reads the file itself (not just `SELECT 1`), so a vanished or broken database shows; "slow"
    while a write could not begin (another connection holds the write lock)."""
    conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    return "ok" if store.write_lock_free() else "slow"


async def database_health(store) -> str:
    """"ok", "slow" (locked, or no answer within HEALTH_WAIT_SECONDS) or "unreachable", checked off
    the event loop on a connection of its own."""
    if store is None:
        return "unreachable"
    try:
        return await asyncio.wait_for(store.read(lambda conn: database_state(conn, store)), HEALTH_WAIT_SECONDS)
    except asyncio.TimeoutError:
        return "slow"
    except Exception as error:  # any failure means "not reachable"; say which in the log
        logs.event("healthz.database", logging.WARNING, error=logs.describe_exception(error))
        return "unreachable"


async def healthz(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    database = await database_health(runtime.ctx.store)
    scheduler = runtime.scheduler
    scheduler_running = bool(scheduler is not None and getattr(scheduler, "running", False))
    scheduler_off = not runtime.settings.scheduler  # COMPLYBOT_SCHEDULER=off: another process schedules
    ok = database != "unreachable" and (scheduler_running or scheduler_off)  # slow: still serving
    body = {
        "ok": ok,
        "database": database,
        "scheduler": "off" if scheduler_off else "running" if scheduler_running else "stopped",
        "platforms": sorted(runtime.platforms),
        "playground": runtime.playground is not None,
        **{name: report() for name, report in runtime.health_reports.items()},  # e.g. answers lost in Slack
    }
    return web.json_response(body, status=200 if ok else 503)


async def slow_request(request: web.Request) -> web.Response:
    """Tests only (COMPLYBOT_TEST_HOOKS=1, loopback): a request that is still in flight when SIGTERM
    arrives and then uses the database, so a test can show shutdown lets it finish before closing."""
    await asyncio.sleep(min(float(request.query.get("seconds", "1")), 10.0))
    store = request.app[RUNTIME].ctx.store
    store.ensure_workspace(LOCAL_WORKSPACE, "console")
    return web.json_response({"ok": True, "tasks": store.count_tasks(LOCAL_WORKSPACE)})


async def _close_store(app: web.Application) -> None:
    """Last step of shutdown: after requests in flight and the scheduler's tick have finished."""
    app[RUNTIME].ctx.store.close()
    logs.event("database.closed")


def create_app(settings: Settings) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY_BYTES, middlewares=[request_log])
    app.router.add_get("/healthz", healthz)
    # One store for the whole process, shared by every platform through the handlers' Context.
    from bot.store import Store
    from handlers.ports import Context

    ctx = Context(store=Store.open(settings.db_path, default_tz=settings.timezone), admins=tuple(settings.admins))
    app[RUNTIME] = Runtime(settings, ctx)  # the one place it is created; mounts below fill in their parts
    app.on_cleanup.append(_close_store)
    if settings.test_hooks:
        app.router.add_post("/__test__/slow", slow_request)
    if settings.teams_enabled:
        from bot import teams  # the Agents SDK is imported only when Teams is configured

        teams.mount(app, settings)
    if settings.slack_enabled:
        from bot import slack  # slack-bolt is imported only when Slack is configured

        slack.mount(app, settings)
    if settings.playground_enabled:
        from bot import playground

        playground.mount(app, settings)
    # Last, so it starts after the platforms' senders exist and stops (finishing its tick in flight)
    # before their clients close: cleanup contexts exit in reverse order.
    if settings.scheduler:
        from bot.scheduler import scheduler_context  # nudges and digests: started and stopped with the server

        app.cleanup_ctx.append(scheduler_context)
    return app
