"""Neutral `Reply` → Teams message: text, or an Adaptive Card 1.5 with Universal Actions buttons.

A reply's text is data (it repeats people's words): only the bot's own mentions (`handlers.types.mention`)
become Teams mentions; a typed `<@id>` is shown as the name, and Markdown links and tags are defused.
Buttons are `Action.Execute` carrying `{"complybot": "<command in the shared grammar>"}`: Teams sends
an `adaptiveCard/action` invoke, and the card the bot answers with replaces the pressed one in place
(hosts without Universal Actions fall back to an `Action.Submit` with the same data).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass

from microsoft_agents.activity import Activity, ChannelAccount, Mention
from microsoft_agents.hosting.core import CardFactory, MessageFactory

from handlers.replies import lead
from handlers.types import MENTION, Action, Reply, Section, progress_bar

ADAPTIVE_CARD_VERSION = "1.5"  # Action.Execute needs ≥1.4; Teams renders 1.5 on every client
BODY_BYTES = 18_000  # card body budget: with the fallback text the message stays under Teams' ~28 KB
FALLBACK_CHARS = 3_000
SUMMARY_CHARS = 200  # the notification preview
SUBMIT_KEY = "complybot"  # button data: {"complybot": "<command in the shared grammar>"}
EXECUTE_VERB = "command"  # Action.Execute's verb: every button of ours runs a command
_MENTION = re.compile(r"<@([^<>\s]{1,128})>")


@dataclass
class Mentions:
    """Reply text → Teams Markdown. The bot's own mentions (`handlers.types.mention`) become Teams mentions
    `<at>Name</at>` with their entities; everything else is data: a `<@id>` in it is shown as the name,
    never a mention, and Markdown links (`[label](url)`, `<url>`) and tags are defused, so a person's
    words can't become a disguised link or a mention in someone else's card. A bare URL stays one (Teams
    links it, showing where it goes)."""

    book: object | None  # bot.teams.members.ConversationBook
    workspace: str

    def __post_init__(self):
        self.entities: list[dict] = []

    def render(self, text: str) -> str:
        parts = MENTION.split(text)  # odd parts: the user ids of the bot's own mentions
        return "".join(self._mention(part) if odd % 2 else self._data(part) for odd, part in enumerate(parts))

    def _data(self, text: str) -> str:
        return _defuse_markdown(_MENTION.sub(lambda match: self._name(match[1]), text))

    def _name(self, user: str) -> str:
        """How a person is shown without mentioning them: never a raw id."""
        known = self.book.member_for_user(self.workspace, user) if self.book else None
        if known and known[1]:
            return f"@{known[1]}"
        person = self.book.store.person(self.workspace, user) if self.book else None
        return f"@{person.name}" if person and person.name else "someone"

    def _mention(self, user: str) -> str:
        known = self.book.member_for_user(self.workspace, user) if self.book else None
        if known is None:  # never seen in Teams: the name complybot knows
            return _defuse_markdown(self._name(user))
        member_id, name = known
        tag = f"<at>{_defuse_markdown(name or 'someone')}</at>"
        if all(entity["text"] != tag for entity in self.entities):
            self.entities.append({"type": "mention", "text": tag, "mentioned": {"id": member_id, "name": name}})
        return tag


def _defuse_markdown(text: str) -> str:
    """A word joiner (invisible) after every `]` and `<`: no `[label](url)`, `[label][ref]`, `<url>` or
    `<at>` can form, whether or not a Teams client honours backslash escapes."""
    return text.replace("]", "]\u2060").replace("<", "<\u2060")


def _button(action: Action) -> dict:
    """Action.Execute, falling back to Action.Submit (a message with the same data) in hosts without
    Universal Actions, such as the Bot Framework Emulator."""
    data = {SUBMIT_KEY: action.value}
    title = action.label[:80]
    button = {"type": "Action.Execute", "title": title, "verb": EXECUTE_VERB, "data": data,
              "fallback": {"type": "Action.Submit", "title": title, "data": data}}
    if action.style == "primary":
        button["style"] = "positive"
    elif action.style == "danger":
        button["style"] = "destructive"
    return button


def _section_elements(section: Section, mentions: Mentions) -> list[dict]:
    elements: list[dict] = []
    if section.title:
        elements.append(_text_block(mentions.render(section.title), weight="Bolder"))
    if section.progress is not None:
        elements.append(_text_block(progress_bar(section.progress), fontType="Monospace", spacing="Small"))
    for line in section.lines:
        elements.append(_text_block(mentions.render(line), spacing="Small"))
    if section.actions:
        elements.append({"type": "ActionSet", "actions": [_button(a) for a in section.actions]})
    return elements


def _text_block(text: str, **style) -> dict:
    return {"type": "TextBlock", "text": text, "wrap": True, **style}


def adaptive_card(reply: Reply, mentions: Mentions) -> dict:
    """An Adaptive Card 1.5 of the reply: its lead, sections (title, lines, progress, buttons), buttons.
    One TextBlock per line: Teams does not reliably break lines inside a TextBlock."""
    body = [_text_block(mentions.render(line), spacing="None") for line in lead(reply).strip().split("\n") if line.strip()]
    for section in reply.sections:
        container = _section_elements(section, mentions)
        if container:
            body.append({"type": "Container", "items": container, "separator": True, "spacing": "Medium"})
    fallback = mentions.render(reply.text)
    card = {
        "type": "AdaptiveCard",
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "version": ADAPTIVE_CARD_VERSION,
        "fallbackText": fallback if len(fallback) <= FALLBACK_CHARS else fallback[:FALLBACK_CHARS - 1] + "…",
        "body": _within_budget(body, BODY_BYTES),
        "msteams": {"width": "Full"},
    }
    if reply.actions:
        card["actions"] = [_button(a) for a in reply.actions]
    if mentions.entities:
        card["msteams"]["entities"] = mentions.entities
    return card


def _within_budget(body: list[dict], budget: int) -> list[dict]:
    """The first elements that fit in `budget` bytes, and a note of what is left out: Teams refuses
    a message over about 28 KB, so a long list is cut rather than lost entirely."""
    used = 0
    for count, element in enumerate(body):
        used += len(json.dumps(element, ensure_ascii=False).encode())
        if used > budget:
            return body[:count] + [_text_block(f"…and {len(body) - count} more not shown here.", isSubtle=True)]
    return body


def render(reply: Reply, book, workspace: str, as_card: bool = False) -> Activity:
    """A one-line reply as a text message; anything with lines, sections or buttons (or `as_card`,
    for replacing a card in place) as a card."""
    mentions = Mentions(book, workspace)
    if not as_card and not reply.sections and not reply.actions and "\n" not in reply.text.strip():
        activity = MessageFactory.text(mentions.render(reply.text))
    else:
        card = adaptive_card(reply, mentions)
        activity = MessageFactory.attachment(CardFactory.adaptive_card(card))
        activity.summary = card["fallbackText"][:SUMMARY_CHARS]
    if mentions.entities:
        activity.entities = [Mention(type="mention", text=entity["text"], mentioned=ChannelAccount(**entity["mentioned"]))
                             for entity in mentions.entities]
    return activity


def card_of(activity: Activity) -> dict | None:
    """The Adaptive Card a rendered message carries, if any (an invoke answer carries it alone)."""
    for attachment in activity.attachments or []:
        if attachment.content_type == "application/vnd.microsoft.card.adaptive":
            return attachment.content
    return None
