"""The Bolt `AsyncApp` and its place on the project's aiohttp server.

`mount(app, settings)` adds `POST /slack/events` (events, slash commands, interactivity and options;
the signature and the payload's shape are checked in `bot.slack.edge` before Bolt sees it), the OAuth
routes when a client id and secret are configured, Socket Mode when `SLACK_APP_TOKEN` is set, and the
Slack sender for nudges and digests. The app runs with `process_before_response=True` and puts
every Web API call in a lazy listener: the acknowledgement is always fast, and the work after it is
tracked (`SlackRuntime.work`) so a shutdown finishes it and tests can wait for it.
"""
from __future__ import annotations

import contextlib
import functools
import logging
import time

from aiohttp import ClientSession, ClientTimeout, web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_bolt.response import BoltResponse
from slack_sdk.signature import SignatureVerifier

from bot import logs
from bot.config import Settings
from bot.runtime import RUNTIME
from bot.slack import listeners
from bot.slack.conversation import SORRY, SlackRuntime
from bot.slack.edge import NOT_A_SLACK_PAYLOAD, NOT_SIGNED, replay_key, signed_bolt_request, signed_by_slack
from bot.slack.installations import SQLiteInstallationStore, SQLiteOAuthStateStore
from bot.slack.people import SlackDirectory
from bot.slack.response_urls import ResponseURLs
from bot.slack.sender import SlackSender, web_client
from bot.slack.work import TrackedLazyListenerRunner

log = logging.getLogger("complybot.slack")

EVENTS_PATH = "/slack/events"
INSTALL_PATH = "/slack/install"
OAUTH_REDIRECT_PATH = "/slack/oauth_redirect"
BOT_SCOPES = {  # the least the app needs, each for a reason (views.*, chat.getPermalink need none)
    "app_mentions:read": "the app_mention event: questions and commands by @mention",
    "assistant:write": "assistant.threads.setSuggestedPrompts: the Messages tab's suggested prompts",
    "channels:read": "conversations.list/.members: a policy published to a #channel asks its members",
    "chat:write": "answers, nudges, digests and updated buttons (chat.postMessage, .postEphemeral, .update)",
    "commands": "/comply and the shortcuts (Attach as evidence, Ask complybot, Assign a control)",
    "files:write": "`export soa` attaches the SoA workbook (files_upload_v2)",
    "groups:read": "the same for a private channel the bot was added to",
    "im:history": "the message.im event: direct messages to the bot",
    "im:write": "conversations.open: the DM a nudge goes to (once per person, then kept)",
    "users:read": "users.info: names and time zones (nudges in each person's morning)",
    "users:read.email": "users.info's email: COMPLYBOT_ADMINS may name admins by email",
}
REVOCATION_EVENTS = ("app_uninstalled", "tokens_revoked")
EVENT_MEMORY_SECONDS = 24 * 3600  # Slack retries within minutes; a day of event ids is plenty
# A signature is accepted while its timestamp is within 5 minutes of our clock, either side, so a replay
# can come up to 10 minutes after the first delivery; 15 leaves room for the clocks' drift.
REQUEST_MEMORY_SECONDS = 15 * 60


def build_bolt_app(settings: Settings, runtime: SlackRuntime) -> AsyncApp:
    store = lambda: runtime.ctx.store  # noqa: E731 — the store opens with the server, after mount
    options: dict = {
        # one workspace: the client carries SLACK_BOT_TOKEN; with OAuth each request gets its installation's
        "client": web_client(settings.slack_api_url, None if settings.slack_oauth else settings.slack_bot_token),
        "signing_secret": settings.slack_signing_secret,  # "" rather than None: Bolt would read the env
        "request_verification_enabled": bool(settings.slack_signing_secret),
        "process_before_response": True,
        "logger": log,
    }
    if settings.slack_oauth:
        options["oauth_settings"] = AsyncOAuthSettings(
            client_id=settings.slack_client_id, client_secret=settings.slack_client_secret,
            scopes=list(BOT_SCOPES), install_path=INSTALL_PATH, redirect_uri_path=OAUTH_REDIRECT_PATH,
            authorization_url=authorization_url(settings.slack_api_url),
            installation_store=SQLiteInstallationStore(store), state_store=SQLiteOAuthStateStore(store),
        )
    with _quiet(log):  # Bolt warns that the SLACK_BOT_TOKEN it finds in the environment is unused: on purpose
        bolt = AsyncApp(**options)
    runner = runtime.claims = TrackedLazyListenerRunner(log, runtime.work)
    bolt.listener_runner.lazy_listener_runner = runner

    async def drop_duplicates(req, body: dict, next) -> BoltResponse | None:
        """Slack re-sends an event it thinks we missed (`X-Slack-Retry-Num`), and a signed command or
        button press can be replayed while its signature is fresh: the event id, or the request's
        `replay_key`, is claimed in the database first, so a second delivery (even after a restart) is
        acknowledged and does nothing."""
        team = req.context.team_id or ""
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if event_id:
            claim = functools.partial(claim_event, store(), event_id, team)
        else:
            key = replay_key(req, body)
            claim = functools.partial(claim_request, store(), key, team) if key else None
        if claim is not None and not await runner.claim(req, store(), claim):
            retry = (req.headers.get("x-slack-retry-num") or [""])[0]
            logs.event("slack.duplicate", workspace=team, kind="event" if event_id else "request", retry=retry,
                       outcome="dropped")
            return BoltResponse(status=200, body="")
        return await next()

    async def apologise(error: Exception, body: dict) -> None:
        logs.event("slack.listener_failed", logging.ERROR, error=logs.describe_exception(error))
        await runtime.respond(body.get("response_url", ""), SORRY, response_type="ephemeral", replace_original=False)

    bolt.middleware(drop_duplicates)
    bolt.error(apologise)
    listeners.register(bolt, runtime)
    if bolt.installation_store is not None:  # uninstalled or revoked: forget that workspace's token
        bolt.enable_token_revocation_listeners()
    else:
        for event in REVOCATION_EVENTS:
            bolt.event(event)(listeners.just_ack)
    return bolt


def authorization_url(api_url: str) -> str | None:
    """Where the install button sends people: next to the Web API (slack-gov.com for GovSlack)."""
    if not api_url:
        return None  # Bolt's default, slack.com
    return api_url.rstrip("/").removesuffix("/api") + "/oauth/v2/authorize"


@contextlib.contextmanager
def _quiet(logger: logging.Logger):
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def claim_event(store, event_id: str, team: str) -> bool:
    """True the first time an event id is seen."""
    return _claim(store, "slack_events", "event_id", event_id, team, EVENT_MEMORY_SECONDS)


def claim_request(store, key: str, team: str) -> bool:
    """True the first time a command or interaction (its `replay_key`) is seen."""
    return _claim(store, "slack_requests", "key", key, team, REQUEST_MEMORY_SECONDS)


def _claim(store, table: str, column: str, key: str, team: str, memory_seconds: float) -> bool:
    now = time.time()
    with store.transaction():
        inserted = store.db.execute(f"INSERT OR IGNORE INTO {table} ({column}, team_id, received_at)"
                                    " VALUES (?, ?, ?)", [key, team, now]).rowcount
        if inserted and hash(key) % 500 == 0:  # now and then, forget what is too old to come again
            store.db.execute(f"DELETE FROM {table} WHERE received_at < ?", [now - memory_seconds])
    return bool(inserted)


def mount(app: web.Application, settings: Settings) -> SlackRuntime:
    """Serve Slack from `app`. Call before the app starts; `app[RUNTIME]` must be set by then."""
    runtime = SlackRuntime(web_app=app, answers=ResponseURLs(settings.slack_api_url))
    bolt = build_bolt_app(settings, runtime)
    app[RUNTIME].slack_runtime = runtime
    app[RUNTIME].health_reports["slack"] = runtime.answers.report

    if settings.slack_signing_secret:  # never serve HTTP without verifying Slack's signature
        app.router.add_post(EVENTS_PATH, _events_route(bolt, SignatureVerifier(settings.slack_signing_secret)))
    if bolt.oauth_flow is not None:
        flow = bolt.oauth_flow

        async def install(request: web.Request) -> web.Response:
            return await to_aiohttp_response(await flow.handle_installation(await to_bolt_request(request)))

        async def oauth_redirect(request: web.Request) -> web.Response:
            return await to_aiohttp_response(await flow.handle_callback(await to_bolt_request(request)))

        app.router.add_get(INSTALL_PATH, install)
        app.router.add_get(OAUTH_REDIRECT_PATH, oauth_redirect)
    app.cleanup_ctx.append(_connection_pool(runtime))
    if settings.slack_app_token:
        app.cleanup_ctx.append(_socket_mode(bolt, settings.slack_app_token))

    async def finish_work(_app: web.Application) -> None:
        await runtime.work.drain()

    app.on_shutdown.append(finish_work)
    app[RUNTIME].senders["slack"] = SlackSender(_client_for(bolt, settings, runtime), runtime.dm_channel)
    app[RUNTIME].directories["slack"] = SlackDirectory(_client_for(bolt, settings, runtime), lambda: runtime.ctx.store)
    if "slack" not in app[RUNTIME].platforms:
        app[RUNTIME].platforms.append("slack")
    return runtime


def _events_route(bolt: AsyncApp, verifier: SignatureVerifier):
    """`POST /slack/events`: the signature is checked on the raw bytes before anything reads them, so an
    unverified request gets 401 whatever is malformed in it, and nothing runs or is sent for it."""

    async def slack_events(request: web.Request) -> web.Response:
        body = await request.read()
        if not signed_by_slack(verifier, body, request.headers):
            return web.Response(status=401, text=NOT_SIGNED)
        bolt_request = signed_bolt_request(request, body)
        if bolt_request is None:
            return web.json_response(NOT_A_SLACK_PAYLOAD, status=400)
        return await to_aiohttp_response(await bolt.async_dispatch(bolt_request))

    return slack_events


def _connection_pool(runtime: SlackRuntime):
    """One aiohttp session for answers through response URLs and for proactive messages: connections
    are kept alive instead of a new TLS handshake per message. Closed after the last work finished.
    (Bolt's own client stays without one: lazy listeners deep-copy it, and a session cannot be.)"""

    async def pool(_app: web.Application):
        runtime.http = ClientSession(timeout=ClientTimeout(total=30))
        yield
        await runtime.http.close()

    return pool


def _client_for(bolt: AsyncApp, settings: Settings, runtime: SlackRuntime):
    async def client_for(workspace: str):
        token = settings.slack_bot_token
        if bolt.installation_store is not None:
            found = await bolt.installation_store.async_find_bot(enterprise_id=None, team_id=workspace)
            if found is None:
                raise LookupError("complybot is not installed in that Slack workspace")
            token = found.bot_token
        return web_client(settings.slack_api_url, token, session=runtime.http)

    return client_for


def _socket_mode(bolt: AsyncApp, app_token: str):
    """Socket Mode (development without a public URL): connect with the server, close with it."""

    async def connection(_app: web.Application):
        from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler

        handler = AsyncSocketModeHandler(bolt, app_token)
        await handler.connect_async()
        yield
        await handler.close_async()

    return connection
