"""Each person's direct-message channel with the bot, kept in `slack_dm_channels` (migration 14).

Slack's `conversations.open` is Tier 3 (about 50 calls a minute per workspace), so a busy morning of
nudges in a 2,000-person workspace cannot open the DM before every message: each person's channel id
is asked for once, ever, and kept (a bot's DM with a person keeps its id). Concurrent sends to one
person share the one call in flight."""
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
        row = store.db.execute("SELECT channel_id FROM slack_dm_channels WHERE team_id = ? AND user_id = ?",
                               [team, user]).fetchone()
        if row:
            return row[0]
        key = (team, user)
        if key not in self._opening:
            self._opening[key] = asyncio.ensure_future(self._open(client, store, team, user))
            self._opening[key].add_done_callback(lambda _: self._opening.pop(key, None))
        return await asyncio.shield(self._opening[key])

    @staticmethod
    async def _open(client, store, team: str, user: str) -> str:
        channel = (await client.conversations_open(users=user))["channel"]["id"]
        with store.transaction():
            store.db.execute("INSERT OR REPLACE INTO slack_dm_channels (team_id, user_id, channel_id, opened_at)"
                             " VALUES (?, ?, ?, ?)", [team, user, channel, time.time()])
        return channel
