"""The local web playground: a small chat page that talks to the same handlers as every platform.

`GET /` serves the page, `POST /api/playground` takes `{"text": ..., "as": optional name}` and
returns the neutral `Reply` as JSON; the page renders it as Slack would (sections, progress bars,
buttons whose value is sent back as the next command). It has no login, so it is served only on a
loopback address and answers only requests that come from this machine and name it in `Host`
(a web page elsewhere cannot reach it through DNS rebinding).
"""
from __future__ import annotations

import dataclasses
import ipaddress
from pathlib import Path

from aiohttp import web

from bot import logs
from bot.config import Settings, is_loopback
from handlers import router
from handlers.types import Message

STATIC_DIR = Path(__file__).parent / "static"
LOCAL_WORKSPACE = "local"
LOCAL_USER = "local"
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def _hostname(host: str) -> str:
    """`127.0.0.1:3978` → `127.0.0.1`, `[::1]:3978` → `::1`."""
    if host.startswith("["):
        return host[1:host.find("]")]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _from_this_machine(request: web.Request) -> bool:
    try:
        remote_ok = ipaddress.ip_address(request.remote or "").is_loopback
    except ValueError:
        remote_ok = False
    return remote_ok and is_loopback(_hostname(request.host or ""))


@web.middleware
async def local_only(request: web.Request, handler):
    if request.path in ("/", "/api/playground") or request.path.startswith("/playground/"):
        if not _from_this_machine(request):
            raise web.HTTPForbidden(text="The playground answers only on this machine (127.0.0.1).")
    return await handler(request)


async def page(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC_DIR / "playground.html", headers=PAGE_HEADERS)


def message_for(text: str, as_name: str) -> Message:
    """The local admin by default; `as` acts as another person of the local workspace, like
    `complybot chat --as NAME`."""
    as_name = " ".join(as_name.split())[:80]
    user = f"local:{as_name.lower()}" if as_name else LOCAL_USER
    return Message(
        platform="playground", workspace=LOCAL_WORKSPACE, user=user, user_name=as_name or "you",
        text=text, channel="playground", is_direct=True,
    )


async def post_message(request: web.Request) -> web.Response:
    try:
        data = await request.json()
    except ValueError:
        raise web.HTTPBadRequest(text="Send JSON like {\"text\": \"status\"}.") from None
    if not isinstance(data, dict) or not isinstance(data.get("text"), str):
        raise web.HTTPBadRequest(text="Send JSON like {\"text\": \"status\"}.")
    as_name = data.get("as") if isinstance(data.get("as"), str) else ""
    message = message_for(data["text"], as_name)
    logs.note(workspace=LOCAL_WORKSPACE, user=message.user)
    reply = router.handle(message, request.app.get("ctx"))
    logs.note(command=reply.kind or "reply")
    return web.json_response(dataclasses.asdict(reply), headers={"Cache-Control": "no-store"})


def mount(app: web.Application, settings: Settings) -> None:
    app.middlewares.append(local_only)
    app.router.add_get("/", page)
    app.router.add_post("/api/playground", post_message)
    app.router.add_static("/playground/", STATIC_DIR, append_version=True)
    app["playground"] = True
