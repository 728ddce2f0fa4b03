"""Platform-neutral messages and replies.

Adapters (Slack, Teams, console, playground) turn their payloads into a `Message` and render a
`Reply` as Block Kit, an Adaptive Card or plain text. Nothing here knows any platform.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Callable, Literal

MAX_MESSAGE_CHARS = 4000  # longer input is refused politely, never processed

# Unicode's noncharacters, "reserved for internal use": no text from outside keeps them (see MENTION)
_NONCHARACTERS = re.compile("[\ufdd0-\ufdef" + "".join(chr(plane << 16 | 0xfffe) + chr(plane << 16 | 0xffff)
                                                         for plane in range(17)) + "]")
# A mention the bot makes on purpose (an owner in a nudge) travels as this token, which no text from outside
# can contain (clean_text drops noncharacters): renderers make it a live mention and show everything else
# in a reply as data, so a typed `<@id>` or link never becomes one.
MENTION_START, MENTION_END = "\ufdd0", "\ufdd1"
MENTION = re.compile(f"{MENTION_START}([^{MENTION_START}{MENTION_END}]{{1,128}}){MENTION_END}")


def mention(user_id: str) -> str:
    return f"{MENTION_START}{user_id}{MENTION_END}"


def plain_text(text: str) -> str:
    """Reply text for a text-only reader (a terminal, a log): the bot's mentions as `<@id>`."""
    return MENTION.sub(lambda match: f"<@{match[1]}>", text)


def clean_text(text: str) -> str:
    """Text from outside as everything downstream may assume it: a lone surrogate (valid in JSON, not
    encodable in UTF-8, so SQLite and logs fail on it) becomes U+FFFD and a split pair one character,
    noncharacters go, and the whole is NFC (one spelling of é for search and comparison)."""
    text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return unicodedata.normalize("NFC", _NONCHARACTERS.sub("", text))


@dataclass(frozen=True)
class Message:
    """One thing a person said to the bot."""

    platform: str  # "slack" | "teams" | "console" | "playground"
    workspace: str  # Slack team id, Teams tenant id, or "local"
    user: str  # platform user id
    text: str
    channel: str = ""  # where to answer; empty for the console
    thread: str = ""  # thread/reply-to id where the platform has one
    user_name: str = ""  # display name when the payload carries it
    is_direct: bool = False  # a direct message / personal chat
    external: bool = False  # the sender belongs to another organisation (Slack Connect, another tenant)

    def __post_init__(self):  # whoever builds it, nothing downstream sees unencodable or unnormalised text
        for name, value in vars(self).items():
            if isinstance(value, str):
                object.__setattr__(self, name, clean_text(value))


@dataclass(frozen=True)
class Action:
    """A button. `value` is what comes back when it is pressed: a command in the shared grammar."""

    label: str
    value: str
    style: Literal["default", "primary", "danger"] = "default"


@dataclass(frozen=True)
class Section:
    """A block of a reply: a heading, lines of text, an optional progress bar and buttons."""

    title: str = ""
    lines: tuple[str, ...] = ()
    progress: float | None = None  # 0..1, drawn as a bar by the renderer
    actions: tuple[Action, ...] = ()


Outcome = Literal["ok", "refused", "prompt", "error"]


@dataclass(frozen=True)
class Reply:
    """What the bot answers. `text` alone is a complete answer (fallback and console)."""

    text: str
    sections: tuple[Section, ...] = ()
    actions: tuple[Action, ...] = ()
    ephemeral: bool = False  # only the asker should see it (refusals, errors)
    kind: str = ""  # answer kind or command name, for logs and tests
    outcome: Outcome = "ok"  # what happened, for forms, logs and transactions (never read from the text)
    field: str = ""  # a refusal's subject: "control", "person", "date", "task" (a form shows it there)
    attachment: str = ""  # a file the platform attaches where it can: "soa" (this workspace's SoA, XLSX)
    subject: str = ""  # an answer's subject (JSON text): what a follow-up in this conversation refers to


def progress_bar(fraction: float, width: int = 20) -> str:
    """A text progress bar every platform can show: ▓▓▓▓░░░░ 50%."""
    fraction = min(max(fraction, 0.0), 1.0)
    filled = round(fraction * width)
    return "▓" * filled + "░" * (width - filled) + f" {fraction:.0%}"


@dataclass(frozen=True)
class Outgoing:
    """A message the bot starts by itself (a nudge, a digest): to a person or a channel."""

    workspace: str
    reply: Reply
    user: str = ""  # a direct message to this platform user id, or
    channel: str = ""  # a post to this channel / conversation
    platform: str = ""
    key: str = ""  # natural key in the sent-log, for exactly-once delivery
    tags: tuple[str, ...] = field(default=())


def _always(args: str) -> bool:
    return True


@dataclass(frozen=True)
class Command:
    """One chat command, declared next to its handler (`COMMANDS` in its module). The router's table
    collects them: the parser, `help`, the needs-arguments check and dispatch all read this one record."""

    name: str
    usage: str  # "done <task>"; alternatives joined by " · " ("tasks · tasks @person")
    help: str  # the line `help` shows
    handler: Callable[[Any, str], Reply]  # (handlers.roles.Request, arguments) -> Reply
    needs_args: bool = False  # with nothing after the word: refused with the usage
    accepts: Callable[[str], bool] = _always  # is `<word> <args>` this command (else it is a question)?
    words: tuple[str, ...] = ()  # what the message starts with; (name,) when empty
    hidden: bool = False  # reached by a button, not listed in `help`
    needs_store: bool = True

    @property
    def starts(self) -> tuple[str, ...]:
        return self.words or (self.name,)

    @property
    def syntax(self) -> str:
        """The first form of the usage, shown when arguments are missing."""
        return self.usage.split(" · ")[0]
