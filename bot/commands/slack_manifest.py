"""`complybot slack-manifest --url https://HOST`: print a ready Slack app manifest (YAML).

Paste it at api.slack.com/apps → Create New App → From an app manifest. It declares the bot scopes
(each one's reason is `bot.slack.app.BOT_SCOPES`), the events (mentions, direct messages, App Home),
the `/comply` slash command, the shortcuts, the Messages tab as an agent (`agent_view`: suggested
prompts), interactivity (buttons, the modals and the control picker) and every request URL under HOST.
The manifest is built as data and written as YAML by hand (every string JSON-quoted, which YAML reads
as is), so no YAML library is needed at run time.
"""
from __future__ import annotations

import argparse
import json
import sys
from urllib.parse import urlsplit

BOT_EVENTS = ("app_home_opened", "app_mention", "message.im", "app_uninstalled", "tokens_revoked")
DESCRIPTION = "SOC 2 and ISO 27001 assistant: mapping answers, control owners, due dates, nudges, digests."
AGENT_DESCRIPTION = ("Ask which ISO 27001 controls map to a SOC 2 criterion (and back), see your control tasks "
                     "and the programme's status.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--url", required=True, help="public https:// address of your complybot server")
    parser.add_argument("--name", default="complybot", help="the app's name in Slack (default: complybot)")
    parser.add_argument("--socket-mode", action="store_true",
                        help="for development with SLACK_APP_TOKEN: Slack connects out, no request URLs used")
    parser.add_argument("--json", action="store_true", help="print JSON instead of YAML")


def run(args: argparse.Namespace) -> int:
    base = _base_url(args.url)
    if base is None:
        print(f"--url must be a public https:// address like https://complybot.example.com, not {args.url!r}",
              file=sys.stderr)
        return 2
    data = manifest(base, name=args.name, socket_mode=args.socket_mode)
    sys.stdout.write(json.dumps(data, indent=2) + "\n" if args.json else to_yaml(data))
    return 0


def _base_url(url: str) -> str | None:
    parts = urlsplit(url.strip())
    if parts.scheme != "https" or not parts.hostname:
        return None
    return f"https://{parts.netloc}{parts.path.rstrip('/')}"


def manifest(base: str, name: str = "complybot", socket_mode: bool = False) -> dict:
    from bot.slack.app import BOT_SCOPES, EVENTS_PATH, OAUTH_REDIRECT_PATH
    from bot.slack.listeners.commands import COMMAND
    from bot.slack.listeners.shortcuts import SHORTCUTS

    events_url = base + EVENTS_PATH
    command = {"command": COMMAND, "description": "Ask about SOC 2 / ISO 27001, or manage control tasks",
               "usage_hint": "what maps to CC6.1? | assign <control> to @person | tasks | status | help",
               "should_escape": True}
    interactivity: dict = {"is_enabled": True}
    events: dict = {"bot_events": list(BOT_EVENTS)}
    if not socket_mode:
        command["url"] = events_url
        interactivity.update(request_url=events_url, message_menu_options_url=events_url)
        events["request_url"] = events_url
    return {
        "display_information": {"name": name[:35], "description": DESCRIPTION[:140], "background_color": "#1f5fad"},
        "features": {
            "app_home": {"home_tab_enabled": True, "messages_tab_enabled": True,
                         "messages_tab_read_only_enabled": False},
            "agent_view": {"agent_description": AGENT_DESCRIPTION},  # the prompts are set when the tab opens
            "bot_user": {"display_name": name[:80], "always_online": True},
            "shortcuts": [{"name": title, "type": kind, "callback_id": callback_id, "description": about}
                          for kind, callback_id, title, about in SHORTCUTS],
            "slash_commands": [command],
        },
        "oauth_config": {"redirect_urls": [base + OAUTH_REDIRECT_PATH], "scopes": {"bot": list(BOT_SCOPES)}},
        "settings": {"event_subscriptions": events, "interactivity": interactivity, "org_deploy_enabled": False,
                     "socket_mode_enabled": socket_mode, "token_rotation_enabled": False},
    }


def to_yaml(value, indent: int = 0) -> str:
    """Block-style YAML for dicts, lists and scalars (strings JSON-quoted: valid YAML, no escaping doubts)."""
    pad = " " * indent
    if isinstance(value, dict):
        lines = []
        for key, item in value.items():
            if isinstance(item, (dict, list)) and item:
                lines.append(f"{pad}{key}:\n{to_yaml(item, indent + 2)}")
            else:
                lines.append(f"{pad}{key}: {_scalar(item)}\n")
        return "".join(lines)
    if isinstance(value, list):
        lines = []
        for item in value:
            if isinstance(item, dict) and item:
                first, *rest = to_yaml(item, indent + 2).splitlines(keepends=True)
                lines.append(f"{pad}- {first.lstrip()}" + "".join(rest))
            else:
                lines.append(f"{pad}- {_scalar(item)}\n")
        return "".join(lines)
    return f"{pad}{_scalar(value)}\n"


def _scalar(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, (dict, list)):
        return "{}" if isinstance(value, dict) else "[]"
    return json.dumps(str(value), ensure_ascii=False)
