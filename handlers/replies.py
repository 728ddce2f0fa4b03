"""Building replies whose `text` alone is complete: a headline line, then every section as plain lines.

`plain_lines(section)` is the one plain-text drawing of a Section; the console renders with it too.
`lead(reply)` is what every renderer (Block Kit, Adaptive Card, console) puts before the sections.
"""
from __future__ import annotations

from handlers.types import Action, Reply, Section, progress_bar


def plain_lines(section: Section, with_actions: bool = False) -> list[str]:
    lines = [f"*{section.title}*"] if section.title else []
    if section.progress is not None:
        lines.append(progress_bar(section.progress))
    lines.extend(section.lines)
    if with_actions and section.actions:
        lines.append("   " + "  ".join(action_hint(a) for a in section.actions))
    return lines


def lead(reply: Reply) -> str:
    """What leads a drawing of the reply. Handlers write the whole answer in `text` (complete on its
    own for text-only platforms) and the same content again as sections; with sections, only the
    text's first line leads, and the renderer draws the sections after it."""
    return reply.text.strip().split("\n", 1)[0] if reply.sections else reply.text


def action_hint(action: Action) -> str:
    """A button as text: [Done → done 12] (type the command after the arrow)."""
    return f"[{action.label} → {action.value}]"


def sections_reply(headline: str, sections: list[Section], kind: str, footer: str = "",
                   actions: tuple[Action, ...] = ()) -> Reply:
    """A reply of a one-line headline and sections; the footer becomes a last section."""
    sections = list(sections) + ([Section(lines=(footer,))] if footer else [])
    body = [headline]
    for section in sections:
        body.extend(plain_lines(section))
    return Reply("\n".join(body), sections=tuple(sections), actions=actions, kind=kind)
