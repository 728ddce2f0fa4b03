"""Tables for auditors, platform-free: the Statement of Applicability, tasks, the audit log, the mapping.

Each function returns `(header, rows)`; `bot/commands/export.py` writes them as CSV or XLSX (and chat
can attach them later). The SoA has one row per Annex A control (93): a control is not applicable only
with a recorded justification.
"""
from __future__ import annotations

import re
from datetime import date, datetime, timezone

from handlers import evidence
from handlers.evidence import link_text
from handlers.programme import Programme, is_requirement, requirement
from handlers.replies import sections_reply
from handlers.status import Coverage
from handlers.types import Command, Reply, Section
from knowledge.catalog import catalog

Table = tuple[list[str], list[list[str]]]

SOA_HEADER = ["Ref", "Title", "Theme", "Applicable", "Justification", "Justification source",
              "Implementation status", "Implementing controls", "Owner", "Last completed", "Next review",
              "Evidence links"]
SOA_SETTING = "soa"  # workspace setting: the header block set with `soa set ...`
SOA_FIELDS = {"org": "Organisation", "scope": "ISMS scope", "version": "Version", "date": "Date",
              "approver": "Approved by"}
DEFAULT_SOURCE, RECORDED_SOURCE = "Default (from implementing controls)", "Recorded"


def soa_preamble(store, workspace: str, today: date) -> list[list[str]]:
    """The SoA's header block: organisation, ISMS scope, version, date, approved by."""
    settings = (store.workspace(workspace) or {}).get("settings", {}).get(SOA_SETTING, {})
    names = _names(store, workspace)
    values = {**settings, "approver": names.get(settings.get("approver", ""), settings.get("approver", "")),
              "date": settings.get("date") or today.isoformat()}
    return [[label, values.get(key, "")] for key, label in SOA_FIELDS.items()]


def soa(store, workspace: str) -> Table:
    """One row per Annex A control (93): applicable with the justification for including or excluding it,
    implementation status ("Implemented" only with a finished task), dates, evidence and owner."""
    cat = catalog()
    coverage = Coverage.of(store, workspace)
    recorded = store.soa_justifications(workspace)
    names = _names(store, workspace)
    tasks = store.tasks(workspace, statuses=None)
    periods, today = store.freshness_periods(workspace), _utc_today()
    rows = []
    for ref, item in cat.iso.items():
        if not ref.startswith("A."):
            continue
        controls = [c.name for c in coverage.programme.controls_for(ref)]
        related = [t for t in tasks if t.control in controls or t.control == ref]
        excluded = _na_justification(ref, controls, coverage)
        if excluded:
            justification, source = excluded, RECORDED_SOURCE
        elif ref in recorded:
            justification, source = recorded[ref].justification, RECORDED_SOURCE
        else:
            justification, source = _default_inclusion(ref, controls, related), DEFAULT_SOURCE
        active = [t for t in related if t.active]
        owners = dict.fromkeys(names.get(t.owner, t.owner) for t in (active or related))
        done = sorted(t.done_at for t in related if t.status == "done" and t.done_at)
        reviews = sorted(t.due for t in active if t.recurrence and t.due)
        evidence = [link_text(e, periods.get(t.control), today) for t in related for e in t.evidence]
        implementing = controls + ([f"{ref} (implemented directly)"] if _direct(ref, related) else [])
        rows.append([ref, item.title, item.theme, "No" if excluded else "Yes", justification, source,
                     _implementation(ref, related, coverage, excluded), "; ".join(implementing), "; ".join(owners),
                     done[-1][:10] if done else "", reviews[0].isoformat() if reviews else "", "\n".join(evidence)])
    return SOA_HEADER, rows


def _default_inclusion(ref: str, controls: list[str], related: list) -> str:
    """Why an Annex A control is included when nobody wrote why: the controls that implement it, in an
    auditor's words (never the tool's: no "task", no "itself")."""
    lead = "Included to treat identified information security risks; "
    by = f"implemented by {', '.join(controls)}" if controls else ""
    if _direct(ref, related):
        return lead + (f"{by} and directly." if by else "implemented directly.")
    return lead + (f"{by}." if by else "implementation planned.")


def _direct(ref: str, related: list) -> bool:
    """Whether a task works on the Annex A control itself rather than through a control of the table."""
    return any(t.control == ref for t in related)


def _na_justification(ref: str, controls: list[str], coverage: Coverage) -> str:
    """Why the Annex A control does not apply: its own decision, or every mapped control's."""
    if ref in coverage.na:
        return coverage.na[ref].justification
    if controls and all(c in coverage.na for c in controls):
        return "; ".join(f"{c}: {coverage.na[c].justification}" for c in controls)
    return ""


def _implementation(ref: str, related: list, coverage: Coverage, excluded: str) -> str:
    if excluded:
        return "Not applicable"
    if coverage.covered(ref) and any(t.status == "done" for t in related):
        return "Implemented"
    if any(t.active or t.status == "done" for t in related):
        return "In progress"
    return "Not started"


def tasks(store, workspace: str) -> Table:
    header = ["Task", "Control", "SOC 2", "ISO 27001:2022", "Owner", "Owner email", "Assigned by", "Status",
              "Due date", "Recurrence", "Snoozed until", "Note", "Blocked because", "Evidence links",
              "Previous occurrence", "Created", "Updated", "Done at", "Evidence freshness"]
    people = {p.user_id: p for p in store.people(workspace)}
    periods, today = store.freshness_periods(workspace), _utc_today()
    counted = {e.task_id: e for e in evidence.of(store, workspace)}
    names = _names(store, workspace)
    rows = []
    programme = Programme.of(store, workspace)
    for task in sorted(store.tasks(workspace, statuses=None), key=lambda t: t.id):
        control = programme.control(task.control) or (requirement(task.control) if is_requirement(task.control)
                                                        else None)
        owner = people.get(task.owner)
        rows.append([str(task.id), task.control, "; ".join(control.soc2) if control else "",
                     "; ".join(control.iso) if control else "", names.get(task.owner, task.owner),
                     owner.email if owner else "", names.get(task.assigner, task.assigner), task.status, _iso(task.due), task.recurrence or "", _iso(task.snoozed_until),
                     task.note, task.blocked_reason,
                     "\n".join(link_text(e, periods.get(task.control), today) for e in task.evidence),
                     str(task.previous_id or ""), task.created_at, task.updated_at, task.done_at or "",
                     _freshness(task, counted.get(task.id), today)])
    return header, rows


def _freshness(task, counted, today: date) -> str:
    """The task's evidence age; a task whose control's newer task carries the evidence says so."""
    if counted is None and task.evidence:
        return "superseded by a newer task" if task.status != "na" else ""
    return evidence.freshness_text(counted, today)


def _utc_today() -> date:
    return datetime.now(timezone.utc).date()


def audit_log(store, workspace: str) -> Table:
    header = ["Event", "At (UTC)", "Actor", "Actor id", "Task", "Action", "Old", "New"]
    names = _names(store, workspace)
    rows = [[str(e.id), e.at, names.get(e.actor, e.actor), e.actor, str(e.task_id or ""), e.action,
             names.get(e.old, e.old), names.get(e.new, e.new)] for e in store.events(workspace)]
    return header, rows


ACCEPTANCE_HEADER = ["Version", "Campaign", "Person", "Person id", "Email", "In the audience since (UTC)",
                     "Asked at (UTC)", "Asking message", "Delivery", "Answer", "Answered at (UTC)", "Answered via"]


def acceptances(store, workspace: str, policy: str) -> Table:
    """Everyone asked to accept a policy, in every version and round: when they were asked, by which
    message (its sent-log key), what they answered, when and where."""
    rows = [[str(cell) for cell in row] for row in store.acceptance_rows(workspace, policy)]
    return ACCEPTANCE_HEADER, [[row[0], row[1], row[3] or row[2], row[2], *row[4:]] for row in rows]


REVIEW_HEADER = ["Line", "Account", "Role", "Decision", "New role", "Decided by", "Decided at (UTC)",
                 "Task for the change", "Task status"]


def review(store, workspace: str, campaign_id: int) -> tuple[list[list[str]], list[str], list[list[str]]]:
    """An access review for the auditor: who reviewed what, asked when and by which message, signed off
    when; then each account with the decision, who made it, when, and the task that carries it out."""
    campaign = store.campaign(workspace, campaign_id)
    if campaign is None or campaign.kind != "review":
        raise LookupError(f"no access review {campaign_id} in workspace {workspace}")
    names = _names(store, workspace)
    [asked] = store.acceptance_rows(workspace, campaign.name, kind="review", campaign_id=campaign_id) or [
        ("", campaign_id, "", "", "", "", "", "", "not sent yet", "pending", "", "")]
    preamble = [["System", campaign.name], ["Access review", str(campaign.id)],
                ["Reviewer", names.get(asked[2], asked[2])], ["System owner", names.get(campaign.owner, campaign.owner)],
                ["Started (UTC)", campaign.created_at], ["Started by", names.get(campaign.created_by, campaign.created_by)],
                ["Asked at (UTC)", asked[6]], ["Asking message", asked[7]],
                ["Signed off at (UTC)", asked[10] if asked[9] == "signed_off" else ""],
                ["State", {"open": "open", "finished": "signed off"}.get(campaign.state, campaign.state)]]
    rows = []
    for row in store.review_accounts(workspace, campaign_id):
        task = store.task(workspace, row["task_id"]) if row["task_id"] else None
        rows.append([str(row["line"]), row["account"], row["role"], row["decision"] or "undecided", row["new_role"],
                     names.get(row["decided_by"], row["decided_by"]), row["decided_at"] or "",
                     str(row["task_id"] or ""), task.status if task else ""])
    return preamble, REVIEW_HEADER, rows


def mapping() -> Table:
    """The article's table: each control with its SOC 2 criteria and ISO 27001:2022 references."""
    cat = catalog()
    header = ["Control", "SOC 2", "ISO 27001:2022", "SOC 2 titles", "ISO 27001:2022 titles"]
    rows = [[c.name, "; ".join(c.soc2), "; ".join(c.iso), "; ".join(cat.soc2[r].title for r in c.soc2),
             "; ".join(cat.iso[r].title for r in c.iso)] for c in cat.controls]
    return header, rows


def _names(store, workspace: str) -> dict[str, str]:
    return {p.user_id: p.name or p.user_id for p in store.people(workspace)}


def _iso(value) -> str:
    return value.isoformat() if value else ""


# ----- chat commands for the SoA ---------------------------------------------------------------

_PAIR = re.compile(r'(?P<key>\w+)\s+(?:"(?P<quoted>[^"]*)"|(?P<bare><@[^>]+>|\S+))', re.S)
SOA_USAGE = '`soa set org "Acme Ltd" scope "The SaaS platform and its support" version 1.2 approver @ana`'
MAX_SOA_VALUE = 300


def soa_command(req, args: str) -> Reply:
    """`soa header` shows the SoA's header block; `soa set <field> <value> ...` (admins) sets it."""
    from handlers.roles import Refusal, require_admin, resolve_person

    from handlers.programme import SMART_QUOTES

    words = args.translate(SMART_QUOTES).split(None, 1)
    if not words or words[0].casefold() == "header":
        lines = tuple(f"{label}: {value or '(not set)'}" for label, value in
                      soa_preamble(req.store, req.workspace, req.today))
        return sections_reply("Statement of Applicability header:", [Section(lines=lines)], "soa",
                              f"Admins set it: {SOA_USAGE}.")
    if words[0].casefold() != "set" or len(words) < 2:
        raise Refusal(f"Usage: `soa header` or {SOA_USAGE}.", kind="usage")
    require_admin(req, "set the Statement of Applicability's header")
    pairs = list(_PAIR.finditer(words[1]))
    if not pairs or _PAIR.sub("", words[1]).strip():
        raise Refusal(f"Usage: {SOA_USAGE} (fields: {', '.join(SOA_FIELDS)}).", kind="usage")
    settings = dict((req.store.workspace(req.workspace) or {}).get("settings", {}).get(SOA_SETTING, {}))
    for pair in pairs:
        key, value = pair["key"].casefold(), (pair["quoted"] if pair["quoted"] is not None else pair["bare"]).strip()
        if key not in SOA_FIELDS:
            raise Refusal(f"I don't know the SoA field {key!r}; the fields are {', '.join(SOA_FIELDS)}.",
                          kind="usage", field=key)
        if key == "approver":
            value = resolve_person(req, value).user_id
        if key == "date":
            try:
                value = date.fromisoformat(value).isoformat()
            except ValueError:
                raise Refusal(f"{value[:40]!r} is not a date; write it as 2026-12-08.", kind="bad_date",
                              field="date") from None
        settings[key] = value[:MAX_SOA_VALUE]
    req.store.update_workspace_settings(req.workspace, **{SOA_SETTING: settings})
    req.store.log(req.workspace, None, req.actor.user_id, "soa set", "", ", ".join(p["key"] for p in pairs))
    return soa_command(req, "")


def justify(req, args: str) -> Reply:
    """`justify A.8.1 <reason>`: why an applicable Annex A control is included (clause 6.1.3 d), admins."""
    from handlers.programme import nearest_refs
    from handlers.roles import Refusal, require_admin
    from handlers.tasks import refs_in

    require_admin(req, "justify the Statement of Applicability")
    words = args.split()
    ref, reason = "", ""
    for size in range(1, min(len(words), 3) + 1):
        refs = refs_in(" ".join(words[:size]))
        if len(refs) == 1 and refs[0].startswith("A."):
            ref, reason = refs[0], " ".join(words[size:])
            break
    annex_a = [r for r in catalog().iso if r.startswith("A.")]
    if ref and ref not in annex_a:
        raise Refusal(f"{ref} is not an ISO 27001:2022 Annex A control. Did you mean {nearest_refs(ref, annex_a)}? "
                      f"`justify <control> <why it is included>`.", kind="unknown_ref", field="control")
    if not ref:
        raise Refusal("Which Annex A control? `justify A.8.1 <why it is included>`.", kind="unknown_control",
                      field="control")
    if len(reason.split()) < 2:
        raise Refusal(f"Please give a few words of why {ref} is included: `justify {ref} <reason>`.", kind="usage")
    if ref in Coverage.of(req.store, req.workspace).na:
        raise Refusal(f"{ref} is recorded as not applicable; `applicable {ref}` first to include it.",
                      kind="bad_state", field="control")
    req.store.set_soa_justification(req.workspace, ref, reason[:1000], req.actor.user_id)
    return Reply(f"Recorded why {ref} is included: {reason[:1000]}", kind="justify")


def export_command(req, args: str) -> Reply:
    """`export soa` (admins): where the auditor's file comes from."""
    from handlers.roles import Refusal, require_admin

    if args.strip().casefold() not in ("soa", "soa xlsx", "soa csv"):
        raise Refusal("Usage: `export soa`.", kind="usage")
    require_admin(req, "export the Statement of Applicability")
    command = f"complybot export soa --format xlsx --out soa.xlsx --workspace {req.workspace}"
    return Reply(f"The Statement of Applicability (93 Annex A controls, with its header block): attached here where "
                 f"the platform takes files (Slack); on the server, `{command}` writes it (or `--format csv`).",
                 kind="export", attachment="soa")


def _is_soa_command(args: str) -> bool:
    """`soa set ...`, `soa header` ("soa" alone is a question about Statements of Applicability)."""
    return bool(args) and args.split()[0].casefold() in ("set", "header")


def _is_export_command(args: str) -> bool:
    return args.split()[0].casefold() == "soa" if args.split() else False


def _starts_with_reference(args: str) -> bool:
    return bool(re.match(r"(?i)(?:annex\s*)?a\s*[.\-]?\s*\d", args))


COMMANDS = (
    Command("justify", "justify <reference> <reason>", "why an Annex A control is included, for the Statement of "
            "Applicability (admins)", justify, needs_args=True, accepts=_starts_with_reference),
    Command("soa", 'soa header · soa set org "Acme Ltd" scope "..." version 1.2 approver @person',
            "the Statement of Applicability's header block (admins set it)", soa_command, accepts=_is_soa_command),
    Command("export", "export soa", "how to get the Statement of Applicability file (admins)", export_command,
            accepts=_is_export_command),
)
