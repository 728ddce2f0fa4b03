"""Bolt's lazy listeners as tracked `BackgroundWork` (bot/background.py), and the de-duplication
claims that must be won before such work runs."""
from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Awaitable, Callable

from slack_bolt.lazy_listener.async_internals import to_runnable_function
from slack_bolt.lazy_listener.async_runner import AsyncLazyListenerRunner
from slack_bolt.request.async_request import AsyncBoltRequest

from bot import logs
from bot.background import BackgroundWork

CLAIM_WAIT_SECONDS = 0.3  # an ack waits this long for a de-dup claim (ms when unlocked); Slack allows 3 s
PENDING_CLAIM = "complybot_pending_claim"  # request context: the key of a claim its lazy work must win


class TrackedLazyListenerRunner(AsyncLazyListenerRunner):
    """Bolt's asyncio lazy runner, but each lazy listener is a tracked `BackgroundWork` task, run
    only once the request's de-duplication claim (if any) is won."""

    def __init__(self, logger: logging.Logger, work: BackgroundWork):
        self.logger = logger
        self.work = work
        self._claims: dict[str, asyncio.Future] = {}

    async def claim(self, req: AsyncBoltRequest, store, claim: Callable[[], bool]) -> bool:
        """The one place de-dup claims (True the first time a key is seen) run: on the store's
        thread, since a claim is a write and a write may wait seconds for the database lock. Decided
        within CLAIM_WAIT_SECONDS, its answer stands (False: drop the request). Undecided, this
        returns True so the request is acknowledged, and its lazy work waits for the claim and runs
        only if it was won; call `forget(req)` once the request has been dispatched."""
        pending = asyncio.ensure_future(store.call(claim))
        await asyncio.wait({pending}, timeout=CLAIM_WAIT_SECONDS)
        if pending.done():
            return pending.result()
        key = uuid.uuid4().hex
        self._claims[key] = pending
        req.context[PENDING_CLAIM] = key  # a string: Bolt deep-copies the context for lazy listeners
        return True

    def forget(self, req: AsyncBoltRequest) -> None:
        self._claims.pop(req.context.get(PENDING_CLAIM, ""), None)

    def start(self, function: Callable[..., Awaitable[None]], request: AsyncBoltRequest) -> None:
        run = to_runnable_function(internal_func=function, logger=self.logger, request=request)
        pending = self._claims.get(request.context.get(PENDING_CLAIM, ""))
        self.work.spawn(run if pending is None else _once_claimed(pending, run))


async def _once_claimed(claim: asyncio.Future, run: Awaitable[None]) -> None:
    if await claim:
        await run
        return
    run.close()  # a duplicate acknowledged before its claim was decided: never run
    logs.event("slack.duplicate", outcome="dropped")
