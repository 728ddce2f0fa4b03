"""Evidence freshness: how long a control's evidence stays valid (migration 15), and the read of every
task's evidence links with their owners that `handlers.evidence` judges (status, gap, digest, SoA,
the stale-evidence nudges). `Store` inherits these methods; the SQL of this table lives here only.
The links themselves stay in `tasks.evidence` (a JSON list; an item may carry `expires`)."""
from __future__ import annotations

import json

EVIDENCE_FRESHNESS_SCHEMA = """
CREATE TABLE evidence_freshness (
    workspace TEXT NOT NULL REFERENCES workspaces(id),
    control TEXT NOT NULL,  -- a control name, or a requirement tracked itself (`Clause 9.3`)
    period TEXT NOT NULL,  -- 'month', 'quarter', 'year' or '<n> days' (handlers.evidence.Freshness)
    actor TEXT NOT NULL,
    at TEXT NOT NULL,
    PRIMARY KEY (workspace, control)
);
"""


class EvidenceStore:
    """Mixed into `bot.store.Store` (it provides db, _rows, transaction and log)."""

    def freshness_periods(self, workspace: str) -> dict[str, str]:
        """control -> its freshness period text."""
        rows = self.db.execute("SELECT control, period FROM evidence_freshness WHERE workspace = ?", [workspace])
        return dict(rows.fetchall())

    def set_freshness(self, workspace: str, control: str, period: str | None, actor: str) -> None:
        """Set (or with None clear) a control's freshness period, logged."""
        from bot.store import utc_now

        with self.transaction():
            before = self.freshness_periods(workspace).get(control, "")
            if period is None:
                self.db.execute("DELETE FROM evidence_freshness WHERE workspace = ? AND control = ?",
                                [workspace, control])
            else:
                self.db.execute(
                    "INSERT INTO evidence_freshness (workspace, control, period, actor, at) VALUES (?, ?, ?, ?, ?)"
                    " ON CONFLICT (workspace, control) DO UPDATE SET period = excluded.period,"
                    " actor = excluded.actor, at = excluded.at", [workspace, control, period, actor, utc_now()])
            self.log(workspace, None, actor, "freshness", f"{control}: {before}" if before else "",
                     f"{control}: {period or 'none'}")

    def evidence_rows(self, workspace: str) -> list[tuple]:
        """Every task of `workspace` that has evidence, not-applicable ones left out:
        (id, control, status, snoozed_until, evidence items, owner, owner tz, owner name), by id."""
        rows = self.db.execute(
            "SELECT t.id, t.control, t.status, t.snoozed_until, t.evidence, t.owner, o.tz, o.name FROM tasks t"
            " JOIN people o ON o.workspace = t.workspace AND o.user_id = t.owner"
            " WHERE t.workspace = ? AND t.evidence != '[]' AND t.status != 'na' ORDER BY t.id", [workspace])
        return [(*row[:4], json.loads(row[4]), *row[5:]) for row in rows.fetchall()]
