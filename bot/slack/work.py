"""Work done after Slack has its acknowledgement (Bolt's lazy listeners and follow-up posts), tracked so
that shutdown finishes it instead of dropping it, and tests can wait for it deterministically."""
from __future__ import annotations

import asyncio
import logging
from typing import Awaitable, Callable

from slack_bolt.lazy_listener.async_internals import to_runnable_function
from slack_bolt.lazy_listener.async_runner import AsyncLazyListenerRunner
from slack_bolt.request.async_request import AsyncBoltRequest

from bot import logs


class BackgroundWork:
    def __init__(self) -> None:
        self._tasks: set[asyncio.Task] = set()

    def spawn(self, coroutine: Awaitable) -> asyncio.Task:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)  # a strong reference: an unreferenced task may be garbage-collected mid-way
        task.add_done_callback(self._finished)
        return task

    def _finished(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logs.event("slack.background_failed", logging.ERROR, error=logs.describe_exception(task.exception()))

    @property
    def pending(self) -> int:
        return len(self._tasks)

    async def drain(self, timeout: float = 30.0) -> None:
        """Wait until all work, including work started by work, is finished (or `timeout` passes)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while self._tasks:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                logs.event("slack.shutdown_unfinished", logging.WARNING, jobs=len(self._tasks))
                return
            await asyncio.wait(set(self._tasks), timeout=remaining)


class TrackedLazyListenerRunner(AsyncLazyListenerRunner):
    """Bolt's asyncio lazy runner, but each lazy listener is a tracked `BackgroundWork` task."""

    def __init__(self, logger: logging.Logger, work: BackgroundWork):
        self.logger = logger
        self.work = work

    def start(self, function: Callable[..., Awaitable[None]], request: AsyncBoltRequest) -> None:
        self.work.spawn(to_runnable_function(internal_func=function, logger=self.logger, request=request))
