"""Slack OAuth (distribution to many workspaces): installations and OAuth states in our SQLite file.

Tables `slack_installations` and `slack_oauth_states` come from the store's MIGRATIONS. The installation
is kept as slack_sdk's own `Installation.to_dict()` JSON, so every field Slack returns survives. The
installing user (`authed_user.id`) is stored with it as the workspace's first person, so its admin: in
OAuth mode the first to talk may be anyone. A reinstall into a workspace with people changes no role;
an org-wide install (no team) leaves each team's first admin to its first person, as token mode does."""
from __future__ import annotations

import json
import logging
import secrets
import time
from typing import Callable, Optional

from slack_sdk.oauth.installation_store import Bot, Installation
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore

STATE_TTL_SECONDS = 600
# `GET /slack/install` is open to anyone and issues a state per hit: keep at most this many (far more
# installs than are ever in flight at once), the oldest going first, so a flood of GETs cannot grow the table.
MAX_LIVE_STATES = 200


def _key(enterprise_id: Optional[str], team_id: Optional[str], is_enterprise_install: Optional[bool]) -> str:
    # an org-wide (Enterprise Grid) install serves every team of the enterprise
    return f"{enterprise_id or ''}:{'' if is_enterprise_install else team_id or ''}"


class SQLiteInstallationStore(AsyncInstallationStore):
    def __init__(self, get_store: Callable):
        self._get_store = get_store  # the store opens with the server, after the Bolt app is built

    @property
    def store(self):
        return self._get_store()

    async def async_save(self, installation: Installation) -> None:
        await self.store.call(self._save, installation)

    def _save(self, installation: Installation) -> None:
        data = installation.to_dict()
        data["installed_at"] = installation.installed_at  # a float; the dict holds a datetime
        with self.store.transaction():
            self.store.db.execute(
                "INSERT INTO slack_installations (key, enterprise_id, team_id, installation, installed_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET installation = excluded.installation,"
                " installed_at = excluded.installed_at",
                [_key(installation.enterprise_id, installation.team_id, installation.is_enterprise_install),
                 installation.enterprise_id or "", installation.team_id or "", json.dumps(data), time.time()],
            )
            if installation.team_id and installation.user_id:  # the installer, not whoever talks first
                self.store.upsert_person(installation.team_id, installation.user_id, platform="slack")

    async def async_find_installation(self, *, enterprise_id: Optional[str], team_id: Optional[str],
                                      user_id: Optional[str] = None,
                                      is_enterprise_install: Optional[bool] = False) -> Optional[Installation]:
        key = _key(enterprise_id, team_id, is_enterprise_install)  # read before every ack: off the loop
        row = await self.store.read(lambda conn: conn.execute(
            "SELECT installation FROM slack_installations WHERE key = ?", [key]).fetchone())
        return Installation(**json.loads(row[0])) if row else None

    async def async_find_bot(self, *, enterprise_id: Optional[str], team_id: Optional[str],
                             is_enterprise_install: Optional[bool] = False) -> Optional[Bot]:
        installation = await self.async_find_installation(
            enterprise_id=enterprise_id, team_id=team_id, is_enterprise_install=is_enterprise_install)
        return installation.to_bot() if installation and installation.bot_token else None

    async def async_delete_installation(self, *, enterprise_id: Optional[str], team_id: Optional[str],
                                        user_id: Optional[str] = None) -> None:
        if user_id:  # a person's own token was revoked: complybot keeps none, the bot's stays
            return
        await self.store.call(self._delete, enterprise_id, team_id)

    def _delete(self, enterprise_id: Optional[str], team_id: Optional[str]) -> None:
        with self.store.transaction():
            self.store.db.execute("DELETE FROM slack_installations WHERE key IN (?, ?)",
                                  [_key(enterprise_id, team_id, False), _key(enterprise_id, team_id, True)])

    async def async_delete_bot(self, *, enterprise_id: Optional[str], team_id: Optional[str]) -> None:
        await self.async_delete_installation(enterprise_id=enterprise_id, team_id=team_id)


class SQLiteOAuthStateStore(AsyncOAuthStateStore):
    """One-time `state` values of the OAuth flow (CSRF protection), valid for ten minutes, at most
    MAX_LIVE_STATES of them."""

    def __init__(self, get_store: Callable):
        self._get_store = get_store

    @property
    def store(self):
        return self._get_store()

    @property
    def logger(self) -> logging.Logger:
        return logging.getLogger("complybot.slack")

    async def async_issue(self, *args, **kwargs) -> str:
        return await self.store.call(self._issue)

    def _issue(self) -> str:
        state = secrets.token_urlsafe(24)
        with self.store.transaction():
            self.store.db.execute("DELETE FROM slack_oauth_states WHERE expires_at < ?", [time.time()])
            self.store.db.execute("INSERT INTO slack_oauth_states (state, expires_at) VALUES (?, ?)",
                                  [state, time.time() + STATE_TTL_SECONDS])
            self.store.db.execute("DELETE FROM slack_oauth_states WHERE rowid NOT IN (SELECT rowid FROM"
                                  " slack_oauth_states ORDER BY expires_at DESC, rowid DESC LIMIT ?)",
                                  [MAX_LIVE_STATES])
        return state

    async def async_consume(self, state: str) -> bool:
        return await self.store.call(self._consume, state)

    def _consume(self, state: str) -> bool:
        with self.store.transaction():
            deleted = self.store.db.execute(
                "DELETE FROM slack_oauth_states WHERE state = ? AND expires_at >= ?", [state, time.time()]
            ).rowcount
        return bool(deleted)
