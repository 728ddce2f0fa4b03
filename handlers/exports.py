"""Tables for auditors, platform-free: the Statement of Applicability, tasks, the audit log, the mapping.

Each function returns `(header, rows)`; `bot/commands/export.py` writes them as CSV or XLSX (and chat
can attach them later). The SoA has one row per Annex A control (93): a control is not applicable only
with a recorded justification.
"""
from __future__ import annotations

from handlers.status import Coverage
from knowledge.catalog import catalog

Table = tuple[list[str], list[list[str]]]

SOA_HEADER = ["Ref", "Title", "Theme", "Applicable", "Justification", "Implementation status", "Controls",
              "Owner", "Due date", "Evidence links"]


def soa(store, workspace: str) -> Table:
    cat = catalog()
    coverage = Coverage.of(store, workspace)
    names = _names(store, workspace)
    tasks = store.tasks(workspace, statuses=None)
    rows = []
    for ref, item in cat.iso.items():
        if not ref.startswith("A."):
            continue
        controls = [c.name for c in cat.covering(ref)]
        related = [t for t in tasks if t.control in controls]
        justification = _na_justification(ref, controls, coverage)
        applicable = "No" if justification else "Yes"
        active = [t for t in related if t.active]
        owners = dict.fromkeys(names.get(t.owner, t.owner) for t in (active or related))
        dues = sorted(t.due for t in active if t.due)
        evidence = [e["url"] for t in related for e in t.evidence]
        rows.append([ref, item.title, item.theme, applicable, justification,
                     _implementation(ref, controls, related, coverage, applicable), "; ".join(controls),
                     "; ".join(owners), dues[0].isoformat() if dues else "", "\n".join(evidence)])
    return SOA_HEADER, rows


def _na_justification(ref: str, controls: list[str], coverage: Coverage) -> str:
    """Why the Annex A control does not apply: its own decision, or every mapped control's."""
    if ref in coverage.na:
        return coverage.na[ref].justification
    if controls and all(c in coverage.na for c in controls):
        return "; ".join(f"{c}: {coverage.na[c].justification}" for c in controls)
    return ""


def _implementation(ref: str, controls: list[str], related: list, coverage: Coverage, applicable: str) -> str:
    if applicable == "No":
        return "Not applicable"
    if coverage.covered(ref):
        return "Implemented"
    if not controls:
        return "Not started (no control in the table covers it)"
    if any(c in coverage.finished for c in controls) or any(t.active for t in related):
        return "In progress"
    return "Not started"


def tasks(store, workspace: str) -> Table:
    header = ["Task", "Control", "SOC 2", "ISO 27001:2022", "Owner", "Owner email", "Assigned by", "Status",
              "Due date", "Recurrence", "Snoozed until", "Note", "Blocked because", "Evidence links",
              "Previous occurrence", "Created", "Updated", "Done at"]
    people = {p.user_id: p for p in store.people(workspace)}
    names = _names(store, workspace)
    rows = []
    for task in sorted(store.tasks(workspace, statuses=None), key=lambda t: t.id):
        control = catalog().control(task.control)
        owner = people.get(task.owner)
        rows.append([str(task.id), task.control, "; ".join(control.soc2) if control else "",
                     "; ".join(control.iso) if control else "", names.get(task.owner, task.owner),
                     owner.email if owner else "", names.get(task.assigner, task.assigner), task.status, _iso(task.due), task.recurrence or "", _iso(task.snoozed_until),
                     task.note, task.blocked_reason, "\n".join(e["url"] for e in task.evidence),
                     str(task.previous_id or ""), task.created_at, task.updated_at, task.done_at or ""])
    return header, rows


def audit_log(store, workspace: str) -> Table:
    header = ["Event", "At (UTC)", "Actor", "Actor id", "Task", "Action", "Old", "New"]
    names = _names(store, workspace)
    rows = [[str(e.id), e.at, names.get(e.actor, e.actor), e.actor, str(e.task_id or ""), e.action,
             names.get(e.old, e.old), names.get(e.new, e.new)] for e in store.events(workspace)]
    return header, rows


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
