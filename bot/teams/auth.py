"""Bot Framework auth for POST /api/messages: today's settings mapped onto the Agents SDK's connection
settings, the SDK's JWT validation, and signing keys fetched without ever blocking the event loop.

- `connection_settings(settings)`: MicrosoftAppId / MicrosoftAppPassword / MicrosoftAppType /
  MicrosoftAppTenantId → the SDK's `CONNECTIONS__SERVICE_CONNECTION__SETTINGS__*` keys (CLIENTID,
  CLIENTSECRET, AUTHTYPE, TENANTID), so deployments keep their configuration.
- `Authenticator.authenticate(header, activity)`: the SDK's `JwtTokenValidator` (signature, audience =
  our app id, issuer allow-list, tenant binding) plus botbuilder's channel rule that the token's
  `serviceurl` is the activity's; None for anything else (→ 401, before anything is processed).
- `SigningKeys` replaces the validator's key client: the SDK's PyJWKClient runs in a thread with a 30 s
  timeout and fetches again for every token while the endpoint fails. Here: aiohttp within
  KEY_FETCH_SECONDS, one fetch in flight per key set, and after a failure no fetch until a growing
  delay has passed (tokens needing the keys are refused at once meanwhile).
"""
from __future__ import annotations

import asyncio
import logging
import math
import time

import aiohttp
from jwt import PyJWK
from microsoft_agents.activity import Activity
from microsoft_agents.hosting.core import AgentAuthConfiguration
from microsoft_agents.hosting.core.authorization import AuthTypes, ClaimsIdentity
from microsoft_agents.hosting.core.authorization.jwt import JwtTokenValidator

from bot import logs
from bot.config import ConfigError, Settings, is_loopback

MULTI_TENANT_AUTHORITY = "botframework.com"  # where a multi-tenant bot gets its tokens (as botbuilder did)
AUTH_TYPES = {  # MicrosoftAppType → the SDK's AUTHTYPE
    "MultiTenant": AuthTypes.client_secret,
    "SingleTenant": AuthTypes.client_secret,
    "UserAssignedMSI": AuthTypes.user_managed_identity,  # the app id is the identity's client id
}
BOT_FRAMEWORK_ISSUERS = ("https://api.botframework.com", "https://api.botframework.us")  # channel tokens
KEY_FETCH_SECONDS = 5  # the metadata and its keys together: a slow endpoint holds a request no longer
KEYS_MAX_AGE = 24 * 3600  # botbuilder's refresh interval
UNKNOWN_KEY_REFRESH = 3600  # an unknown key id refreshes at most hourly (botbuilder's rule), however many arrive
RETRY_FIRST, RETRY_MAX = 2, 600  # after a failed fetch no request fetches for 2 s, doubling up to 10 min


def check_auth(settings: Settings) -> None:
    """Bot Framework auth may be off only for local testing on a loopback address."""
    if not settings.microsoft_app_id and not (settings.teams_local and is_loopback(settings.host)):
        raise ConfigError(
            "MicrosoftAppId is empty, which turns Bot Framework auth off: allowed only with "
            f"COMPLYBOT_TEAMS_LOCAL=1 on a loopback host (host is {settings.host or 'unset'})"
        )


def connection_settings(settings: Settings) -> dict[str, str]:
    """The SDK's settings of the SERVICE_CONNECTION (env form: CONNECTIONS__SERVICE_CONNECTION__SETTINGS__<KEY>)."""
    mapped = {
        "AUTHTYPE": AUTH_TYPES.get(settings.microsoft_app_type, AuthTypes.client_secret).value,
        "CLIENTID": settings.microsoft_app_id,
        "TENANTID": (settings.microsoft_app_tenant_id if settings.microsoft_app_type != "MultiTenant" else "")
        or MULTI_TENANT_AUTHORITY,
        "VALIDATE_ISSUER": "true",  # only the Bot Framework's and our tenant's issuers (off by default in the SDK)
    }
    if settings.microsoft_app_password:
        mapped["CLIENTSECRET"] = settings.microsoft_app_password
    return mapped


class SigningKeysUnavailable(Exception):
    """The keys could not be fetched (or are backing off after a failure): the token can't be verified."""


class UnknownSigningKey(Exception):
    """The token names a key id that is not among the published keys."""


class KeySet:
    """The signing keys at one URL: a JWKS, or (tests) an OpenID metadata document naming its `jwks_uri`."""

    def __init__(self, url: str, via_metadata: bool):
        self.url, self.via_metadata = url, via_metadata
        self.keys: dict[str, PyJWK] = {}
        self.fetched_at = -math.inf
        self.failures = 0
        self.retry_at = -math.inf
        self._fetching: asyncio.Future | None = None

    async def get(self, key_id: str) -> PyJWK:
        age = time.monotonic() - self.fetched_at
        if age > KEYS_MAX_AGE or (key_id not in self.keys and age > UNKNOWN_KEY_REFRESH):
            await self._refresh()
        if time.monotonic() - self.fetched_at > KEYS_MAX_AGE:
            raise SigningKeysUnavailable("the Bot Framework's signing keys could not be fetched")
        if key_id not in self.keys:
            raise UnknownSigningKey("the token's key id is not a Bot Framework signing key")
        return self.keys[key_id]

    async def _refresh(self) -> None:
        if self._fetching is None:
            if time.monotonic() < self.retry_at:
                return
            self._fetching = asyncio.ensure_future(self._fetch())
        await asyncio.shield(self._fetching)  # a request that goes away does not cancel the fetch

    async def _fetch(self) -> None:
        try:
            async with asyncio.timeout(KEY_FETCH_SECONDS), aiohttp.ClientSession() as session:
                jwks_uri = self.url
                if self.via_metadata:
                    async with session.get(self.url) as response:
                        response.raise_for_status()
                        jwks_uri = (await response.json(content_type=None))["jwks_uri"]
                async with session.get(jwks_uri) as response:
                    response.raise_for_status()
                    self.keys = _readable_keys((await response.json(content_type=None))["keys"])
            self.fetched_at, self.failures, self.retry_at = time.monotonic(), 0, -math.inf
        except Exception as error:  # slow, down, or nonsense: refuse tokens for a while, then try again
            self.failures += 1
            delay = min(RETRY_FIRST * 2 ** (self.failures - 1), RETRY_MAX)
            self.retry_at = time.monotonic() + delay
            logs.event("teams.signing_keys_unavailable", logging.WARNING, error=type(error).__name__,
                       failures=self.failures, retry_in_seconds=delay)
        finally:
            self._fetching = None


def _readable_keys(jwks: list) -> dict[str, PyJWK]:
    keys = {}
    for jwk in jwks:
        try:
            keys[jwk["kid"]] = PyJWK(jwk, algorithm="RS256")
        except Exception:  # a key we cannot read signs nothing we accept
            continue
    return keys


class SigningKeys:
    """What `JwtTokenValidator` asks for a token's key (`get_signing_key(jwks_uri, header)`), one
    KeySet per JWKS URL the SDK derives from the issuer. `fetch_from` (tests: an OpenID metadata URL on
    loopback) replaces every URL."""

    def __init__(self, fetch_from: str = ""):
        self.fetch_from = fetch_from
        self.sets: dict[str, KeySet] = {}

    async def get_signing_key(self, jwks_uri: str, header: dict) -> PyJWK:
        url = self.fetch_from or jwks_uri
        if url not in self.sets:
            self.sets[url] = KeySet(url, via_metadata=bool(self.fetch_from))
        return await self.sets[url].get(str(header.get("kid") or ""))


class KeyedValidator(JwtTokenValidator):
    """The SDK's validator with our key fetching (an instance attribute: nothing global is patched)."""

    def __init__(self, configuration: AgentAuthConfiguration, keys: SigningKeys):
        super().__init__(configuration)
        self._jwk_client_manager = keys


class Authenticator:
    """Who sent an activity: the claims of a valid Bot Framework token, anonymous in local mode, or None."""

    def __init__(self, settings: Settings):
        self.enabled = bool(settings.microsoft_app_id)
        configuration = AgentAuthConfiguration(**connection_settings(settings)) if self.enabled else None
        self.validator = KeyedValidator(configuration, SigningKeys(settings.teams_openid_url)) if self.enabled else None

    async def authenticate(self, authorization: str | None, activity: Activity) -> ClaimsIdentity | None:
        if not self.enabled:
            return ClaimsIdentity()  # local mode (loopback only): the SDK's anonymous identity
        token = _bearer(authorization or "")
        if token is None:
            return None
        try:
            identity = await self.validator.validate_token(token)
        except Exception as error:  # malformed, forged, expired, other audience, keys unavailable alike;
            # anyone can send these, so a debug line, as Slack's 401s: at warning they could fill the log
            logs.event("teams.unauthorized", logging.DEBUG, error=type(error).__name__)
            return None
        if not _same_service_url(identity, activity):
            logs.event("teams.unauthorized", logging.DEBUG, error="ServiceUrlMismatch")
            return None
        if not isinstance(identity.get_claim_value("exp"), (int, float)):
            # PyJWT checks `exp` only when present: a token without one (Microsoft's always carry one)
            # would be good for ever, so a leaked one would never stop working
            logs.event("teams.unauthorized", logging.DEBUG, error="NoExpiry")
            return None
        return identity


def _bearer(header: str) -> str | None:
    parts = header.split()
    return parts[1] if len(parts) == 2 and parts[0].lower() == "bearer" else None


def _same_service_url(identity: ClaimsIdentity, activity: Activity) -> bool:
    """A channel's token names the service URL it may be answered at (botbuilder's rule, which the SDK
    only logs): a token for one service URL is no good for an activity naming another."""
    claimed = identity.get_claim_value("serviceurl")
    if claimed is None:
        return identity.get_claim_value("iss") not in BOT_FRAMEWORK_ISSUERS
    return isinstance(claimed, str) and claimed == activity.service_url
