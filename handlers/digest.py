"""The weekly status digest, and the chat commands that subscribe a channel to it.

`compose(store, workspace, now, tz)` builds the digest Reply: progress per framework (bar and %), done
this week, newly overdue, overdue by owner, due in the next 7 days and the top gaps. Coverage comes
from `handlers.status` (the same rules as `status` and `gap`), so the digest and the commands agree.

Commands (admins subscribe and unsubscribe; anyone may ask for one now):
    digest here weekly mon 09:00 [Europe/Berlin]   (days: mon, mon,thu, monday; zone: yours by default)
    digest off
    digest now
The scheduler (bot/scheduler.py) picks subscription changes up from the database within a tick.
"""
from __future__ import annotations

import re
from collections import Counter
from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from handlers.reminders import WEEKDAY_NAMES as DAY_NAMES, zone
from handlers.roles import Refusal, Request, require_admin
from handlers.status import Coverage, parts, refs_of, scope_line, stale_section
from handlers.replies import sections_reply
from handlers.types import Command, Reply, Section

START_LINES = ("No tasks yet. Give a first control an owner: `assign user access review to @alice due in 2 weeks`; "
               "a clause too: `assign Clause 9.3 to @alice`.",
               "Then `status` shows the progress of both frameworks, `gap iso` what is missing, and `help` every "
               "command.")
WEEK = timedelta(days=7)
MAX_LINES = 10  # per section; the rest is counted, so a digest of 10,000 tasks stays readable
TOP_GAPS = 5
USAGE = ("Usage: `digest here weekly mon 09:00 [Europe/Berlin]` (days like mon or mon,thu), `digest off`, "
         "`digest now`.")


# -- composing -----------------------------------------------------------------------------------


def compose(store, workspace: str, now: datetime, tz: str = "UTC") -> Reply:
    today = now.astimezone(zone(tz)).date()
    coverage = Coverage.of(store, workspace)
    active = list(coverage.active.values())
    names = {p.user_id: p.label for p in store.people(workspace)}
    who = lambda user: names.get(user, f"@{user}")  # noqa: E731

    overdue = sorted((t for t in active if t.due and t.due < today), key=lambda t: (t.due, t.id))
    newly = [t for t in overdue if t.due >= today - WEEK]
    soon = sorted((t for t in active if t.due and today <= t.due <= today + WEEK), key=lambda t: (t.due, t.id))
    done = _done_since(store, workspace, now - WEEK)
    by_owner = Counter(t.owner for t in overdue)

    sections = [*_progress(coverage)]
    sections.append(_listing(f"Done this week ({len(done)})", [f"#{t.id} {t.control} — {who(t.owner)}" for t in done],
                             "Nothing finished this week."))
    sections.append(_listing(f"Newly overdue ({len(newly)})",
                             [f"#{t.id} {t.control} — {who(t.owner)}, due {t.due:%a %d %b}" for t in newly],
                             "Nothing fell overdue this week."))
    sections.append(_listing(f"Overdue by owner ({len(overdue)})",
                             [f"{who(owner)}: {count}" for owner, count in sorted(by_owner.items(), key=lambda kv: (-kv[1], kv[0]))],
                             "Nothing overdue."))
    sections.append(_listing(f"Due in the next 7 days ({len(soon)})",
                             [f"#{t.id} {t.control} — {who(t.owner)}, {t.due:%a %d %b}" for t in soon],
                             "Nothing due in the next 7 days."))
    sections.append(_listing("Top gaps", _top_gaps(coverage, who), "No gaps: every reference is covered."))
    stale = stale_section(store, workspace, coverage.programme, today, ("soc2", "iso"))
    sections += [stale] if stale else []
    if not store.count_tasks(workspace):  # a newcomer's first digest says how to begin, first
        sections.insert(0, Section(title="Getting started", lines=START_LINES))
    headline = f"Weekly compliance digest — week of {today - timedelta(days=today.weekday()):%d %b %Y}"
    return sections_reply(headline, sections, "digest")


def _progress(coverage: Coverage) -> list[Section]:
    """The same parts and counts as `status` (Annex A and clauses apart, SOC 2 in scope)."""
    sections = [part.section() for part in parts(coverage)]
    scope = scope_line(coverage)
    return sections + ([Section(lines=(scope,))] if scope else [])


def _listing(title: str, lines: list[str], empty: str) -> Section:
    shown = lines[:MAX_LINES] or [empty]
    if len(lines) > MAX_LINES:
        shown.append(f"…and {len(lines) - MAX_LINES} more")
    return Section(title=title, lines=tuple(shown))


def _done_since(store, workspace: str, since: datetime) -> list:
    """Tasks finished since `since` (done_at is stored as UTC ISO text, so text order is time order)."""
    cutoff = since.astimezone(timezone.utc).isoformat(timespec="seconds")
    done = store.tasks(workspace, statuses=("done",))
    return sorted((t for t in done if t.done_at and t.done_at >= cutoff), key=lambda t: (t.done_at, t.id))


def _top_gaps(coverage: Coverage, who) -> list[str]:
    """Unfinished controls that would close the most uncovered references, in both frameworks."""
    uncovered = {ref for fw in ("soc2", "iso") for part in refs_of(fw, coverage.programme).values() for ref in part
                 if not coverage.covered(ref)}
    ranked = []
    for control in coverage.programme.controls():
        if control.name in coverage.finished:
            continue
        closes = [ref for ref in control.covers if ref in uncovered]
        if closes:
            ranked.append((len(closes), control, closes))
    ranked.sort(key=lambda item: (-item[0], item[1].name))
    lines = []
    for count, control, closes in ranked[:TOP_GAPS]:
        task = coverage.active.get(control.name)
        owner = f"{who(task.owner)}, due {task.due:%d %b}" if task and task.due else who(task.owner) if task else "unassigned"
        lines.append(f"{control.name} ({owner}) — {count} open reference{'s' * (count != 1)}: {', '.join(closes)}")
    return lines


# -- the `digest` command --------------------------------------------------------------------------

_SUBSCRIBE = re.compile(
    r"here\s+(?:weekly\s+)?(?:on\s+)?(?P<days>[a-z]+(?:\s*,\s*[a-z]+)*)\s+(?:at\s+)?(?P<time>\d{1,2}(?::\d{2})?)"
    r"(?:\s+(?P<tz>[A-Za-z_]+(?:/[A-Za-z0-9_+-]+)*))?",
    re.IGNORECASE,
)


def command(req: Request, args: str) -> Reply:
    words = args.strip()
    head = words.split()[0].casefold() if words else ""
    if head == "now":
        return compose(req.store, req.workspace, req.ctx.clock.now(), req.actor.tz)
    if head == "off":
        require_admin(req, "stop the digest")
        if not req.store.unsubscribe_digest(req.workspace, req.message.platform, _channel(req)):
            return Reply("This channel had no digest; nothing changed.", kind="digest_off")
        return Reply("Done: no more digests here.", kind="digest_off")
    if head == "here":
        return _subscribe(req, words)
    raise Refusal(USAGE, kind="usage")


def _channel(req: Request) -> str:
    return req.message.channel or req.message.user  # the console has no channel: the person's own log


def _subscribe(req: Request, words: str) -> Reply:
    match = _SUBSCRIBE.fullmatch(words)
    if not match:
        raise Refusal(USAGE, kind="usage")
    require_admin(req, "set up the weekly digest")
    days = weekdays(match["days"])
    at = clock_time(match["time"])
    tz = match["tz"] or req.actor.tz or req.store.default_tz
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise Refusal(f"I don't know the time zone {tz!r}. Use a name like Europe/Berlin or America/New_York.",
                      kind="bad_tz") from None
    req.store.subscribe_digest(req.workspace, req.message.platform, _channel(req), weekdays=",".join(days),
                               time=f"{at:%H:%M}", tz=tz, created_by=req.actor.user_id)
    return Reply(f"Done: a status digest here every {', '.join(d.capitalize() for d in days)} at {at:%H:%M} ({tz}). "
                 "`digest now` shows one at once; `digest off` stops it.", kind="digest_on")


def weekdays(text: str) -> list[str]:
    days = []
    for word in re.split(r"\s*,\s*", text.strip().casefold()):
        day = word[:3]
        if day not in DAY_NAMES or not DAY_NAMES_LONG[day].startswith(word):
            raise Refusal(f"{word!r} is not a day. Use mon, tue, wed, thu, fri, sat or sun.", kind="bad_day")
        if day not in days:
            days.append(day)
    return sorted(days, key=DAY_NAMES.index)


DAY_NAMES_LONG = dict(zip(DAY_NAMES, ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")))


def clock_time(text: str) -> time:
    hour, _, minute = text.partition(":")
    try:
        return time(int(hour), int(minute or 0))
    except ValueError:
        raise Refusal(f"{text!r} is not a time of day. Use 24-hour HH:MM, like 09:00.", kind="bad_time") from None


def preview(store, workspace: str, now: datetime) -> Reply:
    """What `complybot digest --preview` prints: the digest in the workspace's first subscription's zone."""
    subscriptions = store.digests(workspace)
    return compose(store, workspace, now, subscriptions[0]["tz"] if subscriptions else store.default_tz)


def _is_digest_command(args: str) -> bool:
    return not args or args.split()[0].casefold() in ("here", "off", "now")


COMMANDS = (
    Command("digest", "digest here weekly mon 09:00 [Europe/Berlin] · digest off · digest now",
            "post a weekly status digest in this channel (admins), stop it, or show one now", command,
            accepts=_is_digest_command),
)
