"""Coverage of both frameworks: `status`, `status soc2|iso`, `gap soc2|iso`.

A control is *finished* when one of its tasks is done or it is justified not applicable. A SOC 2
criterion or an ISO reference is *covered* when it is itself justified not applicable, or when it has
mapped controls and every one of them is finished. So one finished control counts for both frameworks.
A control maps the references of the article's table plus those our review adds (`Catalog.covering`).
References no control of the table maps stay uncovered until justified (the gap lists them apart).
"""
from __future__ import annotations

from dataclasses import dataclass

from handlers.roles import Refusal, Request, label
from handlers.replies import sections_reply
from handlers.tasks import due_words, framework_of
from handlers.types import Reply, Section
from knowledge.catalog import catalog

FRAMEWORK_NAMES = {"soc2": "SOC 2", "iso": "ISO 27001:2022"}


@dataclass(frozen=True)
class Coverage:
    """What one workspace has finished, read once from the store."""

    finished: frozenset[str]  # control names done or not applicable
    na: dict  # control name or reference -> NaDecision
    active: dict  # control name -> its open/in-progress/blocked Task

    @classmethod
    def of(cls, store, workspace: str) -> "Coverage":
        na = store.na_decisions(workspace)
        finished = {c for c, statuses in store.control_statuses(workspace).items() if statuses & {"done", "na"}}
        active = {t.control: t for t in store.tasks(workspace)}
        return cls(frozenset(finished | set(na)), na, active)

    def covered(self, ref: str) -> bool:
        if ref in self.na:
            return True
        controls = catalog().covering(ref)
        return bool(controls) and all(c.name in self.finished for c in controls)


def refs_of(framework: str) -> dict[str, list[str]]:
    """Section name -> references, in catalogue order."""
    cat = catalog()
    if framework == "soc2":
        return {"SOC 2 criteria": list(cat.soc2)}
    return {"Annex A": [r for r in cat.iso if r.startswith("A.")],
            "Clauses 4–10": [r for r in cat.iso if r.startswith("Clause")]}


def status(req: Request, args: str) -> Reply:
    """`status`, `status soc2`, `status iso`: %, counts and a progress bar per framework."""
    wanted = framework_of(args) if args.strip() else None
    if args.strip() and not wanted:
        raise Refusal("Usage: `status`, `status soc2` or `status iso`.", kind="usage")
    coverage = Coverage.of(req.store, req.workspace)
    sections = []
    for framework in [wanted] if wanted else ["soc2", "iso"]:
        for part, refs in refs_of(framework).items():
            done = sum(coverage.covered(r) for r in refs)
            fraction = done / len(refs) if refs else 0.0
            title = f"{FRAMEWORK_NAMES[framework]} · {part}" if framework == "iso" else FRAMEWORK_NAMES[framework]
            sections.append(Section(title=title, progress=fraction, lines=(f"{done} of {len(refs)} covered",)))
    controls = len(catalog().controls)
    finished = sum(1 for c in catalog().controls if c.name in coverage.finished)
    footer = (f"{finished} of {controls} controls finished (done or not applicable), {len(coverage.active)} in "
              f"progress. One finished control counts for both frameworks. `gap iso` or `gap soc2` lists what is "
              "missing.")
    return sections_reply("Compliance status:", sections, "status", footer)


def gap(req: Request, args: str) -> Reply:
    """`gap iso` / `gap soc2`: what is not covered, with owners and due dates where assigned."""
    framework = framework_of(args)
    if not framework:
        raise Refusal("Usage: `gap iso` or `gap soc2`.", kind="usage")
    coverage = Coverage.of(req.store, req.workspace)
    cat = catalog()
    mapped, unmapped, clauses = [], [], []
    for refs in refs_of(framework).values():
        for ref in refs:
            if coverage.covered(ref):
                continue
            title = cat.soc2[ref].title if framework == "soc2" else cat.iso[ref].title
            controls = cat.covering(ref)
            line = f"{ref} {title}" + (f" — {_controls_state(req, coverage, controls)}" if controls else "")
            if ref.startswith("Clause"):
                clauses.append(line)
            elif controls:
                mapped.append(line)
            else:
                unmapped.append(line)
    name = FRAMEWORK_NAMES[framework]
    items = "criteria" if framework == "soc2" else "Annex A controls"
    sections = []
    if mapped:
        sections.append(Section(title=f"{name} {items} not yet covered ({len(mapped)})", lines=tuple(mapped)))
    if unmapped:
        sections.append(Section(title=f"{name} {items} no control in the table covers ({len(unmapped)})",
                                lines=tuple(unmapped) + ("Address them directly, or record `na <ref> <why>`.",)))
    if clauses:
        sections.append(Section(title=f"Clauses 4–10, the ISMS itself ({len(clauses)})", lines=tuple(clauses)))
    if not sections:
        return Reply(f"No gaps: every {name} reference is covered.", kind="gap")
    return sections_reply(f"Gaps in {name}:", sections, "gap")


def _controls_state(req: Request, coverage: Coverage, controls) -> str:
    parts = []
    for control in controls:
        if control.name in coverage.finished:
            continue
        task = coverage.active.get(control.name)
        if task:
            parts.append(f"{control.name} ({label(req.store, req.workspace, task.owner)}, "
                         f"{due_words(task.due, req.today)})")
        else:
            parts.append(f"{control.name} (unassigned)")
    return "; ".join(parts)
