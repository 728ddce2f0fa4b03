"""Campaigns (migration 16): ask people to confirm something and keep the proof. A policy campaign is one
version of a policy (or one yearly round of it) sent to an audience; `campaign_people` holds each person
asked, their own due date and their answer. Whether and when a person's DM went out is the sent-log's
(`bot/delivery.py`, key `campaign:{workspace}:{campaign}:{user}:ask`), read here for exports and for
the tick. `Store` inherits these methods; the SQL of these tables lives here only."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

CAMPAIGNS_SCHEMA = """
CREATE TABLE campaigns (
    workspace TEXT NOT NULL REFERENCES workspaces(id),
    id INTEGER NOT NULL,  -- numbered per workspace
    kind TEXT NOT NULL CHECK (kind IN ('policy')),
    name TEXT NOT NULL COLLATE NOCASE,
    url TEXT NOT NULL,
    version TEXT NOT NULL,
    platform TEXT NOT NULL,
    audience TEXT NOT NULL,  -- 'everyone', 'people' (listed at publishing) or 'channel'
    channel TEXT NOT NULL DEFAULT '',  -- the channel whose members are asked
    due_days INTEGER NOT NULL,  -- each person's due date: this many days after they were first asked
    recurrence TEXT CHECK (recurrence IS NULL OR recurrence IN ('year')),
    state TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'superseded')),
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    members_checked_at TEXT,  -- when the platform's membership was last read into campaign_people
    PRIMARY KEY (workspace, id)
);
CREATE INDEX campaigns_by_name ON campaigns (workspace, name, state);
CREATE TABLE campaign_people (
    workspace TEXT NOT NULL,
    campaign_id INTEGER NOT NULL,
    user_id TEXT NOT NULL,
    added_at TEXT NOT NULL,  -- when they became part of the audience (a late joiner: later)
    due_on TEXT NOT NULL,
    answer TEXT CHECK (answer IS NULL OR answer IN ('accepted', 'question')),  -- NULL: pending
    answered_at TEXT,
    answered_via TEXT NOT NULL DEFAULT '',  -- platform and conversation of the answer (the DM's button)
    PRIMARY KEY (workspace, campaign_id, user_id),
    FOREIGN KEY (workspace, campaign_id) REFERENCES campaigns (workspace, id)
);
CREATE INDEX campaign_people_by_answer ON campaign_people (workspace, campaign_id, answer);
"""

ASK = "ask"  # the kind of the first DM's sent-log key


def ask_key(workspace: str, campaign_id: int, user: str) -> str:
    return f"campaign:{workspace}:{campaign_id}:{user}:{ASK}"


@dataclass(frozen=True)
class Campaign:
    workspace: str
    id: int
    kind: str
    name: str
    url: str
    version: str
    platform: str
    audience: str
    channel: str
    due_days: int
    recurrence: str | None
    state: str
    created_by: str
    created_at: str
    members_checked_at: str | None


@dataclass(frozen=True)
class Asked:
    """One person of a campaign as the tick sees them (pending only)."""

    user: str
    tz: str
    name: str
    due_on: date
    added_on: date
    asked_on: date | None  # the day their DM was claimed; None: not yet
    ask_sent: bool


class CampaignStore:
    """Mixed into `bot.store.Store` (it provides db, _rows, transaction and log)."""

    def publish_campaign(self, workspace: str, *, name: str, url: str, version: str, platform: str,
                         audience: str, channel: str, due_days: int, recurrence: str | None, actor: str) -> Campaign:
        """A new open campaign; an open one of the same name is superseded (a new version asks everyone again)."""
        from bot.store import utc_now

        with self.transaction():
            self.db.execute("UPDATE campaigns SET state = 'superseded' WHERE workspace = ? AND name = ? AND state = 'open'",
                            [workspace, name])
            number = self.db.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM campaigns WHERE workspace = ?",
                                     [workspace]).fetchone()[0]
            self.db.execute(
                "INSERT INTO campaigns (workspace, id, kind, name, url, version, platform, audience, channel, due_days,"
                " recurrence, created_by, created_at) VALUES (?, ?, 'policy', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [workspace, number, name, url, version, platform, audience, channel, due_days, recurrence, actor,
                 utc_now()])
            self.log(workspace, None, actor, "policy publish", "", f"{name} version {version} (campaign {number})")
            return self.campaign(workspace, number)

    def campaign(self, workspace: str, campaign_id: int) -> Campaign | None:
        rows = self._rows("SELECT * FROM campaigns WHERE workspace = ? AND id = ?", [workspace, campaign_id])
        return Campaign(**rows[0]) if rows else None

    def campaigns_named(self, workspace: str, name: str) -> list[Campaign]:
        """Every campaign (version, round) of a policy, oldest first."""
        rows = self._rows("SELECT * FROM campaigns WHERE workspace = ? AND name = ? ORDER BY id", [workspace, name])
        return [Campaign(**row) for row in rows]

    def open_campaigns(self, workspace: str | None = None) -> list[Campaign]:
        sql, params = "SELECT * FROM campaigns WHERE state = 'open'", []
        if workspace is not None:
            sql, params = sql + " AND workspace = ?", [workspace]
        return [Campaign(**row) for row in self._rows(sql + " ORDER BY workspace, id", params)]

    def set_campaign_recurrence(self, workspace: str, campaign_id: int, recurrence: str | None, actor: str) -> None:
        with self.transaction():
            self.db.execute("UPDATE campaigns SET recurrence = ? WHERE workspace = ? AND id = ?",
                            [recurrence, workspace, campaign_id])
            self.log(workspace, None, actor, "policy every", "", f"campaign {campaign_id}: {recurrence or 'never'}")

    def add_campaign_people(self, workspace: str, campaign: Campaign, users: list[str], at: str,
                            checked: bool = True) -> int:
        """Put people in a campaign's audience (once each); returns how many were new. `checked`: this is
        the platform's membership as of `at` (the tick reads it again after MEMBERS_TTL)."""
        due = date.fromisoformat(at[:10]).toordinal() + campaign.due_days
        with self.transaction():
            added = self.db.conn.executemany(
                "INSERT OR IGNORE INTO campaign_people (workspace, campaign_id, user_id, added_at, due_on)"
                " VALUES (?, ?, ?, ?, ?)",
                [(workspace, campaign.id, user, at, date.fromordinal(due).isoformat()) for user in users]).rowcount
            if checked:
                self.db.execute("UPDATE campaigns SET members_checked_at = ? WHERE workspace = ? AND id = ?",
                                [at, workspace, campaign.id])
        return added

    def campaign_users(self, workspace: str, campaign_id: int) -> list[str]:
        rows = self.db.execute("SELECT user_id FROM campaign_people WHERE workspace = ? AND campaign_id = ?"
                               " ORDER BY user_id", [workspace, campaign_id])
        return [row[0] for row in rows.fetchall()]

    def campaign_answer(self, workspace: str, campaign_id: int, user: str) -> dict | None:
        rows = self._rows("SELECT * FROM campaign_people WHERE workspace = ? AND campaign_id = ? AND user_id = ?",
                          [workspace, campaign_id, user])
        return rows[0] if rows else None

    def answer_campaign(self, workspace: str, campaign_id: int, user: str, answer: str, via: str, at: str) -> None:
        """Record a person's answer, and the answer in the audit log."""
        with self.transaction():
            self.db.execute("UPDATE campaign_people SET answer = ?, answered_at = ?, answered_via = ?"
                            " WHERE workspace = ? AND campaign_id = ? AND user_id = ?",
                            [answer, at, via, workspace, campaign_id, user])
            self.log(workspace, None, user, f"policy {answer}", "", f"campaign {campaign_id} via {via}")

    def campaign_counts(self, workspace: str, campaign_id: int) -> dict[str, int]:
        """'accepted', 'question', 'pending' -> how many people (one indexed scan)."""
        rows = self.db.execute("SELECT COALESCE(answer, 'pending'), COUNT(*) FROM campaign_people"
                               " WHERE workspace = ? AND campaign_id = ? GROUP BY answer", [workspace, campaign_id])
        return {"accepted": 0, "question": 0, "pending": 0, **dict(rows.fetchall())}

    def campaign_names(self, workspace: str, campaign_id: int, answer: str | None, limit: int) -> list[str]:
        """Names (or ids) of up to `limit` people with `answer` (None: pending), by name."""
        condition = "cp.answer IS NULL" if answer is None else "cp.answer = ?"
        rows = self.db.execute(
            "SELECT COALESCE(NULLIF(p.name, ''), cp.user_id) FROM campaign_people cp LEFT JOIN people p"
            " ON p.workspace = cp.workspace AND p.user_id = cp.user_id"
            f" WHERE cp.workspace = ? AND cp.campaign_id = ? AND {condition} ORDER BY 1 LIMIT ?",
            [workspace, campaign_id, *([] if answer is None else [answer]), limit])
        return [row[0] for row in rows.fetchall()]

    def campaign_pending(self, workspace: str, campaign_id: int) -> list[Asked]:
        """The people who have not answered, with their zone and whether their DM was claimed and sent."""
        prefix = f"campaign:{workspace}:{campaign_id}:"
        rows = self.db.execute(
            "SELECT cp.user_id, p.tz, p.name, cp.due_on, cp.added_at, s.claimed_at, s.status FROM campaign_people cp"
            " JOIN people p ON p.workspace = cp.workspace AND p.user_id = cp.user_id"
            " LEFT JOIN sent_log s ON s.key = ? || cp.user_id || ':' || ?"
            " WHERE cp.workspace = ? AND cp.campaign_id = ? AND cp.answer IS NULL",
            [prefix, ASK, workspace, campaign_id])
        return [Asked(user, tz or "UTC", name or "", date.fromisoformat(due), date.fromisoformat(added[:10]),
                      date.fromisoformat(claimed[:10]) if claimed else None, status == "sent")
                for user, tz, name, due, added, claimed, status in rows.fetchall()]

    def acceptance_rows(self, workspace: str, name: str) -> list[tuple]:
        """Every person asked in every version of a policy, for the auditor: (version, campaign, user, name,
        email, added, asked at, DM key, DM status, answer, answered at, answered via)."""
        rows = self.db.execute(
            "SELECT c.version, c.id, cp.user_id, COALESCE(p.name, ''), COALESCE(p.email, ''), cp.added_at,"
            " COALESCE(s.sent_at, ''), COALESCE(s.key, ''), COALESCE(s.status, 'not sent yet'),"
            " COALESCE(cp.answer, 'pending'), COALESCE(cp.answered_at, ''), cp.answered_via"
            " FROM campaigns c JOIN campaign_people cp ON cp.workspace = c.workspace AND cp.campaign_id = c.id"
            " LEFT JOIN people p ON p.workspace = cp.workspace AND p.user_id = cp.user_id"
            " LEFT JOIN sent_log s ON s.key = 'campaign:' || c.workspace || ':' || c.id || ':' || cp.user_id || ':ask'"
            " WHERE c.workspace = ? AND c.name = ? ORDER BY c.id, p.name, cp.user_id", [workspace, name])
        return rows.fetchall()
