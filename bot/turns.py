"""Where a turn runs. A question (no database) runs on the event loop, where it is fastest: in a
thread it would contend with the loop for the GIL and slow every acknowledgement. A command runs on
the store's thread (bot/store.py), since its transaction may wait seconds for the write lock."""
from __future__ import annotations

from typing import Callable, Iterable, TypeVar

from handlers import router
from handlers.ports import Context

T = TypeVar("T")


async def run_turn(ctx: Context, texts: Iterable[str], answer: Callable[[], T]) -> T:
    if any(router.needs_store(text) for text in texts):
        return await ctx.store.call(answer)
    return answer()
