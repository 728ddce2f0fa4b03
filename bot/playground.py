"""The local web playground: a small chat page that talks to the same handlers as every platform.

`GET /` serves the page, `POST /api/playground` takes `{"text": ..., "as": optional name,
"conversation": optional id}` and returns the neutral `Reply` as JSON (the page sends one conversation id
per page load, so a follow-up question continues that page's conversation); the page renders it as Slack
would (sections, progress bars, buttons whose value is sent back as the next command), its text as data:
only bare links are live. It has no login, so it is served only on a loopback address and answers only
requests that come from this machine and name it in `Host` (a web page elsewhere cannot reach it through
DNS rebinding).
"""
from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from urllib.parse import urlsplit

from aiohttp import web

from bot import logs
from bot.console import LOCAL_WORKSPACE, as_local_admin, local_user_id, local_user_name
from bot.config import Settings, is_loopback
from bot.runtime import RUNTIME
from bot.turns import run_turn
from handlers import router
from handlers.types import Message, Reply, plain_text

STATIC_DIR = Path(__file__).parent / "static"
USAGE = 'Send JSON like {"text": "status", "as": "optional name", "conversation": "optional id"}.'
CONVERSATION_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")  # what the page sends (a UUID); anything else is none
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


def from_this_machine(request: web.Request) -> bool:
    """A loopback peer that names a loopback `Host` (also the Teams route with auth off, bot.teams)."""
    return is_loopback(request.remote or "") and is_loopback(_hostname(request.host or ""))


@web.middleware
async def local_only(request: web.Request, handler):
    if request.path in ("/", "/api/playground") or request.path.startswith("/playground/"):
        if not from_this_machine(request):
            raise web.HTTPForbidden(text="The playground answers only on this machine (127.0.0.1).")
    return await handler(request)


async def page(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC_DIR / "playground.html", headers=PAGE_HEADERS)


def message_for(text: str, as_name: str, conversation: str = "") -> Message:
    """From the local user by default; `as` acts as another person, like `complybot chat --as NAME`. The
    page's conversation id is the thread a follow-up belongs to."""
    name = (" ".join(as_name.split())[:40] or local_user_name()).lstrip("@") or "me"
    thread = conversation if CONVERSATION_ID.fullmatch(conversation) else ""
    return Message(platform="playground", workspace=LOCAL_WORKSPACE, user=local_user_id(name), user_name=name,
                   text=text, channel="playground", thread=thread, is_direct=True)


def cross_site(request: web.Request) -> bool:
    """A page of another site posting here from the user's browser (CSRF). Requiring a JSON body makes
    browsers ask first (CORS preflight, which we never grant); the Origin check covers the rest."""
    origin = request.headers.get("Origin")
    if origin is None:
        return False
    return not is_loopback(_hostname(urlsplit(origin).netloc))


async def post_message(request: web.Request) -> web.Response:
    if cross_site(request):
        raise web.HTTPForbidden(text="The playground accepts messages from its own page only.")
    if request.content_type != "application/json":
        raise web.HTTPUnsupportedMediaType(text=USAGE)
    try:
        data = await request.json()
    except ValueError:
        raise web.HTTPBadRequest(text=USAGE) from None
    if not isinstance(data, dict) or not isinstance(data.get("text"), str):
        raise web.HTTPBadRequest(text=USAGE)
    as_name = data.get("as") if isinstance(data.get("as"), str) else ""
    conversation = data.get("conversation") if isinstance(data.get("conversation"), str) else ""
    message = message_for(data["text"], as_name, conversation)
    logs.note(workspace=LOCAL_WORKSPACE, user=message.user, command=router.command_of(message.text))
    ctx = request.app[RUNTIME].playground
    reply = await run_turn(ctx, [message.text], lambda: router.handle(message, ctx))
    logs.note(kind=reply.kind or None)
    return web.json_response(reply_json(reply), headers={"Cache-Control": "no-store"})


def reply_json(reply: Reply) -> dict:
    """The neutral Reply as JSON, its text as a text-only reader gets it (`plain_text`): the page shows
    every word as data, and nobody is notified here."""
    body = dataclasses.asdict(reply)
    body["text"] = plain_text(reply.text)
    for section in body["sections"]:
        section["title"], section["lines"] = plain_text(section["title"]), [plain_text(line) for line in section["lines"]]
    return body


def mount(app: web.Application, settings: Settings) -> None:
    app.middlewares.append(local_only)
    app.router.add_get("/", page)
    app.router.add_post("/api/playground", post_message)
    app.router.add_static("/playground/", STATIC_DIR, append_version=True)
    app[RUNTIME].playground = as_local_admin(app[RUNTIME].ctx)  # like `complybot chat`
