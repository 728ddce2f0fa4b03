"""The App Home tab: the viewer's open tasks with due dates and buttons, and the progress of both
frameworks, from the same `tasks` and `status` commands everyone can type."""
from __future__ import annotations

from bot.slack.blocks import render
from handlers.types import Reply

HOME_BLOCK_LIMIT = 100


def home_view(tasks: Reply, status: Reply, notice: Reply | None = None) -> dict:
    blocks: list[dict] = []
    if notice is not None:
        blocks += render(notice, block_limit=5, id_prefix="notice_")
        blocks.append({"type": "divider"})
    blocks.append(_header("Your open tasks"))
    blocks += render(tasks, block_limit=60, id_prefix="tasks_")
    blocks.append({"type": "divider"})
    blocks.append(_header("Progress: SOC 2 and ISO 27001"))
    blocks += render(status, block_limit=25, id_prefix="status_")
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text":
                   "Ask me anything with `/comply`, a direct message or an @mention. `/comply help` lists the commands."}]})
    return {"type": "home", "blocks": blocks[:HOME_BLOCK_LIMIT]}


def notice_view(reply: Reply) -> dict:
    """A Home tab with one answer only (a person who may not see the workspace's tasks)."""
    return {"type": "home", "blocks": render(reply, block_limit=HOME_BLOCK_LIMIT, id_prefix="notice_")}


def _header(text: str) -> dict:
    return {"type": "header", "text": {"type": "plain_text", "text": text}}
