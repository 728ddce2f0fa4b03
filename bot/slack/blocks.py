"""Neutral `Reply` → Slack Block Kit, with a plain-text fallback; Slack text → neutral text.

All text is escaped for mrkdwn (`&`, `<`, `>`) so nobody can make the bot post `<!channel>`, `<!here>`
or a link disguised behind other words. The one markup let through is a user mention `<@U…>`: the ones
handlers make on purpose (`handlers.types.mention`), and those a person wrote, who could mention anyone
in Slack anyway.
"""
from __future__ import annotations

import html
import itertools
import re

from handlers.replies import lead
from handlers.types import Action, Reply, Section, plain_text, progress_bar

ACTION_PREFIX = "complybot_action_"  # action_id of every button; the listener matches this prefix
SECTION_LIMIT = 3000  # characters of one section's text
BLOCK_LIMIT = 50  # blocks in a message (a Home tab allows 100)
BUTTON_LABEL_LIMIT = 75
FALLBACK_LIMIT = 3900  # the notification text; Slack truncates long `text` anyway

USER_MENTION = re.compile(r"<@([UW][A-Z0-9]+)>")
_INCOMING_MARKUP = re.compile(r"<([^<>]*)>")


def escape(text: str) -> str:
    """Escape user-controlled text for mrkdwn, keeping plain user mentions `<@U123>` working."""
    parts = USER_MENTION.split(plain_text(text))
    out = []
    for i, part in enumerate(parts):
        if i % 2:  # a captured user id
            out.append(f"<@{part}>")
        else:
            out.append(part.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"))
    return "".join(out)


def to_neutral_text(slack_text: str, bot_user_id: str = "") -> str:
    """Slack message text → neutral text: user mentions stay `<@U…>`, the bot's own mention goes,
    channel and broadcast markup become plain words, links become their URL, entities are decoded."""

    def plain(match: re.Match) -> str:
        inner = match.group(1)
        target, _, label = inner.partition("|")
        if target.startswith("@"):
            user = target[1:]
            return "" if user == bot_user_id else f"<@{user}>"
        if target.startswith("#"):
            return "#" + (label or target[1:])
        if target.startswith("!"):
            special = target[1:].split("^")[0]
            return "@" + (label.lstrip("@") or special)
        return target.removeprefix("mailto:")

    text = _INCOMING_MARKUP.sub(plain, slack_text)
    return re.sub(r"[ \t]{2,}", " ", html.unescape(text)).strip()


def fallback_text(reply: Reply) -> str:
    """The notification / screen-reader text: the reply's own text, escaped and bounded."""
    text = escape(reply.text or "…")
    return text if len(text) <= FALLBACK_LIMIT else text[: FALLBACK_LIMIT - 1] + "…"


def render(reply: Reply, block_limit: int = BLOCK_LIMIT, id_prefix: str = "") -> list[dict]:
    """Block Kit blocks for a reply: its text, then each section (title, lines, progress bar, buttons),
    then the reply's own buttons. Over-long replies are cut with a note, never rejected by Slack.
    `id_prefix` keeps block ids unique when several replies share one view (the Home tab)."""
    ids = (f"{id_prefix}{n}" for n in itertools.count())
    blocks: list[dict] = []
    if reply.text:
        blocks += _text_blocks(lead(reply))
    for section in reply.sections:
        blocks += _section_blocks(section, ids)
    if reply.actions:
        blocks.append(_actions_block(reply.actions, ids))
    if len(blocks) > block_limit:
        hidden = len(blocks) - (block_limit - 1)
        blocks = blocks[: block_limit - 1] + [
            {"type": "context", "elements": [{"type": "mrkdwn", "text": f"…and {hidden} more parts not shown."}]}
        ]
    return blocks or _text_blocks("…")


def _text_blocks(text: str) -> list[dict]:
    chunks = _chunks(escape(text), SECTION_LIMIT)
    return [{"type": "section", "text": {"type": "mrkdwn", "text": chunk}} for chunk in chunks]


def _section_blocks(section: Section, ids) -> list[dict]:
    blocks: list[dict] = []
    lines = [f"*{escape(section.title)}*"] if section.title else []
    lines += [escape(line) for line in section.lines]
    if section.progress is not None:
        lines.append(f"`{progress_bar(section.progress)}`")
    for chunk in _chunks("\n".join(lines), SECTION_LIMIT):
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": chunk}})
    if section.actions:
        blocks.append(_actions_block(section.actions, ids))
    return blocks


def _actions_block(actions: tuple[Action, ...], ids) -> dict:
    number = next(ids)
    elements = []
    for action in actions[:25]:  # Slack's limit per actions block
        button = {
            "type": "button",
            "action_id": f"{ACTION_PREFIX}{number}_{len(elements)}",
            "text": {"type": "plain_text", "text": _cut(action.label, BUTTON_LABEL_LIMIT), "emoji": True},
            "value": action.value[:2000],
        }
        if action.style in ("primary", "danger"):
            button["style"] = action.style
        elements.append(button)
    return {"type": "actions", "block_id": f"complybot_actions_{number}", "elements": elements}


def _chunks(text: str, limit: int) -> list[str]:
    """Split on line breaks into pieces of at most `limit` characters (hard-cut an over-long line)."""
    chunks: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:
            if current:
                chunks.append(current)
                current = ""
            chunks.append(line[:limit])
            line = line[limit:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            chunks.append(current)
            candidate = line
        current = candidate
    if current.strip():
        chunks.append(current)
    return chunks


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
