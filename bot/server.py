"""One aiohttp application for every platform: /slack/events, /api/messages, /healthz.

Platforms plug in through `mount(app, settings)` functions in their adapter modules, called only when
configured, so an unconfigured platform's libraries are never imported.
"""
from __future__ import annotations

from aiohttp import web

from bot.config import Settings

MAX_BODY_BYTES = 1024 * 1024  # Slack and Teams payloads are far smaller; refuse anything huge


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"ok": True, "platforms": sorted(request.app.get("platforms", []))})


def create_app(settings: Settings) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY_BYTES)
    app["settings"] = settings
    app["platforms"] = []
    app.router.add_get("/healthz", healthz)
    # One store for the whole process, shared by every platform through the handlers' Context.
    from bot.store import Store
    from handlers.ports import Context

    app["ctx"] = Context(store=Store.open(settings.db_path), admins=tuple(settings.admins))
    app.on_cleanup.append(_close_store)
    return app


async def _close_store(app: web.Application) -> None:
    app["ctx"].store.close()
