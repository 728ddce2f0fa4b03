"""Conversation memory's table and its queries: the subject of the last answer each person got in each
conversation (`handlers/memory.py` decides what a conversation is and how long a subject is kept).
`Store` inherits these methods; the SQL of this table lives here only.

Old rows go cheaply: every save first deletes the expired rows through the index on `expires_at` (a range
scan that finds the few rows expired since the last save), so the table holds about one row per person
active in the last window, with no sweep job (the console and web instances without a scheduler save too).
"""
from __future__ import annotations

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


class SubjectStore:
    """Mixed into `bot.store.Store` (it provides db and transaction)."""

    def subject_for(self, workspace: str, conversation: str, user: str, now: float) -> str:
        """The subject kept for this person in this conversation of this workspace, "" when none or expired."""
        row = self.db.execute(
            "SELECT subject FROM conversation_subjects WHERE workspace = ? AND conversation = ? AND user_id = ?"
            " AND expires_at > ?", [workspace, conversation, user, now]).fetchone()
        return row[0] if row else ""

    def keep_subject(self, workspace: str, conversation: str, user: str, subject: str, now: float,
                     until: float) -> None:
        """Keep `subject` until `until` in place of the person's previous one; forget what expired."""
        with self.transaction():
            self.db.execute("DELETE FROM conversation_subjects WHERE expires_at <= ?", [now])
            self.db.execute(
                "INSERT INTO conversation_subjects (workspace, conversation, user_id, subject, expires_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (workspace, conversation, user_id) DO UPDATE SET"
                " subject = excluded.subject, expires_at = excluded.expires_at",
                [workspace, conversation, user, subject, until])
