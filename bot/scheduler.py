"""The one scheduler of `complybot serve`: a short tick for nudges and a CronTrigger per digest subscription.

The database is the truth. The tick (every TICK_SECONDS) reads open tasks and people, asks
`handlers.reminders` who is due a nudge now, claims and sends through `bot.delivery`, retries what
failed, and catches up digests missed while the process was down. The digest crons only make digests
punctual; both paths claim the same key (`digest:{workspace}:{subscription}:{local date}`), so a digest
goes out once. Digest jobs are rebuilt from the `digests` table at start and whenever it changes (the
tick compares a fingerprint), so `digest here …` in chat takes effect within a tick.

Exactly one process may schedule per database (see docs/architecture.md); two ticks at once are
harmless anyway because every send is claimed first.
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Mapping, NamedTuple

from bot import logs
from bot.delivery import Claim, Draft, Senders, claim, claim_all, deliver_pending, send, send_batch, settle_in_doubt
from handlers import reminders
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


def owner_rung_key_sql(ladder: Ladder) -> str:
    """SQL for the sent-log key of the owner's current rung, NULL before the first one. It mirrors
    `handlers.reminders.owner_rung` (tests/test_reminders.py checks they agree day by day) so the
    database can skip tasks whose current rung is already claimed; Python still decides."""
    left = "CAST(julianday(t.due) - julianday(:today) AS INTEGER)"
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


_CANDIDATE_SQL = (
    "SELECT t.id, t.control, t.due, t.status, t.snoozed_until, t.created_at, t.owner, o.tz, o.name,"
    " t.assigner, a.tz, a.name"
    " FROM tasks t JOIN people o ON o.workspace = t.workspace AND o.user_id = t.owner"
    " LEFT JOIN people a ON a.workspace = t.workspace AND a.user_id = t.assigner"
    " WHERE t.workspace = :workspace AND t.status IN ('open', 'in_progress') AND t.due <= :up_to"
    " AND (t.snoozed_until IS NULL OR t.snoozed_until <= :today) AND "
)


def nudge_candidates(store, workspace: str, platform: str, ladder: Ladder, today: date, zones: list[str],
                     admin_count: int) -> list[Candidate]:
    """Active, unsnoozed tasks of one workspace that may owe someone a nudge on `today` (the local
    date in `zones`, the awake time zones): the owner's current rung is not claimed yet, or the
    escalation is due and not yet claimed for everyone it goes to. A superset: the ladder's exact
    rules are applied in `handlers.reminders`. Two range scans on the index (workspace, status, due),
    one per question, so each row says which of the two is unclaimed: a task whose owner is due a new
    rung does not bring its escalation of last week along (on a busy morning, most overdue tasks)."""
    zone_params = {f"z{i}": zone for i, zone in enumerate(zones)}
    params = {"workspace": workspace, "today": today.isoformat(), "admins": admin_count,
              "up_to": (today + timedelta(days=ladder.horizon)).isoformat(), **zone_params}
    owner_rows = store.db.execute(
        _CANDIDATE_SQL + f"o.tz IN ({', '.join(':' + name for name in zone_params)}) AND NOT EXISTS"
        f" (SELECT 1 FROM sent_log s WHERE s.key = {owner_rung_key_sql(ladder)})", params,
    ).fetchall()
    escalation_rows = []
    if ladder.escalate_after:
        prefix = (f"'nudge:' || t.workspace || ':' || t.id || ':escalate:' || "
                  f"date(t.due, '+{ladder.escalate_after} days') || ':'")
        escalation_rows = store.db.execute(  # an assigner's key is known exactly; admins' share a prefix
            _CANDIDATE_SQL + "CASE WHEN a.user_id IS NOT NULL AND t.assigner != t.owner"
            f" THEN NOT EXISTS (SELECT 1 FROM sent_log s WHERE s.key = {prefix} || t.assigner)"
            f" ELSE (SELECT COUNT(*) FROM sent_log s WHERE s.key > {prefix} AND s.key < {prefix} || '~') < :admins END",
            {**params, "up_to": (today - timedelta(days=ladder.escalate_after)).isoformat()},
        ).fetchall()
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


def admins(store, workspace: str) -> list[Person]:
    rows = store.db.execute(
        "SELECT user_id, tz, name FROM people WHERE workspace = ? AND role = 'admin' AND is_bot = 0 ORDER BY user_id",
        [workspace],
    ).fetchall()
    return [Person(user, tz or "UTC", name or "") for user, tz, name in rows]


def zones_by_workspace(store) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for workspace, tz in store.db.execute("SELECT DISTINCT workspace, tz FROM people").fetchall():
        found.setdefault(workspace, set()).add(tz or "UTC")
    return found


# -- one tick --------------------------------------------------------------------------------------


@dataclass
class TickResult:
    claimed: list[int] = field(default_factory=list)  # message ids this tick claimed
    sent: int = 0


async def nudge_drafts(store, senders: Senders, now: datetime) -> list[tuple[str, str, str, list[reminders.Nudge]]]:
    """(workspace, platform, user, nudges) for everyone due a nudge now. The SQL has already dropped
    tasks whose current rung is claimed; claiming drops whatever another tick took meanwhile."""
    zones = zones_by_workspace(store)
    drafts = []
    for row in workspaces(store):
        workspace, platform = row["id"], row["platform"]
        ladder = Ladder.from_settings(row["settings"])
        awake = [tz for tz in zones.get(workspace, ()) if reminders.in_working_morning(now, tz, ladder)]
        if not awake or not senders.can_send(platform):
            continue
        staff = admins(store, workspace)
        candidates = _candidates_by_id(store, workspace, platform, ladder, awake, now, len(staff))
        if not candidates:
            continue
        nudges = reminders.due_nudges([c.task for c in candidates.values()], now, lambda _ws: ladder, lambda _ws: staff,
                                      lambda task, escalation: _unclaimed(candidates[task.id], escalation))
        for (ws, user), theirs in reminders.by_recipient(nudges).items():
            drafts.append((ws, platform, user, theirs))
        await asyncio.sleep(0)  # let the server answer requests between workspaces (no transaction is open)
    return drafts


def _candidates_by_id(store, workspace, platform, ladder, awake, now, admin_count) -> dict[int, Candidate]:
    """Candidates for each local date the awake zones are on (nearly always one), without repeats."""
    by_date: dict[date, list[str]] = {}
    for tz in awake:
        by_date.setdefault(reminders.local_now(now, tz).date(), []).append(tz)
    found: dict[int, Candidate] = {}
    for today, zones in by_date.items():
        for candidate in nudge_candidates(store, workspace, platform, ladder, today, zones, admin_count):
            known = found.get(candidate.task.id)
            found[candidate.task.id] = candidate if known is None else known._replace(
                owner_unclaimed=known.owner_unclaimed or candidate.owner_unclaimed,
                escalation_unclaimed=known.escalation_unclaimed or candidate.escalation_unclaimed)
    return found


def _unclaimed(candidate: Candidate, escalation: bool) -> bool:
    """Whether the SQL saw that key free (claiming still decides; this only spares the work)."""
    return candidate.escalation_unclaimed if escalation else candidate.owner_unclaimed


async def claim_nudges(store, senders: Senders, now: datetime, composed: dict | None = None) -> list[int]:
    drafts = [
        Draft(workspace, platform, [Claim(n.key, n.task.id, n.rung.kind) for n in nudges],
              compose=lambda won, nudges=nudges: reminders.compose_nudge([nudges[i] for i in won]), user=user)
        for workspace, platform, user, nudges in await nudge_drafts(store, senders, now)
    ]
    return claim_all(store, drafts, now, composed)


async def run_tick(store, senders: Senders, now: datetime) -> TickResult:
    """Settle sends cut short by a crash, claim what is due now, send it, then retry what failed."""
    result = TickResult()
    await settle_in_doubt(store, senders, now)
    composed: dict = {}
    result.claimed = await claim_nudges(store, senders, now, composed) + claim_missed_digests(store, senders, now)
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


def digests_fingerprint(store) -> tuple:
    return tuple(
        (row["id"], row["weekdays"], row["time"], row["tz"]) for row in store.digests()
    )


# -- the APScheduler part --------------------------------------------------------------------------


class Scheduler:
    """APScheduler's AsyncIOScheduler with the nudge tick and one cron job per digest subscription."""

    def __init__(self, store, senders: Mapping[str, Any], tick_seconds: float = TICK_SECONDS, clock=None):
        from apscheduler.schedulers.asyncio import AsyncIOScheduler

        from handlers.ports import SystemClock

        self.store = store
        self.senders = Senders(senders)
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
            result = await run_tick(self.store, self.senders, self.clock.now())
            self.sync_digest_jobs()
            if result.claimed or result.sent:
                logs.event("scheduler.tick", claimed=len(result.claimed), sent=result.sent)
            return result
        except Exception as error:  # one bad tick must not stop the next
            logs.event("scheduler.tick_failed", logging.ERROR, error=logs.describe_exception(error))
            return None
        finally:
            self._ticking = None

    def sync_digest_jobs(self) -> None:
        """Rebuild the digest cron jobs from the database when the subscriptions changed."""
        from apscheduler.triggers.cron import CronTrigger

        fingerprint = digests_fingerprint(self.store)
        if fingerprint == self._fingerprint:
            return
        for job in self.scheduler.get_jobs():
            if job.id.startswith("digest:"):
                job.remove()
        for subscription in self.store.digests():
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
        subscription = next((s for s in self.store.digests() if s["id"] == subscription_id), None)
        if subscription is None or not self.senders.can_send(subscription["platform"]):
            return False
        now = self.clock.now()
        occurrence = last_occurrence(subscription, now) or now.astimezone(reminders.zone(subscription["tz"]))
        message_id = claim_digest(self.store, subscription, occurrence.date(), now)
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
    settings = app["settings"]
    senders = app.setdefault("senders", {})
    install_log_senders(senders, tuple(settings.platforms))
    scheduler = Scheduler(app["ctx"].store, senders, tick_seconds=app.get("tick_seconds", TICK_SECONDS))
    app["scheduler"] = scheduler
    scheduler.start()
    try:
        yield
    finally:
        await scheduler.stop()
