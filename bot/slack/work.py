"""Bolt's lazy listeners as tracked `BackgroundWork` (bot/background.py), and the de-duplication
claims that must be won before such work runs."""
from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Awaitable, Callable, TypeVar

from slack_bolt.lazy_listener.async_internals import to_runnable_function
from slack_bolt.lazy_listener.async_runner import AsyncLazyListenerRunner
from slack_bolt.request.async_request import AsyncBoltRequest

from bot import logs
from bot.background import BackgroundWork

T = TypeVar("T")
CLAIM_WAIT_SECONDS = 0.3  # an ack waits this long for a de-dup claim (ms when unlocked); Slack allows 3 s
CLAIM_MEMORY_SECONDS = 60.0  # a decided claim stays findable this long: its listeners start within ms
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
        only if it was won. (Bolt runs the listeners after the middleware has returned, so the
        claim is kept for CLAIM_MEMORY_SECONDS once decided, for them to find.)"""
        pending = asyncio.ensure_future(store.call(claim))
        await asyncio.wait({pending}, timeout=CLAIM_WAIT_SECONDS)
        if pending.done():
            return pending.result()
        key = uuid.uuid4().hex
        self._claims[key] = pending
        pending.add_done_callback(lambda _: asyncio.get_running_loop().call_later(
            CLAIM_MEMORY_SECONDS, self._claims.pop, key, None))
        req.context[PENDING_CLAIM] = key  # a string: Bolt deep-copies the context for lazy listeners
        return True

    def pending(self, req: AsyncBoltRequest) -> asyncio.Future | None:
        """The request's claim still being decided, if any: work before the ack (a modal's
        submission) passes it to `once_claimed` itself."""
        return self._claims.get(req.context.get(PENDING_CLAIM, ""))

    def start(self, function: Callable[..., Awaitable[None]], request: AsyncBoltRequest) -> None:
        run = to_runnable_function(internal_func=function, logger=self.logger, request=request)
        self.work.spawn(once_claimed(self.pending(request), run))


async def once_claimed(claim: asyncio.Future | None, work: Awaitable[T]) -> T | None:
    """`work`'s result once the request's claim (if still pending) is won; None, `work` never run,
    for a duplicate acknowledged before its claim was decided. A claim that failed (the lock held
    past busy_timeout) runs the work: it was acknowledged, and must not be lost."""
    try:
        won = claim is None or await claim
    except Exception as error:
        logs.event("slack.claim_failed", logging.WARNING, error=logs.describe_exception(error))
        won = True
    if won:
        return await work
    work.close()
    logs.event("slack.duplicate", kind="decided after the ack", outcome="dropped")
    return None
