"""Evidence with an age: `evidence <task> <url> [note] [expires <date> | valid 90 days]`, a control's
default freshness (`freshness <control> quarterly`), and stale evidence.

A link's expiry is its own `expires` date when one was given, else the day it was added plus its
control's freshness period, else none (it never goes stale). A task's evidence expires when its
longest-lived link does, and is *stale* from that day on. A newer task of the same control with
evidence of its own (the next occurrence of a recurring task) supersedes an older task's evidence.

Stale evidence is nudged on the workspace's nudge ladder with the expiry as the due date (7 and 1
days before, on the day, then every 3 days), each rung once per expiry (`evidence:{workspace}:{task}:
{expiry}:{rung}:{date}`), in the owner's working morning; a snoozed or not-applicable task gets none.
The nudge's buttons: "Still current" (`evidence <task> renew`: the newest link is confirmed valid
again from today, in the audit log) and "Snooze 1 week". `status`, `gap`, the digest, the SoA and the
tasks export read staleness from here; the decisions touch no database (the store hands rows in).
"""
from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Iterable

from handlers.dates import PERIODS
from handlers.reminders import (Ladder, Person, Rung, control_refs, in_working_morning, local_now, owner_rung,
                                when_due)
from handlers.roles import Refusal, Request, require_owner_or_admin
from handlers.replies import sections_reply
from handlers.types import Action, Command, Reply, Section

MAX_EVIDENCE = 50  # links per task; beyond that a folder link serves the auditor better
MAX_VALID_DAYS = 5 * 366  # `valid N days`: the same horizon as a due date (handlers.dates.MAX_YEARS_AHEAD)
MAX_NOTE = 500
MAX_DATE_WORDS = 3  # `expires next friday`; longer text after "expires" is part of the note, not a date
MAX_SHOWN = 10  # stale items listed per section; the rest are counted
RENEWED_NOTE = "still current (renewed)"
PERIOD_WORDS = {"month": "monthly", "quarter": "quarterly", "year": "yearly"}
PERIOD_SPANS = {"month": "a month", "quarter": "a quarter", "year": "a year"}
_PERIOD = re.compile(r"(?i)(?:every\s+)?(?:(?P<word>month|quarter|year)(?:ly)?|(?P<annual>annual)(?:ly)?|"
                     r"(?P<days>\d{1,4})\s*(?:d|days?))")
_PERIODISH = re.compile(r"(?i)\w+ly|off|none|days?|\d+d?")  # what a period's last word looks like, even misspelt
_UNIT_DAYS = {"day": 1, "week": 7, "month": 30, "year": 365}
_OPTION = re.compile(r"(?is)(?P<note>.*?)(?:^|\s+)(?:expires?\s+(?:on\s+)?(?P<date>\S.*?)|valid\s+(?:for\s+)?"
                     r"(?P<count>\d{1,5})\s+(?P<unit>day|week|month|year)s?)\s*")


# ----- freshness periods ----------------------------------------------------------------------

def parse_period(text: str) -> str | None:
    """'quarterly', 'every quarter', 'annually', '90 days' -> 'quarter', 'year', '90 days'; None if unreadable."""
    match = _PERIOD.fullmatch(text.strip())
    if not match:
        return None
    if match["days"]:
        days = int(match["days"])
        return f"{days} days" if 1 <= days <= MAX_VALID_DAYS else None
    return "year" if match["annual"] else match["word"].casefold()


def period_words(period: str) -> str:
    return PERIOD_WORDS.get(period, f"every {period}")


def add_period(start: date, period: str) -> date:
    if period in PERIODS:
        return start + PERIODS[period]
    return start + timedelta(days=int(period.split()[0]))


# ----- a task's evidence and its age ----------------------------------------------------------

def link_expiry(item: dict, period: str | None) -> date | None:
    """When one link stops being valid: its own date, else added + the control's period, else never."""
    if item.get("expires"):
        return date.fromisoformat(item["expires"])
    return add_period(date.fromisoformat(item["at"][:10]), period) if period else None


@dataclass(frozen=True)
class Evidenced:
    """One task's evidence as the freshness rules see it (built from `Store.evidence_rows`)."""

    workspace: str
    task_id: int
    control: str
    status: str
    snoozed_until: date | None
    owner: Person
    items: tuple[dict, ...]
    period: str | None  # the control's freshness period

    @property
    def expires(self) -> date | None:
        """The day the longest-lived link expires; None while any link never does."""
        dates = [link_expiry(item, self.period) for item in self.items]
        return None if not dates or None in dates else max(dates)

    @property
    def since(self) -> date:
        """The day the newest link was added (rungs reached before it are not sent)."""
        return max(date.fromisoformat(item["at"][:10]) for item in self.items)

    def stale(self, today: date) -> bool:
        return self.expires is not None and self.expires <= today


def current(workspace: str, rows: Iterable[tuple], periods: dict[str, str]) -> list[Evidenced]:
    """The evidence that counts, from `Store.evidence_rows`: per control, the newest task with evidence."""
    found: dict[str, Evidenced] = {}
    for task_id, control, status, snoozed, items, owner, tz, name in rows:  # rows come by id: newer wins
        found[control] = Evidenced(workspace, task_id, control, status, date.fromisoformat(snoozed) if snoozed else None,
                                   Person(owner, tz or "UTC", name or ""), tuple(items), periods.get(control))
    return sorted(found.values(), key=lambda e: e.task_id)


def of(store, workspace: str) -> list[Evidenced]:
    return current(workspace, store.evidence_rows(workspace), store.freshness_periods(workspace))


def stale(store, workspace: str, today: date) -> list[Evidenced]:
    return [e for e in of(store, workspace) if e.stale(today)]


def link_text(item: dict, period: str | None, today: date) -> str:
    """One link for an auditor: `https://… (added 2026-12-08, valid until 2027-03-08)`."""
    expires = link_expiry(item, period)
    if expires is None:
        age = "no expiry"
    elif expires <= today:
        age = f"stale since {expires.isoformat()}"
    else:
        age = f"valid until {expires.isoformat()}"
    if item.get("review"):  # a signed-off access review: its record is the review export
        return f"access review {item['review']} (complybot export review --id {item['review']}; {item['at'][:10]})"
    return f"{item['url']} (added {item['at'][:10]}, {age})"


def freshness_text(evidenced: Evidenced | None, today: date) -> str:
    """Fresh / stale / no expiry, for the tasks export."""
    if evidenced is None:
        return ""
    if evidenced.expires is None:
        return "no expiry"
    return f"{'stale since' if evidenced.stale(today) else 'valid until'} {evidenced.expires.isoformat()}"


def by_framework(items: Iterable[Evidenced], programme) -> dict[str, list[Evidenced]]:
    """'soc2' / 'iso' -> the items whose control counts for that framework."""
    found: dict[str, list[Evidenced]] = {"soc2": [], "iso": []}
    for item in items:
        refs = programme.control(item.control) or control_refs(item.control)
        for framework, side in (("soc2", refs.soc2), ("iso", refs.iso)):
            if side:
                found[framework].append(item)
    return found


def stale_line(item: Evidenced, today: date, label) -> str:
    """`#5 Disk Encryption — @bob, stale since 2026-12-01`."""
    return f"#{item.task_id} {item.control} — {label(item.owner.user)}, stale since {item.expires.isoformat()}"


def listing(title: str, items: list[Evidenced], today: date, label) -> Section:
    lines = [stale_line(item, today, label) for item in items[:MAX_SHOWN]]
    if len(items) > MAX_SHOWN:
        lines.append(f"…and {len(items) - MAX_SHOWN} more")
    return Section(title=title, lines=tuple(lines + ["Attach a fresh link: `evidence <task> <url>`."]))


# ----- the stale-evidence nudges (pure: the scheduler hands rows in) --------------------------------

@dataclass(frozen=True, slots=True)
class EvidenceNudge:
    evidenced: Evidenced
    rung: Rung
    today: date  # the owner's local date

    @property
    def key(self) -> str:
        e = self.evidenced
        return f"evidence:{e.workspace}:{e.task_id}:{e.expires.isoformat()}:{self.rung.kind}:{self.rung.on.isoformat()}"

    @property
    def kind(self) -> str:
        return f"evidence-{self.rung.kind}"


def due_nudges(items: Iterable[Evidenced], now: datetime, ladder: Ladder) -> list[EvidenceNudge]:
    """Every item whose expiry has reached a rung of the ladder, for an owner in their working morning."""
    nudges = []
    for item in items:
        if item.expires is None or item.status == "na" or not in_working_morning(now, item.owner.tz, ladder):
            continue
        today = local_now(now, item.owner.tz).date()
        if item.snoozed_until is not None and today < item.snoozed_until:
            continue
        rung = owner_rung(item.expires, today, ladder)
        if rung is not None and rung.on >= item.since:
            nudges.append(EvidenceNudge(item, rung, today))
    return nudges


def by_owner(nudges: Iterable[EvidenceNudge]) -> dict[str, list[EvidenceNudge]]:
    grouped: dict[str, list[EvidenceNudge]] = defaultdict(list)
    for nudge in nudges:
        grouped[nudge.evidenced.owner.user].append(nudge)
    return dict(grouped)


def nudge_actions(task_id: int) -> tuple[Action, ...]:
    """Commands of the shared grammar, checked as if typed by the presser."""
    return (Action("Still current", f"evidence {task_id} renew", "primary"),
            Action("Snooze 1 week", f"snooze {task_id} 7"))


def compose_nudge(nudges: list[EvidenceNudge]) -> Reply:
    """One direct message for one owner: their evidence that is going or has gone stale, soonest first."""
    ordered = sorted(nudges, key=lambda n: (n.evidenced.expires, n.evidenced.task_id))
    shown = ordered[:MAX_SHOWN]
    lead = "this evidence needs" if len(ordered) == 1 else f"the evidence of these {len(ordered)} tasks needs"
    text = [f"Evidence check: {lead} refreshing for the auditor."]
    sections = []
    for nudge in shown:
        e = nudge.evidenced
        when = when_due(e.expires, nudge.today)  # the renewal is due when the evidence expires
        latest = next((item["url"] for item in reversed(e.items) if item.get("url")), "")
        text.append(f"• #{e.task_id} {e.control}: evidence renewal {when}")
        refs = control_refs(e.control)
        sections.append(Section(f"#{e.task_id} {e.control}", (f"Evidence renewal {when}", f"Latest link: {latest}",
                                f"SOC 2: {', '.join(refs.soc2) or '—'} · ISO 27001: {', '.join(refs.iso) or '—'}"),
                                None, nudge_actions(e.task_id)))
    if len(ordered) > len(shown):
        more = f"…and {len(ordered) - len(shown)} more; `gap iso` and `gap soc2` list them."
        sections.append(Section(lines=(more,)))
        text.append(more)
    hint = "Attach a new link with `evidence <task> <url>`, or press Still current if the latest one still holds."
    text.append(hint)
    sections.append(Section(lines=(hint,)))
    return Reply("\n".join(text), sections=tuple(sections), kind="evidence_nudge")


# ----- commands -----------------------------------------------------------------------------------

USAGE = "`evidence <task> <url> [note] [expires <date> | valid 90 days]` or `evidence <task> renew`"


def evidence(req: Request, args: str) -> Reply:
    """`evidence <task> <url> [note] [expires <date> | valid N days]`; `evidence <task> renew`."""
    from handlers.tasks import split_task, url_problem

    task, rest = split_task(req, args)
    if rest.strip().casefold() == "renew":
        return renew(req, task)
    url, _, tail = rest.strip().partition(" ")
    url = unwrap_link(url)
    problem = url_problem(url)
    if problem:
        raise Refusal(f"{problem} Usage: {USAGE.replace('<task>', str(task.id))}.", kind="bad_url")
    require_owner_or_admin(req, task)
    _require_room(task)
    note, expires = _note_and_expiry(req, tail)
    item = {"url": url, "note": note[:MAX_NOTE], "by": req.actor.user_id, "at": _stamp(req)}
    if expires:
        item["expires"] = expires.isoformat()
    task = req.store.update_task(req.workspace, task.id, req.actor.user_id, "evidence", new=url,
                                 evidence=[*task.evidence, item])
    age = _age_words(item, req.store.freshness_periods(req.workspace).get(task.control), task.control)
    return _one_task(req, f"Evidence added to task {task.id} ({task.control}): {url}, {age}.", task, "evidence")


def renew(req: Request, task) -> Reply:
    """The newest link is confirmed still valid today: a new dated entry for it, so its age restarts."""
    require_owner_or_admin(req, task)
    links = [item for item in task.evidence if item.get("url")]
    if not links:
        raise Refusal(f"Task {task.id} has no evidence link to renew; attach one: `evidence {task.id} <url>`.",
                      kind="bad_state")
    latest = links[-1]  # links are appended: the last is the newest
    period = req.store.freshness_periods(req.workspace).get(task.control)
    item = {"url": latest["url"], "note": RENEWED_NOTE, "by": req.actor.user_id, "at": _stamp(req)}
    if not period:
        if not latest.get("expires"):
            raise Refusal(f"The evidence of task {task.id} never expires, so there is nothing to renew.",
                          kind="bad_state")
        validity = date.fromisoformat(latest["expires"]) - date.fromisoformat(latest["at"][:10])
        item["expires"] = (req.today + validity).isoformat()
    _require_room(task)
    task = req.store.update_task(req.workspace, task.id, req.actor.user_id, "evidence renew", new=latest["url"],
                                 evidence=[*task.evidence, item])
    return _one_task(req, f"Renewed the evidence of task {task.id} ({task.control}): {latest['url']} is "
                     f"{_age_words(item, period, task.control)}.", task, "evidence_renew")


def _require_room(task) -> None:
    if len(task.evidence) >= MAX_EVIDENCE:
        raise Refusal(f"Task {task.id} already has {MAX_EVIDENCE} evidence links; link a folder instead.",
                      kind="bad_state")


def _note_and_expiry(req: Request, tail: str) -> tuple[str, date | None]:
    """(note, explicit expiry) from what follows the link."""
    from handlers.tasks import parse_date

    match = _OPTION.fullmatch(tail.strip())
    if not match:
        return tail.strip(), None
    if match["date"]:
        if len(match["date"].split()) > MAX_DATE_WORDS:  # a note that says "expires" ("…expires when we rotate it")
            return tail.strip(), None
        return match["note"].strip(), parse_date(req, match["date"])
    days = int(match["count"]) * _UNIT_DAYS[match["unit"].casefold()]
    if not 1 <= days <= MAX_VALID_DAYS:
        raise Refusal(f"Evidence can be valid for 1 day up to {MAX_VALID_DAYS // 366} years.", kind="usage",
                      field="date")
    return match["note"].strip(), req.today + timedelta(days=days)


def _age_words(item: dict, period: str | None, control: str) -> str:
    expires = link_expiry(item, period)
    if expires is None:
        return f"no expiry (set one: `valid 90 days`, or `freshness {control} quarterly`)"
    return f"valid until {expires.isoformat()}"


def _stamp(req: Request) -> str:
    return req.ctx.clock.now().astimezone(timezone.utc).isoformat(timespec="seconds")


def unwrap_link(text: str) -> str:
    """Slack sends links as <https://x|label>; Teams and the console send them bare."""
    match = re.fullmatch(r"<([^>|]+)(?:\|[^>]*)?>", text)
    return match[1] if match else text


def _one_task(req: Request, text: str, task, kind: str) -> Reply:
    from handlers.tasks import task_section

    return sections_reply(text, [task_section(req, task)], kind)


FRESHNESS_USAGE = ("Usage: `freshness <control> quarterly` (monthly, quarterly, yearly or `90 days`), "
                   "`freshness <control> off`, or `freshness` to list them.")


def freshness(req: Request, args: str) -> Reply:
    """`freshness` lists; `freshness <control or task> <period>|off` sets a control's default (admins, or
    the owner of its task)."""
    from handlers.tasks import resolve_control, resolve_task

    words = args.split()
    periods = req.store.freshness_periods(req.workspace)
    if not words:
        lines = tuple(f"{control}: {period_words(period)}" for control, period in sorted(periods.items()))
        return sections_reply("How long each control's evidence stays valid:", [Section(lines=lines)], "freshness",
                              FRESHNESS_USAGE) if lines else Reply(f"No freshness set yet. {FRESHNESS_USAGE}",
                                                                   kind="freshness")
    period_text, subject = _split_period(words)
    if subject is None:
        raise Refusal(FRESHNESS_USAGE, kind="usage")
    period = None if period_text.casefold() in ("off", "none") else parse_period(period_text)
    if period is None and period_text.casefold() not in ("off", "none"):
        raise Refusal(f"I can't read {period_text[:40]!r} as a period. {FRESHNESS_USAGE}", kind="usage")
    if re.fullmatch(r"#?\d{1,9}", subject):
        control = resolve_task(req, subject).control
    else:
        control = resolve_control(req, subject, lambda name: f"freshness {name} {period_text}").name
    active = req.store.active_task_for(req.workspace, control)
    if not req.is_admin and (active is None or active.owner != req.actor.user_id):
        raise Refusal(f"Only an admin or the owner of {control}'s task sets how long its evidence stays valid.",
                      kind="forbidden")
    req.store.set_freshness(req.workspace, control, period, req.actor.user_id)
    if period is None:
        return Reply(f"{control}'s evidence no longer expires by default (links with their own date still do).",
                     kind="freshness")
    return Reply(f"{control}'s evidence is now valid for {PERIOD_SPANS.get(period, period)} from the day "
                 "it is attached; stale evidence is nudged like a due date.", kind="freshness")


def _split_period(words: list[str]) -> tuple[str, str | None]:
    """(period text, subject) with the period taken from the end: `quarterly`, `every 90 days`, `off`."""
    for size in (3, 2, 1):
        if len(words) > size:
            tail = " ".join(words[-size:])
            if parse_period(tail) or (size == 1 and tail.casefold() in ("off", "none")):
                return tail, " ".join(words[:-size])
    return words[-1], " ".join(words[:-1]) or None  # not a period: refused as one, naming it


def _names_link(args: str) -> bool:
    from handlers.tasks import _TASK_NUMBER

    return bool(_TASK_NUMBER.match(args) or re.search(r"<?https?://", args, re.I))


def _is_freshness_command(args: str) -> bool:
    """`freshness`, `freshness Disk Encryption quarterly` ("freshness of evidence" is a question)."""
    words = args.split()
    return not words or (len(words) > 1 and bool(_PERIODISH.fullmatch(words[-1])))


COMMANDS = (
    Command("evidence", "evidence <task> <url> [note] [expires <date> | valid 90 days] · evidence <task> renew",
            "attach an evidence link (http/https) for the auditor, with how long it stays valid; `renew`: the "
            "latest link still holds", evidence, needs_args=True, accepts=_names_link),
    Command("freshness", "freshness · freshness <control> quarterly|monthly|yearly|off",
            "how long a control's evidence stays valid before its owner is nudged to refresh it", freshness,
            accepts=_is_freshness_command),
)
