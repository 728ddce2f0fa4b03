"""Work done after a platform has its answer (Slack's lazy listeners and follow-up posts, a Teams turn
the database was too slow for), tracked so that shutdown finishes it instead of dropping it, and
tests can wait for it deterministically."""
from __future__ import annotations

import asyncio
import logging
from typing import Awaitable

from bot import logs


class BackgroundWork:
    def __init__(self, platform: str = "slack") -> None:
        self.platform = platform
        self._tasks: set[asyncio.Task] = set()

    def spawn(self, coroutine: Awaitable) -> asyncio.Task:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)  # a strong reference: an unreferenced task may be garbage-collected mid-way
        task.add_done_callback(self._finished)
        return task

    def _finished(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logs.event(f"{self.platform}.background_failed", logging.ERROR, error=logs.describe_exception(task.exception()))

    @property
    def pending(self) -> int:
        return len(self._tasks)

    async def drain(self, timeout: float = 30.0) -> None:
        """Wait until all work, including work started by work, is finished (or `timeout` passes)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while self._tasks:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                logs.event(f"{self.platform}.shutdown_unfinished", logging.WARNING, jobs=len(self._tasks))
                return
            await asyncio.wait(set(self._tasks), timeout=remaining)
