"""Conversation memory's table and its queries: the subject of the last answer each person got in each
conversation (`handlers/memory.py` decides what a conversation is and how long a subject is kept).
`Store` inherits these methods; the SQL of this table lives here only.

A question runs on the event loop, which never touches the store's connection (docs/architecture.md,
SQLite and the event loop): there a subject is read on a read-only connection (in WAL mode never held up
by the write lock) and written on the store's worker thread without waiting. Until that write is done,
this process answers from `unwritten`, so the next turn sees the subject at once. Off the loop (the
console, a command's turn) both happen in place.

Old rows go cheaply: every save first deletes the expired rows through the index on `expires_at` (a range
scan that finds the few rows expired since the last save), so the table holds about one row per person
active in the last window, with no sweep job (the console and web instances without a scheduler save too).
"""
from __future__ import annotations

import asyncio
import logging
import threading

log = logging.getLogger(__name__)

CONVERSATION_SUBJECTS_SCHEMA = """
CREATE TABLE conversation_subjects (
    workspace TEXT NOT NULL,
    conversation TEXT NOT NULL,  -- handlers.memory.conversation_of: platform, channel or chat, thread
    user_id TEXT NOT NULL,
    subject TEXT NOT NULL,  -- Reply.subject: compact JSON from knowledge.answer
    expires_at REAL NOT NULL,  -- unix seconds
    PRIMARY KEY (workspace, conversation, user_id)
);
CREATE INDEX conversation_subjects_by_expiry ON conversation_subjects (expires_at);
"""
_SELECT = ("SELECT subject FROM conversation_subjects WHERE workspace = ? AND conversation = ? AND user_id = ?"
           " AND expires_at > ?")
_UNWRITTEN_LOCK = threading.Lock()  # guards each store's `unwritten` (the loop reads, the worker clears)


def _on_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
        return True
    except RuntimeError:
        return False


class SubjectStore:
    """Mixed into `bot.store.Store` (it provides db, path, transaction, _read and _writer)."""

    def subject_for(self, workspace: str, conversation: str, user: str, now: float) -> str:
        """The subject kept for this person in this conversation of this workspace, "" when none or expired."""
        with _UNWRITTEN_LOCK:
            waiting = self._unwritten().get((workspace, conversation, user))
        if waiting is not None:
            subject, until = waiting
            return subject if until > now else ""
        params = [workspace, conversation, user, now]
        if self.path == ":memory:" or not _on_event_loop():  # one connection only / off the loop: in place
            row = self.db.execute(_SELECT, params).fetchone()
        else:
            row = self._read(lambda conn: conn.execute(_SELECT, params).fetchone())
        return row[0] if row else ""

    def keep_subject(self, workspace: str, conversation: str, user: str, subject: str, now: float,
                     until: float) -> None:
        """Keep `subject` until `until` in place of the person's previous one; forget what expired."""
        key, value = (workspace, conversation, user), (subject, until)
        if not _on_event_loop():
            self._write_subject(key, value, now)
            return
        with _UNWRITTEN_LOCK:
            self._unwritten()[key] = value
        self._writer.submit(self._write_subject, key, value, now).add_done_callback(
            lambda done: self._written(key, value, done))

    def _write_subject(self, key: tuple[str, str, str], value: tuple[str, float], now: float) -> None:
        with self.transaction():
            self.db.execute("DELETE FROM conversation_subjects WHERE expires_at <= ?", [now])
            self.db.execute(
                "INSERT INTO conversation_subjects (workspace, conversation, user_id, subject, expires_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (workspace, conversation, user_id) DO UPDATE SET"
                " subject = excluded.subject, expires_at = excluded.expires_at", [*key, *value])

    def _written(self, key: tuple[str, str, str], value: tuple[str, float], done) -> None:
        with _UNWRITTEN_LOCK:
            if self._unwritten().get(key) == value:  # not replaced by a newer subject meanwhile
                del self._unwritten()[key]
        if done.exception() is not None:  # e.g. the write lock held past busy_timeout: this subject is lost
            log.warning("conversation memory not saved in workspace %s: %s", key[0], type(done.exception()).__name__)

    def _unwritten(self) -> dict[tuple[str, str, str], tuple[str, float]]:
        """Subjects handed to the worker thread and not yet written (call with _UNWRITTEN_LOCK held)."""
        return vars(self).setdefault("_unwritten_subjects", {})
