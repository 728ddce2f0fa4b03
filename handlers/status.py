"""Coverage of both frameworks: `status`, `status soc2|iso`, `gap soc2|iso`.

A control is *finished* when one of its tasks is done or it is justified not applicable. A SOC 2
criterion or an ISO reference is *covered* when it is itself justified not applicable, when a task for
the requirement itself is done, or when it has mapped controls (the table's and the workspace's own) and
every one of them is finished. So one finished control counts for both frameworks. SOC 2 counts only the
criteria in the workspace's scope. Clauses follow their hierarchy: a finished task for a heading clause
(6.1, 7.5, 9.2, 9.3) covers its sub-clauses, and a heading is covered when all its sub-clauses are.
Clauses cannot be marked not applicable (they are the ISMS itself; `na` refuses them, headings too).
`parts(coverage)` is the one count that status, gap, the digest and App Home show. A table control maps the references of the article's table plus those our
review adds (`Catalog.covering`).
"""
from __future__ import annotations

from dataclasses import dataclass

from handlers import evidence
from handlers.programme import Programme
from handlers.roles import Refusal, Request, label
from handlers.replies import sections_reply
from handlers.tasks import due_words, framework_of
from handlers.types import Command, Reply, Section
from knowledge.catalog import catalog

FRAMEWORK_NAMES = {"soc2": "SOC 2", "iso": "ISO 27001:2022"}


@dataclass(frozen=True)
class Coverage:
    """What one workspace has finished, read once from the store."""

    finished: frozenset[str]  # control names (or requirements tracked themselves) done or not applicable
    na: dict  # control name or reference -> NaDecision
    active: dict  # control name -> its open/in-progress/blocked Task
    programme: Programme

    @classmethod
    def of(cls, store, workspace: str) -> "Coverage":
        na = store.na_decisions(workspace)
        finished = {c for c, statuses in store.control_statuses(workspace).items() if statuses & {"done", "na"}}
        active = {t.control: t for t in store.tasks(workspace)}
        return cls(frozenset(finished | set(na)), na, active, Programme.of(store, workspace))

    def covered(self, ref: str) -> bool:
        """`ref` itself, a heading clause above it finished (its task is the whole clause's work), or a
        heading clause whose every sub-clause is covered."""
        if self._covered_itself(ref) or any(parent in self.finished for parent in clause_parents(ref)):
            return True
        subs = sub_clauses(ref)
        return bool(subs) and all(self.covered(s) for s in subs)

    def _covered_itself(self, ref: str) -> bool:
        if ref in self.na or ref in self.finished:
            return True
        controls = self.programme.controls_for(ref)
        return bool(controls) and all(c.name in self.finished for c in controls)


def clause_parents(ref: str) -> list[str]:
    """The heading clauses above `ref` ("Clause 9.3" for "Clause 9.3.1"); [] for anything else."""
    if not ref.startswith("Clause "):
        return []
    numbers = ref.removeprefix("Clause ").split(".")
    return [f"Clause {'.'.join(numbers[:n])}" for n in range(2, len(numbers))]


def sub_clauses(ref: str) -> list[str]:
    """The clauses directly under heading `ref` ("Clause 9.3.1" ... for "Clause 9.3"); [] for the others."""
    if not ref.startswith("Clause "):
        return []
    depth = ref.count(".") + 1
    return [r for r in catalog().iso if r.startswith(ref + ".") and r.count(".") == depth]


def refs_of(framework: str, programme: Programme | None = None) -> dict[str, list[str]]:
    """Section name -> references, in catalogue order; SOC 2 only the criteria in `programme`'s scope."""
    cat = catalog()
    if framework == "soc2":
        return {"SOC 2 criteria": [r for r in cat.soc2 if programme is None or programme.in_scope(r)]}
    return {"Annex A": [r for r in cat.iso if r.startswith("A.")],
            "Clauses 4–10": [r for r in cat.iso if r.startswith("Clause")]}


@dataclass(frozen=True)
class Part:
    """One counted part of a framework: what status, gap, the digest and App Home all show."""

    framework: str
    title: str
    covered: int
    total: int

    @property
    def fraction(self) -> float:
        return self.covered / self.total if self.total else 0.0

    def section(self) -> Section:
        return Section(title=self.title, progress=self.fraction, lines=(f"{self.covered} of {self.total} covered",))


def parts(coverage: Coverage, frameworks: tuple[str, ...] = ("soc2", "iso")) -> list[Part]:
    found = []
    for framework in frameworks:
        for part, refs in refs_of(framework, coverage.programme).items():
            title = f"{FRAMEWORK_NAMES[framework]} · {part}" if framework == "iso" else FRAMEWORK_NAMES[framework]
            found.append(Part(framework, title, sum(coverage.covered(r) for r in refs), len(refs)))
    return found


def scope_line(coverage: Coverage) -> str:
    """The SOC 2 categories left out, named once ("Privacy: not in scope")."""
    out = coverage.programme.out_of_scope()
    return f"SOC 2 {', '.join(out)}: not in scope (`scope` to change)." if out else ""


def status(req: Request, args: str) -> Reply:
    """`status`, `status soc2`, `status iso`: %, counts and a progress bar per framework."""
    wanted = framework_of(args) if args.strip() else None
    if args.strip() and not wanted:
        raise Refusal("Usage: `status`, `status soc2` or `status iso`.", kind="usage")
    coverage = Coverage.of(req.store, req.workspace)
    frameworks = (wanted,) if wanted else ("soc2", "iso")
    sections = [part.section() for part in parts(coverage, frameworks)]
    stale = stale_section(req.store, req.workspace, coverage.programme, req.today, frameworks)
    sections += [stale] if stale else []
    controls = coverage.programme.controls()
    finished = sum(1 for c in controls if c.name in coverage.finished)
    scope = scope_line(coverage) if "soc2" in frameworks else ""
    footer = (f"{finished} of {len(controls)} controls finished (done or not applicable), {len(coverage.active)} "
              f"in progress. One finished control counts for both frameworks. {scope + ' ' if scope else ''}"
              "`gap iso` or `gap soc2` lists what is missing.")
    return sections_reply("Compliance status:", sections, "status", footer)


def stale_section(store, workspace: str, programme: Programme, today, frameworks: tuple[str, ...]) -> Section | None:
    """Stale evidence counted per framework (status, digest); None when there is none."""
    found = evidence.by_framework(evidence.stale(store, workspace, today), programme)
    lines = tuple(f"{FRAMEWORK_NAMES[f]}: {len(found[f])} task{'s' * (len(found[f]) != 1)} "
                  f"({', '.join(f'#{e.task_id}' for e in found[f][:evidence.MAX_SHOWN])})" for f in frameworks if found[f])
    return Section(title="Stale evidence", lines=lines + ("`gap iso` or `gap soc2` lists it.",)) if lines else None


def gap(req: Request, args: str) -> Reply:
    """`gap iso` / `gap soc2`: what is not covered, with owners and due dates where assigned."""
    framework = framework_of(args)
    if not framework:
        raise Refusal("Usage: `gap iso` or `gap soc2`.", kind="usage")
    coverage = Coverage.of(req.store, req.workspace)
    cat = catalog()
    mapped, unmapped, clauses = [], [], []
    for refs in refs_of(framework, coverage.programme).values():
        for ref in refs:
            if coverage.covered(ref):
                continue
            title = cat.soc2[ref].title if framework == "soc2" else cat.iso[ref].title
            controls = coverage.programme.controls_for(ref)
            own = coverage.active.get(ref)
            state = _controls_state(req, coverage, controls) if controls else ""
            if own:
                state = "; ".join(filter(None, (f"{ref} itself ({label(req.store, req.workspace, own.owner)}, "
                                                f"{due_words(own.due, req.today)})", state)))
            line = f"{ref} {title}" + (f" — {state}" if state else "")
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
                                lines=tuple(unmapped) + ("Assign them themselves (`assign <ref> to @person`), add a "
                                                         "control of your own, or record `na <ref> <why>`.",)))
    if clauses:
        hint = "Assign each clause to an owner: `assign Clause 9.3 to @person`."
        sections.append(Section(title=f"Clauses 4–10, the ISMS itself ({len(clauses)})", lines=(*clauses, hint)))
    stale = evidence.by_framework(evidence.stale(req.store, req.workspace, req.today), coverage.programme)[framework]
    if stale:
        names = {p.user_id: p.label for p in req.store.people(req.workspace)}
        sections.append(evidence.listing(f"{FRAMEWORK_NAMES[framework]} evidence gone stale ({len(stale)})", stale,
                                         req.today, lambda user: names.get(user, f"@{user}")))
    scope = scope_line(coverage) if framework == "soc2" else ""
    if not sections:
        return Reply(f"No gaps: every {name} reference is covered." + (f" {scope}" if scope else ""), kind="gap")
    return sections_reply(f"Gaps in {name}:", sections, "gap", scope)


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


def _names_framework(args: str) -> bool:
    """`status`, `status iso` ("status of CC6.1?" is a question)."""
    return not args or framework_of(args) is not None


COMMANDS = (
    Command("status", "status · status soc2 · status iso", "coverage of each framework: %, counts, progress bar",
            status, accepts=_names_framework),
    Command("gap", "gap iso · gap soc2", "what is not covered yet, with owners and due dates", gap,
            accepts=_names_framework),
)
