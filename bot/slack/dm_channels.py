"""Each person's direct-message channel with the bot, kept in `slack_dm_channels` (migration 14).

Slack's `conversations.open` is Tier 3 (about 50 calls a minute per workspace), so a busy morning of
nudges in a 2,000-person workspace cannot open the DM before every message: each person's channel id
is asked for once, ever, and kept (a bot's DM with a person keeps its id). Concurrent sends to one
person share the one call in flight, and the id arriving with a person's DM or App Home visit is kept
without any call at all."""
from __future__ import annotations

import asyncio
import time

DM_CHANNELS_SCHEMA = """
CREATE TABLE slack_dm_channels (
    team_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    channel_id TEXT NOT NULL,
    opened_at REAL NOT NULL,
    PRIMARY KEY (team_id, user_id)
);
"""


class DmChannels:
    def __init__(self) -> None:
        self._opening: dict[tuple[str, str], asyncio.Future] = {}

    async def channel(self, client, store, team: str, user: str) -> str:
        """The DM channel id of `user` in `team`: from the table, else opened (once) and kept."""
        known = await store.read(lambda conn: _known(conn, team, user))
        if known:
            return known
        key = (team, user)
        if key not in self._opening:
            self._opening[key] = asyncio.ensure_future(self._open(client, store, team, user))
            self._opening[key].add_done_callback(lambda _: self._opening.pop(key, None))
        return await asyncio.shield(self._opening[key])

    async def remember(self, store, team: str, user: str, channel: str) -> None:
        """Keep a DM channel id an event brought (a direct message, the App Home opened)."""
        if team and user and channel.startswith("D"):
            await store.call(_keep, store, team, user, channel)

    async def _open(self, client, store, team: str, user: str) -> str:
        channel = (await client.conversations_open(users=user))["channel"]["id"]
        await self.remember(store, team, user, channel)
        return channel


def _known(conn, team: str, user: str) -> str:
    row = conn.execute("SELECT channel_id FROM slack_dm_channels WHERE team_id = ? AND user_id = ?",
                       [team, user]).fetchone()
    return row[0] if row else ""


def _keep(store, team: str, user: str, channel: str) -> None:
    """On the store's writer thread; a write only when the id is new or changed."""
    if _known(store.db.conn, team, user) != channel:
        with store.transaction():
            store.db.execute("INSERT OR REPLACE INTO slack_dm_channels (team_id, user_id, channel_id, opened_at)"
                             " VALUES (?, ?, ?, ?)", [team, user, channel, time.time()])
