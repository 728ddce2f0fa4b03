"""A workspace's programme: the controls it tracks (the table's, its own, and requirements themselves)
and its SOC 2 scope. `Programme.of(store, workspace)` is read once per command; `status`, `gap`, the
digest, App Home and the SoA all count through it, so they give the same numbers.

Commands: `control add|list|remove` (controls of one's own), `scope` (SOC 2 categories in scope).
"""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from handlers.roles import Refusal, Request, require_admin
from handlers.types import Command, Reply, Section
from handlers.replies import sections_reply
from knowledge.catalog import SOC2_OPTIONAL, Control, catalog

SCOPE_SETTING = "soc2_scope"  # workspace setting: the optional SOC 2 categories in scope
MAX_CUSTOM_NAME = 80
MAX_NOTE = 500
NEAREST_REFS = 3  # how many real references an unknown one is answered with


@dataclass(frozen=True)
class Programme:
    custom: tuple[Control, ...]  # controls of this workspace's own, by name
    notes: dict  # custom control name -> its note
    scope: tuple[str, ...]  # SOC 2 categories in scope: "Security" and the optional ones chosen

    @classmethod
    def of(cls, store, workspace: str) -> "Programme":
        custom = store.custom_controls(workspace)
        found = store.workspace(workspace)
        chosen = (found or {}).get("settings", {}).get(SCOPE_SETTING, list(SOC2_OPTIONAL))
        return cls(tuple(Control(c.name, c.soc2, c.iso) for c in custom), {c.name: c.note for c in custom},
                   ("Security", *[c for c in SOC2_OPTIONAL if c in chosen]))

    def controls(self) -> tuple[Control, ...]:
        return catalog().controls + self.custom

    def control(self, name: str) -> Control | None:
        """A control of the table or of this workspace, by its exact name (any case)."""
        folded = name.strip().casefold()
        return catalog().control(name.strip()) or next((c for c in self.custom if c.name.casefold() == folded), None)

    def controls_for(self, ref: str) -> tuple[Control, ...]:
        """What covers `ref` here: the table's controls (with our review's additions) and the workspace's own."""
        return catalog().covering(ref) + tuple(c for c in self.custom if ref in c.covers)

    def in_scope(self, ref: str) -> bool:
        return ref not in catalog().soc2 or catalog().soc2_category(ref) in self.scope

    def out_of_scope(self) -> tuple[str, ...]:
        return tuple(c for c in SOC2_OPTIONAL if c not in self.scope)


def requirement(ref: str) -> Control:
    """A requirement tracked by a task of its own (`assign Clause 9.3 to @bob`): the task's control is the
    reference itself, counting for that reference alone."""
    return Control(ref, (ref,) if ref in catalog().soc2 else (), (ref,) if ref in catalog().iso else ())


def is_requirement(name: str) -> bool:
    return name in catalog().iso or name in catalog().soc2


def counts_for(control: Control) -> str:
    """"It counts for SOC 2 CC8.1 and ISO 27001 A.8.28." (a requirement itself counts for one side only)"""
    sides = ([f"SOC 2 {', '.join(control.soc2)}"] if control.soc2 else []) + (
        [f"ISO 27001 {', '.join(control.iso)}"] if control.iso else [])
    return f"It counts for {' and '.join(sides)}."


def activity_lines(ref: str) -> tuple[str, ...]:
    """What a clause of 4–10 asks for and what an auditor wants to see (empty for other references)."""
    item = catalog().isms.get(ref)
    return (f"What to do: {item.activity}", f"Evidence an auditor asks for: {item.evidence}") if item else ()


# ----- controls of one's own -------------------------------------------------------------------

_ADD = re.compile(r'add\s+(?:"(?P<quoted>[^"]+)"|(?P<bare>.+?))\s+(?P<refs>(?:iso|soc\s*2)\b.*?)'
                  r'(?:\s+note\s+(?P<note>.*))?', re.I | re.S)
SMART_QUOTES = str.maketrans("“”„«»", '"""""')  # what phones and macOS type for "
CONTROL_USAGE = ('`control add "<name>" iso A.8.25,A.8.28 soc2 CC8.1 [note ...]`, `control list`, '
                 '`control remove "<name>"`')


def control(req: Request, args: str) -> Reply:
    """`control add "<name>" iso <refs> soc2 <refs> [note ...]`, `control list`, `control remove "<name>"`."""
    args = args.translate(SMART_QUOTES)
    head = args.split()[0].casefold() if args.split() else "list"
    if head == "list":
        return _list_controls(req)
    if head == "add":
        return _add_control(req, args)
    if head == "remove":
        return _remove_control(req, args.split(None, 1)[1] if len(args.split()) > 1 else "")
    raise Refusal(f"Usage: {CONTROL_USAGE}.", kind="usage")


def _add_control(req: Request, args: str) -> Reply:
    match = _ADD.fullmatch(args.strip())
    if not match:
        raise Refusal(f"Usage: {CONTROL_USAGE}.", kind="usage")
    require_admin(req, "add a control of your own")
    name = (match["quoted"] or match["bare"]).strip()
    if len(name) > MAX_CUSTOM_NAME or not re.search(r"\w", name):
        raise Refusal(f"A control's name has 1–{MAX_CUSTOM_NAME} characters.", kind="usage", field="control")
    programme = Programme.of(req.store, req.workspace)
    if programme.control(name) or is_requirement(name):
        raise Refusal(f"There is already a control called {name!r}; choose another name.", kind="bad_state",
                      field="control")
    soc2, iso = checked_refs(match["refs"])
    note = (match["note"] or "").strip()[:MAX_NOTE]
    req.store.add_custom_control(req.workspace, name, soc2, iso, note, req.actor.user_id)
    return Reply(f"Added your control {name!r}. {counts_for(Control(name, soc2, iso))} Assign it like any other: "
                 f"`assign {name} to @person`.", kind="control_add")


def checked_refs(text: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(SOC 2 criteria, ISO references) of `iso A.8.25,A.8.28 soc2 CC8.1`; unknown ones are refused with
    the nearest real references."""
    soc2: list[str] = []
    iso: list[str] = []
    for framework, refs in re.findall(r"(iso|soc\s*2)\s+([^\s].*?)(?=\s+(?:iso|soc\s*2)\b|$)", text, re.I):
        target, known = (iso, catalog().iso) if framework.casefold() == "iso" else (soc2, catalog().soc2)
        for raw in re.split(r"[,\s]+", refs.strip()):
            if not raw:
                continue
            ref = _canonical(raw, framework.casefold() == "iso")
            if ref not in known:
                raise Refusal(f"{raw!r} is not {'an ISO 27001:2022' if known is catalog().iso else 'a SOC 2'} "
                              f"reference. Did you mean {nearest_refs(ref or raw, known)}?",
                              kind="unknown_ref", field="control")
            if ref not in target:
                target.append(ref)
    if not soc2 and not iso:
        raise Refusal(f"Name at least one reference it counts for. Usage: {CONTROL_USAGE}.", kind="usage")
    return tuple(soc2), tuple(iso)


def nearest_refs(ref: str, known) -> str:
    """The real references nearest to the unknown `ref`, for a refusal: "A.5.9 or A.8.9"."""
    return " or ".join(difflib.get_close_matches(ref, list(known), n=NEAREST_REFS, cutoff=0.5)) or "another one"


def _canonical(raw: str, iso: bool) -> str:
    from knowledge.references import find_refs

    found = find_refs(raw if not iso or not re.fullmatch(r"\d[\d.]*", raw) else f"clause {raw}")
    return found[0].ref if len(found) == 1 else raw


def _list_controls(req: Request) -> Reply:
    programme = Programme.of(req.store, req.workspace)
    if not programme.custom:
        return Reply("No controls of your own yet. Add one: " + CONTROL_USAGE.split(", ")[0] + ".",
                     kind="control_list")
    lines = tuple(f"{c.name} — " + ", ".join(c.soc2 + c.iso) + (f" · {programme.notes[c.name]}"
                                                                 if programme.notes[c.name] else "")
                  for c in programme.custom)
    return sections_reply(f"Your own controls ({len(lines)}):", [Section(lines=lines)], "control_list")


def _remove_control(req: Request, text: str) -> Reply:
    require_admin(req, "remove a control of your own")
    name = text.strip().strip('"').strip()
    found = next((c for c in Programme.of(req.store, req.workspace).custom if c.name.casefold() == name.casefold()),
                 None)
    if not found:
        raise Refusal(f"There is no control of your own called {name[:80]!r}. `control list` shows them.",
                      kind="unknown_control", field="control")
    active = req.store.active_task_for(req.workspace, found.name)
    if active:
        raise Refusal(f"{found.name} still has an open task ({active.id}); finish or reassign it first.",
                      kind="bad_state", field="control")
    req.store.remove_custom_control(req.workspace, found.name, req.actor.user_id)
    return Reply(f"Removed your control {found.name!r}.", kind="control_remove")


# ----- SOC 2 scope -----------------------------------------------------------------------------

def scope(req: Request, args: str) -> Reply:
    """`scope` shows the SOC 2 scope; `scope soc2 security availability confidentiality` (admins) sets it."""
    words = args.casefold().split()
    if len(words) <= 1 and (not words or words[0] in ("soc2", "soc")):  # `scope`, `scope soc2`: show it
        programme = Programme.of(req.store, req.workspace)
        out = programme.out_of_scope()
        left_out = f" Not in scope: {', '.join(out)}." if out else ""
        return Reply(f"SOC 2 scope: {', '.join(programme.scope)}.{left_out} Admins change it with "
                     "`scope soc2 security availability ...`.", kind="scope")
    if words[0] not in ("soc2", "soc"):
        raise Refusal("Usage: `scope` or `scope soc2 security [availability] [confidentiality] "
                      "[processing integrity] [privacy]`.", kind="usage")
    require_admin(req, "change the SOC 2 scope")
    text = " ".join(words[1:])
    chosen = [c for c in SOC2_OPTIONAL if c.casefold() in text]
    rest = text
    for name in ("security", *[c.casefold() for c in SOC2_OPTIONAL]):
        rest = rest.replace(name, " ")
    if rest.strip(" ,and"):
        raise Refusal(f"I don't know the SOC 2 category {rest.strip(' ,')[:60]!r}. The categories are Security "
                      "(always in scope), Availability, Confidentiality, Processing Integrity and Privacy.",
                      kind="usage")
    req.store.update_workspace_settings(req.workspace, **{SCOPE_SETTING: chosen})
    req.store.log(req.workspace, None, req.actor.user_id, "scope", "", ", ".join(["Security", *chosen]))
    out = [c for c in SOC2_OPTIONAL if c not in chosen]
    return Reply(f"SOC 2 scope is now {', '.join(['Security', *chosen])}." +
                 (f" Not in scope: {', '.join(out)}." if out else ""), kind="scope")


def _is_control_command(args: str) -> bool:
    return not args or args.split()[0].casefold() in ("add", "list", "remove")


def _is_scope_command(args: str) -> bool:
    return not args or args.split()[0].casefold() in ("soc2", "soc")


COMMANDS = (
    Command("control",
            'control add "<name>" iso <refs> soc2 <refs> [note ...] · control list · control remove "<name>"',
            "a control of your own, counting for the references you name (admins add and remove)", control,
            accepts=_is_control_command),
    Command("scope", "scope · scope soc2 security availability confidentiality",
            "the SOC 2 categories in scope (Security always; admins change it)", scope, accepts=_is_scope_command),
)
