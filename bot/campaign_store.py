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
    kind TEXT NOT NULL CHECK (kind IN ('policy', 'review')),
    name TEXT NOT NULL COLLATE NOCASE,  -- the policy, or the system reviewed
    url TEXT NOT NULL DEFAULT '',  -- the policy's link
    version TEXT NOT NULL DEFAULT '',
    owner TEXT NOT NULL DEFAULT '',  -- a review: the system's owner, who gets the access changes as tasks
    platform TEXT NOT NULL,
    audience TEXT NOT NULL,  -- 'everyone', 'people' (listed at publishing) or 'channel'
    channel TEXT NOT NULL DEFAULT '',  -- the channel whose members are asked
    due_days INTEGER NOT NULL,  -- each person's due date: this many days after they were first asked
    recurrence TEXT CHECK (recurrence IS NULL OR recurrence IN ('quarter', 'year')),
    state TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'superseded', 'finished')),
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
    answer TEXT CHECK (answer IS NULL OR answer IN ('accepted', 'question', 'signed_off')),  -- NULL: pending
    answered_at TEXT,
    answered_via TEXT NOT NULL DEFAULT '',  -- platform and conversation of the answer (the DM's button)
    snoozed_until TEXT,  -- no reminders for this person before this date (their own `snooze`)
    PRIMARY KEY (workspace, campaign_id, user_id),
    FOREIGN KEY (workspace, campaign_id) REFERENCES campaigns (workspace, id)
);
CREATE INDEX campaign_people_by_answer ON campaign_people (workspace, campaign_id, answer);
"""

REVIEW_ACCOUNTS_SCHEMA = """
CREATE TABLE review_accounts (
    workspace TEXT NOT NULL,
    campaign_id INTEGER NOT NULL,  -- a campaign of kind 'review'
    line INTEGER NOT NULL,  -- 1, 2, ... in the order given
    account TEXT NOT NULL,
    role TEXT NOT NULL DEFAULT '',
    decision TEXT CHECK (decision IS NULL OR decision IN ('keep', 'remove', 'change')),  -- NULL: undecided
    new_role TEXT NOT NULL DEFAULT '',
    decided_by TEXT NOT NULL DEFAULT '',
    decided_at TEXT,
    task_id INTEGER,  -- the task for the system's owner that carries out a remove / change
    PRIMARY KEY (workspace, campaign_id, line),
    FOREIGN KEY (workspace, campaign_id) REFERENCES campaigns (workspace, id)
);
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
    owner: str
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
    snoozed_until: date | None = None


class CampaignStore:
    """Mixed into `bot.store.Store` (it provides db, _rows, transaction and log)."""

    def publish_campaign(self, workspace: str, *, name: str, platform: str, audience: str, due_days: int,
                         recurrence: str | None, actor: str, kind: str = "policy", url: str = "", version: str = "",
                         channel: str = "", owner: str = "") -> Campaign:
        """A new open campaign; an open policy campaign of the same name is superseded (a new version asks
        everyone again)."""
        from bot.store import utc_now

        with self.transaction():
            if kind == "policy":
                self.db.execute("UPDATE campaigns SET state = 'superseded' WHERE workspace = ? AND kind = 'policy'"
                                " AND name = ? AND state = 'open'", [workspace, name])
            number = self.db.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM campaigns WHERE workspace = ?",
                                     [workspace]).fetchone()[0]
            self.db.execute(
                "INSERT INTO campaigns (workspace, id, kind, name, url, version, owner, platform, audience, channel,"
                " due_days, recurrence, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [workspace, number, kind, name, url, version, owner, platform, audience, channel, due_days, recurrence,
                 actor, utc_now()])
            what = f"{name} version {version}" if kind == "policy" else f"access review of {name}"
            self.log(workspace, None, actor, f"{kind} {'publish' if kind == 'policy' else 'start'}", "",
                     f"{what} (campaign {number})")
            return self.campaign(workspace, number)

    def campaign(self, workspace: str, campaign_id: int) -> Campaign | None:
        rows = self._rows("SELECT * FROM campaigns WHERE workspace = ? AND id = ?", [workspace, campaign_id])
        return Campaign(**rows[0]) if rows else None

    def campaigns_named(self, workspace: str, name: str) -> list[Campaign]:
        """Every campaign (version, round) of a policy, oldest first."""
        rows = self._rows("SELECT * FROM campaigns WHERE workspace = ? AND kind = 'policy' AND name = ? ORDER BY id",
                          [workspace, name])
        return [Campaign(**row) for row in rows]

    def open_campaigns(self, workspace: str | None = None, kind: str | None = None) -> list[Campaign]:
        sql, params = "SELECT * FROM campaigns WHERE state = 'open'", []
        if workspace is not None:
            sql, params = sql + " AND workspace = ?", [workspace]
        if kind is not None:
            sql, params = sql + " AND kind = ?", [*params, kind]
        return [Campaign(**row) for row in self._rows(sql + " ORDER BY workspace, id", params)]

    def recurring_campaigns(self) -> list[Campaign]:
        """Every campaign whose next round is still to come (open or finished, with a recurrence)."""
        rows = self._rows("SELECT * FROM campaigns WHERE recurrence IS NOT NULL AND state IN ('open', 'finished')"
                          " ORDER BY workspace, id")
        return [Campaign(**row) for row in rows]

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
            kind = self.campaign(workspace, campaign_id).kind
            self.log(workspace, None, user, f"{kind} {answer}", "", f"campaign {campaign_id} via {via}")

    def snooze_campaign(self, workspace: str, campaign_id: int, user: str, until: date) -> None:
        """No reminders of this campaign for `user` before `until`, logged."""
        with self.transaction():
            self.db.execute("UPDATE campaign_people SET snoozed_until = ? WHERE workspace = ? AND campaign_id = ?"
                            " AND user_id = ?", [until.isoformat(), workspace, campaign_id, user])
            self.log(workspace, None, user, "campaign snooze", "", f"campaign {campaign_id} until {until.isoformat()}")

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
            "SELECT cp.user_id, p.tz, p.name, cp.due_on, cp.added_at, s.claimed_at, s.status, cp.snoozed_until"
            " FROM campaign_people cp"
            " JOIN people p ON p.workspace = cp.workspace AND p.user_id = cp.user_id"
            " LEFT JOIN sent_log s ON s.key = ? || cp.user_id || ':' || ?"
            " WHERE cp.workspace = ? AND cp.campaign_id = ? AND cp.answer IS NULL",
            [prefix, ASK, workspace, campaign_id])
        return [Asked(user, tz or "UTC", name or "", date.fromisoformat(due), date.fromisoformat(added[:10]),
                      date.fromisoformat(claimed[:10]) if claimed else None, status == "sent",
                      date.fromisoformat(snoozed) if snoozed else None)
                for user, tz, name, due, added, claimed, status, snoozed in rows.fetchall()]

    def acceptance_rows(self, workspace: str, name: str, kind: str = "policy", campaign_id: int | None = None
                        ) -> list[tuple]:
        """Every person asked in every version of a policy (or the reviewer of one review), for the
        auditor: (version, campaign, user, name, email, added, asked at, DM key, DM status, answer,
        answered at, answered via)."""
        rows = self.db.execute(
            "SELECT c.version, c.id, cp.user_id, COALESCE(p.name, ''), COALESCE(p.email, ''), cp.added_at,"
            " COALESCE(s.sent_at, ''), COALESCE(s.key, ''), COALESCE(s.status, 'not sent yet'),"
            " COALESCE(cp.answer, 'pending'), COALESCE(cp.answered_at, ''), cp.answered_via"
            " FROM campaigns c JOIN campaign_people cp ON cp.workspace = c.workspace AND cp.campaign_id = c.id"
            " LEFT JOIN people p ON p.workspace = cp.workspace AND p.user_id = cp.user_id"
            " LEFT JOIN sent_log s ON s.key = 'campaign:' || c.workspace || ':' || c.id || ':' || cp.user_id || ':ask'"
            " WHERE c.workspace = ? AND c.kind = ? AND c.name = ? AND (? IS NULL OR c.id = ?)"
            " ORDER BY c.id, p.name, cp.user_id", [workspace, kind, name, campaign_id, campaign_id])
        return rows.fetchall()

    # ----- access reviews -----------------------------------------------------------------------------

    def add_review_accounts(self, workspace: str, campaign_id: int, accounts: list[tuple[str, str]]) -> None:
        with self.transaction():
            first = self.db.execute("SELECT COALESCE(MAX(line), 0) FROM review_accounts WHERE workspace = ? AND"
                                    " campaign_id = ?", [workspace, campaign_id]).fetchone()[0]
            self.db.conn.executemany(
                "INSERT INTO review_accounts (workspace, campaign_id, line, account, role) VALUES (?, ?, ?, ?, ?)",
                [(workspace, campaign_id, first + n, account, role) for n, (account, role) in enumerate(accounts, 1)])

    def review_accounts(self, workspace: str, campaign_id: int, offset: int = 0, limit: int = -1) -> list[dict]:
        return self._rows("SELECT * FROM review_accounts WHERE workspace = ? AND campaign_id = ? ORDER BY line"
                          " LIMIT ? OFFSET ?", [workspace, campaign_id, limit, offset])

    def review_counts(self, workspace: str, campaign_id: int) -> dict[str, int]:
        """'keep', 'remove', 'change', 'undecided' -> how many accounts."""
        rows = self.db.execute("SELECT COALESCE(decision, 'undecided'), COUNT(*) FROM review_accounts"
                               " WHERE workspace = ? AND campaign_id = ? GROUP BY decision", [workspace, campaign_id])
        return {"keep": 0, "remove": 0, "change": 0, "undecided": 0, **dict(rows.fetchall())}

    def decide_account(self, workspace: str, campaign_id: int, line: int, decision: str, new_role: str,
                       actor: str, at: str) -> None:
        """A reviewer's decision on one account, in the audit log."""
        with self.transaction():
            row = self.review_accounts(workspace, campaign_id, line - 1, 1)[0]
            self.db.execute("UPDATE review_accounts SET decision = ?, new_role = ?, decided_by = ?, decided_at = ?"
                            " WHERE workspace = ? AND campaign_id = ? AND line = ?",
                            [decision, new_role, actor, at, workspace, campaign_id, line])
            change = f" to {new_role}" if decision == "change" else ""
            self.log(workspace, None, actor, f"review {decision}", row["decision"] or "",
                     f"campaign {campaign_id} line {line}: {row['account']} ({row['role']}){change}")

    def link_review_task(self, workspace: str, campaign_id: int, line: int, task_id: int) -> None:
        self.db.execute("UPDATE review_accounts SET task_id = ? WHERE workspace = ? AND campaign_id = ? AND line = ?",
                        [task_id, workspace, campaign_id, line])

    def finish_campaign(self, workspace: str, campaign_id: int) -> None:
        self.db.execute("UPDATE campaigns SET state = 'finished' WHERE workspace = ? AND id = ?",
                        [workspace, campaign_id])
