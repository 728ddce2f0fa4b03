"""Who is due a nudge now: pure decisions over open tasks, people's time zones, the ladder and `now`.

The ladder (per workspace, defaults below): 7 days before the due date, 1 day before, on the due
date, then every 3 days while overdue; once a task is 7 days overdue its assigner (or, when the owner
assigned it to themselves or nobody did, the workspace admins) is told too, once.

Each nudge has a natural key `nudge:{workspace}:{task}:{kind}:{step date}`; the step date is the day the ladder
reached that rung, not the day it was sent, so a nudge missed during downtime goes out once, late, on
the next working morning under the same key, and a rung already claimed is never sent again. Only the
latest rung reached counts: after a long outage a person gets one nudge, not a burst of stale ones.

Nudges arrive only in the recipient's local working morning (default 09:00–10:00 on Monday–Friday in
their own time zone), never at night. Snoozed, done, blocked and not-applicable tasks get none.
Several tasks due for one person make one message.

The decisions touch no database: `bot/scheduler.py` feeds rows in and `bot/delivery.py` claims the
keys that come out. The commands at the end (`help <task>`, the "Need help" button, and `nudges`) use
the store through the request like every command.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Callable, Iterable, Mapping, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from handlers.types import Action, Command, Reply, Section, mention

MAX_TASKS_SHOWN = 10  # per part of one message; a person with 300 overdue tasks gets a count, not a wall
QUIET_STATUSES = frozenset({"done", "blocked", "na"})  # these tasks get no nudges at all
WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class Ladder:
    """When to nudge, configurable per workspace under the workspace setting `nudges`."""

    before: tuple[int, ...] = (7, 1)  # days before the due date
    overdue_every: int = 3  # then every N days while overdue (0: only on the due date)
    escalate_after: int = 7  # days overdue before the assigner/admins hear of it (0: never)
    window_start: time = time(9, 0)  # the recipient's local working morning
    window_end: time = time(10, 0)
    workdays: tuple[int, ...] = (0, 1, 2, 3, 4)  # Monday = 0

    @classmethod
    def from_settings(cls, settings: Mapping | None) -> "Ladder":
        """Read `{"before": [7, 1], "overdue_every": 3, "escalate_after": 7, "window": "09:00-10:00",
        "workdays": "mon-fri"}`; anything missing or unreadable keeps its default."""
        raw = dict((settings or {}).get("nudges") or {})
        default = cls()
        try:
            before = tuple(sorted({int(d) for d in raw.get("before", default.before) if int(d) > 0}, reverse=True))
            every = max(int(raw.get("overdue_every", default.overdue_every)), 0)
            escalate = max(int(raw.get("escalate_after", default.escalate_after)), 0)
            start, end = _window(raw.get("window")) or (default.window_start, default.window_end)
            workdays = _workdays(raw.get("workdays")) or default.workdays
        except (TypeError, ValueError):
            return default
        return cls(before, every, escalate, start, end, workdays)

    @property
    def horizon(self) -> int:
        """How many days ahead of the due date the first rung is."""
        return max(self.before, default=0)


def _window(text: str | None) -> tuple[time, time] | None:
    if not text:
        return None
    start, _, end = str(text).partition("-")
    start_t, end_t = time.fromisoformat(start.strip()), time.fromisoformat(end.strip())
    if end_t <= start_t:
        raise ValueError("empty window")
    return start_t, end_t


def _workdays(text: str | None) -> tuple[int, ...] | None:
    if not text:
        return None
    days: set[int] = set()
    for part in str(text).lower().replace(" ", "").split(","):
        first, _, last = part.partition("-")
        a, b = WEEKDAY_NAMES.index(first[:3]), WEEKDAY_NAMES.index((last or first)[:3])
        days.update(range(a, b + 1) if a <= b else [*range(a, 7), *range(0, b + 1)])
    return tuple(sorted(days))


@dataclass(frozen=True, slots=True)
class Person:
    user: str  # platform user id
    tz: str = "UTC"
    name: str = ""


@dataclass(frozen=True, slots=True)  # slots: no __dict__ per object (tens of thousands a busy tick)
class OpenTask:
    """One task as the reminder tick sees it (the store builds these from its rows)."""

    id: int
    workspace: str
    control: str
    due: date
    owner: Person
    status: str = "open"
    assigner: Person | None = None
    snoozed_until: date | None = None  # no nudges while the recipient's local date is before it
    created: date | None = None  # rungs reached before the task existed are skipped
    title: str = ""
    platform: str = ""


class Rung(NamedTuple):  # a tuple: a busy morning makes tens of thousands
    kind: str  # "before-7", "before-1", "due", "overdue-3", ..., "escalate"
    on: date  # the day the ladder reached it


@dataclass(frozen=True, slots=True)
class Nudge:
    """One task to mention to one person now, under its exactly-once key."""

    task: OpenTask
    recipient: Person
    rung: Rung
    today: date  # the recipient's local date

    @property
    def key(self) -> str:  # read once per nudge: a cached_property's lock would cost more
        key = f"nudge:{self.task.workspace}:{self.task.id}:{self.rung.kind}:{self.rung.on.isoformat()}"
        # several admins may each be told of one escalation: one key per person
        return f"{key}:{self.recipient.user}" if self.escalation else key

    @property
    def escalation(self) -> bool:
        return self.rung.kind == "escalate"


@lru_cache(maxsize=None)
def zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")  # an unknown zone in a profile must not stop everyone's nudges


def local_now(now: datetime, tz: str | None) -> datetime:
    return now.astimezone(zone(tz))


def in_working_morning(now: datetime, tz: str | None, ladder: Ladder) -> bool:
    local = local_now(now, tz)
    return local.weekday() in ladder.workdays and ladder.window_start <= local.time() < ladder.window_end


def owner_rung(due: date, today: date, ladder: Ladder) -> Rung | None:
    """The latest rung of the ladder reached by `today`, or None before the first one."""
    days_left = (due - today).days
    if days_left > 0:
        reached = [days for days in ladder.before if days >= days_left]
        if not reached:
            return None
        days = min(reached)
        return Rung(f"before-{days}", due - timedelta(days=days))
    overdue = -days_left
    step = overdue - overdue % ladder.overdue_every if ladder.overdue_every else 0
    return Rung("due" if step == 0 else f"overdue-{step}", due + timedelta(days=step))


def escalation_rung(due: date, today: date, ladder: Ladder) -> Rung | None:
    if not ladder.escalate_after or (today - due).days < ladder.escalate_after:
        return None
    return Rung("escalate", due + timedelta(days=ladder.escalate_after))


def is_quiet(task: OpenTask, today: date) -> bool:
    return task.status in QUIET_STATUSES or (task.snoozed_until is not None and today < task.snoozed_until)


def _fresh(task: OpenTask, rung: Rung | None) -> Rung | None:
    """Drop a rung the ladder reached before the task was even created."""
    if rung is None or (task.created is not None and rung.on < task.created):
        return None
    return rung


def due_nudges(
    tasks: Iterable[OpenTask],
    now: datetime,
    ladder_for: Callable[[str], Ladder],
    admins_for: Callable[[str], Iterable[Person]] = lambda workspace: (),
    worth_asking: Callable[[OpenTask, bool], bool] = lambda task, escalation: True,
) -> list[Nudge]:
    """Every (task, recipient, rung) that should be delivered now, if not already claimed.

    The owner hears of a task on its current rung; the assigner (or the admins) hears once when it
    is `escalate_after` days overdue. Each person only inside their own working morning.
    `worth_asking(task, escalation)` lets a caller that already knows a task's owner nudge (False)
    or escalation (True) is claimed skip it; claiming decides either way."""
    nudges: list[Nudge] = []
    awake_today: dict[tuple[str | None, str], date | None] = {}  # (zone, workspace) -> local date if awake now
    for task in tasks:
        ladder = ladder_for(task.workspace)
        rungs = [(task.owner, owner_rung)] if worth_asking(task, False) else []
        if ladder.escalate_after and worth_asking(task, True):
            rungs += [(boss, escalation_rung) for boss in _escalation_recipients(task, admins_for)]
        for recipient, rung_for in rungs:
            memo = (recipient.tz, task.workspace)  # the ladder is the workspace's
            if memo not in awake_today:
                awake = in_working_morning(now, recipient.tz, ladder)
                awake_today[memo] = local_now(now, recipient.tz).date() if awake else None
            today = awake_today[memo]
            if today is None or is_quiet(task, today):
                continue
            rung = _fresh(task, rung_for(task.due, today, ladder))
            if rung:
                nudges.append(Nudge(task, recipient, rung, today))
    return nudges


def _escalation_recipients(task: OpenTask, admins_for: Callable[[str], Iterable[Person]]) -> list[Person]:
    if task.assigner and task.assigner.user != task.owner.user:
        return [task.assigner]
    return [admin for admin in admins_for(task.workspace) if admin.user != task.owner.user]


def by_recipient(nudges: Iterable[Nudge]) -> dict[tuple[str, str], list[Nudge]]:
    """(workspace, user) -> their nudges, so several tasks for one person make one message."""
    grouped: dict[tuple[str, str], list[Nudge]] = defaultdict(list)
    for nudge in nudges:
        grouped[(nudge.task.workspace, nudge.recipient.user)].append(nudge)
    return dict(grouped)


# -- the message ---------------------------------------------------------------------------------


class ControlRefs(NamedTuple):  # a tuple: hashed (for _refs_line's cache) in C
    soc2: tuple[str, ...] = ()
    iso: tuple[str, ...] = ()


@lru_cache(maxsize=None)
def control_refs(name: str) -> ControlRefs:
    from knowledge.catalog import catalog

    control = catalog().control(name)
    if control:
        return ControlRefs(control.soc2, control.iso)
    cat = catalog()  # a requirement tracked itself (`Clause 9.3`, `A.5.23`, `CC1.4`)
    return ControlRefs((name,) if name in cat.soc2 else (), (name,) if name in cat.iso else ())


@lru_cache(maxsize=4096)  # a busy morning asks for the same few (due, today) pairs thousands of times
def when_due(due: date, today: date) -> str:
    days = (due - today).days
    if days > 1:
        return f"due in {days} days ({due:%a %d %b})"
    if days == 1:
        return f"due tomorrow ({due:%a %d %b})"
    if days == 0:
        return f"due today ({due:%a %d %b})"
    return f"{-days} day{'s' if days != -1 else ''} overdue (was due {due:%a %d %b})"


def _capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


@lru_cache(maxsize=4096)
def _due_line(due: date, today: date) -> str:
    return _capitalised(when_due(due, today))


@lru_cache(maxsize=65536)
def task_actions(task_id: int) -> tuple[Action, ...]:
    """Buttons whose values are commands of the shared grammar, checked as if typed by the presser."""
    return (
        Action("Done", f"done {task_id}", "primary"),
        Action("Snooze 1 week", f"snooze {task_id} 7"),
        Action("Need help", f"help {task_id}"),
    )


def _task_section(nudge: Nudge, refs: Callable[[str], ControlRefs]) -> Section:
    task = nudge.task
    lines = (_due_line(task.due, nudge.today), _refs_line(refs(task.control)))
    escalation = nudge.escalation
    if escalation:
        lines = (f"Owner: {_mention(task.owner)}", *lines)
    title = f"#{task.id} {task.control}" + (f" — {task.title}" if task.title and task.title != task.control else "")
    return Section(title, lines, None, () if escalation else task_actions(task.id))


@lru_cache(maxsize=1024)
def _refs_line(found: ControlRefs) -> str:
    return f"SOC 2: {', '.join(found.soc2) or '—'} · ISO 27001: {', '.join(found.iso) or '—'}"


def _mention(person: Person) -> str:
    return mention(person.user)


def compose_nudge(nudges: list[Nudge], refs: Callable[[str], ControlRefs] = control_refs) -> Reply:
    """One direct message for one person: their own tasks first (most urgent first), then the overdue
    ones they assigned. Each part shows at most MAX_TASKS_SHOWN tasks and counts the rest. The text
    alone is complete (text-only platforms); the sections carry the same with buttons."""
    own = sorted((n for n in nudges if not n.escalation), key=lambda n: (n.task.due, n.task.id))
    escalated = sorted((n for n in nudges if n.escalation), key=lambda n: (n.task.due, n.task.id))
    sections: list[Section] = []
    text_lines: list[str] = []
    if own:
        text_lines.append("Reminder: " + ("this task needs" if len(own) == 1 else f"these {len(own)} tasks need") + " you.")
        text_lines += [f"• #{n.task.id} {n.task.control}: {when_due(n.task.due, n.today)}" for n in own[:MAX_TASKS_SHOWN]]
        sections += [_task_section(n, refs) for n in own[:MAX_TASKS_SHOWN]]
        _add_more(len(own), "`tasks` lists them all", sections, text_lines)
    if escalated:
        heading = (("A task you assigned is" if len(escalated) == 1 else f"{len(escalated)} tasks you assigned are")
                   + " overdue by a week or more:")
        text_lines.append(heading)
        text_lines += [f"• #{n.task.id} {n.task.control} ({_mention(n.task.owner)}): {when_due(n.task.due, n.today)}"
                       for n in escalated[:MAX_TASKS_SHOWN]]
        if own:  # the message's lead is about their own tasks: give this part its own heading
            sections.append(Section(title=heading))
        sections += [_task_section(n, refs) for n in escalated[:MAX_TASKS_SHOWN]]
        _add_more(len(escalated), "`tasks overdue` lists them all", sections, text_lines)
    return Reply("\n".join(text_lines), sections=tuple(sections), kind="nudge")


def _add_more(count: int, where: str, sections: list[Section], text_lines: list[str]) -> None:
    """Count what MAX_TASKS_SHOWN left out, in the sections and in the text."""
    if count > MAX_TASKS_SHOWN:
        line = f"…and {count - MAX_TASKS_SHOWN} more; {where}."
        sections.append(Section(lines=(line,)))
        text_lines.append(line)


# -- the "Need help" button ----------------------------------------------------------------------


def need_help(req, args: str) -> Reply:
    """`help <task>` (the nudge's "Need help" button): what the control asks for in both frameworks,
    who can help (whoever assigned it, the admins), and a note in the task's history so they see it."""
    from handlers.programme import Programme, activity_lines
    from handlers.roles import label, require_owner_or_admin
    from handlers.tasks import resolve_task
    from knowledge.catalog import catalog

    task = resolve_task(req, args)
    require_owner_or_admin(req, task)
    cat = catalog()
    refs = Programme.of(req.store, req.workspace).control(task.control) or control_refs(task.control)
    lines = [f"SOC 2 {ref}: {cat.soc2[ref].title}" for ref in refs.soc2 if ref in cat.soc2]
    lines += [f"ISO 27001 {ref}: {cat.iso[ref].title}" for ref in refs.iso if ref in cat.iso]
    lines += activity_lines(task.control)
    helpers = [] if task.assigner == req.actor.user_id else [label(req.store, req.workspace, task.assigner)]
    helpers += [p.label for p in req.store.people(req.workspace)
                if p.role == "admin" and p.user_id not in (req.actor.user_id, task.assigner)]
    who = ", ".join(dict.fromkeys(helpers)) or "an admin of this workspace"
    req.store.log(req.workspace, task.id, req.actor.user_id, "help", "", "asked for help")
    sections = (
        Section(title=f"#{task.id} {task.control}", lines=tuple(lines) or ("No framework reference on file.",)),
        Section(title="Who can help", lines=(f"Ask {who}. Your request is noted in `history {task.id}`.",),
                actions=task_actions(task.id)[:2]),
    )
    text = "\n".join([f"Help with #{task.id} {task.control}: it counts for", *lines, f"Who can help: {who}."])
    return Reply(text, sections=sections, kind="need_help")


# -- the `nudges` command: show or change the workspace's ladder ----------------------------------

NUDGES_USAGE = ("Usage: `nudges` shows the reminder schedule; admins change it with any of "
                "`nudges before 7,1 every 3 escalate 7 window 09:00-10:00 days mon-fri`, or `nudges default`.")
_LIMITS = {"before": 365, "every": 90, "escalate": 365}


def describe_ladder(ladder: Ladder) -> str:
    before = " and ".join(str(d) for d in ladder.before)
    parts = [f"{before} day{'s' * (ladder.before != (1,))} before the due date" if ladder.before else "", "on the day"]
    if ladder.overdue_every:
        parts.append(f"then every {ladder.overdue_every} day{'s' * (ladder.overdue_every != 1)} while overdue")
    escalation = (f"after {ladder.escalate_after} days overdue the assigner (or the admins) is told too"
                  if ladder.escalate_after else "no escalation")
    days = ", ".join(WEEKDAY_NAMES[d].capitalize() for d in ladder.workdays)
    return (f"Reminders: {', '.join(p for p in parts if p)}; {escalation}. They arrive "
            f"{ladder.window_start:%H:%M}–{ladder.window_end:%H:%M} on {days}, in each person's own time zone.")


def configure(req, args: str) -> Reply:
    """`nudges` (anyone) and `nudges before 14,3,1 every 2 escalate 5 window 08:30-09:30 days sun-thu`
    or `nudges default` (admins): the workspace's ladder, kept in its settings under `nudges`."""
    from handlers.roles import Refusal, require_admin

    words = args.split()
    settings = req.store.workspace(req.workspace)["settings"]
    if not words:
        return Reply(describe_ladder(Ladder.from_settings(settings)) + " Admins can change it: see `help`.",
                     kind="nudges")
    require_admin(req, "change the reminder schedule")
    if words == ["default"]:
        changed: dict = {}
    else:
        if len(words) % 2:
            raise Refusal(NUDGES_USAGE, kind="usage")
        changed = dict(settings.get("nudges") or {})
        for name, value in zip(words[::2], words[1::2]):
            try:
                changed.update(_ladder_setting(name.casefold(), value))
            except (ValueError, KeyError):
                raise Refusal(f"I can't use `{name} {value}`. {NUDGES_USAGE}", kind="usage") from None
    req.store.update_workspace_settings(req.workspace, nudges=changed)
    return Reply("Done. " + describe_ladder(Ladder.from_settings({"nudges": changed})), kind="nudges")


def _ladder_setting(name: str, value: str) -> dict:
    """One `name value` pair of the command as a settings entry; ValueError/KeyError when unusable."""
    if name == "before":
        days = sorted({int(d) for d in value.split(",") if d.strip()}, reverse=True)
        if not days or not all(0 < d <= _LIMITS["before"] for d in days):
            raise ValueError(value)
        return {"before": days}
    if name in ("every", "escalate"):
        number = int(value)
        if not 0 <= number <= _LIMITS[name]:
            raise ValueError(value)
        return {"overdue_every" if name == "every" else "escalate_after": number}
    if name == "window":
        _window(value)
        return {"window": value}
    if name == "days":
        if not _workdays(value):
            raise ValueError(value)
        return {"workdays": value}
    raise KeyError(name)


def _is_task_number(args: str) -> bool:
    from handlers.tasks import is_task_number

    return is_task_number(args)


COMMANDS = (
    Command("nudges",
            "nudges · nudges before 7,1 every 3 escalate 7 window 09:00-10:00 days mon-fri · nudges default",
            "show the reminder schedule, or change it for this workspace (admins)", configure),
    Command("need_help", "help <task>", "what a task asks for and who can help (the nudge's Need help button)",
            need_help, words=("help",), accepts=_is_task_number),  # listed: a clause's what-to-do, read again
)
