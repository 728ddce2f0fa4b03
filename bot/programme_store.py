"""The programme's own tables and their queries: a workspace's controls of its own (migration 11) and
the Statement of Applicability's inclusion justifications (migration 12). `Store` inherits these
methods; the SQL of these tables lives here only."""
from __future__ import annotations

import json
from dataclasses import dataclass

CUSTOM_CONTROLS_SCHEMA = """
CREATE TABLE custom_controls (
    workspace TEXT NOT NULL REFERENCES workspaces(id),
    name TEXT NOT NULL COLLATE NOCASE,
    soc2 TEXT NOT NULL DEFAULT '[]',  -- JSON list of SOC 2 criteria
    iso TEXT NOT NULL DEFAULT '[]',  -- JSON list of ISO 27001:2022 references
    note TEXT NOT NULL DEFAULT '',
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (workspace, name)
);
"""

SOA_JUSTIFICATIONS_SCHEMA = """
CREATE TABLE soa_justifications (
    workspace TEXT NOT NULL REFERENCES workspaces(id),
    ref TEXT NOT NULL,  -- an Annex A control: why it is included
    justification TEXT NOT NULL,
    actor TEXT NOT NULL,
    at TEXT NOT NULL,
    PRIMARY KEY (workspace, ref)
);
"""


@dataclass(frozen=True)
class CustomControl:
    workspace: str
    name: str
    soc2: tuple[str, ...]
    iso: tuple[str, ...]
    note: str
    created_by: str
    created_at: str


@dataclass(frozen=True)
class Justification:
    workspace: str
    ref: str
    justification: str
    actor: str
    at: str


def _custom(row: dict) -> CustomControl:
    return CustomControl(**{**row, "soc2": tuple(json.loads(row["soc2"])), "iso": tuple(json.loads(row["iso"]))})


class ProgrammeStore:
    """Mixed into `bot.store.Store` (it provides db, _rows, transaction and log)."""

    def custom_controls(self, workspace: str) -> list[CustomControl]:
        rows = self._rows("SELECT * FROM custom_controls WHERE workspace = ? ORDER BY name", [workspace])
        return [_custom(row) for row in rows]

    def add_custom_control(self, workspace: str, name: str, soc2: tuple[str, ...], iso: tuple[str, ...],
                           note: str, actor: str) -> CustomControl:
        from bot.store import utc_now

        with self.transaction():
            self.db.execute("INSERT INTO custom_controls (workspace, name, soc2, iso, note, created_by, created_at)"
                            " VALUES (?, ?, ?, ?, ?, ?, ?)",
                            [workspace, name, json.dumps(list(soc2)), json.dumps(list(iso)), note, actor, utc_now()])
            self.log(workspace, None, actor, "control add", "", f"{name}: " + ", ".join(soc2 + iso))
        return next(c for c in self.custom_controls(workspace) if c.name.casefold() == name.casefold())

    def remove_custom_control(self, workspace: str, name: str, actor: str) -> None:
        with self.transaction():
            self.db.execute("DELETE FROM custom_controls WHERE workspace = ? AND name = ?", [workspace, name])
            self.log(workspace, None, actor, "control remove", name, "")

    def soa_justifications(self, workspace: str) -> dict[str, Justification]:
        rows = self._rows("SELECT * FROM soa_justifications WHERE workspace = ?", [workspace])
        return {row["ref"]: Justification(**row) for row in rows}

    def set_soa_justification(self, workspace: str, ref: str, justification: str, actor: str) -> None:
        from bot.store import utc_now

        with self.transaction():
            before = self.soa_justifications(workspace).get(ref)
            self.db.execute(
                "INSERT INTO soa_justifications (workspace, ref, justification, actor, at) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (workspace, ref) DO UPDATE SET justification = excluded.justification,"
                " actor = excluded.actor, at = excluded.at", [workspace, ref, justification, actor, utc_now()])
            self.log(workspace, None, actor, "justify", before.justification if before else "",
                     f"{ref}: {justification}")
