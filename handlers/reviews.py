"""Access reviews, the second use of campaigns (handlers/campaigns.py): a reviewer confirms who may keep
access to a system, and the proof is kept.

`review start "AWS production" reviewer @ana [owner @bob] [due in 10 days] [every quarter]` (admins),
followed in the same message by the accounts, one `name, role` per line (or from a CSV file with
`complybot review import`). The reviewer is the campaign's one person: their DM (once, in working
hours, through the sent-log) opens the list, and the ladder nudges them until they sign off. The list
shows REVIEW_PAGE accounts at a time with **Keep** / **Remove** / **Change role** each; **Finish**
asks for the sign-off. Signing off makes every Remove / Change role a task for the system's owner due
in CHANGE_DAYS, and the review evidence for User Access Review (CC6.2, CC6.3; A.5.15, A.5.18).
Only the reviewer decides; every decision is in the audit log. `every quarter` opens the next round
(the accounts as the review left them) on the anniversary.
"""
from __future__ import annotations

import re
from datetime import timedelta

from handlers.roles import Refusal, Request, require_admin, resolve_person
from handlers.replies import sections_reply
from handlers.types import Action, Command, Reply, Section

REVIEW_PAGE = 8  # accounts per page: 3 buttons each stays within Slack's 25 elements per message
MAX_ACCOUNTS = 2000
MAX_FIELD = 200
CHANGE_DAYS = 7  # the system's owner carries out each removal or role change within a week
DEFAULT_DUE_DAYS = 14
UAR_CONTROL = "User Access Review"  # the control a signed-off review is evidence for
DECISION_WORDS = {"keep": "keep", "remove": "remove", "change": "change role"}
_START = re.compile(r'(?is)start\s+"(?P<system>[^"\n]{1,200})"\s+reviewer\s+(?P<reviewer><@[^>]+>|\S+)'
                    r'(?:\s+owner\s+(?P<owner><@[^>]+>|\S+))?(?:\s+due\s+(?P<due>[^\n]+?))?'
                    r'(?:\s+every\s+(?P<every>quarter|year))?[ \t]*(?:\n(?P<accounts>.*))?')
USAGE = ('Usage: `review start "AWS production" reviewer @ana [owner @bob] [due in 10 days] [every quarter]`, '
         "then one `name, role` per line in the same message; `review <number>` shows a review.")


def parse_accounts(text: str) -> list[tuple[str, str]]:
    """`name, role` lines (the role after the last comma; a line without one has no role)."""
    found = []
    for line in (text or "").splitlines():
        if not line.strip():
            continue
        name, comma, role = line.rpartition(",")
        account, role = (name, role) if comma else (line, "")
        if not account.strip():
            raise Refusal(f"I can't read the account line {line[:60]!r}: write `name, role`.", kind="usage")
        found.append((account.strip()[:MAX_FIELD], role.strip()[:MAX_FIELD]))
    return found


def start(req: Request, text: str) -> Reply:
    from handlers.tasks import parse_date

    match = _START.fullmatch(text.strip())
    if not match:
        raise Refusal(USAGE, kind="usage")
    require_admin(req, "start an access review")
    reviewer = resolve_person(req, match["reviewer"])
    owner = resolve_person(req, match["owner"]) if match["owner"] else req.actor
    accounts = parse_accounts(match["accounts"])
    if not accounts:
        raise Refusal("Which accounts? Put one `name, role` per line under the command (or `complybot review "
                      "import --csv accounts.csv ...` on the server).", kind="usage")
    if len(accounts) > MAX_ACCOUNTS:
        raise Refusal(f"That is {len(accounts):,} accounts; one review takes up to {MAX_ACCOUNTS:,}. Split it by "
                      "team or environment.", kind="usage")
    due_days = DEFAULT_DUE_DAYS
    if match["due"]:
        due_days = (parse_date(req, re.sub(r"(?i)^(?:by|on)\s+", "", match["due"].strip())) - req.today).days
        if due_days < 1:
            raise Refusal("Give the reviewer at least a day.", kind="bad_date", field="date")
    system = match["system"].strip()
    campaign = req.store.publish_campaign(
        req.workspace, kind="review", name=system, platform=req.message.platform, audience="people",
        due_days=due_days, recurrence=(match["every"] or "").casefold() or None, actor=req.actor.user_id,
        owner=owner.user_id)
    req.store.add_review_accounts(req.workspace, campaign.id, accounts)
    req.store.add_campaign_people(req.workspace, campaign, [reviewer.user_id], _stamp(req))
    repeat = f" It comes back every {campaign.recurrence}." if campaign.recurrence else ""
    return Reply(f"Access review {campaign.id} of {system} started: {len(accounts)} accounts for {reviewer.label}, "
                 f"due in {due_days} days; removals and role changes go to {owner.label} as tasks.{repeat} "
                 f"{reviewer.label} gets it by DM in their working hours; `review {campaign.id}` shows it.",
                 kind="review_start")


def show(req: Request, campaign, page: int = 1) -> Reply:
    """One page of the accounts, with the reviewer's buttons, and the counts so far."""
    counts = req.store.review_counts(req.workspace, campaign.id)
    total = sum(counts.values())
    pages = max(1, -(-total // REVIEW_PAGE))
    page = min(max(page, 1), pages)
    rows = req.store.review_accounts(req.workspace, campaign.id, (page - 1) * REVIEW_PAGE, REVIEW_PAGE)
    reviewer = _reviewer(req, campaign)
    may_decide = req.actor.user_id == reviewer and campaign.state == "open"
    sections = [Section(title=f"Access review {campaign.id}: {campaign.name}",
                        progress=(total - counts["undecided"]) / total if total else 0.0,
                        lines=(f"{total - counts['undecided']} of {total} decided: {counts['keep']} keep, "
                               f"{counts['remove']} remove, {counts['change']} change role",
                               f"State: {_state_words(campaign)}"))]
    for row in rows:
        sections.append(Section(lines=(_account_line(row),), actions=_account_actions(campaign.id, row)
                                if may_decide else ()))
    footer = []
    if pages > 1:
        footer.append(Action(f"Page {page % pages + 1} of {pages}", f"review {campaign.id} page {page % pages + 1}"))
    if may_decide:
        footer.append(Action("Finish", f"review {campaign.id} finish", "primary"))
    sections.append(Section(lines=(f"Page {page} of {pages}.",), actions=tuple(footer)))
    return sections_reply(f"Access review {campaign.id} of {campaign.name} (page {page} of {pages}):", sections,
                          "review")


def _account_line(row: dict) -> str:
    decided = DECISION_WORDS.get(row["decision"] or "", "undecided")
    if row["decision"] == "change":
        decided += f" to {row['new_role']}"
    task = f" (task {row['task_id']})" if row["task_id"] else ""
    return f"{row['line']}. {row['account']} — {row['role'] or 'no role'}: {decided}{task}"


def _account_actions(campaign_id: int, row: dict) -> tuple[Action, ...]:
    line = row["line"]
    return (Action("Keep", f"review {campaign_id} keep {line}", "primary"),
            Action("Remove", f"review {campaign_id} remove {line}", "danger"),
            Action("Change role", f"review {campaign_id} role {line}"))


def decide(req: Request, campaign, decision: str, rest: str) -> Reply:
    """`review 3 keep 5`, `review 3 remove 5`, `review 3 role 5 read-only` (the reviewer only)."""
    _require_reviewer(req, campaign)
    words = rest.split(None, 1)
    if not words or not words[0].isdigit():
        raise Refusal(f"Which account? `review {campaign.id} {decision} <line number>`.", kind="usage")
    line = int(words[0])
    counts = req.store.review_counts(req.workspace, campaign.id)
    if not 1 <= line <= sum(counts.values()):
        raise Refusal(f"Review {campaign.id} has no account {line}.", kind="usage")
    new_role = (words[1].strip() if len(words) > 1 else "")[:MAX_FIELD]
    if decision == "change" and not new_role:
        row = req.store.review_accounts(req.workspace, campaign.id, line - 1, 1)[0]
        return Reply(f"Which role should {row['account']} have instead of {row['role'] or 'none'}? Reply "
                     f"`review {campaign.id} role {line} <new role>`.", ephemeral=True, kind="review_prompt",
                     outcome="prompt")
    req.store.decide_account(req.workspace, campaign.id, line, decision, new_role, req.actor.user_id, _stamp(req))
    page = (line - 1) // REVIEW_PAGE + 1
    return show(req, campaign, page)


def finish(req: Request, campaign) -> Reply:
    """The reviewer's Finish: every account decided, then the sign-off is asked for."""
    _require_reviewer(req, campaign)
    counts = req.store.review_counts(req.workspace, campaign.id)
    if counts["undecided"]:
        raise Refusal(f"{counts['undecided']} accounts still need a decision; `review {campaign.id}` shows them.",
                      kind="bad_state")
    owner = req.store.person(req.workspace, campaign.owner)
    text = (f"Sign off access review {campaign.id} of {campaign.name}? {counts['keep']} keep, {counts['remove']} "
            f"remove, {counts['change']} change role; each removal and change becomes a task for "
            f"{owner.label if owner else 'the system owner'} due in {CHANGE_DAYS} days.")
    return Reply(text, actions=(Action("Sign off", f"review {campaign.id} sign off", "primary"),), kind="review_finish",
                 outcome="prompt")


def sign_off(req: Request, campaign) -> Reply:
    """The review's end: tasks for the owner, evidence for User Access Review, the campaign finished."""
    finish(req, campaign)  # the same checks
    at = _stamp(req)
    due = req.today + timedelta(days=CHANGE_DAYS)
    tasks = []
    for row in req.store.review_accounts(req.workspace, campaign.id):
        if row["decision"] in ("remove", "change"):
            what = "remove" if row["decision"] == "remove" else f"change role to {row['new_role']} for"
            task = req.store.create_task(req.workspace, f"{campaign.name}: {what} {row['account']}", campaign.owner,
                                         req.actor.user_id, due=due,
                                         note=f"Access review {campaign.id}, account {row['line']} "
                                              f"({row['role'] or 'no role'})")
            req.store.link_review_task(req.workspace, campaign.id, row["line"], task.id)
            tasks.append(task.id)
    req.store.answer_campaign(req.workspace, campaign.id, req.actor.user_id, "signed_off",
                              f"{req.message.platform} {req.message.channel or 'direct'}", at)
    req.store.finish_campaign(req.workspace, campaign.id)
    evidence_task = _attach_evidence(req, campaign, at)
    made = f" Tasks {', '.join(map(str, tasks))} for the changes, due {due:%Y-%m-%d}." if tasks else ""
    return Reply(f"Signed off: access review {campaign.id} of {campaign.name}.{made} It is evidence for User Access "
                 f"Review (task {evidence_task}); `complybot export review --id {campaign.id}` is the auditor's "
                 "file.", kind="review_signed_off")


def _attach_evidence(req: Request, campaign, at: str) -> int:
    """The signed-off review on the User Access Review task (a finished one is recorded when none is open)."""
    task = req.store.active_task_for(req.workspace, UAR_CONTROL)
    if task is None:
        task = req.store.create_task(req.workspace, UAR_CONTROL, req.actor.user_id, campaign.created_by,
                                     note=f"Recorded by access review {campaign.id}")
        task = req.store.update_task(req.workspace, task.id, req.actor.user_id, "done", old="open", new="done",
                                     status="done", done_at=at)
    item = {"url": "", "review": campaign.id, "note": f"access review {campaign.id} of {campaign.name}, signed off",
            "by": req.actor.user_id, "at": at}
    req.store.update_task(req.workspace, task.id, req.actor.user_id, "evidence", new=f"access review {campaign.id}",
                          evidence=[*task.evidence, item])
    return task.id


def compose_ask(campaign, message) -> Reply:
    """The reviewer's DM (the first, then the ladder's reminders): the review's button opens the list."""
    from handlers.campaigns import due_words

    lead = (f"Please review who has access to {campaign.name} by {message.due_on:%a %d %b %Y}: keep, remove or "
            "change the role of each account, then sign off." if message.kind == "ask" else
            f"Reminder: the access review of {campaign.name} is waiting for you; {due_words(message.due_on, message.on)}.")
    from handlers.campaigns import SNOOZE_DAYS, snooze_action

    later = () if message.kind == "ask" else (snooze_action(f"review {campaign.id} snooze {SNOOZE_DAYS}"),)
    section = Section(title=f"Access review {campaign.id}: {campaign.name}", lines=(lead,),
                      actions=(Action("Open the review", f"review {campaign.id}", "primary"), *later))
    return Reply(lead, sections=(section,), kind="review_ask" if message.kind == "ask" else "review_nudge")


def next_accounts(rows: list[dict]) -> list[tuple[str, str]]:
    """The accounts of the next round: the removed ones gone, the changed ones in their new role."""
    return [(row["account"], row["new_role"] if row["decision"] == "change" else row["role"])
            for row in rows if row["decision"] != "remove"]


def _reviewer(req: Request, campaign) -> str:
    users = req.store.campaign_users(req.workspace, campaign.id)
    return users[0] if users else ""


def _require_reviewer(req: Request, campaign) -> None:
    if req.actor.user_id != _reviewer(req, campaign):
        raise Refusal("Only the reviewer of this access review decides on its accounts.", kind="forbidden")
    if campaign.state != "open":
        raise Refusal(f"Access review {campaign.id} is {_state_words(campaign)}; nothing changed.", kind="bad_state")


def _state_words(campaign) -> str:
    return {"open": "open", "finished": "signed off", "superseded": "replaced"}[campaign.state]


def review(req: Request, args: str) -> Reply:
    from handlers.campaigns import SMART_QUOTES

    text = args.translate(SMART_QUOTES).strip()
    if text.split()[0].casefold() == "start":
        return start(req, text)
    words = text.split(None, 2)
    campaign = req.store.campaign(req.workspace, int(words[0].lstrip("#")))
    if campaign is None or campaign.kind != "review":
        raise Refusal(f"There is no access review {words[0]} in this workspace.", kind="unknown_review")
    action = words[1].casefold() if len(words) > 1 else "page"
    rest = words[2] if len(words) > 2 else ""
    if action == "page":
        return show(req, campaign, int(rest) if rest.isdigit() else 1)
    if action in ("keep", "remove", "role"):
        return decide(req, campaign, "change" if action == "role" else action, rest)
    if action == "finish":
        return finish(req, campaign)
    if action == "sign" and rest.casefold() == "off":
        return sign_off(req, campaign)
    if action == "snooze":
        from handlers.campaigns import snooze

        return snooze(req, campaign, rest)
    raise Refusal(f"Usage: `review {campaign.id}`, `review {campaign.id} keep|remove <line>`, `review {campaign.id} "
                  f"role <line> <new role>`, `review {campaign.id} finish`.", kind="usage")


def _stamp(req: Request) -> str:
    from datetime import timezone

    return req.ctx.clock.now().astimezone(timezone.utc).isoformat(timespec="seconds")


def _is_review_command(args: str) -> bool:
    """`review start ...`, `review 3 ...` ("review of access rights?" is a question)."""
    words = args.split()
    return bool(words) and (words[0].casefold() == "start" or bool(re.fullmatch(r"#?\d{1,9}", words[0])))


COMMANDS = (
    Command("review", 'review start "<system>" reviewer @person [due <date>] [every quarter] · review <number>',
            "an access review: the reviewer keeps, removes or changes each account (`name, role` lines under "
            "the command), then signs off; removals become the system owner's tasks", review, needs_args=True,
            accepts=_is_review_command),
)
