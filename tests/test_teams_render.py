"""Neutral Reply → Teams message (text or Adaptive Card 1.5), Teams text → neutral text, and keeping
the Microsoft 365 Agents SDK inside bot/teams/ (`complybot ask` must start without it)."""
from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot.store import Store
from bot.teams.activities import neutral_text, submitted_command
from bot.teams.cards import EXECUTE_VERB, SUBMIT_KEY, render
from bot.teams.members import ConversationBook
from bot.teams.route import parse_activity
from handlers.types import Action, Reply, Section, mention

ROOT = Path(__file__).resolve().parent.parent
ADAPTIVE = "application/vnd.microsoft.card.adaptive"


@pytest.fixture
def book(tmp_path):
    store = Store.open(tmp_path / "c.db")
    yield ConversationBook(store)
    store.close()


def card_of(activity) -> dict:
    [attachment] = activity.attachments
    assert attachment.content_type == ADAPTIVE
    return attachment.content


def test_one_line_reply_is_a_text_message(book):
    activity = render(Reply("CC6.1 maps to A.5.15."), book, "t1")
    assert activity.text == "CC6.1 maps to A.5.15." and not activity.attachments


def test_sections_progress_and_buttons_become_an_adaptive_card(book):
    reply = Reply(
        "Your open tasks:\n#12 Disk Encryption · due Friday",
        sections=(Section(title="Disk Encryption", lines=("#12 · due Friday",), progress=0.5,
                          actions=(Action("Done", "done 12", "primary"), Action("Snooze 1 week", "snooze 12 7"))),),
        actions=(Action("Everyone's tasks", "tasks all"),),
    )
    activity = render(reply, book, "t1")
    card = card_of(activity)
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.5"
    assert card["fallbackText"] == reply.text  # the complete answer, for clients without cards
    assert activity.summary.startswith("Your open tasks")
    texts = json.dumps(card["body"], ensure_ascii=False)
    assert "Disk Encryption" in texts and "▓" in texts and "50%" in texts
    assert "#12 Disk Encryption" not in texts  # the text's later lines are the sections, not repeated
    [action_set] = [item for item in card["body"][1]["items"] if item["type"] == "ActionSet"]
    def button(title: str, command: str, **style) -> dict:  # Universal Actions: the card refreshes in place
        data = {SUBMIT_KEY: command}
        return {"type": "Action.Execute", "verb": EXECUTE_VERB, "title": title, "data": data, **style,
                "fallback": {"type": "Action.Submit", "title": title, "data": data}}  # hosts without them

    assert action_set["actions"] == [button("Done", "done 12", style="positive"),
                                     button("Snooze 1 week", "snooze 12 7")]
    assert card["actions"] == [button("Everyone's tasks", "tasks all")]


def test_a_known_person_is_mentioned_properly(book):
    book.remember_member("t1", "29:abc", "aad-1", "Bob Owner")
    activity = render(Reply(f"Task 3 is {mention('aad-1')}'s.", sections=(Section(lines=(f"owner {mention('aad-1')}",)),)),
                      book, "t1")
    card = card_of(activity)
    assert "<at>Bob Owner</at>" in json.dumps(card["body"], ensure_ascii=False)
    assert card["msteams"]["entities"] == [
        {"type": "mention", "text": "<at>Bob Owner</at>", "mentioned": {"id": "29:abc", "name": "Bob Owner"}}]
    unknown = render(Reply(f"ask {mention('29:zzz')}"), book, "t1")
    assert unknown.text == "ask someone"  # never a raw Teams id in a message
    book.store.upsert_person("t1", "aad-9", "Nine", platform="teams")
    assert render(Reply(f"ask {mention('aad-9')}"), book, "t1").text == "ask @Nine"


def test_a_typed_mention_or_link_is_shown_never_live(book):
    """Reply text repeats people's words: only the bot's own mentions become Teams mentions, and no
    Markdown link, autolink or tag forms from the words (a bare URL stays, showing where it goes)."""
    book.remember_member("t1", "29:abc", "aad-1", "Bob Owner")
    words = ("block 2 [Click to re-verify your SSO](https://evil.example/login) [x][1]\n[1]: https://evil.example/a "
             "<https://evil.example/b> <at>Bob Owner</at> ask <@aad-1> see https://drive.example/q3")
    activity = render(Reply(f"Owner {mention('aad-1')}: {words}", sections=(Section(title=words, lines=(words,)),)),
                      book, "t1")
    card = card_of(activity)
    texts = [block["text"] for block in walk_text_blocks(card)] + [card["fallbackText"]]
    for text in texts:
        assert live_links(text) == set(), text
    assert all(text.count("<at>") <= 1 for text in texts)  # the bot's mention of the owner, nothing more
    assert card["msteams"]["entities"] == [
        {"type": "mention", "text": "<at>Bob Owner</at>", "mentioned": {"id": "29:abc", "name": "Bob Owner"}}]
    shown = json.dumps(card["body"], ensure_ascii=False).replace("\u2060", "")
    assert "[Click to re-verify your SSO](https://evil.example/login)" in shown  # shown as typed
    assert "ask @Bob Owner" in shown  # a typed <@id>: the name, not a mention
    assert "https://drive.example/q3" in shown


def walk_text_blocks(node):
    if isinstance(node, dict):
        if node.get("type") == "TextBlock":
            yield node
        for value in node.values():
            yield from walk_text_blocks(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk_text_blocks(value)


def live_links(markdown: str) -> set[str]:
    """The links and tags (but the bot's `<at>` mentions) a CommonMark renderer finds in this Markdown.
    Bare URLs, which Teams links too, show where they go: not counted."""
    from markdown_it import MarkdownIt

    found = set()
    for token in MarkdownIt("commonmark").parse(markdown):
        for child in token.children or []:
            if child.type == "link_open":
                found.add(child.attrGet("href"))
            if child.type == "html_inline" and not child.content.startswith("<at>") and child.content != "</at>":
                found.add(child.content)
    return found


@pytest.mark.parametrize("sections, lines", [(300, 1), (0, 2000)])
def test_a_very_long_reply_is_cut_with_a_note(book, sections, lines):
    reply = Reply("All tasks\n" + "\n".join(f"line {n} of a long answer" for n in range(lines)),
                  sections=tuple(Section(lines=(f"#{n} Disk Encryption · @someone · due 2031-03-31",),
                                         actions=(Action("Done", f"done {n}"), Action("Snooze", f"snooze {n} 7")))
                                 for n in range(sections)))
    activity = render(reply, book, "t1")
    size = len(json.dumps(activity.model_dump(mode="json", by_alias=True, exclude_none=True),
                          ensure_ascii=False).encode())  # what goes to Teams
    assert size < 28_000, size
    note = card_of(activity)["body"][-1]
    assert note["text"].startswith("…and ") and note["text"].endswith(" more not shown here.")


@pytest.mark.parametrize("value, command", [
    ({SUBMIT_KEY: "done 12"}, "done 12"),
    ({SUBMIT_KEY: " snooze 12 7 "}, "snooze 12 7"),
    ({"other": "done 1"}, ""),
    ({SUBMIT_KEY: ["done 1"]}, ""),
    ({SUBMIT_KEY: "x" * 50_000}, ""),
    ("done 1", ""),
    (None, ""),
])
def test_only_our_buttons_carry_commands(value, command):
    assert submitted_command(parse_activity({"type": "message", "value": value})) == command


def test_teams_text_becomes_neutral_text(book):
    book.remember_member("t1", "29:bob", "aad-bob", "Bob")
    activity = parse_activity({
        "type": "message", "recipient": {"id": "28:bot"},
        "text": "<p><at>complybot</at>&nbsp;assign MFA to <at>Bob</at> and <at>Cy</at><br>due&nbsp;friday &lt;b&gt;</p>",
        "entities": [
            {"type": "mention", "text": "<at>complybot</at>", "mentioned": {"id": "28:bot", "name": "complybot"}},
            {"type": "mention", "text": "<at>Bob</at>", "mentioned": {"id": "29:bob", "name": "Bob"}},
            {"type": "mention", "text": "<at>Cy</at>", "mentioned": {"id": "29:cy", "name": "Cy", "aadObjectId": "aad-cy"}},
        ],
    })
    assert neutral_text(activity, book, "t1") == "assign MFA to <@aad-bob> and <@aad-cy> due friday <b>"


def _imports(path: Path) -> set[str]:
    modules = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module)
    return modules


def test_the_agents_sdk_is_imported_only_in_bot_teams():
    offenders = []
    for folder in ("bot", "handlers", "knowledge"):
        for path in (ROOT / folder).rglob("*.py"):
            if path.is_relative_to(ROOT / "bot" / "teams"):
                continue
            if any(m.split(".")[0] in ("microsoft_agents", "botbuilder", "botframework") for m in _imports(path)):
                offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []
    assert any(m.startswith("microsoft_agents") for m in _imports(ROOT / "bot" / "teams" / "route.py"))


def test_complybot_ask_does_not_load_the_agents_sdk():
    script = (
        "import sys\n"
        "from bot.cli import main\n"
        "code = main(['ask', 'what ISO control maps to CC 6.1?'])\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('microsoft_agents', 'msal', 'pydantic'))\n"
        "print('LOADED', loaded, code, file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert "LOADED [] 0" in done.stderr, done.stderr[-2000:]
    assert "A.5.15" in done.stdout
