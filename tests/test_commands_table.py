"""The command table is the one truth: what `help` lists, what the parser accepts and what runs are read
from the same declarations, so they cannot disagree."""
from __future__ import annotations

import re

from handlers.router import commands, help_reply, parse

# what a placeholder of a usage line stands for in a real message
SAMPLES = {"<control>": "Disk Encryption", "<control or reference>": "A.7.4", "@person": "@bob",
           "<task>": "12", "<date>": "next friday", "<reason>": "waiting for the vendor", "<days>": "7",
           "<url>": "https://drive.example.com/q3", "<justification>": "we run no office of our own",
           "<reference>": "A.8.1", "<name>": "Code Review", "<refs>": "A.8.28", "<field>": "org",
           "<value>": "Acme Ltd", "<version>": "3", '"<system>"': '"AWS production"', "<number>": "3", "<category>": "availability", '"<name>"': '"Code Review"'}


def examples(usage: str) -> list[str]:
    """Each form of a usage line as a message: placeholders filled in, optional parts dropped."""
    found = []
    for form in usage.split(" · "):
        form = re.sub(r"\s*\[[^\]]*\]", "", form)
        form = re.sub(r"(\w+)\|\w+(?:\|\w+)*", r"\1", form)  # soc2|iso -> soc2
        for placeholder, sample in sorted(SAMPLES.items(), key=lambda item: -len(item[0])):
            form = form.replace(placeholder, sample)
        assert "<" not in form, f"no sample for a placeholder in {form!r}: add it to SAMPLES"
        found.append(form)
    return found


def test_every_usage_the_help_shows_is_parsed_as_its_command():
    for name, command in commands().items():
        for message in examples(command.usage):
            parsed = parse(message)
            assert parsed is not None and parsed[0] == name, (message, parsed)


def test_help_lists_every_command_but_the_buttons_only_ones():
    shown = help_reply().text
    for command in commands().values():
        assert (f"`{command.usage}` — {command.help}" in shown) != command.hidden, command.name


def test_every_parsed_word_has_a_handler_and_help_names_only_real_commands():
    table = commands()
    assert all(callable(c.handler) and c.usage and c.help for c in table.values())
    for word in ("frobnicate 1", "please do 1", "hello there"):
        assert parse(word) is None
    for command in table.values():
        if not command.hidden:
            assert parse(f"help {command.starts[0].split()[0]}") == ("help", command.starts[0].split()[0])


def test_a_command_needing_arguments_says_its_usage_without_them(tmp_path):
    from bot.store import Store
    from handlers.ports import Context
    from handlers.router import handle
    from handlers.types import Message

    store = Store.open(tmp_path / "c.db")
    ctx = Context(store=store)
    handle(Message("console", "local", "UADMIN", "status"), ctx)
    for command in commands().values():
        if command.needs_args and parse(command.starts[0]) == (command.name, ""):
            reply = handle(Message("console", "local", "UADMIN", command.starts[0]), ctx)
            assert reply.outcome == "refused" and command.syntax in reply.text, command.name
    store.close()
