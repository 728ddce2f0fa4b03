"""Policy acceptance campaigns: ask people to accept a policy, and keep the proof.

`policy publish "Acceptable Use Policy" <url> version 3 to everyone|@ana @bob|#channel [due in 14 days]`
(admins) opens a campaign: one version of one policy for one audience. Each person gets one DM with
the link and two buttons that are commands (`policy accept <campaign>`, `policy question <campaign>`),
exactly once (sent-log key `campaign:{workspace}:{campaign}:{user}:ask`), in their own working hours
(from the nudge window's start to WORKDAY_END on workdays), at most ASKS_PER_TICK per workspace and
tick (Slack's conversations.open limit, for people the bot never DMed). Whoever has not answered is nudged on the workspace's ladder towards their
own due date (default 14 days after they were first put in the audience), each rung once, in their
working morning, not while they snoozed them (a reminder's "Remind me next week"). The audience is read from the
platform (everyone, or a channel's members) through the `Directory` port and refreshed, so a person
first seen later is asked too. Publishing a new version supersedes the open one: everyone is asked
again. `policy every year "<name>"` opens a new round on the anniversary. An answer counts only from
a person of the campaign's audience, in its workspace; a second press changes nothing.

The decisions (`due_messages`) touch no database: `bot/scheduler.py` hands rows in and claims the
keys that come out through `bot/delivery.py`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Iterable

from handlers.dates import PERIODS
from handlers.reminders import Ladder, in_working_morning, local_now, owner_rung
from handlers.roles import Refusal, Request, require_admin, resolve_person
from handlers.replies import sections_reply
from handlers.types import Action, Command, Reply, Section

DEFAULT_DUE_DAYS = 14
MAX_DUE_DAYS = 365
MAX_NAME = 120
MAX_VERSION = 40
MAX_LISTED = 20  # names shown per answer in `policy status`; the export has them all
ASKS_PER_TICK = 50  # first DMs claimed per workspace per tick: each to someone never DMed costs a conversations.open
# (Tier 3, ~50/min; the DM id is then kept, bot/slack/dm_channels), as every person is on a fresh install
WORKDAY_END = time(17, 0)  # first DMs go out from the start of the nudge window until then, on workdays
MEMBERS_TTL = timedelta(minutes=15)  # how long the platform's membership of an audience is trusted
SMART_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"'})
_PUBLISH = re.compile(
    r'(?is)publish\s+"(?P<name>[^"]{1,200})"\s+(?P<url><[^>]+>|\S+)\s+version\s+(?P<version>\S+)\s+to\s+'
    r'(?P<audience>.+?)(?:\s+due\s+(?P<due>.+))?')
_NAMED = re.compile(r'(?is)"(?P<name>[^"]{1,200})"')
USAGE = ('Usage: `policy publish "Acceptable Use Policy" https://... version 3 to everyone|@person ...|#channel '
         '[due in 14 days]`, `policy status "<name>"`, `policy every year|never "<name>"`, `policy list`.')


# ----- the decisions of the tick (pure) --------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class CampaignMessage:
    """One DM to one person of one campaign: the first ask, or a nudge on a rung of the ladder."""

    workspace: str
    campaign_id: int
    user: str
    kind: str  # "ask", or a rung: "before-7", "due", "overdue-3", ...
    on: date  # the day the rung was reached (the ask: the person's local date)
    due_on: date

    @property
    def key(self) -> str:
        base = f"campaign:{self.workspace}:{self.campaign_id}:{self.user}:{self.kind}"
        return base if self.kind == "ask" else f"{base}:{self.on.isoformat()}"


def due_messages(workspace: str, campaign_id: int, pending: Iterable, now: datetime, ladder: Ladder,
                 ask_limit: int = ASKS_PER_TICK) -> list[CampaignMessage]:
    """For the people who have not answered (`Store.campaign_pending` rows): the first DM of those not
    asked yet (at most `ask_limit`), in their working hours, and a nudge for those asked whose due date
    reached a new rung, in their working morning (as task nudges). Claiming decides what was sent."""
    found, asks = [], 0
    zones: dict[str, tuple[date, bool, bool]] = {}  # tz -> (local date, working hours, working morning)
    for person in pending:
        if person.tz not in zones:
            local = local_now(now, person.tz)
            working = local.weekday() in ladder.workdays and ladder.window_start <= local.time() < WORKDAY_END
            zones[person.tz] = (local.date(), working, in_working_morning(now, person.tz, ladder))
        today, working, morning = zones[person.tz]
        if person.asked_on is None:
            if working and asks < ask_limit:
                found.append(CampaignMessage(workspace, campaign_id, person.user, "ask", today, person.due_on))
                asks += 1
            continue
        snoozed = person.snoozed_until is not None and today < person.snoozed_until
        rung = owner_rung(person.due_on, today, ladder) if person.ask_sent and morning and not snoozed else None
        if rung is not None and rung.on > person.asked_on:
            found.append(CampaignMessage(workspace, campaign_id, person.user, rung.kind, rung.on, person.due_on))
    return found


def round_due(campaign, now: datetime) -> bool:
    """Whether a recurring campaign's next round (its anniversary) has come."""
    every = PERIODS.get(campaign.recurrence or "")
    return every is not None and now >= datetime.fromisoformat(campaign.created_at) + every


SNOOZE_DAYS = 7  # the reminders' "Remind me next week" button
MAX_SNOOZE_DAYS = 90


def answer_actions(campaign_id: int) -> tuple[Action, ...]:
    """Commands of the shared grammar, checked as if typed by the presser."""
    return (Action("Accept", f"policy accept {campaign_id}", "primary"),
            Action("I have a question", f"policy question {campaign_id}"))


def snooze_action(command: str) -> Action:
    """A reminder's "Remind me next week": `command` snoozes the presser's reminders (SNOOZE_DAYS)."""
    return Action("Remind me next week", command)


def snooze(req: Request, campaign, days_text: str) -> Reply:
    """`policy snooze <n> [days]` / `review <n> snooze [days]`: no reminders for the presser for a while."""
    asked = req.store.campaign_answer(req.workspace, campaign.id, req.actor.user_id)
    if not asked or campaign.state != "open":
        raise Refusal("You have no open request of that number here; nothing to snooze.", kind="forbidden")
    days = int(days_text) if days_text.strip().isdigit() else SNOOZE_DAYS
    if not 1 <= days <= MAX_SNOOZE_DAYS:
        raise Refusal(f"Snooze for 1 to {MAX_SNOOZE_DAYS} days.", kind="usage")
    until = req.today + timedelta(days=days)
    req.store.snooze_campaign(req.workspace, campaign.id, req.actor.user_id, until)
    return Reply(f"No reminders about {campaign.name} until {until:%Y-%m-%d}.", kind="campaign_snooze")


def compose(campaign, message: CampaignMessage) -> Reply:
    """The DM: the policy, its version and link, the due date, the two buttons (a review's: its own)."""
    if campaign.kind == "review":
        from handlers.reviews import compose_ask

        return compose_ask(campaign, message)
    what = f"{campaign.name} (version {campaign.version})"
    if message.kind == "ask":
        lead = f"Please read {what} and confirm you accept it by {message.due_on:%a %d %b %Y}."
    else:
        lead = f"Reminder: please read {what} and accept it; {due_words(message.due_on, message.on)}."
    lines = (f"Policy: {campaign.url}", "Accept, or say you have a question: whoever published it will follow up.")
    later = () if message.kind == "ask" else (snooze_action(f"policy snooze {campaign.id} {SNOOZE_DAYS}"),)
    section = Section(title=what, lines=lines, actions=answer_actions(campaign.id) + later)
    return Reply("\n".join((lead, *lines)), sections=(section,),
                 kind="policy_ask" if message.kind == "ask" else "policy_nudge")


def due_words(due: date, today: date) -> str:
    days = (due - today).days
    if days > 0:
        return f"due in {days} day{'s' * (days != 1)} ({due:%a %d %b})"
    return "due today" if days == 0 else f"it was due {due:%a %d %b}"


# ----- commands ---------------------------------------------------------------------------------------

def policy(req: Request, args: str) -> Reply:
    text = args.translate(SMART_QUOTES).strip()
    head = text.split()[0].casefold() if text.split() else ""
    handler = {"publish": publish, "accept": answer, "question": answer, "status": status, "every": every,
               "list": listing, "snooze": snooze_policy}.get(head)
    if handler is None:
        raise Refusal(USAGE, kind="usage")
    return handler(req, text)


def publish(req: Request, text: str) -> Reply:
    from handlers.tasks import parse_date, url_problem
    from handlers.evidence import unwrap_link

    match = _PUBLISH.fullmatch(text)
    if not match:
        raise Refusal(USAGE, kind="usage")
    require_admin(req, "publish a policy for acceptance")
    name, version = match["name"].strip()[:MAX_NAME], match["version"].strip()[:MAX_VERSION]
    url = unwrap_link(match["url"])
    problem = url_problem(url)
    if problem:
        raise Refusal(f"{problem} The policy's link must be a web address (https://...).", kind="bad_url")
    audience, channel, people = _audience(req, match["audience"].strip())
    due_days = DEFAULT_DUE_DAYS
    if match["due"]:
        due_text = re.sub(r"(?i)^(?:by|on)\s+", "", match["due"].strip())
        due_days = (parse_date(req, due_text) - req.today).days
        if not 1 <= due_days <= MAX_DUE_DAYS:
            raise Refusal(f"Give people between 1 and {MAX_DUE_DAYS} days to accept.", kind="bad_date", field="date")
    previous = _current(req, name)
    if previous and previous.version.casefold() == version.casefold():
        raise Refusal(f"{name} version {version} is already published (campaign {previous.id}); `policy status "
                      f'"{name}"` shows who accepted. Publish a new version to ask everyone again.', kind="bad_state")
    campaign = req.store.publish_campaign(
        req.workspace, name=name, url=url, version=version, platform=req.message.platform, audience=audience,
        channel=channel, due_days=due_days, recurrence=previous.recurrence if previous else None,
        actor=req.actor.user_id)
    if audience == "everyone":  # the people known already; the platform's full list comes with the tick
        people = [p.user_id for p in req.store.people(req.workspace) if not p.is_bot]
    if people:
        req.store.add_campaign_people(req.workspace, campaign, people, _stamp(req), checked=audience == "people")
    asked = "everyone in the workspace" if audience == "everyone" else (
        "the members of that channel" if audience == "channel" else f"{len(people)} people")
    replaced = f" It replaces version {previous.version}: everyone is asked again." if previous else ""
    return Reply(f"Published {name} version {version} to {asked} (campaign {campaign.id}), due {due_days} days "
                 f"after each person is asked. Each gets a DM with Accept / I have a question in their working "
                 f"hours.{replaced} `policy status \"{name}\"` shows the answers.", kind="policy_publish")


def _audience(req: Request, text: str) -> tuple[str, str, list[str]]:
    """('everyone' | 'channel' | 'people', channel id, people) from what follows `to`."""
    if text.casefold() in ("everyone", "everybody", "all", "@everyone", "<!everyone>"):
        return "everyone", "", []
    channel = re.fullmatch(r"(?P<name>#[\w.-]{1,80})|(?i:this channel|here)", text)
    if channel:  # a channel by its name (the Slack directory finds it) or the one this is said in
        if req.message.platform != "slack" or not (channel["name"] or req.message.channel):
            raise Refusal("A channel's members can be asked on Slack; here, name the people "
                          "(`to @ana @bob`) or `to everyone`.", kind="usage", field="audience")
        return "channel", channel["name"] or req.message.channel, []
    people = [resolve_person(req, token).user_id for token in re.findall(r"<@[^>]+>|[^\s,]+", text)
              if token.casefold() != "and"]
    if not people:
        raise Refusal(USAGE, kind="usage")
    return "people", "", list(dict.fromkeys(people))


def _current(req: Request, name: str):
    found = [c for c in req.store.campaigns_named(req.workspace, name) if c.state == "open"]
    return found[-1] if found else None


def _named_policy(req: Request, text: str):
    """The open campaign of the policy named in quotes (or the only policy, when none is named)."""
    match = _NAMED.search(text)
    if match:
        campaign = _current(req, match["name"].strip())
        if campaign is None:
            raise Refusal(f"No policy called {match['name'][:80]!r} is published here. `policy list` shows them.",
                          kind="unknown_policy")
        return campaign
    open_ones = req.store.open_campaigns(req.workspace, "policy")
    if len(open_ones) == 1:
        return open_ones[0]
    raise Refusal('Which policy? Name it in quotes: `policy status "Acceptable Use Policy"`.', kind="usage")


def answer(req: Request, text: str) -> Reply:
    """`policy accept 7` / `policy question 7` (the DM's buttons): only a person asked, once."""
    words = text.split()
    if len(words) != 2 or not re.fullmatch(r"#?\d{1,9}", words[1]):
        raise Refusal("Use the buttons of the policy's message, or `policy accept <number>`.", kind="usage")
    kind = "accepted" if words[0].casefold() == "accept" else "question"
    campaign = req.store.campaign(req.workspace, int(words[1].lstrip("#")))
    asked = campaign and campaign.kind == "policy" and req.store.campaign_answer(req.workspace, campaign.id,
                                                                                  req.actor.user_id)
    if not asked:
        raise Refusal("You were not asked to accept that policy here, so your answer is not recorded.",
                      kind="forbidden")
    if campaign.state != "open":
        newer = _current(req, campaign.name)
        where = f" version {newer.version} replaced it: use the buttons of that message" if newer else ""
        raise Refusal(f"That is an old request for {campaign.name}:{where or ' it is closed'}.", kind="bad_state")
    what = f"{campaign.name} version {campaign.version}"
    if asked["answer"] == "accepted":
        return Reply(f"You already accepted {what} on {asked['answered_at'][:10]}; nothing changed.",
                     kind="policy_answer")
    if kind == "question" and asked["answer"] == "question":
        return Reply(f"Your question about {what} is already noted; nothing changed.", kind="policy_answer")
    via = f"{req.message.platform} {req.message.channel or 'direct'}"
    req.store.answer_campaign(req.workspace, campaign.id, req.actor.user_id, kind, via, _stamp(req))
    if kind == "accepted":
        return Reply(f"Thank you: you accepted {what}. This is recorded for the auditors.", kind="policy_answer")
    publisher = req.store.person(req.workspace, campaign.created_by)
    who = publisher.label if publisher else "an admin"
    return Reply(f"Noted: you have a question about {what}. {who} will follow up; you can still Accept later.",
                 actions=answer_actions(campaign.id)[:1], kind="policy_answer")


def snooze_policy(req: Request, text: str) -> Reply:
    """`policy snooze <n> [days]` (a reminder's "Remind me next week")."""
    words = text.split()
    if len(words) not in (2, 3) or not words[1].lstrip("#").isdigit():
        raise Refusal("Use the reminder's button, or `policy snooze <number> [days]`.", kind="usage")
    campaign = req.store.campaign(req.workspace, int(words[1].lstrip("#")))
    if campaign is None or campaign.kind != "policy":
        raise Refusal("You have no open request of that number here; nothing to snooze.", kind="forbidden")
    return snooze(req, campaign, words[2] if len(words) == 3 else "")


def status(req: Request, text: str) -> Reply:
    """`policy status "<name>"`: accepted / pending / questions, counted in SQL, a few names each."""
    campaign = _named_policy(req, text)
    counts = req.store.campaign_counts(req.workspace, campaign.id)
    total = sum(counts.values())
    sections = [Section(title=f"{campaign.name} version {campaign.version}",
                        progress=counts["accepted"] / total if total else 0.0,
                        lines=(f"{counts['accepted']} of {total} accepted", f"{counts['pending']} pending",
                               f"{counts['question']} with a question"))]
    for answer_kind, title in (("question", "Questions"), (None, "Pending")):
        count = counts["question" if answer_kind else "pending"]
        if count:
            names = req.store.campaign_names(req.workspace, campaign.id, answer_kind, MAX_LISTED)
            more = f" …and {count - len(names)} more" if count > len(names) else ""
            sections.append(Section(title=f"{title} ({count})", lines=(", ".join(names) + more,)))
    repeat = f" Asked again every {campaign.recurrence}." if campaign.recurrence else ""
    footer = (f"`complybot export acceptances --policy \"{campaign.name}\" --workspace {req.workspace}` lists who "
              f"was asked, when, and what they answered.{repeat}")
    return sections_reply(f"Acceptance of {campaign.name}:", sections, "policy_status", footer)


def every(req: Request, text: str) -> Reply:
    """`policy every year "<name>"` re-asks on the anniversary; `policy every never "<name>"` stops it."""
    match = re.fullmatch(r'(?is)every\s+(?P<period>year|never)(?:\s+(?P<rest>".*"))?', text.strip())
    if not match:
        raise Refusal('Usage: `policy every year "<name>"` (or `policy every never "<name>"`).', kind="usage")
    require_admin(req, "change how often a policy is asked")
    campaign = _named_policy(req, match["rest"] or "")
    recurrence = None if match["period"].casefold() == "never" else "year"
    req.store.set_campaign_recurrence(req.workspace, campaign.id, recurrence, req.actor.user_id)
    if recurrence is None:
        return Reply(f"{campaign.name} is no longer asked again by itself.", kind="policy_every")
    return Reply(f"{campaign.name} will be asked again every year, on the anniversary of publishing "
                 f"(next: {(datetime.fromisoformat(campaign.created_at) + PERIODS['year']):%Y-%m-%d}).",
                 kind="policy_every")


def listing(req: Request, text: str) -> Reply:
    lines = []
    for campaign in req.store.open_campaigns(req.workspace, "policy"):
        counts = req.store.campaign_counts(req.workspace, campaign.id)
        lines.append(f"{campaign.name} version {campaign.version}: {counts['accepted']} of {sum(counts.values())} "
                     "accepted")
    if not lines:
        return Reply("No policy is published for acceptance yet. " + USAGE, kind="policy_list")
    return sections_reply("Policies out for acceptance:", [Section(lines=tuple(lines))], "policy_list")


def _stamp(req: Request) -> str:
    return req.ctx.clock.now().astimezone(timezone.utc).isoformat(timespec="seconds")


def _is_policy_command(args: str) -> bool:
    """`policy publish ...`, `policy status ...` ("policy for remote work?" is a question)."""
    return bool(args.split()) and args.split()[0].casefold() in ("publish", "accept", "question", "status",
                                                                  "every", "list", "snooze")


COMMANDS = (
    Command("policy", 'policy publish "<name>" <url> version <version> to everyone|@person|#channel [due <date>] · '
            'policy status "<name>" · policy every year "<name>" · policy list · policy snooze <number> [days]',
            "ask people to accept a policy (admins publish), by DM with Accept / I have a question buttons; who "
            "accepted, who has a question, who is pending", policy, needs_args=True, accepts=_is_policy_command),
)
