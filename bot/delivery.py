"""Exactly-once delivery of the messages the bot starts by itself (nudges, digests): claim → send → record.

1. Claim. Every message carries one or more natural keys (`nudge:{workspace}:{task}:{kind}:{date}`,
   `digest:{workspace}:{subscription}:{date}`). In one `BEGIN IMMEDIATE` transaction the keys are
   claimed in the sent-log with `INSERT OR IGNORE` and the message (what to say, to whom) is written to
   the outbox. Only keys this caller inserted go into the message; if it inserted none, there is no
   message. Two ticks running at once (threads, processes) therefore never claim the same key.
2. Send. First the steps that cannot deliver anything: a Sender may have `async prepare(outgoing)
   -> Outgoing` (Slack opens the DM with conversations.open there). Just before the message itself
   leaves, `send_started_at` is committed and the attempt counted (for a batch of up to SEND_BATCH
   messages sent concurrently, in one commit), then `send` posts it.
3. Record. `sent` with the time, or `failed` with the error's type and status (never its text, which
   may carry user data) and `next_attempt_at`: exponential back-off from RETRY_BASE, at least the
   platform's `Retry-After`, up to MAX_ATTEMPTS, then the message is given up and logged as an error.
   A batch's outcomes are committed as soon as its sends have returned (two commits per batch).

Crashes. A claim holds a lease (LEASE). The process dying between claim and send (while preparing
included, e.g. during conversations.open) leaves `claimed` rows with no `send_started_at`: nothing
went out, so once the lease has expired the next tick sends them, once. Dying between send and record leaves `send_started_at` set: the platform may or may not
have the message. We never resend those blindly: if the platform's Sender can tell
(`async was_delivered(outgoing) -> bool | None`) we ask it; otherwise the rows are recorded `sent`
with the note "unconfirmed" and a warning is logged. That is the trade-off chosen: a duplicate DM
annoys a person every time, while a nudge lost between committing `send_started_at` and the post
leaving (the commit and one request; at most one batch) is followed by the next rung anyway.

After downtime nothing bursts: the reminder rules only ever produce the latest rung of each task
(see handlers/reminders.py), and the outbox holds at most the messages claimed before the stop.
"""
from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import Callable, Iterable, Mapping, NamedTuple, Sequence

from bot import logs
from handlers.ports import Sender
from handlers.types import Action, Outgoing, Reply, Section

LEASE = timedelta(minutes=5)  # longer than any send may take; a claim older than this is orphaned
RETRY_BASE = timedelta(seconds=30)
RETRY_CAP = timedelta(hours=1)
MAX_ATTEMPTS = 8
SEND_BATCH = 20  # messages sent concurrently, and marked started / recorded sent in one commit each
FALLBACK = "*"  # app[RUNTIME].senders["*"]: the sender for platforms with no sender of their own (the log)


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds")


# -- Reply <-> JSON (the outbox keeps exactly what was decided, so a retry sends the same message) --


_ENCODE = json.JSONEncoder(ensure_ascii=False, check_circular=False).encode  # replies hold no cycles


def reply_to_json(reply: Reply) -> str:
    # The dataclasses' own field dicts (vars), not dataclasses.asdict, which deep-copies and is 20x
    # slower on a busy morning: the JSON keys are the field names of Reply, Section and Action.
    actions = lambda items: [vars(a) for a in items]  # noqa: E731
    sections = [{**vars(s), "actions": actions(s.actions)} for s in reply.sections]
    return _ENCODE({**vars(reply), "sections": sections, "actions": actions(reply.actions)})


def reply_from_json(text: str) -> Reply:
    data = json.loads(text)
    actions = lambda items: tuple(Action(**a) for a in items)  # noqa: E731
    sections = tuple(
        Section(s["title"], tuple(s["lines"]), s["progress"], actions(s["actions"])) for s in data["sections"]
    )
    return Reply(data["text"], sections, actions(data["actions"]), data["ephemeral"], data["kind"])


# -- claim -----------------------------------------------------------------------------------------


class Claim(NamedTuple):  # a tuple: a busy morning makes tens of thousands
    key: str
    task_id: int | None = None
    kind: str = ""


@dataclass(frozen=True)
class Draft:
    """A message to queue if any of its keys can still be claimed; `compose(indexes won)` writes it."""

    workspace: str
    platform: str
    claims: Sequence[Claim]
    compose: Callable[[list[int]], Reply]
    user: str = ""
    channel: str = ""
    ready: tuple[Reply, str] | None = None  # composed as if every key is won, and as JSON (see prepared)


def prepared(draft: Draft) -> Draft:
    """The draft with its message composed as if every key will be won (the usual case) and turned
    into JSON, so that claiming holds the write lock only for the writes. A tick prepares one
    workspace's drafts while the database reads the next workspace's candidates."""
    reply = draft.compose(list(range(len(draft.claims))))
    return replace(draft, ready=(reply, reply_to_json(reply)))


def claim_all(store, drafts: Iterable[Draft], now: datetime, composed: dict | None = None) -> list[int]:
    """Claim the keys of every draft in ONE transaction and queue a message for each draft that won
    any; the message holds only what its caller won. Returns the new message ids; `composed`, when
    given, receives each new message as an Outgoing (so the sender need not read it back)."""
    claimed_at, lease_until = _iso(now), _iso(now + LEASE)
    # Composed before the transaction (see prepared); a draft that loses keys to another tick is composed again.
    ready = [draft if draft.ready else prepared(draft) for draft in drafts]
    message_ids = []
    with store.transaction():
        conn = store.db.conn
        for draft in ready:
            reply, reply_json = draft.ready
            message_id = conn.execute(
                "INSERT INTO outbox (workspace, platform, user, channel, reply, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                [draft.workspace, draft.platform, draft.user, draft.channel, reply_json, claimed_at],
            ).lastrowid
            inserted = conn.executemany(
                "INSERT OR IGNORE INTO sent_log (key, workspace, task_id, kind, claimed_at, attempts, message_id,"
                " lease_until) VALUES (?, ?, ?, ?, ?, 0, ?, ?)",
                [(c.key, draft.workspace, c.task_id, c.kind, claimed_at, message_id, lease_until) for c in draft.claims],
            ).rowcount
            won = list(range(len(draft.claims)))
            if inserted != len(draft.claims):  # someone else holds some keys: the message says only ours
                won_keys = {row[0] for row in conn.execute("SELECT key FROM sent_log WHERE message_id = ?", [message_id])}
                won = [index for index in won if draft.claims[index].key in won_keys]
                if not won:
                    conn.execute("DELETE FROM outbox WHERE id = ?", [message_id])
                    continue
                reply = draft.compose(won)
                conn.execute("UPDATE outbox SET reply = ? WHERE id = ?", [reply_to_json(reply), message_id])
            message_ids.append(message_id)
            if composed is not None:
                keys = sorted(draft.claims[index].key for index in won)
                composed[message_id] = Outgoing(draft.workspace, reply, user=draft.user, channel=draft.channel,
                                                platform=draft.platform, key=_message_key(keys, message_id),
                                                tags=tuple(keys))
    return message_ids


def claim(store, draft: Draft, now: datetime) -> int | None:
    """Claim one draft: its message id, or None when every key was already claimed."""
    found = claim_all(store, [draft], now)
    return found[0] if found else None


# -- send and record -------------------------------------------------------------------------------


class Senders:
    """The platform senders of the app (`app[RUNTIME].senders`), with the log as fallback where configured."""

    def __init__(self, senders: Mapping[str, Sender]):
        self._senders = senders

    def get(self, platform: str) -> Sender | None:
        return self._senders.get(platform) or self._senders.get(FALLBACK)

    def can_send(self, platform: str) -> bool:
        return self.get(platform) is not None


def outgoing(store, message_id: int) -> Outgoing | None:
    row = store.db.execute(
        "SELECT workspace, platform, user, channel, reply FROM outbox WHERE id = ?", [message_id]
    ).fetchone()
    if row is None:
        return None
    keys = [r[0] for r in store.db.execute("SELECT key FROM sent_log WHERE message_id = ? ORDER BY key", [message_id])]
    workspace, platform, user, channel, reply = row
    return Outgoing(workspace, reply_from_json(reply), user=user, channel=channel, platform=platform,
                    key=_message_key(keys, message_id), tags=tuple(keys))


def _message_key(keys: Sequence[str], message_id: int) -> str:
    return keys[0] if len(keys) == 1 else f"message:{message_id}"


def _take_lease(store, message_id: int, now: datetime, condition: str) -> bool:
    """Atomically take the lease of a message whose rows match `condition`; False if someone else has it."""
    with store.transaction():
        return bool(store.db.execute(
            f"UPDATE sent_log SET lease_until = ? WHERE message_id = ? AND {condition}",
            [_iso(now + LEASE), message_id, _iso(now)],
        ).rowcount)


# Each starts with the partial index's own condition: SQLite uses sent_log_pending only when the query
# repeats it (it does not infer it from status = 'claimed'); otherwise every tick walks the whole log.
READY_FIRST = "status != 'sent' AND status = 'claimed' AND send_started_at IS NULL AND lease_until <= ?"
READY_RETRY = "status != 'sent' AND status = 'failed' AND next_attempt_at IS NOT NULL AND next_attempt_at <= ?"
IN_DOUBT = "status != 'sent' AND status = 'claimed' AND send_started_at IS NOT NULL AND lease_until <= ?"


async def send(store, senders: Senders, message_id: int, now: datetime) -> bool:
    """Send one claimed message whose lease the caller holds, and record the outcome. True if sent."""
    return await send_batch(store, senders, [message_id], now) == 1


async def send_batch(store, senders: Senders, message_ids: Sequence[int], now: datetime,
                     composed: Mapping[int, Outgoing] | None = None) -> int:
    """Send claimed messages whose leases the caller holds, SEND_BATCH at a time concurrently: the
    batch is prepared (nothing leaves), one commit marks the messages about to leave started (and
    records a retry for those whose preparation failed), they are sent, and one commit records the
    outcomes. Returns how many were sent. A crash while preparing leaves the batch claimed and unsent
    (sent once the lease lapses); a crash while sending leaves it in doubt (see above)."""
    sent = 0
    for start in range(0, len(message_ids), SEND_BATCH):  # store work on the store's thread (see bot/store.py)
        ready = await store.call(_ready, store, senders, message_ids[start:start + SEND_BATCH], composed or {})
        if not ready:
            continue
        prepared = await _gather(_prepare(sender, message) for _, message, sender in ready)
        leaving = [(message_id, message, sender) for (message_id, _, sender), message in zip(ready, prepared)
                   if not isinstance(message, Exception)]
        await store.call(_mark_leaving, store, ready, prepared, now)
        outcomes = await _gather(sender.send(message) for _, message, sender in leaving)
        sent += await store.call(_record, store, [(message_id, message, outcome) for (message_id, message, _), outcome
                                                  in zip(leaving, outcomes)], now)
    return sent


def _mark_leaving(store, ready: Sequence[tuple], prepared: Sequence, now: datetime) -> None:
    """One commit: every try counts, the prepared messages are started, failed preparations retried."""
    with store.transaction():
        store.db.conn.executemany(
            "UPDATE sent_log SET attempts = attempts + 1, send_started_at = ? WHERE message_id = ?",
            [(_iso(now) if not isinstance(message, Exception) else None, message_id)
             for (message_id, _, _), message in zip(ready, prepared)],
        )
        _record_outcomes(store, [(message_id, message, failure) for (message_id, message, _), failure
                                 in zip(ready, prepared) if isinstance(failure, Exception)], now)


def _record(store, finished: Sequence[tuple[int, Outgoing, object]], now: datetime) -> int:
    with store.transaction():
        return _record_outcomes(store, finished, now)


async def _gather(calls: Iterable) -> list:
    """Results or Exceptions, in order; anything else (the process is stopping) propagates, leaving
    the batch's records as they are."""
    outcomes = await asyncio.gather(*calls, return_exceptions=True)
    for outcome in outcomes:
        if isinstance(outcome, BaseException) and not isinstance(outcome, Exception):
            raise outcome
    return outcomes


async def _prepare(sender: Sender, message: Outgoing) -> Outgoing:
    """The sender's steps before the message itself leaves (see the module docstring), if it has any."""
    prepare = getattr(sender, "prepare", None)
    return await prepare(message) if prepare is not None else message


def _ready(store, senders: Senders, message_ids: Sequence[int], composed: Mapping[int, Outgoing]) -> list:
    """(message id, message, sender) for each message whose platform has a sender in this process."""
    ready = []
    for message_id in message_ids:
        message = composed.get(message_id) or outgoing(store, message_id)
        sender = senders.get(message.platform) if message else None
        if sender is None:  # that platform is not configured in this process; the lease will lapse
            logs.event("delivery.no_sender", logging.WARNING, message=message_id)
            continue
        ready.append((message_id, message, sender))
    return ready


def _record_outcomes(store, finished: Sequence[tuple[int, Outgoing, object]], now: datetime) -> int:
    """Inside the caller's transaction: `sent` for each success, a retry time (or giving up) for each
    failure. Returns how many were sent; logs after the writes, as the caller commits them next."""
    done = [(message_id, message) for message_id, message, outcome in finished if outcome is None]
    store.db.conn.executemany(
        "UPDATE sent_log SET status = 'sent', sent_at = ?, lease_until = NULL, next_attempt_at = NULL,"
        " last_error = '' WHERE message_id = ?",
        [(_iso(now), message_id) for message_id, _ in done],
    )
    for message_id, message, outcome in finished:
        if isinstance(outcome, Exception):  # any platform failure is retried; the process keeps going
            _record_failure(store, message, message_id, outcome, now)
    for _, message in done:
        logs.event("delivery.sent", platform=message.platform, workspace=message.workspace, key=message.key)
    return len(done)


def _record_failure(store, message: Outgoing, message_id: int, error: Exception, now: datetime) -> None:
    attempts = store.db.execute(
        "SELECT MAX(attempts) FROM sent_log WHERE message_id = ?", [message_id]
    ).fetchone()[0] or 1
    wait = backoff(attempts, retry_after_of(error))
    give_up = attempts >= MAX_ATTEMPTS
    with store.transaction():  # joins the caller's transaction
        store.db.execute(
            "UPDATE sent_log SET status = 'failed', last_error = ?, lease_until = NULL, send_started_at = NULL,"
            " next_attempt_at = ? WHERE message_id = ?",
            [describe_failure(error), None if give_up else _iso(now + wait), message_id],
        )
    logs.event(
        "delivery.gave_up" if give_up else "delivery.retry", logging.ERROR if give_up else logging.WARNING,
        platform=message.platform, workspace=message.workspace, key=message.key, attempts=attempts,
        error=describe_failure(error), retry_in_s=None if give_up else int(wait.total_seconds()),
    )


def backoff(attempts: int, retry_after: float | None) -> timedelta:
    """30 s, 1 min, 2 min, … up to an hour; never sooner than the platform's Retry-After."""
    wait = min(RETRY_BASE * (2 ** max(attempts - 1, 0)), RETRY_CAP)
    return max(wait, timedelta(seconds=retry_after or 0))


def _response(error: Exception):
    return getattr(error, "response", None)


def status_of(error: Exception) -> int | None:
    """The HTTP status behind a platform error (slack_sdk, aiohttp, msrest), when there is one."""
    for holder in (error, _response(error)):
        for name in ("status_code", "status"):
            value = getattr(holder, name, None)
            if isinstance(value, int):
                return value
    return None


def retry_after_of(error: Exception) -> float | None:
    """Seconds the platform asked us to wait (`Retry-After`), from the error or its response."""
    given = getattr(error, "retry_after", None)
    if given is None:
        for holder in (error, _response(error)):
            headers = getattr(holder, "headers", None)
            if headers:
                given = headers.get("Retry-After") or headers.get("retry-after")
                if given is not None:
                    break
    try:
        return max(float(given), 0.0) if given is not None else None
    except (TypeError, ValueError):
        return None


def describe_failure(error: Exception) -> str:
    """Type and HTTP status only: an error's text may quote the message or a token."""
    status = status_of(error)
    return type(error).__name__ + (f" HTTP {status}" if status else "")


# -- the delivery pass of a tick -----------------------------------------------------------------


def _messages(store, condition: str, now: datetime) -> list[int]:
    rows = store.db.execute(
        f"SELECT DISTINCT message_id FROM sent_log WHERE {condition} AND message_id IS NOT NULL ORDER BY message_id",
        [_iso(now)],
    ).fetchall()
    return [row[0] for row in rows]


async def settle_in_doubt(store, senders: Senders, now: datetime) -> None:
    """Messages whose sender died mid-send: ask the platform if it can tell, else never resend."""
    for message_id in await store.call(_messages, store, IN_DOUBT, now):
        message = await store.call(_leased_message, store, message_id, now, IN_DOUBT)
        if message is False:
            continue
        sender = senders.get(message.platform) if message else None
        delivered = await _was_delivered(sender, message)
        await store.call(_settle, store, message_id, delivered, now)
        if delivered is None:
            logs.event("delivery.unconfirmed", logging.WARNING, workspace=message.workspace if message else None,
                       key=message.key if message else None)


def _leased_message(store, message_id: int, now: datetime, condition: str) -> Outgoing | None | bool:
    """The message once its lease is taken (None if its outbox row is gone), False if someone has it."""
    return outgoing(store, message_id) if _take_lease(store, message_id, now, condition) else False


def _settle(store, message_id: int, delivered: bool | None, now: datetime) -> None:
    with store.transaction():
        if delivered is False:
            store.db.execute(
                "UPDATE sent_log SET status = 'failed', send_started_at = NULL, next_attempt_at = ?,"
                " last_error = 'not delivered: the process stopped while sending' WHERE message_id = ?",
                [_iso(now), message_id],
            )
            return
        note = "" if delivered else "unconfirmed: the process stopped while sending; not resent to avoid a duplicate"
        store.db.execute(
            "UPDATE sent_log SET status = 'sent', sent_at = COALESCE(send_started_at, ?), lease_until = NULL,"
            " last_error = ? WHERE message_id = ?",
            [_iso(now), note, message_id],
        )


async def _was_delivered(sender, message: Outgoing | None) -> bool | None:
    """The platform's answer to "did this message arrive?", or None when it cannot tell."""
    check = getattr(sender, "was_delivered", None)
    if check is None or message is None:
        return None
    try:
        return await check(message)
    except Exception as error:  # cannot tell: treat as unknown, never as "send again"
        logs.event("delivery.check_failed", logging.WARNING, error=describe_failure(error))
        return None


async def deliver_pending(store, senders: Senders, now: datetime) -> int:
    """Send every message that is due: orphaned claims whose lease lapsed and failed sends due a retry."""
    return await send_batch(store, senders, await store.call(_lease_due, store, senders, now), now)


def _lease_due(store, senders: Senders, now: datetime) -> list[int]:
    leased = []
    for condition in (READY_FIRST, READY_RETRY):
        for message_id in _messages(store, condition, now):
            platform = store.db.execute("SELECT platform FROM outbox WHERE id = ?", [message_id]).fetchone()
            if platform is None or not senders.can_send(platform[0]):
                continue
            if _take_lease(store, message_id, now, condition):
                leased.append(message_id)
    return leased
