"""The assign modal: opened by `assign` with no arguments, by a `Reassign` button and by the global
shortcut *Assign a control*, with a control picker (an external select fed by the control matcher), a
user picker and a date picker; and the evidence modal of the message shortcut *Attach as evidence*
(which task gets the message's link). Their submissions become ordinary commands of the shared grammar."""
from __future__ import annotations

import json
import re

CALLBACK_ID = "complybot_assign"
EVIDENCE_CALLBACK_ID = "complybot_evidence"
TASK_ACTION = "task"  # the evidence modal's task picker (an external select; the options listener answers it)
OPTIONS_LIMIT = 100  # Slack's most options in one answer
CONTROL_ACTION = "complybot_control"  # the external select; the options listener answers it
OPTION_TEXT_LIMIT = 75
OPTION_VALUE_LIMIT = 150

_BARE_ASSIGN = re.compile(r"^\s*assign\s*$", re.IGNORECASE)
_BARE_REASSIGN = re.compile(r"^\s*reassign\s+#?(\d+)\s*$", re.IGNORECASE)


def modal_request(command: str) -> dict | None:
    """`{}` for a bare `assign`, `{"task": "12"}` for `reassign 12` with nobody named, else None."""
    if _BARE_ASSIGN.match(command):
        return {}
    match = _BARE_REASSIGN.match(command)
    return {"task": match.group(1)} if match else None


def assign_modal(*, channel: str = "", task: str = "") -> dict:
    blocks: list[dict] = []
    if not task:
        blocks.append(_input("control", "Control", {
            "type": "external_select", "action_id": CONTROL_ACTION, "min_query_length": 1,
            "placeholder": {"type": "plain_text", "text": "Type a control name or a reference (CC6.1, A.8.5)"},
        }))
    blocks.append(_input("owner", "Owner", {"type": "users_select", "action_id": "owner"}))
    blocks.append(_input("due", "Due date", {"type": "datepicker", "action_id": "due"}, optional=True))
    title = f"Reassign task {task}" if task else "Assign a control"
    return {
        "type": "modal", "callback_id": CALLBACK_ID,
        "title": {"type": "plain_text", "text": title[:24]},
        "submit": {"type": "plain_text", "text": "Reassign" if task else "Assign"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "private_metadata": json.dumps({"channel": channel, "task": task}),
        "blocks": blocks,
    }


def _input(block_id: str, label: str, element: dict, optional: bool = False) -> dict:
    return {"type": "input", "block_id": block_id, "optional": optional,
            "label": {"type": "plain_text", "text": label}, "element": element}


def submission(view: dict) -> tuple[dict, list[tuple[str, str]]]:
    """(metadata, [(block id to blame on refusal, command), ...]) for a submitted assign modal."""
    values = view.get("state", {}).get("values", {})
    meta = json.loads(view.get("private_metadata") or "{}")
    owner = values.get("owner", {}).get("owner", {}).get("selected_user") or ""
    due = values.get("due", {}).get("due", {}).get("selected_date") or ""
    task = meta.get("task", "")
    if task:
        commands = [("owner", f"reassign {task} to <@{owner}>")]
        if due:
            commands.append(("due", f"due {task} {due}"))
        return meta, commands
    selected = values.get("control", {}).get(CONTROL_ACTION, {}).get("selected_option") or {}
    command = f"assign {selected.get('value', '')} to <@{owner}>" + (f" due {due}" if due else "")
    return meta, [("control", command)]


def evidence_modal(*, permalink: str, response_url: str) -> dict:
    """Which task gets `permalink` as evidence: a picker of the tasks the presser may change (fed by the
    options listener, so a workspace's thousands of tasks are all findable by number or name)."""
    return {
        "type": "modal", "callback_id": EVIDENCE_CALLBACK_ID,
        "title": {"type": "plain_text", "text": "Attach as evidence"},
        "submit": {"type": "plain_text", "text": "Attach"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "private_metadata": json.dumps({"permalink": permalink, "response_url": response_url}),
        "blocks": [
            _input(TASK_ACTION, "Task", {"type": "external_select", "action_id": TASK_ACTION, "min_query_length": 0,
                                         "placeholder": {"type": "plain_text", "text": "Type a task number or name"}}),
            {"type": "context", "elements": [{"type": "mrkdwn", "text": "The message's link is kept with the task "
                                              "as evidence for the auditor (`history` shows it)."}]},
        ],
    }


def task_options(tasks: list, query: str) -> list[dict]:
    """The tasks matching what was typed (`12`, `#12`, part of the control's name), soonest due first."""
    wanted = query.strip().lstrip("#").casefold()
    found = [task for task in tasks
             if not wanted or str(task.id).startswith(wanted) or wanted in task.control.casefold()]
    return [{"text": {"type": "plain_text", "text": f"#{task.id} {task.control}"[:OPTION_TEXT_LIMIT]},
             "value": str(task.id)} for task in found[:OPTIONS_LIMIT]]


def evidence_submission(view: dict) -> tuple[dict, list[tuple[str, str]]]:
    """(metadata, [("task", "evidence <task> <permalink>")]) for a submitted evidence modal."""
    meta = json.loads(view.get("private_metadata") or "{}")
    values = view.get("state", {}).get("values", {})
    task = (values.get(TASK_ACTION, {}).get(TASK_ACTION, {}).get("selected_option") or {}).get("value", "")
    return meta, [(TASK_ACTION, f"evidence {task} {meta.get('permalink', '')}")]


# what a refusal names (`Reply.field`) -> the input of the form that shows it
FIELD_INPUTS = {"control": "control", "person": "owner", "date": "due", "task": TASK_ACTION}


def blame(block_id: str, field: str, blocks: set[str]) -> str:
    """Which input shows a refusal: the one for the field it names, else the command's own `block_id`."""
    shown = FIELD_INPUTS.get(field, "")
    return shown if shown in blocks else block_id


OWN_MATCH = 80  # rapidfuzz partial ratio for a workspace's own control to be offered for what was typed


def control_options(query: str, limit: int = 20, own: tuple = ()) -> list[dict]:
    """Options for the control picker: for a reference (CC6.1, A.8.5) the controls that cover it and the
    requirement itself, else the controls whose names best match what was typed (the same matcher as
    questions and `assign`); `own` (the workspace's own controls) among them."""
    from knowledge.catalog import catalog
    from knowledge.matching import match_controls
    from knowledge.references import find_refs

    from rapidfuzz import fuzz

    refs = find_refs(query)
    itself: list[str] = []
    if refs:
        controls = [control for ref in refs for control in catalog().controls_for(ref.ref)]
        controls += [control for control in own if any(ref.ref in control.soc2 + control.iso for ref in refs)]
        # the requirement itself, as `assign A.5.23 itself to ...` takes it
        itself = [f"{ref.ref} itself" for ref in refs if ref.ref in catalog().iso or ref.ref in catalog().soc2]
    elif query.strip():
        controls = [c for c in own if fuzz.partial_ratio(query.casefold(), c.name.casefold()) >= OWN_MATCH]
        controls += [control for control, _ in match_controls(query, limit=limit, partial=True)]
    else:
        controls = list(catalog().controls) + list(own)
    names = list(dict.fromkeys(control.name for control in controls))[:limit - len(itself)] + itself
    return [{"text": {"type": "plain_text", "text": name[:OPTION_TEXT_LIMIT]}, "value": name[:OPTION_VALUE_LIMIT]}
            for name in names]
