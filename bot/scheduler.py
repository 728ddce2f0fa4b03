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
from typing import Any, Mapping

from bot import logs
from bot.delivery import Claim, Senders, claim, claimed_keys, deliver_pending, send, settle_in_doubt
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


def nudge_candidates(store, workspace: str, platform: str, due_on_or_before: date) -> list[OpenTask]:
    """Active tasks of one workspace due by `due_on_or_before` (the ladder's horizon), not snoozed
    past it, with their owner's and assigner's time zones. The index (workspace, status, due) makes
    this a range scan; the ladder's finer rules are applied in `handlers.reminders`."""
    rows = store.db.execute(
        "SELECT t.id, t.control, t.due, t.status, t.snoozed_until, t.created_at, t.owner, o.tz, o.name,"
        " t.assigner, a.tz, a.name"
        " FROM tasks t JOIN people o ON o.workspace = t.workspace AND o.user_id = t.owner"
        " LEFT JOIN people a ON a.workspace = t.workspace AND a.user_id = t.assigner"
        f" WHERE t.workspace = ? AND t.status IN ({', '.join('?' * len(ACTIVE))}) AND t.due <= ?"
        " AND (t.snoozed_until IS NULL OR t.snoozed_until <= ?)",
        [workspace, *ACTIVE, due_on_or_before.isoformat(), due_on_or_before.isoformat()],
    ).fetchall()
    return [
        OpenTask(
            id=task_id, workspace=workspace, control=control, due=date.fromisoformat(due), status=status,
            snoozed_until=_utc_date(snoozed), created=_utc_date(created), platform=platform,
            owner=Person(owner, owner_tz or "UTC", owner_name or ""),
            assigner=Person(assigner, assigner_tz or "UTC", assigner_name or "") if assigner_tz is not None else None,
        )
        for (task_id, control, due, status, snoozed, created, owner, owner_tz, owner_name,
             assigner, assigner_tz, assigner_name) in rows
    ]


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


def nudge_drafts(store, senders: Senders, now: datetime) -> list[tuple[str, str, str, list[reminders.Nudge]]]:
    """(workspace, platform, user, nudges) for everyone due a nudge now whose keys are not yet claimed."""
    zones = zones_by_workspace(store)
    drafts = []
    for row in workspaces(store):
        workspace, platform = row["id"], row["platform"]
        ladder = Ladder.from_settings(row["settings"])
        awake = [tz for tz in zones.get(workspace, ()) if reminders.in_working_morning(now, tz, ladder)]
        if not awake or not senders.can_send(platform):
            continue
        horizon = max(reminders.local_now(now, tz).date() for tz in awake) + timedelta(days=ladder.horizon)
        tasks = nudge_candidates(store, workspace, platform, horizon)
        if not tasks:
            continue
        staff = admins(store, workspace)
        nudges = reminders.due_nudges(tasks, now, lambda _ws: ladder, lambda _ws: staff)
        taken = claimed_keys(store, (n.key for n in nudges))
        fresh = [n for n in nudges if n.key not in taken]
        for (ws, user), theirs in reminders.by_recipient(fresh).items():
            drafts.append((ws, platform, user, theirs))
    return drafts


def claim_nudges(store, senders: Senders, now: datetime) -> list[int]:
    message_ids = []
    for workspace, platform, user, nudges in nudge_drafts(store, senders, now):
        claims = [Claim(n.key, n.task.id, n.rung.kind) for n in nudges]
        message_id = claim(
            store, workspace=workspace, platform=platform, user=user, claims=claims, now=now,
            compose=lambda won, nudges=nudges: reminders.compose_nudge([nudges[i] for i in won]),
        )
        if message_id is not None:
            message_ids.append(message_id)
    return message_ids


async def run_tick(store, senders: Senders, now: datetime) -> TickResult:
    """Settle sends cut short by a crash, claim what is due now, send it, then retry what failed."""
    result = TickResult()
    await settle_in_doubt(store, senders, now)
    result.claimed = claim_nudges(store, senders, now) + claim_missed_digests(store, senders, now)
    for message_id in result.claimed:
        result.sent += await send(store, senders, message_id, now)
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

    return claim(
        store, workspace=subscription["workspace"], platform=subscription["platform"],
        channel=subscription["channel"], now=now,
        claims=[Claim(digest_key(subscription, on), None, "digest")],
        compose=lambda _won: digest.compose(store, subscription["workspace"], now, subscription["tz"]),
    )


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
        if claimed_keys(store, [digest_key(subscription, occurrence.date())]):
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
        """Stop scheduling, then let a tick in flight finish (it records what it sent)."""
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
            await asyncio.sleep(0)  # AsyncIOScheduler shuts down in a loop callback: let it run
        if self._ticking and not self._ticking.done() and self._ticking is not asyncio.current_task():
            try:
                await asyncio.wait_for(asyncio.shield(self._ticking), SHUTDOWN_WAIT_SECONDS)
            except (asyncio.TimeoutError, Exception):
                pass
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
        if subscription is None:
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
