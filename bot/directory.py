"""`handlers.ports.Directory` from what the store knows: the people who have written to the bot or been
mentioned (the console, the playground, and Teams until its roster is read). A channel's members are
unknown here (None)."""
from __future__ import annotations


class KnownPeople:
    def __init__(self, store):
        self._store = store

    async def members(self, workspace: str, channel: str = "") -> list[str] | None:
        if channel:
            return None
        return [p.user_id for p in await self._store.call(self._store.people, workspace) if not p.is_bot]
