"""The bot's memory: one SQLite file through sqlite-utils (default `./complybot.db`, env `COMPLYBOT_DB`).

Workspaces (a Slack workspace, a Teams tenant, or "local"), people, control tasks, an append-only event
log, not-applicable decisions for the Statement of Applicability, the nudge sent-log and digest
subscriptions. Every query takes the workspace first: nothing crosses workspaces.

ADDING A TABLE (other modules: Slack installations, event de-dup, Teams references, ...)
    Append ONE entry to `MIGRATIONS` at the bottom of the list, with the next version number:

        (7, '''CREATE TABLE slack_installations (team_id TEXT PRIMARY KEY, bot_token TEXT, ...);'''),

    The value is SQL (run with executescript) or a callable taking the sqlite_utils `Database`.
    Never edit an entry that has shipped: databases in the field already ran it. Migrations run in
    order at `Store.open`, each in its own transaction, and the version is recorded in
    `schema_migrations`. Reach your table with `store.db["slack_installations"]` (sqlite-utils) or
    `store.db.execute(...)`; wrap read-then-write code in `with store.transaction():`.

Transactions: `with store.transaction():` is `BEGIN IMMEDIATE` (a writer waits for the lock instead of
failing later) and rolls back on any exception, so a refused or failed command changes nothing. The
connection is shared between threads; a lock serialises transactions. Never hold a transaction
across an `await`, and write from another thread only inside `store.transaction()`: a bare write on
the shared connection would join whatever transaction is open.

Off the event loop: while another connection holds the write lock, a transaction here waits (up to
busy_timeout). So async code never uses the connection itself: `await store.call(fn, *args)` runs
store work on the store's one worker thread, `await store.read(query)` a read on a connection of its
own (WAL: never held up by the lock), and `write_lock_free()` tells /healthz whether a write could begin.
"""
from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import os
import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any, Callable, Iterator, TypeVar

import sqlite_utils

from bot.memory_store import CONVERSATION_SUBJECTS_SCHEMA, SubjectStore
from bot.campaign_store import CAMPAIGNS_SCHEMA, REVIEW_ACCOUNTS_SCHEMA, CampaignStore
from bot.evidence_store import EVIDENCE_FRESHNESS_SCHEMA, EvidenceStore
from bot.programme_store import CUSTOM_CONTROLS_SCHEMA, SOA_JUSTIFICATIONS_SCHEMA, ProgrammeStore
from bot.slack.dm_channels import DM_CHANNELS_SCHEMA

DEFAULT_DB_PATH = "complybot.db"
ROLES = ("admin", "member")
STATUSES = ("open", "in_progress", "blocked", "done", "na")
ACTIVE_STATUSES = ("open", "in_progress", "blocked")
RECURRENCES = ("month", "quarter", "year")

Migration = tuple[int, "str | Callable[[sqlite_utils.Database], None]"]
T = TypeVar("T")
READER_THREADS = 2  # reads off the event loop (installations, health): few, short, never behind a write
WRITE_LOCK_PROBE_SECONDS = 0.2  # our own transactions hold the write lock for milliseconds

_CORE_SCHEMA = """
CREATE TABLE workspaces (
    id TEXT PRIMARY KEY,
    platform TEXT NOT NULL,
    name TEXT NOT NULL DEFAULT '',
    settings TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL
);
CREATE TABLE people (
    workspace TEXT NOT NULL REFERENCES workspaces(id),
    user_id TEXT NOT NULL,
    name TEXT NOT NULL DEFAULT '',
    email TEXT NOT NULL DEFAULT '',
    tz TEXT NOT NULL DEFAULT 'UTC',
    role TEXT NOT NULL DEFAULT 'member' CHECK (role IN ('admin', 'member')),
    is_bot INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    PRIMARY KEY (workspace, user_id)
);
CREATE INDEX people_by_name ON people (workspace, name COLLATE NOCASE);
CREATE TABLE tasks (
    workspace TEXT NOT NULL REFERENCES workspaces(id),
    id INTEGER NOT NULL,
    control TEXT NOT NULL,
    owner TEXT NOT NULL,
    assigner TEXT NOT NULL,
    due TEXT,
    recurrence TEXT CHECK (recurrence IS NULL OR recurrence IN ('month', 'quarter', 'year')),
    status TEXT NOT NULL DEFAULT 'open'
        CHECK (status IN ('open', 'in_progress', 'blocked', 'done', 'na')),
    note TEXT NOT NULL DEFAULT '',
    blocked_reason TEXT NOT NULL DEFAULT '',
    snoozed_until TEXT,
    evidence TEXT NOT NULL DEFAULT '[]',
    previous_id INTEGER,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    done_at TEXT,
    PRIMARY KEY (workspace, id),
    FOREIGN KEY (workspace, owner) REFERENCES people (workspace, user_id),
    FOREIGN KEY (workspace, previous_id) REFERENCES tasks (workspace, id)
);
CREATE INDEX tasks_by_status_due ON tasks (workspace, status, due);
CREATE INDEX tasks_by_owner ON tasks (workspace, owner, status);
CREATE INDEX tasks_by_control ON tasks (workspace, control);
CREATE TABLE events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace TEXT NOT NULL REFERENCES workspaces(id),
    task_id INTEGER,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    old TEXT NOT NULL DEFAULT '',
    new TEXT NOT NULL DEFAULT '',
    at TEXT NOT NULL,
    FOREIGN KEY (workspace, task_id) REFERENCES tasks (workspace, id)
);
CREATE INDEX events_by_task ON events (workspace, task_id);
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;
CREATE TABLE na_decisions (
    workspace TEXT NOT NULL REFERENCES workspaces(id),
    control TEXT NOT NULL,  -- a control name of the table, or an Annex A reference no control covers
    justification TEXT NOT NULL,
    actor TEXT NOT NULL,
    at TEXT NOT NULL,
    PRIMARY KEY (workspace, control)
);
"""

_DELIVERY_SCHEMA = """
CREATE TABLE sent_log (
    key TEXT PRIMARY KEY,  -- natural key, e.g. nudge:{workspace}:{task}:{kind}:{date}
    workspace TEXT NOT NULL,
    task_id INTEGER,
    kind TEXT NOT NULL DEFAULT '',
    claimed_at TEXT NOT NULL,
    sent_at TEXT,
    attempts INTEGER NOT NULL DEFAULT 1,
    last_error TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT 'claimed' CHECK (status IN ('claimed', 'sent', 'failed'))
);
CREATE INDEX sent_log_by_workspace ON sent_log (workspace, status);
CREATE TABLE digests (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace TEXT NOT NULL REFERENCES workspaces(id),
    platform TEXT NOT NULL,
    channel TEXT NOT NULL,
    weekdays TEXT NOT NULL DEFAULT 'mon',  -- APScheduler day names, comma-separated: 'mon' or 'mon,thu'
    time TEXT NOT NULL DEFAULT '09:00',  -- HH:MM in tz
    tz TEXT NOT NULL DEFAULT 'UTC',
    created_by TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    last_sent_on TEXT,
    UNIQUE (workspace, platform, channel)
);
"""

# (version, SQL or callable(db)). APPEND ONLY — see the module docstring.
MIGRATIONS: list[Migration] = [
    (1, _CORE_SCHEMA),
    (2, _DELIVERY_SCHEMA),
    # bot/delivery.py: the outbox (what to send, to whom) and the lease/retry columns of the sent-log
    (3, """
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace TEXT NOT NULL,
    platform TEXT NOT NULL,
    user TEXT NOT NULL DEFAULT '',
    channel TEXT NOT NULL DEFAULT '',
    reply TEXT NOT NULL,
    created_at TEXT NOT NULL
);
ALTER TABLE sent_log ADD COLUMN message_id INTEGER REFERENCES outbox(id);
ALTER TABLE sent_log ADD COLUMN lease_until TEXT;
ALTER TABLE sent_log ADD COLUMN send_started_at TEXT;
ALTER TABLE sent_log ADD COLUMN next_attempt_at TEXT;
CREATE INDEX sent_log_by_message ON sent_log (message_id);
CREATE INDEX sent_log_pending ON sent_log (status, lease_until) WHERE status != 'sent';
"""),
    # bot/teams/members.py: Teams conversation references (proactive messages) and Teams ids of people
    (4, """
CREATE TABLE teams_conversations (
    workspace TEXT NOT NULL,
    conversation_id TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('personal', 'groupChat', 'channel')),
    user_id TEXT NOT NULL DEFAULT '',
    reference TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (workspace, conversation_id)
);
CREATE INDEX teams_conversations_by_user ON teams_conversations (workspace, user_id, kind);
CREATE TABLE teams_members (
    workspace TEXT NOT NULL,
    member_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    name TEXT NOT NULL DEFAULT '',
    updated_at TEXT NOT NULL,
    PRIMARY KEY (workspace, member_id)
);
CREATE INDEX teams_members_by_user ON teams_members (workspace, user_id);
"""),
    # bot/slack: event ids already handled (Slack re-sends events), OAuth installations and states
    (5, """
CREATE TABLE slack_events (
    event_id TEXT PRIMARY KEY,
    team_id TEXT NOT NULL DEFAULT '',
    received_at REAL NOT NULL
);
CREATE INDEX slack_events_by_age ON slack_events (received_at);
CREATE TABLE slack_installations (
    key TEXT PRIMARY KEY,  -- '{enterprise_id}:{team_id}' (team empty for an org-wide install)
    enterprise_id TEXT NOT NULL DEFAULT '',
    team_id TEXT NOT NULL DEFAULT '',
    installation TEXT NOT NULL,  -- slack_sdk Installation.to_dict() as JSON
    installed_at REAL NOT NULL
);
CREATE TABLE slack_oauth_states (
    state TEXT PRIMARY KEY,
    expires_at REAL NOT NULL
);
"""),
    # bot/teams/members.py: activity ids already handled (Teams re-sends an activity the bot took > 15 s on)
    (6, """
CREATE TABLE teams_activities (
    key TEXT PRIMARY KEY,  -- '{channelId}:{conversation id}:{activity id}'
    received_at REAL NOT NULL
);
CREATE INDEX teams_activities_by_age ON teams_activities (received_at);
"""),
    # bot/delivery.py: nothing reads the sent-log by (workspace, status), yet every claim and every
    # recorded send kept that index up to date (19,000 rows on a busy morning)
    (7, "DROP INDEX IF EXISTS sent_log_by_workspace;"),
    # bot/slack: slash commands and interactions already handled (a signed request can be replayed)
    (8, """
CREATE TABLE slack_requests (
    key TEXT PRIMARY KEY,  -- 'trigger:{trigger_id}' or 'signature:{sha256 of timestamp and signature}'
    team_id TEXT NOT NULL DEFAULT '',
    received_at REAL NOT NULL
);
CREATE INDEX slack_requests_by_age ON slack_requests (received_at);
"""),
    # bot/memory_store.py: the last answer's subject per workspace + conversation + person (follow-ups)
    (10, CONVERSATION_SUBJECTS_SCHEMA),
    # bot/programme_store.py: a workspace's controls of its own, and why each included Annex A control is in
    (11, CUSTOM_CONTROLS_SCHEMA),
    (12, SOA_JUSTIFICATIONS_SCHEMA),
    # bot/slack/dm_channels.py: each person's DM channel id (conversations.open once per person, ever)
    (14, DM_CHANNELS_SCHEMA),
    # bot/evidence_store.py: how long a control's evidence stays valid (`freshness <control> quarterly`)
    (15, EVIDENCE_FRESHNESS_SCHEMA),
    # bot/campaign_store.py: policy acceptance campaigns and the people each asks
    (16, CAMPAIGNS_SCHEMA),
    # bot/campaign_store.py: the accounts of an access review and the reviewer's decision on each
    (17, REVIEW_ACCOUNTS_SCHEMA),
]


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dataclass(frozen=True)
class Person:
    workspace: str
    user_id: str
    name: str = ""
    email: str = ""
    tz: str = "UTC"
    role: str = "member"
    is_bot: bool = False

    @property
    def label(self) -> str:
        """How a reply names this person: @name, or the user id when no name is known."""
        return f"@{self.name or self.user_id}"


@dataclass(frozen=True)
class Task:
    workspace: str
    id: int  # numbered per workspace: "task 12" of one workspace is not another's
    control: str
    owner: str
    assigner: str
    due: date | None
    recurrence: str | None
    status: str
    note: str = ""
    blocked_reason: str = ""
    snoozed_until: date | None = None
    evidence: tuple[dict, ...] = ()
    previous_id: int | None = None
    created_at: str = ""
    updated_at: str = ""
    done_at: str | None = None

    @property
    def active(self) -> bool:
        return self.status in ACTIVE_STATUSES


@dataclass(frozen=True)
class Event:
    id: int
    workspace: str
    task_id: int | None
    actor: str
    action: str
    old: str
    new: str
    at: str


@dataclass(frozen=True)
class NaDecision:
    workspace: str
    control: str
    justification: str
    actor: str
    at: str


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _task(row: dict) -> Task:
    return Task(
        workspace=row["workspace"], id=row["id"], control=row["control"], owner=row["owner"],
        assigner=row["assigner"], due=_date(row["due"]), recurrence=row["recurrence"],
        status=row["status"], note=row["note"], blocked_reason=row["blocked_reason"],
        snoozed_until=_date(row["snoozed_until"]), evidence=tuple(json.loads(row["evidence"] or "[]")),
        previous_id=row["previous_id"], created_at=row["created_at"], updated_at=row["updated_at"],
        done_at=row["done_at"],
    )


def _person(row: dict) -> Person:
    return Person(row["workspace"], row["user_id"], row["name"], row["email"], row["tz"], row["role"],
                  bool(row["is_bot"]))


@dataclass
class Store(ProgrammeStore, SubjectStore, EvidenceStore, CampaignStore):
    """The SQLite store. Open with `Store.open(path)`; every method takes the workspace first."""

    db: sqlite_utils.Database
    path: str
    default_tz: str = "UTC"  # COMPLYBOT_TZ: for people and digests with no time zone of their own
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    _writer: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(1, "complybot-db"), repr=False)
    _readers: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(READER_THREADS, "complybot-db-read"), repr=False)
    _reader_conns: list = field(default_factory=list, repr=False)
    _local: threading.local = field(default_factory=threading.local, repr=False)

    # ----- lifecycle -------------------------------------------------------------------------

    @classmethod
    def open(cls, path: str | os.PathLike | None = None, migrations: list[Migration] | None = None,
             default_tz: str = "UTC") -> "Store":
        """Open (or create) the database at `path` (default $COMPLYBOT_DB or ./complybot.db), enable WAL
        and foreign keys, and apply the migrations not yet applied. `migrations` is for tests;
        `default_tz` (COMPLYBOT_TZ) is the zone of people and digests created without one."""
        path = str(path or os.environ.get("COMPLYBOT_DB") or DEFAULT_DB_PATH)
        conn = sqlite3.connect(path, check_same_thread=False, timeout=30, isolation_level=None)
        db = sqlite_utils.Database(conn)
        if path != ":memory:":
            db.enable_wal()  # once, outside any transaction
        db.execute("PRAGMA foreign_keys = ON")
        db.execute("PRAGMA busy_timeout = 30000")
        store = cls(db=db, path=path, default_tz=default_tz or "UTC")
        store._migrate(MIGRATIONS if migrations is None else migrations)
        return store

    def close(self) -> None:
        for executor in (self._writer, self._readers):
            executor.shutdown(wait=True)
        for conn in self._reader_conns:
            conn.close()
        self.db.close()

    # ----- off the event loop -----------------------------------------------------------------
    # While another connection holds the write lock, a write here waits (busy_timeout, up to 30 s).
    # Code on the event loop therefore never touches the connection itself: it awaits `call` (any
    # work, on the one thread that uses the connection for the loop) or `read` (a connection of its
    # own: in WAL mode a read is never held up by the write lock, nor queued behind our writes).

    async def call(self, work: Callable[..., T], *args: Any) -> T:
        """`work(*args)` on the store's worker thread; the loop goes on meanwhile."""
        return await asyncio.get_running_loop().run_in_executor(self._writer, functools.partial(work, *args))

    async def read(self, query: Callable[[sqlite3.Connection], T]) -> T:
        """`query(connection)` on a read-only connection in a reader thread (an in-memory database,
        which cannot be opened twice, is read through `call`)."""
        if self.path == ":memory:":
            return await self.call(query, self.db.conn)
        return await asyncio.get_running_loop().run_in_executor(self._readers, self._read, query)

    def _read(self, query: Callable[[sqlite3.Connection], T]) -> T:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            conn.execute("PRAGMA query_only = ON")
            self._reader_conns.append(conn)
        return query(conn)

    def write_lock_free(self) -> bool:
        """Whether a write could begin within WRITE_LOCK_PROBE_SECONDS (another process may hold
        the write lock): BEGIN IMMEDIATE on a connection of its own, rolled straight back. Blocks:
        run it through `read`."""
        conn = sqlite3.connect(self.path, timeout=WRITE_LOCK_PROBE_SECONDS, isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("ROLLBACK")
            return True
        except sqlite3.OperationalError as error:
            if "locked" in str(error) or "busy" in str(error):
                return False
            raise
        finally:
            conn.close()

    def _migrate(self, migrations: list[Migration]) -> None:
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)"
        )
        versions = [version for version, _ in migrations]
        if versions != sorted(set(versions)):
            raise ValueError(f"MIGRATIONS must have increasing, unique versions: {versions}")
        done = {row[0] for row in self.db.execute("SELECT version FROM schema_migrations").fetchall()}
        for version, step in migrations:
            if version in done:
                continue
            with self.transaction():
                if callable(step):
                    step(self.db)
                else:
                    for statement in _statements(step):
                        self.db.execute(statement)
                self.db.execute("INSERT INTO schema_migrations VALUES (?, ?)", [version, utc_now()])

    @property
    def schema_version(self) -> int:
        return self.db.execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").fetchone()[0]

    @contextlib.contextmanager
    def transaction(self) -> Iterator["Store"]:
        """`BEGIN IMMEDIATE` … COMMIT, or ROLLBACK on any exception. Nested calls join the outer one
        through a savepoint (sqlite-utils' `atomic`)."""
        with self._lock:
            if self.db.conn.in_transaction:
                with self.db.atomic():
                    yield self
                return
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield self
            except BaseException:
                self.db.rollback()
                raise
            else:
                self.db.execute("COMMIT")

    def _rows(self, sql: str, params: list | dict = ()) -> list[dict]:
        cursor = self.db.execute(sql, params)
        columns = [c[0] for c in cursor.description]
        return [dict(zip(columns, row)) for row in cursor.fetchall()]

    # ----- workspaces ------------------------------------------------------------------------

    def ensure_workspace(self, workspace: str, platform: str, name: str = "") -> dict:
        """The workspace row, created on first contact."""
        found = self.workspace(workspace)
        if found:
            return found
        with self.transaction():
            self.db.execute(
                "INSERT OR IGNORE INTO workspaces (id, platform, name, created_at) VALUES (?, ?, ?, ?)",
                [workspace, platform, name, utc_now()],
            )
        return self.workspace(workspace)

    def workspace(self, workspace: str) -> dict | None:
        rows = self._rows("SELECT * FROM workspaces WHERE id = ?", [workspace])
        if not rows:
            return None
        row = rows[0]
        row["settings"] = json.loads(row["settings"] or "{}")
        return row

    def workspaces(self, platform: str | None = None) -> list[dict]:
        sql, params = "SELECT * FROM workspaces", []
        if platform:
            sql, params = sql + " WHERE platform = ?", [platform]
        rows = self._rows(sql + " ORDER BY id", params)
        for row in rows:
            row["settings"] = json.loads(row["settings"] or "{}")
        return rows

    def update_workspace_settings(self, workspace: str, **changes: Any) -> dict:
        """Merge `changes` into the workspace's JSON settings (e.g. digest channel, language)."""
        with self.transaction():
            found = self.workspace(workspace)
            if not found:
                raise KeyError(workspace)
            settings = {**found["settings"], **changes}
            self.db.execute("UPDATE workspaces SET settings = ? WHERE id = ?", [json.dumps(settings), workspace])
        return settings

    # ----- people ----------------------------------------------------------------------------

    def person(self, workspace: str, user_id: str) -> Person | None:
        rows = self._rows("SELECT * FROM people WHERE workspace = ? AND user_id = ?", [workspace, user_id])
        return _person(rows[0]) if rows else None

    def people(self, workspace: str) -> list[Person]:
        return [_person(r) for r in self._rows("SELECT * FROM people WHERE workspace = ? ORDER BY name", [workspace])]

    def find_people(self, workspace: str, text: str) -> list[Person]:
        """People of `workspace` whose user id, email or display name is `text` (case-insensitive)."""
        text = text.strip().lstrip("@")
        rows = self._rows(
            "SELECT * FROM people WHERE workspace = ? AND (user_id = ? OR lower(email) = lower(?)"
            " OR name = ? COLLATE NOCASE OR replace(name, ' ', '') = replace(?, ' ', '') COLLATE NOCASE)",
            [workspace, text, text, text, text],
        )
        return [_person(r) for r in rows]

    def upsert_person(self, workspace: str, user_id: str, name: str = "", email: str = "", tz: str = "",
                      is_bot: bool = False, platform: str = "") -> Person:
        """Create or refresh a person (name, email, tz only when given). The first person of a
        workspace becomes its admin. Writes nothing when nothing changed."""
        known = self.person(workspace, user_id)
        if known and not any(v and getattr(known, k) != v for k, v in (("name", name), ("email", email), ("tz", tz))):
            return known  # the common case, every message of a known person: one read, no write
        with self.transaction():
            if platform:
                self.ensure_workspace(workspace, platform)
            found = self.person(workspace, user_id)
            if found is None:
                has_people = self.db.execute("SELECT 1 FROM people WHERE workspace = ? LIMIT 1", [workspace]).fetchone()
                self.db.execute(
                    "INSERT INTO people (workspace, user_id, name, email, tz, role, is_bot, created_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [workspace, user_id, name, email, tz or self.default_tz, "member" if has_people or is_bot else "admin",
                     int(is_bot), utc_now()],
                )
            else:
                changes = {k: v for k, v in (("name", name), ("email", email), ("tz", tz)) if v and getattr(found, k) != v}
                if changes:
                    sets = ", ".join(f"{k} = ?" for k in changes)
                    self.db.execute(f"UPDATE people SET {sets} WHERE workspace = ? AND user_id = ?",
                                    [*changes.values(), workspace, user_id])
            return self.person(workspace, user_id)

    def learn_people(self, workspace: str, people: list[tuple[str, str, str, str]]) -> int:
        """Add people a platform's directory lists, (user id, name, email, tz), as members, in one
        transaction; people already known are left as they are. Returns how many were new."""
        with self.transaction():
            return self.db.conn.executemany(
                "INSERT OR IGNORE INTO people (workspace, user_id, name, email, tz, role, is_bot, created_at)"
                " VALUES (?, ?, ?, ?, ?, 'member', 0, ?)",
                [(workspace, user, name, email, tz or "UTC", utc_now()) for user, name, email, tz in people]).rowcount

    def set_role(self, workspace: str, user_id: str, role: str, actor: str) -> Person:
        if role not in ROLES:
            raise ValueError(f"role must be one of {ROLES}")
        with self.transaction():
            found = self.person(workspace, user_id)
            if found is None:
                raise KeyError(user_id)
            if found.role != role:
                self.db.execute("UPDATE people SET role = ? WHERE workspace = ? AND user_id = ?", [role, workspace, user_id])
                self.log(workspace, None, actor, "role", f"{user_id}: {found.role}", f"{user_id}: {role}")
            return self.person(workspace, user_id)

    # ----- tasks -----------------------------------------------------------------------------

    def create_task(self, workspace: str, control: str, owner: str, assigner: str, due: date | None = None,
                    recurrence: str | None = None, note: str = "", previous_id: int | None = None) -> Task:
        """A new open task numbered next in its workspace; logs an `assign` event."""
        with self.transaction():
            number = self.db.execute(
                "SELECT COALESCE(MAX(id), 0) + 1 FROM tasks WHERE workspace = ?", [workspace]
            ).fetchone()[0]
            now = utc_now()
            self.db.execute(
                "INSERT INTO tasks (workspace, id, control, owner, assigner, due, recurrence, note, previous_id,"
                " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [workspace, number, control, owner, assigner, due.isoformat() if due else None, recurrence, note,
                 previous_id, now, now],
            )
            origin = f"task {previous_id}" if previous_id else ""
            self.log(workspace, number, assigner, "assign", origin, owner)
            return self.task(workspace, number)

    def task(self, workspace: str, task_id: int) -> Task | None:
        rows = self._rows("SELECT * FROM tasks WHERE workspace = ? AND id = ?", [workspace, task_id])
        return _task(rows[0]) if rows else None

    def tasks(self, workspace: str, *, owner: str | None = None, statuses: tuple[str, ...] | None = ACTIVE_STATUSES,
              due_before: date | None = None, due_on_or_before: date | None = None,
              control: str | None = None, limit: int | None = None) -> list[Task]:
        """Tasks of one workspace, by due date (undated last) then number. `statuses=None` means all."""
        where, params = ["workspace = ?"], [workspace]
        if owner is not None:
            where.append("owner = ?"), params.append(owner)
        if statuses:
            where.append(f"status IN ({', '.join('?' * len(statuses))})"), params.extend(statuses)
        if due_before is not None:
            where.append("due < ?"), params.append(due_before.isoformat())
        if due_on_or_before is not None:
            where.append("due <= ?"), params.append(due_on_or_before.isoformat())
        if control is not None:
            where.append("control = ?"), params.append(control)
        sql = f"SELECT * FROM tasks WHERE {' AND '.join(where)} ORDER BY due IS NULL, due, id"
        if limit:
            sql += f" LIMIT {int(limit)}"
        return [_task(r) for r in self._rows(sql, params)]

    def active_task_for(self, workspace: str, control: str) -> Task | None:
        """The open / in-progress / blocked task of a control, if any (a control has one at a time)."""
        found = self.tasks(workspace, control=control, limit=1)
        return found[0] if found else None

    def next_occurrence(self, workspace: str, task_id: int) -> Task | None:
        """The task created when recurring task `task_id` was done."""
        rows = self._rows("SELECT * FROM tasks WHERE workspace = ? AND previous_id = ?", [workspace, task_id])
        return _task(rows[0]) if rows else None

    def control_statuses(self, workspace: str) -> dict[str, set[str]]:
        """control name -> the set of statuses its tasks have (for coverage)."""
        result: dict[str, set[str]] = {}
        for control, status in self.db.execute(
            "SELECT DISTINCT control, status FROM tasks WHERE workspace = ?", [workspace]
        ).fetchall():
            result.setdefault(control, set()).add(status)
        return result

    def update_task(self, workspace: str, task_id: int, actor: str, action: str, *, old: str = "", new: str = "",
                    **changes: Any) -> Task:
        """Change columns of a task and log `action` (old → new) in the event log, in one transaction.
        Dates may be given as `date`; `evidence` as a list."""
        allowed = {"owner", "due", "recurrence", "status", "note", "blocked_reason", "snoozed_until", "evidence",
                   "done_at"}
        if not set(changes) <= allowed:
            raise ValueError(f"cannot change {sorted(set(changes) - allowed)}")
        values = {k: (v.isoformat() if isinstance(v, date) else json.dumps(list(v)) if k == "evidence" else v)
                  for k, v in changes.items()}
        with self.transaction():
            if self.task(workspace, task_id) is None:
                raise KeyError(task_id)
            values["updated_at"] = utc_now()
            sets = ", ".join(f"{k} = ?" for k in values)
            self.db.execute(f"UPDATE tasks SET {sets} WHERE workspace = ? AND id = ?",
                            [*values.values(), workspace, task_id])
            self.log(workspace, task_id, actor, action, old, new)
            return self.task(workspace, task_id)

    def count_tasks(self, workspace: str) -> int:
        return self.db.execute("SELECT COUNT(*) FROM tasks WHERE workspace = ?", [workspace]).fetchone()[0]

    # ----- event log ------------------------------------------------------------------------

    def log(self, workspace: str, task_id: int | None, actor: str, action: str, old: str = "", new: str = "") -> None:
        """Append to the audit log (it cannot be updated or deleted: triggers refuse)."""
        self.db.execute(
            "INSERT INTO events (workspace, task_id, actor, action, old, new, at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [workspace, task_id, actor, action, old or "", new or "", utc_now()],
        )

    def events(self, workspace: str, task_id: int | None = None) -> list[Event]:
        sql, params = "SELECT * FROM events WHERE workspace = ?", [workspace]
        if task_id is not None:
            sql, params = sql + " AND task_id = ?", params + [task_id]
        return [Event(**row) for row in self._rows(sql + " ORDER BY id", params)]

    # ----- not applicable (SoA) -------------------------------------------------------------

    def set_na(self, workspace: str, control: str, justification: str, actor: str) -> NaDecision:
        """Record that a control (or an Annex A reference) is not applicable, with why."""
        with self.transaction():
            before = self.na_decisions(workspace).get(control)
            self.db.execute(
                "INSERT INTO na_decisions (workspace, control, justification, actor, at) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (workspace, control) DO UPDATE SET justification = excluded.justification,"
                " actor = excluded.actor, at = excluded.at",
                [workspace, control, justification, actor, utc_now()],
            )
            self.log(workspace, None, actor, "na", before.justification if before else "", f"{control}: {justification}")
            return self.na_decisions(workspace)[control]

    def clear_na(self, workspace: str, control: str, actor: str) -> NaDecision | None:
        """Undo a not-applicable decision (`applicable`); the log keeps the justification it had."""
        with self.transaction():
            before = self.na_decisions(workspace).get(control)
            if before:
                self.db.execute("DELETE FROM na_decisions WHERE workspace = ? AND control = ?", [workspace, control])
                self.log(workspace, None, actor, "applicable", f"{control}: {before.justification}", control)
            return before

    def na_decisions(self, workspace: str) -> dict[str, NaDecision]:
        rows = self._rows("SELECT * FROM na_decisions WHERE workspace = ?", [workspace])
        return {row["control"]: NaDecision(**row) for row in rows}

    # ----- sent-log (exactly-once nudges: claimed, sent and retried by bot/delivery.py) --------------

    def sent(self, key: str) -> dict | None:
        rows = self._rows("SELECT * FROM sent_log WHERE key = ?", [key])
        return rows[0] if rows else None

    # ----- digest subscriptions --------------------------------------------------------------

    def subscribe_digest(self, workspace: str, platform: str, channel: str, weekdays: str = "mon",
                         time: str = "09:00", tz: str = "", created_by: str = "") -> dict:
        tz = tz or self.default_tz
        with self.transaction():
            self.db.execute(
                "INSERT INTO digests (workspace, platform, channel, weekdays, time, tz, created_by, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (workspace, platform, channel) DO UPDATE SET"
                " weekdays = excluded.weekdays, time = excluded.time, tz = excluded.tz",
                [workspace, platform, channel, weekdays, time, tz, created_by, utc_now()],
            )
            return self._rows("SELECT * FROM digests WHERE workspace = ? AND platform = ? AND channel = ?",
                              [workspace, platform, channel])[0]

    def unsubscribe_digest(self, workspace: str, platform: str, channel: str) -> bool:
        return bool(self.db.execute("DELETE FROM digests WHERE workspace = ? AND platform = ? AND channel = ?",
                                    [workspace, platform, channel]).rowcount)

    def digests(self, workspace: str | None = None) -> list[dict]:
        """Digest subscriptions of one workspace, or of all (for the scheduler) when None."""
        if workspace is None:
            return self._rows("SELECT * FROM digests ORDER BY id")
        return self._rows("SELECT * FROM digests WHERE workspace = ? ORDER BY id", [workspace])

    # ----- tests and diagnostics -------------------------------------------------------------

    def dump(self) -> str:
        """Every row of every table, in a stable order: tests compare it before and after a command.
        Receipts of Slack requests are left out: the edge writes one before any command runs."""
        lines = []
        for table in sorted(set(self.db.table_names()) - {"slack_requests"}):
            lines.append(f"-- {table}")
            lines.extend(sorted(repr(row) for row in self.db.execute(f"SELECT * FROM [{table}]").fetchall()))
        return "\n".join(lines)


def _statements(script: str) -> list[str]:
    """Split a migration script into statements (sqlite3.complete_statement keeps triggers whole)."""
    statements, current = [], ""
    for line in script.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            if current.strip():
                statements.append(current.strip())
            current = ""
    if current.strip():
        statements.append(current.strip())
    return statements
