"""The one scheduler of `complybot serve`: a short tick for nudges and a CronTrigger per digest subscription.

The database is the truth. The tick (every TICK_SECONDS) reads open tasks and people, asks
`handlers.reminders` who is due a nudge now and `handlers.evidence` whose evidence is going stale,
claims and sends through `bot.delivery`, retries what failed, and catches up digests missed while
the process was down. The digest crons only make digests
punctual; both paths claim the same key (`digest:{workspace}:{subscription}:{local date}`), so a digest
goes out once. Digest jobs are rebuilt from the `digests` table at start and whenever it changes (the
tick compares a fingerprint), so `digest here …` in chat takes effect within a tick.

Exactly one process may schedule per database (see docs/architecture.md); two ticks at once are
harmless anyway because every send is claimed first.
"""
from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import logging
import sqlite3
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Iterator, Mapping, NamedTuple

from bot import logs
from bot.delivery import (Claim, Draft, Senders, claim, claim_all, deliver_pending, prepared, send, send_batch,
                          settle_in_doubt)
from bot.runtime import RUNTIME
from handlers import campaigns, evidence, reminders
from handlers.reminders import Ladder, OpenTask, Person

TICK_SECONDS = 60
MISFIRE_GRACE_SECONDS = 6 * 3600  # a job due while the loop was busy or asleep still runs, once
DIGEST_CATCH_UP = timedelta(days=6)  # a digest missed during downtime goes out late, within the week
SHUTDOWN_WAIT_SECONDS = 20.0
ACTIVE = ("open", "in_progress")  # blocked, done and not-applicable tasks get no nudges


# -- reading the store ---------------------------------------------------------------------------


def _utc_date(stamp: str | None) -> date | None:
    return date.fromisoformat(stamp[:10]) if stamp else None


def workspaces(store) -> list[dict]:
    return store.workspaces()


def owner_rung_key_sql(ladder: Ladder, today: str = ":today") -> str:
    """SQL for the sent-log key of the owner's current rung, NULL before the first one. It mirrors
    `handlers.reminders.owner_rung` (tests/test_reminders.py checks they agree day by day) so the
    database can skip tasks whose current rung is already claimed; Python still decides."""
    left = f"CAST(julianday(t.due) - julianday({today}) AS INTEGER)"
    befores = " ".join(f"WHEN {left} <= {days} THEN 'before-{days}:' || date(t.due, '-{days} days')"
                       for days in sorted(ladder.before))
    before = f"CASE {befores} END" if befores else "NULL"
    step = f"((-{left}) - (-{left}) % {ladder.overdue_every})" if ladder.overdue_every else "0"
    overdue = (f"CASE WHEN {step} = 0 THEN 'due:' || t.due"
               f" ELSE 'overdue-' || {step} || ':' || date(t.due, '+' || {step} || ' days') END")
    return f"'nudge:' || t.workspace || ':' || t.id || ':' || CASE WHEN {left} > 0 THEN {before} ELSE {overdue} END"


class Candidate(NamedTuple):
    """An open task that may owe a nudge, and which of its keys the sent-log does not hold yet."""

    task: OpenTask
    owner_unclaimed: bool  # the owner's current rung (and the owner is in an awake zone)
    escalation_unclaimed: bool  # the escalation, for at least one of the people it goes to


_CANDIDATE_COLUMNS = ("t.id, t.control, t.due, t.status, t.snoozed_until, t.created_at, t.owner, o.tz, o.name,"
                      " t.assigner, a.tz, a.name")
_CANDIDATE_SQL = (  # one JSON text per query: see CandidateReader
    f"SELECT json_group_array(json_array({_CANDIDATE_COLUMNS}))"
    " FROM tasks t JOIN people o ON o.workspace = t.workspace AND o.user_id = t.owner"
    " LEFT JOIN people a ON a.workspace = t.workspace AND a.user_id = t.assigner"
    " WHERE t.workspace = :{p}workspace AND t.status IN ('open', 'in_progress') AND t.due <= :{p}up_to"
    " AND (t.snoozed_until IS NULL OR t.snoozed_until <= :{p}today) AND "
)
Query = tuple[str, dict]


def candidate_queries(workspace: str, ladder: Ladder, today: date, zones: list[str], admin_count: int,
                      tag: str = "") -> list[Query]:
    """The SQL for the active, unsnoozed tasks of one workspace that may owe someone a nudge on
    `today` (the local date in `zones`, the awake time zones): first those whose owner's current
    rung is not claimed yet, then (with escalation on) those whose escalation is due and not yet
    claimed for everyone it goes to. A superset: the ladder's exact rules are applied in
    `handlers.reminders`. Two range scans on the index (workspace, status, due), one per question,
    so each task is known to owe which of the two: a task whose owner is due a new rung does not
    bring its escalation of last week along (on a busy morning, most overdue tasks). `tag` prefixes
    the parameter names, so that several queries can share one statement."""
    def named(prefix: str, up_to: date) -> dict:
        return {f"{prefix}workspace": workspace, f"{prefix}today": today.isoformat(), f"{prefix}up_to": up_to.isoformat()}

    zone_params = {f"{tag}z{i}": zone for i, zone in enumerate(zones)}
    queries = [(_CANDIDATE_SQL.replace("{p}", tag) + f"o.tz IN ({', '.join(':' + name for name in zone_params)})"
                f" AND NOT EXISTS (SELECT 1 FROM sent_log s WHERE s.key = {owner_rung_key_sql(ladder, f':{tag}today')})",
                {**named(tag, today + timedelta(days=ladder.horizon)), **zone_params})]
    if ladder.escalate_after:
        tag += "esc_"  # its own parameter names: its range ends elsewhere
        prefix = (f"'nudge:' || t.workspace || ':' || t.id || ':escalate:' || "
                  f"date(t.due, '+{ladder.escalate_after} days') || ':'")
        queries.append((  # an assigner's key is known exactly; admins' share a prefix
            _CANDIDATE_SQL.replace("{p}", tag) + "CASE WHEN a.user_id IS NOT NULL AND t.assigner != t.owner"
            f" THEN NOT EXISTS (SELECT 1 FROM sent_log s WHERE s.key = {prefix} || t.assigner)"
            f" ELSE (SELECT COUNT(*) FROM sent_log s WHERE s.key > {prefix} AND s.key < {prefix} || '~')"
            f" < :{tag}admins END",
            {**named(tag, today - timedelta(days=ladder.escalate_after)), f"{tag}admins": admin_count},
        ))
    return queries


def candidates(workspace: str, platform: str, owner_rows: list, escalation_rows: list = ()) -> list[Candidate]:
    """Candidates from the rows of `candidate_queries` (lists of _CANDIDATE_COLUMNS)."""
    escalating = {row[0] for row in escalation_rows}
    people: dict[tuple, Person] = {}  # a workspace has few people and many tasks: one Person each

    def person(user: str, tz: str | None, name: str | None) -> Person:
        found = people.get((user, tz, name))
        if found is None:
            found = people[(user, tz, name)] = Person(user, tz or "UTC", name or "")
        return found

    def candidate(row, owner_unclaimed: bool) -> Candidate:
        (task_id, control, due, status, snoozed, created, owner, owner_tz, owner_name,
         assigner, assigner_tz, assigner_name) = row
        return Candidate(OpenTask(
            id=task_id, workspace=workspace, control=control, due=date.fromisoformat(due), status=status,
            snoozed_until=_utc_date(snoozed), created=_utc_date(created), platform=platform,
            owner=person(owner, owner_tz, owner_name),
            assigner=person(assigner, assigner_tz, assigner_name) if assigner_tz is not None else None,
        ), owner_unclaimed, task_id in escalating)

    owners = {row[0] for row in owner_rows}
    return ([candidate(row, True) for row in owner_rows]
            + [candidate(row, False) for row in escalation_rows if row[0] not in owners])


class CandidateReader:
    """Reads candidates in a worker thread on a connection of its own, so the database reads the
    next workspaces while the event loop's thread composes messages for the last ones (SQLite lets
    go of the GIL while it works). Several workspaces' queries go in ONE statement returning ONE
    JSON text: the worker then needs the GIL a few times per chunk; row by row it would wait for
    the busy composing thread at every row. Its own connection, read-only: a read must never run
    inside a transaction a request holds open on the store's connection. An in-memory store
    cannot be opened twice; it is read on the store's connection, in turn."""

    def __init__(self, store):
        self._store = store
        self._conn = None
        if store.path != ":memory:":
            self._conn = sqlite3.connect(store.path, timeout=30, check_same_thread=False)
            self._conn.execute("PRAGMA query_only = ON")
        self._pending: asyncio.Future | None = None

    def start(self, queries: list[Query]) -> None:
        """Begin reading; `result()` waits for it. One read at a time."""
        sql = "SELECT '[' || " + " || ',' || ".join(f"({query})" for query, _ in queries) + " || ']'"
        params = {name: value for _, named in queries for name, value in named.items()}
        if self._conn is None:
            self._pending = asyncio.get_running_loop().create_future()
            self._pending.set_result(self._read(self._store.db.conn, sql, params))
        else:
            self._pending = asyncio.get_running_loop().run_in_executor(None, self._read, self._conn, sql, params)

    async def result(self) -> list[list]:
        """The rows of each query, in order."""
        pending, self._pending = self._pending, None
        found = json.loads(await pending)
        await asyncio.sleep(0)  # let the server answer requests between chunks
        return found

    @staticmethod
    def _read(conn, sql: str, params: dict) -> str:
        return conn.execute(sql, params).fetchone()[0]

    async def close(self) -> None:
        if self._pending is not None:  # never close the connection under a running read
            await asyncio.gather(self._pending, return_exceptions=True)
        if self._conn is not None:
            self._conn.close()


def admins(store, workspace: str) -> list[Person]:
    rows = store.db.execute(
        "SELECT user_id, tz, name FROM people WHERE workspace = ? AND role = 'admin' AND is_bot = 0 ORDER BY user_id",
        [workspace],
    ).fetchall()
    return [Person(user, tz or store.default_tz, name or "") for user, tz, name in rows]


def zones_by_workspace(store) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for workspace, tz in store.db.execute("SELECT DISTINCT workspace, tz FROM people").fetchall():
        found.setdefault(workspace, set()).add(tz or store.default_tz)
    return found


# -- one tick --------------------------------------------------------------------------------------


@dataclass
class TickResult:
    claimed: list[int] = field(default_factory=list)  # message ids this tick claimed
    sent: int = 0


READ_CHUNK = 10  # workspaces read per statement (see CandidateReader)


@dataclass(frozen=True)
class AwakeWorkspace:
    """A workspace with someone in their working morning now."""

    workspace: str
    platform: str
    ladder: Ladder
    staff: list[Person]
    zones_by_date: dict[date, list[str]]  # the local dates its awake zones are on (nearly always one)

    def queries(self, tag: str) -> list[Query]:
        return [query for number, (today, zones) in enumerate(self.zones_by_date.items())
                for query in candidate_queries(self.workspace, self.ladder, today, zones, len(self.staff),
                                               f"{tag}d{number}_")]


def awake_workspaces(store, senders: Senders, now: datetime) -> list[AwakeWorkspace]:
    zones = zones_by_workspace(store)
    found = []
    for row in workspaces(store):
        workspace, platform = row["id"], row["platform"]
        ladder = Ladder.from_settings(row["settings"])
        awake = [tz for tz in zones.get(workspace, ()) if reminders.in_working_morning(now, tz, ladder)]
        if not awake or not senders.can_send(platform):
            continue
        by_date: dict[date, list[str]] = {}
        for tz in awake:
            by_date.setdefault(reminders.local_now(now, tz).date(), []).append(tz)
        found.append(AwakeWorkspace(workspace, platform, ladder, admins(store, workspace), by_date))
    return found


async def nudge_drafts(store, senders: Senders, now: datetime) -> list[Draft]:
    """A draft message, composed, for everyone due a nudge now. The SQL has already dropped tasks
    whose current rung is claimed; claiming drops whatever another tick took meanwhile. While some
    workspaces' messages are composed here, the next ones' candidates are read."""
    awake = await store.call(awake_workspaces, store, senders, now)
    chunks = [awake[start:start + READ_CHUNK] for start in range(0, len(awake), READ_CHUNK)]
    if not chunks:  # most ticks of the day: open no second connection
        return []
    reader = CandidateReader(store)
    drafts: list[Draft] = []

    def read(chunk: list[AwakeWorkspace]) -> None:
        reader.start([query for number, plan in enumerate(chunk) for query in plan.queries(f"w{number}")])

    try:
        read(chunks[0])
        for index, chunk in enumerate(chunks):
            rows = await reader.result()
            if index + 1 < len(chunks):
                read(chunks[index + 1])
            for plan in chunk:
                count = len(plan.zones_by_date) * (2 if plan.ladder.escalate_after else 1)
                drafts += _workspace_drafts(plan, rows[:count], now)
                rows = rows[count:]
    finally:
        await reader.close()
    return drafts


def _workspace_drafts(plan: AwakeWorkspace, rows: list[list], now: datetime) -> list[Draft]:
    found: dict[int, Candidate] = {}
    step = 2 if plan.ladder.escalate_after else 1  # each local date has an owner query, then maybe an escalation one
    for start in range(0, len(rows), step):
        for candidate in candidates(plan.workspace, plan.platform, *rows[start:start + step]):
            known = found.get(candidate.task.id)
            found[candidate.task.id] = candidate if known is None else known._replace(
                owner_unclaimed=known.owner_unclaimed or candidate.owner_unclaimed,
                escalation_unclaimed=known.escalation_unclaimed or candidate.escalation_unclaimed)
    if not found:
        return []
    nudges = reminders.due_nudges([c.task for c in found.values()], now, lambda _ws: plan.ladder,
                                  lambda _ws: plan.staff, lambda task, escalation: _unclaimed(found[task.id], escalation))
    return [
        prepared(Draft(workspace, plan.platform, [Claim(n.key, n.task.id, n.rung.kind) for n in theirs],
                       compose=lambda won, theirs=theirs: reminders.compose_nudge([theirs[i] for i in won]), user=user))
        for (workspace, user), theirs in reminders.by_recipient(nudges).items()
    ]


def _unclaimed(candidate: Candidate, escalation: bool) -> bool:
    """Whether the SQL saw that key free (claiming still decides; this only spares the work)."""
    return candidate.escalation_unclaimed if escalation else candidate.owner_unclaimed


async def campaign_drafts(store, senders: Senders, directories: Mapping[str, Any], now: datetime) -> list[Draft]:
    """Open a recurring campaign's next round when its anniversary came, read each open campaign's
    audience from the platform when the last read is older than MEMBERS_TTL (late joiners), then a
    draft for each first ask and each nudge due now (handlers.campaigns.due_messages decides, in each
    person's working hours and morning). The store's work runs on its thread, the platforms' on the loop."""
    current = await store.call(open_campaigns, store, senders, now)
    for campaign in current:
        await refresh_members(store, directories, campaign, now)
    return await store.call(_campaign_drafts, store, current, now)


def open_campaigns(store, senders: Senders, now: datetime) -> list:
    """The open campaigns this process can deliver, after opening the recurring rounds that are due."""
    for campaign in store.recurring_campaigns():  # a finished review repeats too
        if senders.can_send(campaign.platform) and campaigns.round_due(campaign, now):
            next_round(store, campaign, now)
    return [campaign for campaign in store.open_campaigns() if senders.can_send(campaign.platform)]


def _campaign_drafts(store, current: list, now: datetime) -> list[Draft]:
    ladders = {row["id"]: Ladder.from_settings(row["settings"]) for row in workspaces(store)}
    drafts = []
    for campaign in current:
        if campaign.workspace not in ladders:
            continue
        pending = store.campaign_pending(campaign.workspace, campaign.id)
        for message in campaigns.due_messages(campaign.workspace, campaign.id, pending, now, ladders[campaign.workspace]):
            if message.kind != "ask" and store.sent(message.key):
                continue
            drafts.append(prepared(Draft(
                campaign.workspace, campaign.platform, [Claim(message.key, None, f"campaign-{message.kind}")],
                compose=lambda _won, c=campaign, m=message: campaigns.compose(c, m), user=message.user)))
    return drafts


def next_round(store, campaign, now: datetime):
    """The same policy and version asked again of the same audience (`policy every year`); a review's
    next round (`every quarter`) of the accounts as the last one left them, for the same reviewer."""
    from handlers.reviews import next_accounts

    following = store.publish_campaign(
        campaign.workspace, kind=campaign.kind, name=campaign.name, url=campaign.url, version=campaign.version,
        platform=campaign.platform, audience=campaign.audience, channel=campaign.channel, owner=campaign.owner,
        due_days=campaign.due_days, recurrence=campaign.recurrence, actor="complybot")
    if campaign.kind == "review":  # the next one repeats (a policy's previous round is superseded)
        store.set_campaign_recurrence(campaign.workspace, campaign.id, None, "complybot")
        store.add_review_accounts(campaign.workspace, following.id,
                                  next_accounts(store.review_accounts(campaign.workspace, campaign.id)))
    if campaign.audience == "people":
        store.add_campaign_people(campaign.workspace, following, store.campaign_users(campaign.workspace, campaign.id),
                                  _iso_utc(now))
    return following


async def refresh_members(store, directories: Mapping[str, Any], campaign, now: datetime) -> None:
    """Read the audience again from the platform (everyone, or a channel) once MEMBERS_TTL has passed."""
    from bot.directory import KnownPeople

    if campaign.audience == "people":
        return
    checked = campaign.members_checked_at
    if checked and now - datetime.fromisoformat(checked) < campaigns.MEMBERS_TTL:
        return
    directory = directories.get(campaign.platform) or KnownPeople(store)
    try:
        users = await directory.members(campaign.workspace, campaign.channel)
    except Exception as error:  # the platform is down or refuses: keep the audience as it is, try later
        logs.event("campaign.members_failed", logging.WARNING, workspace=campaign.workspace,
                   error=logs.describe_exception(error))
        return
    if users is not None:
        added = await store.call(store.add_campaign_people, campaign.workspace, campaign, users, _iso_utc(now))
        if added:
            logs.event("campaign.members", workspace=campaign.workspace, campaign=campaign.id, added=added)


def _iso_utc(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds")


async def claim_nudges(store, senders: Senders, now: datetime, composed: dict | None = None) -> list[int]:
    return await store.call(claim_all, store, await nudge_drafts(store, senders, now), now, composed)


def evidence_drafts(store, awake: list[AwakeWorkspace], now: datetime) -> list[Draft]:
    """A draft for every owner whose stale (or soon stale) evidence reached a rung of the ladder now,
    in awake workspaces; keys already in the sent-log are left out (claiming still decides)."""
    drafts = []
    for plan in awake:
        nudges = [n for n in evidence.due_nudges(evidence.of(store, plan.workspace), now, plan.ladder)
                  if not store.sent(n.key)]
        for user, theirs in evidence.by_owner(nudges).items():
            drafts.append(prepared(Draft(
                plan.workspace, plan.platform, [Claim(n.key, n.evidenced.task_id, n.kind) for n in theirs],
                compose=lambda won, theirs=theirs: evidence.compose_nudge([theirs[i] for i in won]), user=user)))
    return drafts


@contextlib.contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Claiming a busy morning builds some 200,000 small objects (tasks, nudges, sections) that form
    no reference cycles and live until they are sent; the cyclic collector walked them again and
    again (over 100 ms of a one-second tick, measured with gc.callbacks). Reference counting still
    frees everything; the collector resumes when claiming ends, before the sends' network waits."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


async def run_tick(store, senders: Senders, now: datetime, directories: Mapping[str, Any] | None = None) -> TickResult:
    """Settle sends cut short by a crash, claim what is due now, send it, then retry what failed.
    `directories`: the platforms' `handlers.ports.Directory` (campaign audiences), the store's people else."""
    result = TickResult()
    await settle_in_doubt(store, senders, now)
    composed: dict = {}
    asks = await campaign_drafts(store, senders, directories or {}, now)
    evidence = await store.call(evidence_drafts, store, await store.call(awake_workspaces, store, senders, now), now)
    with cyclic_gc_paused():
        result.claimed = (await claim_nudges(store, senders, now, composed)
                          + await store.call(claim_all, store, evidence + asks, now, composed)
                          + await store.call(claim_missed_digests, store, senders, now))
    result.sent = await send_batch(store, senders, result.claimed, now, composed)
    result.sent += await deliver_pending(store, senders, now)
    return result


# -- digests ---------------------------------------------------------------------------------------


def weekday_numbers(weekdays: str) -> list[int]:
    names = reminders.WEEKDAY_NAMES
    return sorted({names.index(day.strip()[:3].lower()) for day in weekdays.split(",") if day.strip()[:3].lower() in names})


def last_occurrence(subscription: Mapping[str, Any], now: datetime) -> datetime | None:
    """The latest scheduled moment of a subscription at or before `now` (aware, in its time zone)."""
    tz = reminders.zone(subscription["tz"])
    local = now.astimezone(tz)
    at = time.fromisoformat(subscription["time"])
    days = weekday_numbers(subscription["weekdays"])
    candidates = []
    for back in range(8):
        day = local.date() - timedelta(days=back)
        if day.weekday() in days:
            moment = datetime.combine(day, at, tzinfo=tz)
            if moment <= local:
                candidates.append(moment)
    return max(candidates, default=None)


def digest_key(subscription: Mapping[str, Any], on: date) -> str:
    return f"digest:{subscription['workspace']}:{subscription['id']}:{on.isoformat()}"


def claim_digest(store, subscription: Mapping[str, Any], on: date, now: datetime) -> int | None:
    from handlers import digest

    draft = Draft(subscription["workspace"], subscription["platform"], [Claim(digest_key(subscription, on), None, "digest")],
                  compose=lambda _won: digest.compose(store, subscription["workspace"], now, subscription["tz"]),
                  channel=subscription["channel"])
    return claim(store, draft, now)


def claim_missed_digests(store, senders: Senders, now: datetime) -> list[int]:
    """Digests whose latest occurrence passed (during downtime, or just now) and was never claimed."""
    message_ids = []
    for subscription in store.digests():
        occurrence = last_occurrence(subscription, now)
        created = datetime.fromisoformat(subscription["created_at"])
        if occurrence is None or occurrence < created or now - occurrence > DIGEST_CATCH_UP:
            continue
        if not senders.can_send(subscription["platform"]):
            continue
        if store.sent(digest_key(subscription, occurrence.date())):
            continue
        message_id = claim_digest(store, subscription, occurrence.date(), now)
        if message_id is not None:
            message_ids.append(message_id)
    return message_ids


def digests_fingerprint(subscriptions: list[dict]) -> tuple:
    return tuple((row["id"], row["weekdays"], row["time"], row["tz"]) for row in subscriptions)


# -- the APScheduler part --------------------------------------------------------------------------


class Scheduler:
    """APScheduler's AsyncIOScheduler with the nudge tick and one cron job per digest subscription."""

    def __init__(self, store, senders: Mapping[str, Any], tick_seconds: float = TICK_SECONDS, clock=None,
                 directories: Mapping[str, Any] | None = None):
        from apscheduler.schedulers.asyncio import AsyncIOScheduler

        from handlers.ports import SystemClock

        self.store = store
        self.senders = Senders(senders)
        self.directories = directories if directories is not None else {}  # platform -> handlers.ports.Directory
        self.clock = clock or SystemClock()
        self.tick_seconds = tick_seconds
        self._fingerprint: tuple | None = None
        self._ticking: asyncio.Task | None = None
        self.scheduler = AsyncIOScheduler(
            timezone=timezone.utc,
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": MISFIRE_GRACE_SECONDS},
        )

    @property
    def running(self) -> bool:
        return self.scheduler.running

    def start(self) -> None:
        from apscheduler.triggers.interval import IntervalTrigger

        self.scheduler.add_job(
            self.tick, IntervalTrigger(seconds=self.tick_seconds, timezone=timezone.utc), id="tick",
            next_run_time=datetime.now(timezone.utc),  # at once: catch up whatever the downtime missed
        )
        self.sync_digest_jobs()
        self.scheduler.start()
        logs.event("scheduler.start", tick_s=self.tick_seconds, digests=len(self._fingerprint or ()))

    async def stop(self) -> None:
        """Stop starting jobs, let a tick in flight finish (it records what it sent), then shut down.
        Not shutdown() first: APScheduler's AsyncIOExecutor.shutdown() cancels the running tick."""
        if self.scheduler.running:
            self.scheduler.pause()
        if self._ticking and not self._ticking.done() and self._ticking is not asyncio.current_task():
            try:
                await asyncio.wait_for(asyncio.shield(self._ticking), SHUTDOWN_WAIT_SECONDS)
            except (asyncio.TimeoutError, Exception):
                pass
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
            await asyncio.sleep(0)  # AsyncIOScheduler shuts down in a loop callback: let it run
        logs.event("scheduler.stop")

    async def tick(self) -> TickResult | None:
        self._ticking = asyncio.current_task()
        try:
            result = await run_tick(self.store, self.senders, self.clock.now(), self.directories)
            self.sync_digest_jobs(await self.store.call(self.store.digests))
            if result.claimed or result.sent:
                logs.event("scheduler.tick", claimed=len(result.claimed), sent=result.sent)
            return result
        except Exception as error:  # one bad tick must not stop the next
            logs.event("scheduler.tick_failed", logging.ERROR, error=logs.describe_exception(error))
            return None
        finally:
            self._ticking = None

    def sync_digest_jobs(self, subscriptions: list[dict] | None = None) -> None:
        """Rebuild the digest cron jobs from the subscriptions (read from the database if not given)
        when they changed."""
        from apscheduler.triggers.cron import CronTrigger

        subscriptions = self.store.digests() if subscriptions is None else subscriptions
        fingerprint = digests_fingerprint(subscriptions)
        if fingerprint == self._fingerprint:
            return
        for job in self.scheduler.get_jobs():
            if job.id.startswith("digest:"):
                job.remove()
        for subscription in subscriptions:
            at = time.fromisoformat(subscription["time"])
            days = ",".join(reminders.WEEKDAY_NAMES[d] for d in weekday_numbers(subscription["weekdays"]))
            if not days:
                continue
            self.scheduler.add_job(
                self.post_digest, CronTrigger(day_of_week=days, hour=at.hour, minute=at.minute,
                                              timezone=reminders.zone(subscription["tz"])),
                args=[subscription["id"]], id=f"digest:{subscription['id']}", replace_existing=True,
            )
        self._fingerprint = fingerprint

    async def post_digest(self, subscription_id: int) -> bool:
        subscription = next((s for s in await self.store.call(self.store.digests) if s["id"] == subscription_id), None)
        if subscription is None or not self.senders.can_send(subscription["platform"]):
            return False
        now = self.clock.now()
        occurrence = last_occurrence(subscription, now) or now.astimezone(reminders.zone(subscription["tz"]))
        message_id = await self.store.call(claim_digest, self.store, subscription, occurrence.date(), now)
        return message_id is not None and await send(self.store, self.senders, message_id, now)


# -- the aiohttp app's cleanup context -------------------------------------------------------------


def install_log_senders(senders: dict, platforms: tuple[str, ...]) -> None:
    """Console workspaces always go to the log; with no chat platform configured, everything does."""
    from bot.console import ConsoleSender
    from bot.delivery import FALLBACK

    log = ConsoleSender()  # no stream: each message becomes a log line
    for platform in ("local", "console", "playground"):
        senders.setdefault(platform, log)
    if not platforms:
        senders.setdefault(FALLBACK, log)


async def scheduler_context(app):
    """`app.cleanup_ctx.append(scheduler_context)`: started with the server, stopped with it."""
    runtime = app[RUNTIME]
    senders = runtime.senders
    install_log_senders(senders, tuple(runtime.settings.platforms))
    scheduler = Scheduler(runtime.ctx.store, senders, tick_seconds=runtime.tick_seconds or TICK_SECONDS,
                          directories=runtime.directories)
    runtime.scheduler = scheduler
    scheduler.start()
    try:
        yield
    finally:
        await scheduler.stop()
