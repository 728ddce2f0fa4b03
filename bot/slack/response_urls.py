"""Answers through response URLs (slash commands, buttons): only to Slack's own hosts, retried within
the URL's validity, and counted when lost.

A response URL comes in the request's body, so it is only as trustworthy as the request: the route
answers nothing to a request Slack did not sign, and even a signed body gets an answer only at an
origin Slack answers from (or `SLACK_API_URL`'s, the fake in tests). Delivery uses slack_sdk's own
retry handlers (connection errors, 429 after its Retry-After, 500/503 with back-off) and stops at the
URL's limits; an answer that still did not arrive is logged with its outcome and counted on /healthz.
"""
from __future__ import annotations

import asyncio
import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Optional

from aiohttp import ClientSession
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import BackoffRetryIntervalCalculator
from slack_sdk.webhook.async_client import AsyncWebhookClient
from yarl import URL

from bot import logs

SLACK_RESPONSE_ORIGINS = ("https://hooks.slack.com", "https://hooks.slack-gov.com")  # Slack's, GovSlack's
RESPONSE_URL_VALIDITY_SECONDS = 30 * 60  # Slack: a response URL works for 30 minutes after the request...
RESPONSE_URL_USES = 5  # ...and at most 5 times: the answer and up to 4 retries
BACKOFF_SECONDS = 0.5  # retries ~0.5, 1, 2, 4 s apart (+ up to 1 s jitter): a blip passes, nobody waits long
# slack_sdk logs each retry with the URL at info level: a response URL lets anyone post into the channel
# for 30 minutes, so its clients log through a logger that says nothing below warning.
_QUIET = logging.getLogger("complybot.slack.response_urls")
_QUIET.setLevel(logging.WARNING)
COUNTERS = ("answers_failed", "answers_retried", "answers_refused")


def origin(url: str) -> str:
    """`scheme://host[:port]`, lower case, as aiohttp will read the URL (yarl: no parser differential);
    "" for anything that is not a plain http(s) URL (with a user name or password, say)."""
    try:
        parsed = URL(url)
        port = parsed.explicit_port  # raises on a malformed port
    except (ValueError, TypeError):
        return ""
    if parsed.scheme not in ("http", "https") or not parsed.host or (parsed.user, parsed.password) != (None, None):
        return ""
    return f"{parsed.scheme}://{parsed.host}" + (f":{port}" if port else "")


def trusted_origins(api_url: str = "") -> frozenset[str]:
    """Where answers may go: Slack's hooks hosts, and the Web API's own origin when SLACK_API_URL is set
    (GovSlack, a proxy the operator runs, the fake Slack of the tests)."""
    return frozenset(SLACK_RESPONSE_ORIGINS + ((origin(api_url),) if origin(api_url) else ()))


class _FailedAttempts(AsyncRetryHandler):
    """First of the retry handlers: retries nothing itself, only notes each failed attempt (status or
    error type), so the outcome can be logged and counted."""

    def __init__(self) -> None:
        super().__init__(max_retry_count=0)
        self.failures: list[str] = []

    async def can_retry_async(self, *, state, request, response=None, error: Optional[Exception] = None) -> bool:
        self.failures.append(str(response.status_code) if response is not None else type(error).__name__)
        return False


class _RateLimitWithinValidity(AsyncRateLimitErrorRetryHandler):
    """slack_sdk's 429 handling (wait Retry-After, then retry), but never a wait the URL would not outlive."""

    def __init__(self, max_retry_count: int, deadline: float):
        super().__init__(max_retry_count)
        self.deadline = deadline  # on the event loop's clock

    async def _can_retry_async(self, *, state, request, response=None, error: Optional[Exception] = None) -> bool:
        if not await super()._can_retry_async(state=state, request=request, response=response, error=error):
            return False
        wait = next((value[0] for name, value in response.headers.items() if name.lower() == "retry-after"), "1")
        try:
            return asyncio.get_running_loop().time() + float(wait) < self.deadline
        except ValueError:  # Slack sends whole seconds; anything else is not worth waiting for
            return False


def _retry_handlers(failed: _FailedAttempts, deadline: float) -> list[AsyncRetryHandler]:
    retries, backoff = RESPONSE_URL_USES - 1, BackoffRetryIntervalCalculator(backoff_factor=BACKOFF_SECONDS)
    return [failed, AsyncConnectionErrorRetryHandler(retries, backoff), _RateLimitWithinValidity(retries, deadline),
            AsyncServerErrorRetryHandler(retries, backoff)]


@dataclass
class ResponseURLs:
    """Sends answers to response URLs on one connection pool and keeps the counts /healthz shows."""

    api_url: str = ""
    counts: Counter = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self.origins = trusted_origins(self.api_url)

    def report(self) -> dict[str, int]:
        return {name: self.counts[name] for name in COUNTERS}

    async def send(self, session: ClientSession | None, url: str, kind: str, **message) -> bool:
        """POST `message` (the answer of a `kind` of command) to `url`; True once Slack took it. Never raises."""
        if origin(url) not in self.origins:
            self._outcome("refused", logging.WARNING, "answers_refused", command=kind, attempts=0)
            return False
        failed = _FailedAttempts()
        deadline = asyncio.get_running_loop().time() + RESPONSE_URL_VALIDITY_SECONDS
        client = AsyncWebhookClient(url, session=session, retry_handlers=_retry_handlers(failed, deadline),
                                    logger=_QUIET)
        error = ""
        try:
            async with asyncio.timeout_at(deadline):
                delivered = 200 <= (await client.send(**message)).status_code < 300
        except Exception as exception:  # connection errors past the retries, the URL's validity over
            delivered, error = False, logs.describe_exception(exception)
        attempts = len(failed.failures) + delivered  # every failed try was noted, the last one too
        if not delivered:
            self._outcome("lost", logging.ERROR, "answers_failed", command=kind, attempts=attempts,
                          failures=failed.failures, error=error)
        elif failed.failures:
            self._outcome("retried", logging.INFO, "answers_retried", command=kind, attempts=attempts,
                          failures=failed.failures)
        return delivered

    def _outcome(self, outcome: str, level: int, counter: str, **fields) -> None:
        """One line per answer that did not go through at once, with the running counts (also on /healthz)."""
        self.counts[counter] += 1
        logs.event("slack.answer", level, outcome=outcome, **fields, **self.report())
