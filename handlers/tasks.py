"""Task commands: assign, tasks, done/start/reopen, block, reassign, due, snooze, na, history (evidence: handlers/evidence.py).

Each command takes a `Request` and the text after the command word, returns a `Reply`, and raises
`Refusal` for anything it will not do (the router then rolls back, so nothing changes).
"""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from urllib.parse import urlsplit

from handlers.dates import DateError, next_due, parse_due
from handlers.programme import Programme, activity_lines, counts_for, is_requirement, requirement
from handlers.roles import Refusal, Request, label, require_admin, require_owner_or_admin, resolve_person
from handlers.replies import sections_reply
from handlers.types import Action, Command, Reply, Section
from knowledge.catalog import Control, catalog
from knowledge.matching import MIN_SCORE

MAX_LISTED = 25  # tasks shown as sections in one reply; the rest are counted
SURE_SCORE = 88  # a fuzzy match this good, clearly ahead of the next, is taken without asking
CHOICE_SCORE = MIN_SCORE  # weaker matches are offered as choices; below the engine's bar none at all
SURE_MARGIN = 6  # how far ahead of the runner-up a sure match must be
MAX_CHOICES = 10
DUE_SOON_DAYS = 7
MAX_SNOOZE_DAYS = 90
STATUS_WORDS = {"open": "open", "in_progress": "in progress", "blocked": "blocked", "done": "done",
                "na": "not applicable"}
_RECURRENCE = re.compile(r"\b(?:every\s+(month|quarter|year)|(month|quarter|year)ly|(annual)ly)\b", re.I)


# ----- looking things up ----------------------------------------------------------------------

def match_controls(text: str, limit: int = 5) -> list[tuple[Control, float]]:
    """The answer engine's control ranking (knowledge.matching), imported when first needed."""
    from knowledge.matching import match_controls as matcher

    return matcher(text, limit=limit)


def refs_in(text: str) -> list[str]:
    """Canonical references named in `text` (2013 numbers become their 2022 controls)."""
    from knowledge.references import find_refs

    found: list[str] = []
    for ref in find_refs(text):
        targets = catalog().iso2013.get(ref.ref, ("", ()))[1] if ref.kind == "iso2013" else (ref.ref,)
        found.extend(t for t in targets if t not in found)
    return found


ITSELF = "itself"  # `assign A.8.1 itself to @x`: a task for the requirement, not for a control covering it


def resolve_control(req: Request, text: str, command_for) -> Control:
    """The control `text` names: exactly (the table's or the workspace's own), by reference (the covering
    controls and the requirement itself are offered; a requirement nothing covers is taken itself), or
    fuzzily (offered when unsure). `command_for(name)` is the command a choice button sends."""
    text = text.strip()
    programme = Programme.of(req.store, req.workspace)
    exact = programme.control(text)
    if exact:
        return exact
    itself = re.fullmatch(rf"(?is)(.+?)\s+{ITSELF}", text)
    refs = [r for r in refs_in(itself[1] if itself else text) if is_requirement(r)]
    if len(refs) == 1 and (itself or _only_a_reference(text)):
        covering = programme.controls_for(refs[0])
        if itself or not covering:
            return requirement(refs[0])
        raise _choices(f"{refs[0]} is covered by {len(covering)} control{'s' * (len(covering) != 1)}. Which one, "
                       "or the requirement itself?", list(covering), command_for, itself=refs[0])
    if refs:
        covering = list(dict.fromkeys(c for ref in refs for c in programme.controls_for(ref)))
        raise _choices(f"{', '.join(refs)} name several requirements. Which control, or assign each "
                       "requirement itself?", covering, command_for)
    own = _sure_custom(programme, text)
    if own:
        return own
    matches = match_controls(text, limit=MAX_CHOICES)
    best = matches[0][1] if matches else 0
    if best >= SURE_SCORE and (len(matches) == 1 or matches[1][1] <= best - SURE_MARGIN):
        return matches[0][0]
    close = [c for c, score in matches if score >= max(CHOICE_SCORE, best - 15)]
    if close:
        raise _choices(f"Which control do you mean by {text[:80]!r}?", close, command_for)
    raise Refusal(f"I don't know a control called {text[:80]!r}. Try its name (e.g. `User Access Review`) or a "
                  "reference (e.g. `CC6.1`, `A.8.1`).", kind="unknown_control", field="control")


def _sure_custom(programme: Programme, text: str) -> Control | None:
    """A workspace's own control named with typos (the same bar as the table's controls)."""
    from rapidfuzz import fuzz

    scored = sorted(((fuzz.WRatio(text.casefold(), c.name.casefold()), c) for c in programme.custom),
                    key=lambda pair: -pair[0])
    if scored and scored[0][0] >= SURE_SCORE and (len(scored) == 1 or scored[1][0] <= scored[0][0] - SURE_MARGIN):
        return scored[0][1]
    return None


def subject_of(req: Request, text: str, programme: Programme | None = None) -> str:
    """The exact subject a task may be for: a control of the table or of the workspace, or a requirement
    (`Clause 9.3`, `A.5.23`); '' when `text` is none of them exactly."""
    found = (programme or Programme.of(req.store, req.workspace)).control(text)
    if found:
        return found.name
    refs = refs_in(text)
    return refs[0] if len(refs) == 1 and is_requirement(refs[0]) and _only_a_reference(text) else ""


def _only_a_reference(text: str) -> bool:
    """`A.8.1`, `clause 9.3`, `Annex A 8.1`: nothing but one reference (not a control's name around it)."""
    from knowledge.references import find_refs

    spelled = re.fullmatch(r"(?i)(?:clause|section|annex|a|cc|pi|p|c|§|[\s.\-\d])+", text)
    return bool(spelled) and len(find_refs(text)) == 1


def _choices(question: str, controls: list[Control], command_for, itself: str = "") -> Refusal:
    names = "\n".join([f"• {c.name}" for c in controls] + ([f"• {itself} itself (the requirement)"] if itself else []))
    actions = tuple(Action(c.name, command_for(c.name)) for c in controls[:MAX_CHOICES])
    if itself:
        actions += (Action(f"{itself} itself", command_for(f"{itself} {ITSELF}")),)
    return Refusal(f"{question}\n{names}", actions=actions, kind="choose_control", field="control")


def resolve_task(req: Request, text: str):
    """A task of this workspace by number (`12`, `#12`, `task 12`) or by its control's name."""
    text = text.strip()
    number = re.fullmatch(r"(?:task\s*)?#?(\d{1,9})", text, re.I)
    if number:
        task = req.store.task(req.workspace, int(number[1]))
        if task is None:
            raise Refusal(f"There is no task {number[1]} in this workspace. `tasks all` lists them.",
                          kind="unknown_task", field="task")
        return task
    if not text:
        raise Refusal("Which task? Give its number (see `tasks`) or its control's name.", kind="usage")
    with_tasks = set(req.store.control_statuses(req.workspace))
    subject = subject_of(req, text)
    if subject in with_tasks:
        return req.store.active_task_for(req.workspace, subject) or \
            req.store.tasks(req.workspace, control=subject, statuses=None)[-1]
    for control, score in match_controls(text, limit=MAX_CHOICES):
        if score >= SURE_SCORE and control.name in with_tasks:
            active = req.store.active_task_for(req.workspace, control.name)
            return active or req.store.tasks(req.workspace, control=control.name, statuses=None)[-1]
    raise Refusal(f"I can't find a task for {text[:80]!r} in this workspace. Use its number from `tasks`.",
                  kind="unknown_task", field="task")


def split_task(req: Request, args: str) -> tuple[object, str]:
    """`<task> <rest>`: the task is a number, or the longest leading words naming a task's control."""
    words = args.split()
    if not words:
        raise Refusal("Which task? Give its number (see `tasks`) or its control's name.", kind="usage")
    if re.fullmatch(r"#?\d{1,9}", words[0]):
        return resolve_task(req, words[0]), args.split(None, 1)[1] if len(words) > 1 else ""
    programme = Programme.of(req.store, req.workspace)
    for size in head_sizes(len(words) - 1):
        head = " ".join(words[:size])
        subject = subject_of(req, head, programme)
        if subject and req.store.tasks(req.workspace, control=subject, statuses=None, limit=1):
            return resolve_task(req, head), " ".join(words[size:])
    for size in head_sizes(len(words) - 1):  # then typos, still whole words
        try:
            return resolve_task(req, " ".join(words[:size])), " ".join(words[size:])
        except Refusal:
            continue
    raise Refusal(f"I can't find a task in {args[:80]!r}. Start with its number from `tasks`.", kind="unknown_task",
                  field="task")


def head_sizes(most: int) -> range:
    """How many leading words to try as a control's name, longest first. Twice the longest name or alias
    leaves room for filler and typos; trying every prefix of a 4,000-character message would hold the
    event loop for a tenth of a second and find nothing more."""
    from knowledge.matching import longest_name_words

    return range(min(most, 2 * longest_name_words()), 0, -1)


def parse_date(req: Request, text: str) -> date:
    try:
        return parse_due(text, req.today)
    except DateError as error:
        raise Refusal(str(error), kind="bad_date", field="date") from None


# ----- showing tasks ---------------------------------------------------------------------------

def due_words(due: date | None, today: date) -> str:
    if due is None:
        return "no due date"
    days = (due - today).days
    if days < 0:
        return f"OVERDUE since {due:%Y-%m-%d} ({-days} day{'s' * (days != -1)})"
    if days == 0:
        return f"due today ({due:%Y-%m-%d})"
    return f"due {due:%Y-%m-%d} (in {days} day{'s' * (days != 1)})"


def describe(req: Request, task, refs: str = "") -> str:
    """One line about a task: number, control, owner, due date, status and extras."""
    parts = [f"#{task.id} {task.control}", label(req.store, req.workspace, task.owner)]
    parts.append(due_words(task.due, req.today) if task.active else STATUS_WORDS[task.status])
    if task.status == "in_progress":
        parts.append("in progress")
    if task.status == "blocked":
        parts.append(f"blocked: {task.blocked_reason}")
    if task.recurrence:
        parts.append(f"every {task.recurrence}")
    if task.snoozed_until and task.snoozed_until >= req.today and task.active:
        parts.append(f"snoozed until {task.snoozed_until:%Y-%m-%d}")
    if task.evidence:
        parts.append(f"{len(task.evidence)} evidence link{'s' * (len(task.evidence) != 1)}")
    if refs:
        parts.append(refs)
    return " · ".join(parts)


def task_actions(task, req: Request) -> tuple[Action, ...]:
    """The buttons of a task that the person looking may press (a member: only on their own tasks, and
    never Reassign)."""
    may_change = req.is_admin or task.owner == req.actor.user_id
    if not may_change:
        return ()
    if not task.active:
        return (Action("Reopen", f"reopen {task.id}"),)
    actions = [Action("Done", f"done {task.id}", "primary"), Action("Snooze 1 week", f"snooze {task.id} 7")]
    if task.status == "blocked":
        actions.append(Action("Unblock", f"unblock {task.id}"))
    if req.is_admin:
        actions.append(Action("Reassign", f"reassign {task.id}"))
    return tuple(actions)


def task_section(req: Request, task, refs: str = "") -> Section:
    return Section(lines=(describe(req, task, refs),), actions=task_actions(task, req))


def task_reply(req: Request, headline: str, tasks: list, kind: str = "tasks", refs_of=None,
               empty: str = "Nothing here.") -> Reply:
    if not tasks:
        return Reply(f"{headline}\n{empty}", kind=kind)
    shown = tasks[:MAX_LISTED]
    sections = [task_section(req, t, refs_of(t) if refs_of else "") for t in shown]
    footer = f"…and {len(tasks) - len(shown)} more (`complybot export tasks` lists all)." if len(tasks) > len(shown) else ""
    return sections_reply(headline, sections, kind, footer)


def one_task_reply(req: Request, text: str, task, kind: str) -> Reply:
    return sections_reply(text, [task_section(req, task)], kind)


# ----- commands --------------------------------------------------------------------------------

def assign(req: Request, args: str) -> Reply:
    """`assign <control> to <person> [due <date>] [every month|quarter|year] [note ...]`."""
    match = re.fullmatch(r"(?P<control>.+?)\s+to\s+(?P<who><@[^>]+>|\S+)(?P<rest>.*)", args.strip(), re.I | re.S)
    if not match:
        raise Refusal("Usage: `assign <control> to @person [due <date>] [every month|quarter|year] [note ...]`.",
                      kind="usage")
    due_text, recurrence, note = _assign_options(match["rest"])

    def command_for(name: str) -> str:
        return f"assign {name} to {match['who']}{match['rest']}"

    control = resolve_control(req, match["control"], command_for)
    owner = resolve_person(req, match["who"])
    if owner.user_id != req.actor.user_id and not req.is_admin:
        raise Refusal(f"Members can assign controls only to themselves; ask an admin to assign {control.name} "
                      f"to {owner.label}.", kind="forbidden", field="person")
    current = req.store.active_task_for(req.workspace, control.name)
    if current:
        raise Refusal(f"{control.name} is already owned by {label(req.store, req.workspace, current.owner)} "
                      f"(task {current.id}, {due_words(current.due, req.today)}). To change its owner: "
                      f"`reassign {current.id} to @person`.", actions=task_actions(current, req), kind="already_owned",
                      field="control")
    due = parse_date(req, due_text) if due_text else None
    if recurrence and due is None:
        raise Refusal(f"Every {recurrence} from when? Give the first due date: `assign {control.name} to "
                      f"{match['who']} due <date> every {recurrence}`.", kind="usage", field="date")
    task = req.store.create_task(req.workspace, control.name, owner.user_id, req.actor.user_id, due=due,
                                 recurrence=recurrence, note=note)
    repeat = f", every {recurrence}" if recurrence else ""
    text = (f"Assigned {control.name} to {owner.label} as task {task.id}, {due_words(due, req.today)}{repeat}. "
            f"{counts_for(control)}")
    sections = [task_section(req, task)]
    activity = activity_lines(control.name)
    if activity:
        sections.append(Section(title=f"{control.name}: {catalog().iso[control.name].title}", lines=activity))
    return sections_reply(text, sections, "assign")



def _assign_options(rest: str) -> tuple[str, str | None, str]:
    """(due text, recurrence, note) from what follows the person in `assign`."""
    note = ""
    found_note = re.search(r"(?i)\bnote\b", rest)
    if found_note:
        rest, note = rest[:found_note.start()], rest[found_note.end():]
    recurrence = None
    found = _RECURRENCE.search(rest)
    if found:
        recurrence = next(g for g in found.groups() if g).casefold().replace("annual", "year")
        rest = rest[:found.start()] + " " + rest[found.end():]
    rest = rest.strip(" ,;")
    due = re.fullmatch(r"(?is)(?:due|by|on)\s+(.+)", rest)
    if rest and not due:
        raise Refusal(f"I didn't understand {rest[:80]!r}. Usage: `assign <control> to @person [due <date>] "
                      "[every month|quarter|year] [note ...]`.", kind="usage")
    return (due[1].strip() if due else ""), recurrence, note.strip(" :")


def list_tasks(req: Request, args: str) -> Reply:
    """`tasks`, `tasks @person`, `tasks overdue`, `tasks due soon`, `tasks all`, `tasks done`, `tasks iso|soc2`."""
    which = " ".join(args.casefold().split())
    store, ws, today = req.store, req.workspace, req.today
    if which in ("", "mine", "my", "me"):
        return task_reply(req, f"Your open tasks ({req.actor.label}):", store.tasks(ws, owner=req.actor.user_id),
                          empty="You have no open tasks.")
    if which == "overdue":
        return task_reply(req, "Overdue tasks:", store.tasks(ws, due_before=today), empty="Nothing is overdue.")
    if which in ("due soon", "soon", "due"):
        soon = [t for t in store.tasks(ws, due_on_or_before=today + timedelta(days=DUE_SOON_DAYS)) if t.due >= today]
        return task_reply(req, f"Tasks due in the next {DUE_SOON_DAYS} days:", soon, empty="Nothing is due soon.")
    if which == "all":
        return task_reply(req, "All open tasks:", store.tasks(ws), empty="No open tasks in this workspace.")
    if which == "done":
        return task_reply(req, "Finished tasks:", store.tasks(ws, statuses=("done", "na")), empty="Nothing done yet.")
    framework = framework_of(which)
    if framework:
        pick = (lambda c: c.soc2) if framework == "soc2" else (lambda c: c.iso)
        name = "SOC 2" if framework == "soc2" else "ISO 27001"

        def refs_of(task) -> str:
            control = catalog().control(task.control)
            return f"{name} {', '.join(pick(control))}" if control else ""

        return task_reply(req, f"Open tasks with their {name} references:", store.tasks(ws), refs_of=refs_of,
                          empty="No open tasks in this workspace.")
    if " " in args.strip() and not args.strip().startswith(("@", "<@")):
        raise Refusal("I can list `tasks`, `tasks @person`, `tasks overdue`, `tasks due soon`, `tasks all`, "
                      "`tasks done`, `tasks iso` or `tasks soc2`.", kind="usage")
    person = resolve_person(req, args)
    return task_reply(req, f"Open tasks of {person.label}:", store.tasks(ws, owner=person.user_id),
                      empty=f"{person.label} has no open tasks.")


def framework_of(word: str) -> str | None:
    """"soc2" or "iso" for the ways people name the frameworks, else None."""
    word = word.casefold().replace(" ", "").replace("-", "")
    if word in ("soc2", "soc"):
        return "soc2"
    if word in ("iso", "iso27001", "27001", "iso27001:2022"):
        return "iso"
    return None


def done(req: Request, args: str) -> Reply:
    """`done <task>`; `done <task> now` finishes a just-created next occurrence without asking."""
    confirmed = re.search(r"(?i)\s+now$", args.strip())
    task = resolve_task(req, args.strip()[:confirmed.start()] if confirmed else args)
    require_owner_or_admin(req, task)
    if task.status == "done":
        raise Refusal(f"Task {task.id} ({task.control}) is already done.", actions=task_actions(task, req),
                      kind="already_done")
    if not confirmed and _fresh_occurrence(req, task):
        return Reply(f"Task {task.id} is the next {task.recurrence}'s {task.control}, due {task.due:%Y-%m-%d}, "
                     "created just now when the previous one was finished. Finish it now as well?",
                     actions=(Action("Finish it now", f"done {task.id} now", "primary"),), ephemeral=True,
                     kind="done_confirm", outcome="prompt")
    now = req.ctx.clock.now().astimezone(timezone.utc).isoformat(timespec="seconds")
    finished = req.store.update_task(req.workspace, task.id, req.actor.user_id, "done", old=task.status, new="done",
                                     status="done", done_at=now, snoozed_until=None, blocked_reason="")
    text = f"Done: task {task.id}, {task.control}. Well done!"
    if task.status == "blocked":
        text += f" It was blocked ({task.blocked_reason}); the block is cleared."
    sections = [task_section(req, finished)]
    if task.recurrence:
        due = next_due(task.due or req.today, task.recurrence)
        following = req.store.create_task(req.workspace, task.control, task.owner, req.actor.user_id, due=due,
                                          recurrence=task.recurrence, note=task.note, previous_id=task.id)
        req.store.log(req.workspace, task.id, req.actor.user_id, "next", "", f"task {following.id}")
        text += (f" Next occurrence: task {following.id}, due {due:%Y-%m-%d} (one {task.recurrence} after "
                 "the previous due date).")
        sections.append(task_section(req, following))
    return sections_reply(text, sections, "done")


FRESH_OCCURRENCE_MINUTES = 60  # a next occurrence this new being finished is most likely a second press of Done


def _fresh_occurrence(req: Request, task) -> bool:
    if not (task.previous_id and task.recurrence and task.due and task.due > req.today):
        return False
    age = abs(req.ctx.clock.now() - datetime.fromisoformat(task.created_at))  # the store stamps wall-clock time
    return age < timedelta(minutes=FRESH_OCCURRENCE_MINUTES)


def start(req: Request, args: str) -> Reply:
    task = resolve_task(req, args)
    require_owner_or_admin(req, task)
    if task.status != "open" and task.status != "blocked":
        raise Refusal(f"Task {task.id} is {STATUS_WORDS[task.status]}; `start` works on open or blocked tasks.",
                      kind="bad_state")
    task = req.store.update_task(req.workspace, task.id, req.actor.user_id, "start", old=task.status,
                                 new="in_progress", status="in_progress", blocked_reason="")
    return one_task_reply(req, f"Started task {task.id}, {task.control}.", task, "start")


def reopen(req: Request, args: str) -> Reply:
    task = resolve_task(req, args)
    require_owner_or_admin(req, task)
    if task.status == "open":
        raise Refusal(f"Task {task.id} is already open.", kind="bad_state")
    other = req.store.active_task_for(req.workspace, task.control)
    if other and other.id != task.id:
        raise Refusal(f"{task.control} already has an open task: {other.id}. Work on that one instead.",
                      actions=task_actions(other, req), kind="bad_state")
    task = req.store.update_task(req.workspace, task.id, req.actor.user_id, "reopen", old=task.status, new="open",
                                 status="open", blocked_reason="", done_at=None)
    return one_task_reply(req, f"Reopened task {task.id}, {task.control}.", task, "reopen")


def block(req: Request, args: str) -> Reply:
    task, reason = split_task(req, args)
    reason = reason.strip()
    if not reason:
        raise Refusal(f"Please say why. Usage: `block {task.id} <reason>`.", kind="usage")
    require_owner_or_admin(req, task)
    if not task.active:
        raise Refusal(f"Task {task.id} is {STATUS_WORDS[task.status]}; reopen it first.", kind="bad_state")
    task = req.store.update_task(req.workspace, task.id, req.actor.user_id, "block", old=task.status,
                                 new=f"blocked: {reason[:500]}", status="blocked", blocked_reason=reason[:500])
    return one_task_reply(req, f"Task {task.id} is blocked: {reason[:500]}", task, "block")


def reassign(req: Request, args: str) -> Reply:
    match = re.fullmatch(r"(?is)(?P<task>.+?)\s+to\s+(?P<who>.+)", args.strip())
    if not match:
        task = resolve_task(req, args)
        return Reply(f"Who should own task {task.id} ({task.control})? Reply `reassign {task.id} to @person`.",
                     ephemeral=True, kind="reassign_prompt", outcome="prompt")
    task = resolve_task(req, match["task"])
    person = resolve_person(req, match["who"])
    if person.user_id == task.owner:
        raise Refusal(f"{person.label} already owns task {task.id}.", kind="bad_state", field="person")
    if not req.is_admin:
        raise Refusal("Only an admin can give a task to someone else. Ask an admin.", kind="forbidden")
    before = label(req.store, req.workspace, task.owner)
    task = req.store.update_task(req.workspace, task.id, req.actor.user_id, "reassign", old=task.owner,
                                 new=person.user_id, owner=person.user_id)
    return one_task_reply(req, f"Task {task.id} ({task.control}) moved from {before} to {person.label}.", task,
                          "reassign")


def due(req: Request, args: str) -> Reply:
    task, date_text = split_task(req, args)
    if not date_text.strip():
        raise Refusal(f"Which date? `due {task.id} <date>`, e.g. {task.id} next friday.", kind="usage")
    require_owner_or_admin(req, task)
    new_due = parse_date(req, date_text)
    task = req.store.update_task(req.workspace, task.id, req.actor.user_id, "due",
                                 old=task.due.isoformat() if task.due else "", new=new_due.isoformat(), due=new_due)
    return one_task_reply(req, f"Task {task.id} is now {due_words(new_due, req.today)}.", task, "due")


def snooze(req: Request, args: str) -> Reply:
    task, days_text = split_task(req, args)
    days = re.fullmatch(r"(\d{1,4})\s*(?:d|days?)?", days_text.strip(), re.I)
    if not days or not 1 <= int(days[1]) <= MAX_SNOOZE_DAYS:
        raise Refusal(f"Snooze for how many days (1–{MAX_SNOOZE_DAYS})? `snooze {task.id} 7`.", kind="usage")
    require_owner_or_admin(req, task)
    until = req.today + timedelta(days=int(days[1]))
    task = req.store.update_task(req.workspace, task.id, req.actor.user_id, "snooze",
                                 old=task.snoozed_until.isoformat() if task.snoozed_until else "",
                                 new=until.isoformat(), snoozed_until=until)
    return one_task_reply(req, f"No reminders for task {task.id} until {until:%Y-%m-%d}.", task, "snooze")


def url_problem(url: str) -> str:
    """Why `url` is not a usable evidence link, or '' when it is."""
    if not url:
        return "Please give the evidence link."
    if len(url) > 2000 or any(c.isspace() or ord(c) < 32 for c in url):
        return "That link is too long or has spaces in it."
    try:
        parts = urlsplit(url)
    except ValueError:
        return f"{url[:80]!r} is not a valid link."
    if parts.scheme not in ("http", "https") or not parts.hostname or "." not in parts.hostname.strip("."):
        return f"{url[:80]!r} is not a web link (it must start with https:// or http:// and name a full host, such as drive.example.com)."
    return ""


def not_applicable(req: Request, args: str) -> Reply:
    """`na <control or reference> <justification>` for the Statement of Applicability: applicability is
    the SoA's content, an admin's decision whoever owns the control's task."""
    require_admin(req, "decide what does not apply (the Statement of Applicability)")
    subject, justification = _split_subject(req, args)
    if len(justification.split()) < 2:
        raise Refusal(f"Please give a few words of why {subject} does not apply; auditors read them in the "
                      "Statement of Applicability: `na <control> <why it does not apply>`.", kind="usage")
    if subject.startswith("Clause"):
        raise Refusal(f"{subject} is part of the ISMS itself (clauses 4–10): it is required for certification "
                      "and cannot be marked not applicable.", kind="bad_state")
    active = req.store.active_task_for(req.workspace, subject)
    if active:
        req.store.update_task(req.workspace, active.id, req.actor.user_id, "na", old=active.status, new="na",
                              status="na")
    req.store.set_na(req.workspace, subject, justification[:1000], req.actor.user_id)
    return Reply(f"Recorded {subject} as not applicable: {justification[:1000]}", kind="na")


def _split_subject(req: Request, args: str) -> tuple[str, str]:
    """(control name or canonical reference, the rest) from `na`/`applicable` arguments."""
    words = args.split()
    if not words:
        raise Refusal("Usage: `na <control> <justification>`.", kind="usage")
    for size in range(1, min(len(words), 4) + 1):  # a reference first: `na A.5.23 ...`, `na Annex A 8.1 ...`
        refs = refs_in(" ".join(words[:size]))
        if len(refs) == 1 and (refs[0] in catalog().iso or refs[0] in catalog().soc2):
            return refs[0], " ".join(words[size:])
    programme = Programme.of(req.store, req.workspace)
    for size in head_sizes(len(words)):
        control = programme.control(" ".join(words[:size]))
        if control:
            return control.name, " ".join(words[size:])
    for size in head_sizes(len(words) - 1):
        head = " ".join(words[:size])
        matches = match_controls(head, limit=2)
        if matches and matches[0][1] >= 95 and (len(matches) < 2 or matches[1][1] < matches[0][1]):
            return matches[0][0].name, " ".join(words[size:])
    raise Refusal(f"I can't tell which control {args[:60]!r} names. Write its exact name or reference first, "
                  "e.g. `na Data Center Physical Access we run no data centre of our own`.",
                  kind="unknown_control")


def applicable(req: Request, args: str) -> Reply:
    """`applicable <control or reference>`: undo `na` (admins); a task it had closed is open again."""
    require_admin(req, "decide what applies (the Statement of Applicability)")
    subject, rest = _split_subject(req, args)
    if rest.strip():
        raise Refusal(f"Usage: `applicable <control or reference>`; I read {subject} and then {rest[:60]!r}.",
                      kind="usage")
    before = req.store.clear_na(req.workspace, subject, req.actor.user_id)
    if before is None:
        raise Refusal(f"{subject} was not marked not applicable; nothing to undo.", kind="bad_state",
                      field="control")
    closed = req.store.tasks(req.workspace, control=subject, statuses=("na",))
    text = f"{subject} applies again (it was not applicable: {before.justification})."
    if closed and not req.store.active_task_for(req.workspace, subject):
        task = req.store.update_task(req.workspace, closed[-1].id, req.actor.user_id, "applicable", old="na",
                                     new="open", status="open")
        return one_task_reply(req, f"{text} Task {task.id} is open again.", task, "applicable")
    return Reply(text, kind="applicable")


def unblock(req: Request, args: str) -> Reply:
    """`unblock <task>`: the block is cleared; the task goes back to the state it had before."""
    task = resolve_task(req, args)
    require_owner_or_admin(req, task)
    if task.status != "blocked":
        raise Refusal(f"Task {task.id} is {STATUS_WORDS[task.status]}, not blocked.", kind="bad_state", field="task")
    task = _unblocked(req, task)
    return one_task_reply(req, f"Task {task.id} ({task.control}) is no longer blocked.", task, "unblock")


def _unblocked(req: Request, task):
    blocks = [e for e in req.store.events(req.workspace, task.id) if e.action == "block"]
    before = blocks[-1].old if blocks and blocks[-1].old in ("open", "in_progress") else "open"
    return req.store.update_task(req.workspace, task.id, req.actor.user_id, "unblock", old=task.blocked_reason,
                                 new=before, status=before, blocked_reason="")


def history(req: Request, args: str) -> Reply:
    """`history <task>`: the audit trail of a task and the occurrences it is linked to."""
    task = resolve_task(req, args)
    names = {p.user_id: p.label for p in req.store.people(req.workspace)}
    lines = []
    for event in req.store.events(req.workspace, task.id):
        change = " → ".join(v for v in (_named(event.old, names), _named(event.new, names)) if v)
        lines.append(f"{event.at[:16].replace('T', ' ')} {names.get(event.actor, event.actor)} "
                     f"{event.action}{': ' + change if change else ''}")
    links = []
    if task.previous_id:
        links.append(f"previous occurrence: task {task.previous_id}")
    following = req.store.next_occurrence(req.workspace, task.id)
    if following:
        links.append(f"next occurrence: task {following.id}")
    section = Section(title=f"Task {task.id}: {task.control}", lines=tuple(lines + links))
    return sections_reply(f"History of task {task.id} ({describe(req, task)}), times in UTC:", [section],
                          "history")


def _named(value: str, names: dict[str, str]) -> str:
    return names.get(value, value)


# ----- the commands, as the router reads them ----------------------------------------------------

_TASK_NUMBER = re.compile(r"(?:task\s*)?#?\d{1,9}\b", re.I)


def is_task_number(text: str) -> bool:
    return bool(_TASK_NUMBER.fullmatch(text))


def names_task(args: str) -> bool:
    """`done 3`, `done disk encryption`, `done A.5.23`: a task number, a control's name or a requirement
    (else it is a question)."""
    return not args or is_task_number(args) or _only_a_reference(args) or _names_control(args)


def _names_control(text: str) -> bool:
    found = match_controls(text, limit=1)
    return bool(found) and found[0][1] >= SURE_SCORE


def _starts_with_task(args: str) -> bool:
    """`block 3 ...`, `block disk encryption ...` ("block usb ports" may be a question)."""
    words = args.split()
    return not args or bool(_TASK_NUMBER.match(args)) or any(
        _names_control(" ".join(words[:size])) for size in head_sizes(len(words)))


def _ends_with_date(args: str) -> bool:
    """`due 3 friday`, `due Disk Encryption next friday` ("due diligence for vendors" is a question)."""
    if _TASK_NUMBER.match(args):
        return True
    words = args.split()
    for size in range(1, min(len(words) - 1, 4) + 1):
        try:
            parse_due(" ".join(words[-size:]), date(1970, 1, 1))
            return True
        except DateError:
            continue
    return False


COMMANDS = (
    Command("assign", "assign <control> to @person [due <date>] [every month|quarter|year] [note ...]",
            "give a control to an owner; the control by name (typos are fine) or by reference (`assign CC6.1 to "
            "@ana` offers the controls that cover it)", assign, needs_args=True),
    Command("tasks",
            "tasks · tasks @person · tasks overdue · tasks due soon · tasks all · tasks done · tasks iso|soc2",
            "list open tasks: yours, someone's, late, due within 7 days, everyone's, finished, with references",
            list_tasks, words=("tasks", "my tasks")),
    Command("done", "done <task>", "finish a task (its number or control name); finishing a recurring task "
            "creates the next one, one period after the previous due date", done, needs_args=True,
            accepts=lambda args: names_task(re.sub(r"(?i)\s+now$", "", args))),
    Command("start", "start <task>", "mark a task in progress", start, needs_args=True, accepts=names_task),
    Command("reopen", "reopen <task>", "reopen a finished task", reopen, needs_args=True, accepts=names_task),
    Command("block", "block <task> <reason>", "mark a task blocked and say why", block, needs_args=True,
            accepts=_starts_with_task),
    Command("reassign", "reassign <task> to @person", "give a task to someone else (admins)", reassign,
            needs_args=True),
    Command("due", "due <task> <date>", "change the due date", due, needs_args=True, accepts=_ends_with_date),
    Command("snooze", "snooze <task> <days>", "pause reminders for a few days (1–90)", snooze, needs_args=True),
    Command("na", "na <control or reference> <justification>", "not applicable, with the reason the Statement "
            "of Applicability shows (admins)", not_applicable, needs_args=True),
    Command("applicable", "applicable <control or reference>", "undo `na`: it applies again (admins)", applicable,
            needs_args=True),
    Command("unblock", "unblock <task>", "clear a task's block", unblock, needs_args=True, accepts=names_task),
    Command("history", "history <task>", "the audit trail of a task", history, needs_args=True,
            accepts=names_task),
)
