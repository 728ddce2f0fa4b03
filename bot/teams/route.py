"""POST /api/messages on the Agents SDK's aiohttp `CloudAdapter`, and the Teams sender.

Auth is on this route only (the Slack routes have their own): a request is authenticated first and apart
(`bot.teams.auth`), so nothing is processed or sent for one that fails. In local mode (an empty
MicrosoftAppId with COMPLYBOT_TEAMS_LOCAL=1 on a loopback host: the Emulator, end-to-end tests) every
identity is anonymous, replies go out with no token, and only to a loopback serviceUrl.
"""
from __future__ import annotations

import asyncio
import json
import logging
from collections import OrderedDict
from urllib.parse import urlsplit

from aiohttp import ClientSession, TCPConnector, web
from microsoft_agents.activity import Activity, RoleTypes
from microsoft_agents.hosting.aiohttp import CloudAdapter
from microsoft_agents.hosting.core import RestChannelServiceClientFactory, TurnContext
from microsoft_agents.hosting.core.authorization import AnonymousTokenProvider, ConnectionManager
from microsoft_agents.hosting.core.connector.teams import TeamsConnectorClient

from bot import logs
from bot.background import BackgroundWork
from bot.config import Settings, is_loopback
from bot.playground import cross_site, from_this_machine
from bot.runtime import RUNTIME
from bot.teams.activities import CONTRADICTORY, ComplyBot, tenant_of
from bot.teams.auth import Authenticator, check_auth, connection_settings
from bot.teams.members import TeamsDirectory
from bot.teams.sender import TeamsSender

ROUTE = "/api/messages"
ACK_WAIT_SECONDS = 2.0  # Teams re-sends what it has no answer for in 15 s; a slower turn goes on after the answer
CONNECTOR_CONNECTIONS = 64  # kept-alive connections to the Bot Connector, shared by every turn and send
# Connector clients kept for reuse, least recently used dropped first: one per service URL and token
# (tokens rotate about hourly), so a few regions' clients fit many times over.
CONNECTOR_CLIENTS = 128
TURN_FAILED = "Sorry, something went wrong on my side. Check with `tasks` before trying again."
# The SDK logs a rejected activity's validation error at ERROR with the offending values (people's
# words) and a traceback; we answer 400 and log the refusal ourselves. Its token validator warns of every
# refused audience, issuer or tenant, which anyone can send: our refusal is a debug line (teams.unauthorized).
QUIET_LOGGERS = ("microsoft_agents.activity.activity",
                 "microsoft_agents.hosting.core.authorization.jwt.jwt_token_validator")


def connections(settings: Settings) -> ConnectionManager:
    """MSAL with the mapped settings; in local mode an anonymous provider (no token is ever fetched)."""
    service = {"SERVICE_CONNECTION": {"SETTINGS": connection_settings(settings)}}
    if settings.microsoft_app_id:
        # MSAL (with requests, urllib3) only where tokens are fetched: local mode starts ~10% faster
        from microsoft_agents.authentication.msal import MsalConnectionManager

        return MsalConnectionManager(CONNECTIONS=service)
    return ConnectionManager(provider_factory=lambda _: AnonymousTokenProvider(), CONNECTIONS=service)


class NoUserTokens:
    """complybot signs nobody in (no OAuth cards, no SSO), so a turn needs no user-token client: this
    stands in for one (the adapter only closes it)."""

    async def close(self) -> None:
        return None


class ConnectorClients(RestChannelServiceClientFactory):
    """The SDK's factory of Bot Connector clients, with two changes:
    - no user-token client per turn: complybot signs nobody in, and the SDK's fetches a token for the
      token service every turn (and fails in local mode, where there is no token);
    - one connection pool for every connector client: the SDK opens a new HTTP session, so a new TCP
      and TLS connection to the Bot Connector, for every turn and every proactive message.
    Agentic and Copilot Studio requests keep the SDK's own path."""

    def __init__(self, connections: ConnectionManager):
        super().__init__(connections)
        self.connections = connections
        self._pool: TCPConnector | None = None
        self._clients: OrderedDict[tuple[str, str], SharedConnectorClient] = OrderedDict()

    async def create_user_token_client(self, context, claims_identity, use_anonymous: bool = False) -> NoUserTokens:
        return NoUserTokens()

    async def create_connector_client(self, context, claims_identity, service_url: str, audience: str,
                                      scopes: list[str] | None = None, use_anonymous: bool = False):
        activity = context.activity if context else None
        if activity is not None and (activity.is_agentic_request()
                                     or (activity.recipient and activity.recipient.role == RoleTypes.connector_user)):
            return await super().create_connector_client(context, claims_identity, service_url, audience, scopes,
                                                         use_anonymous)
        provider = (self._ANONYMOUS_TOKEN_PROVIDER if use_anonymous
                    else self.connections.get_token_provider(claims_identity, service_url))
        token = await provider.get_access_token(audience, scopes or claims_identity.get_token_scope())
        endpoint = service_url if service_url.endswith("/") else service_url + "/"
        return await self._client_for(endpoint, token)

    async def _client_for(self, endpoint: str, token: str) -> "SharedConnectorClient":
        """The kept client for this URL and token: building one costs ~0.3 ms of CPU (the SDK looks its
        own version up in the installed packages' metadata for the User-Agent), a tenth of a turn."""
        key = (endpoint, token)
        client = self._clients.pop(key, None)
        if client is None:
            session = ClientSession(base_url=endpoint, connector=self.pool, connector_owner=False)
            client = SharedConnectorClient(endpoint=endpoint, token=token, session=session)
        self._clients[key] = client  # most recently used last
        if len(self._clients) > CONNECTOR_CLIENTS:
            _, oldest = self._clients.popitem(last=False)  # unused while 128 others were: its turns are over
            await oldest.client.close()
        return client

    @property
    def pool(self) -> TCPConnector:
        if self._pool is None or self._pool.closed:
            self._pool = TCPConnector(limit=CONNECTOR_CONNECTIONS)
        return self._pool

    async def close(self) -> None:
        for client in self._clients.values():
            await client.client.close()  # the sessions only: they share the pool, closed next
        self._clients.clear()
        if self._pool is not None:
            await self._pool.close()


class SharedConnectorClient(TeamsConnectorClient):
    """A connector client that outlives the turn: the adapter closes each turn's client when the turn
    ends; this one's session is closed with the factory (at shutdown)."""

    async def close(self) -> None:
        return None


async def on_turn_error(turn_context: TurnContext, error: Exception) -> None:
    """In place of the SDK's, which sends the exception text to the person and prints a traceback."""
    logs.event("teams.turn_error", logging.ERROR, error=logs.describe_exception(error))
    try:
        await turn_context.send_activity(TURN_FAILED)
    except Exception as send_error:  # the channel itself may be what failed
        logs.event("teams.turn_error_reply_failed", logging.WARNING, error=logs.describe_exception(send_error))


def mount(app: web.Application, settings: Settings) -> None:
    """Serve Teams at POST /api/messages and register the Teams sender and directory."""
    check_auth(settings)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.CRITICAL)
    clients = ConnectorClients(connections(settings))
    adapter = CloudAdapter(channel_service_client_factory=clients)
    adapter.on_turn_error = on_turn_error
    auth = Authenticator(settings)
    bot = ComplyBot(app, auth.enabled)
    app[RUNTIME].teams_work = work = BackgroundWork("teams")
    app[RUNTIME].senders["teams"] = TeamsSender(adapter, app, settings.microsoft_app_id)
    app[RUNTIME].directories["teams"] = TeamsDirectory(adapter, app, settings.microsoft_app_id)
    app[RUNTIME].platforms.append("teams")

    async def messages(request: web.Request) -> web.Response:
        return await _process(request, adapter, bot, auth, work)

    async def finish_work(_app: web.Application) -> None:
        await work.drain()

    app.router.add_post(ROUTE, messages)
    app.on_shutdown.append(finish_work)

    async def close_connections(_app: web.Application) -> None:
        await clients.close()

    app.on_cleanup.append(close_connections)


def _refuse(status: int, reason: str) -> web.Response:
    logs.note(outcome="refused", reason=reason)
    return web.json_response({"error": reason}, status=status)


def parse_activity(body: object) -> Activity | None:
    """A Bot Framework activity from its JSON (None if it is not an object; raises if malformed)."""
    return Activity.model_validate(body) if isinstance(body, dict) else None


async def _process(request: web.Request, adapter: CloudAdapter, bot: ComplyBot, auth: Authenticator,
                   work: BackgroundWork) -> web.Response:
    # The media type itself: a page in someone's browser may post "text/plain; x=application/json"
    # cross-site without asking first (a CORS simple request), but never application/json.
    if request.content_type != "application/json":
        return _refuse(415, "expected an application/json Bot Framework activity")
    if not auth.enabled and (not from_this_machine(request) or cross_site(request)):
        # Auth off trusts this machine only, so also no page on another site and no DNS-rebound name.
        return _refuse(403, "with auth off (local mode) only this machine may post activities")
    try:
        activity = parse_activity(json.loads(await request.read()))  # bytes: a bogus charset is a 400, not a 500
    except Exception:  # not JSON, or not an activity (the SDK's model also raises a bare Exception)
        activity = None
    if activity is None or not activity.type or not activity.service_url or not activity.conversation:
        return _refuse(400, "not a Bot Framework activity")
    if not auth.enabled and not is_loopback(urlsplit(activity.service_url).hostname or ""):
        return _refuse(400, "with auth off (local mode) the serviceUrl must be a loopback address")
    identity = await auth.authenticate(request.headers.get("Authorization"), activity)
    if identity is None:
        return _refuse(401, "unauthorized")
    logs.note(workspace=tenant_of(activity).strip(CONTRADICTORY) or None)
    turn = asyncio.ensure_future(_turn(adapter, bot, identity, activity))
    await asyncio.wait({turn}, timeout=ACK_WAIT_SECONDS)
    if not turn.done():  # the database is slow (another connection holds the write lock): answer now
        work.spawn(turn)  # tracked: shutdown finishes it (an invoke's card then comes by update only)
        logs.note(outcome="accepted")
        return web.Response(status=202)
    return turn.result()


async def _turn(adapter: CloudAdapter, bot: ComplyBot, identity, activity: Activity) -> web.Response:
    """Claim the activity (Teams re-sends) and run the turn; its replies go through the connector."""
    book = bot.book
    if not await bot.call(book.first_delivery, activity):  # off the loop, like all store work here
        logs.note(outcome="duplicate")
        return web.Response(status=200)
    try:
        invoke_response = await adapter.process_activity(identity, activity, bot.on_turn)
    except Exception:
        await bot.call(book.forget_delivery, activity)
        raise
    if invoke_response:
        return web.json_response(invoke_response.body, status=invoke_response.status)
    return web.Response(status=201)
