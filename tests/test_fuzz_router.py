"""≥10,000 hostile messages through `handlers.router.handle` on a real SQLite file, as an admin and as a
member: every one is answered with a string, never an exception, an internal error or a traceback."""
from __future__ import annotations

import logging

from bot.store import Store
from handlers.ports import Context
from handlers.router import handle
from handlers.types import Message, Reply
from tests.fuzzing import Fuzz

INPUTS = 10_000
SEED = 20261208


def test_ten_thousand_hostile_messages_get_answers_and_no_internal_error(tmp_path, caplog):
    caplog.set_level(logging.ERROR)
    store = Store.open(tmp_path / "complybot.db")
    ctx = Context(store=store)
    for user, name in (("U0ADMIN", "ada"), ("U0MEMBER", "mo")):
        store.upsert_person("T1", user, name=name, platform="slack")
    handle(Message("slack", "T1", "U0ADMIN", "assign Disk Encryption to <@U0MEMBER>"), ctx)
    handle(Message("slack", "T1", "U0ADMIN", "assign Penetration Test to me"), ctx)
    fuzz = Fuzz(SEED)
    failures = []
    try:
        for i in range(INPUTS):
            text = fuzz.text()
            user = ("U0ADMIN", "U0MEMBER")[i % 2]
            try:
                reply = handle(Message("slack", "T1", user, text, channel="C1", is_direct=i % 3 == 0), ctx)
            except Exception as error:  # noqa: BLE001 — exactly what must never happen
                failures.append((text[:80], f"raised {type(error).__name__}"))
                continue
            if not isinstance(reply, Reply) or not isinstance(reply.text, str) or not reply.text:
                failures.append((text[:80], f"answered {reply!r:.80}"))
            elif reply.kind == "error" or "Traceback" in reply.text or 'File "' in reply.text:
                failures.append((text[:80], f"internal error: {reply.text[:80]}"))
        assert store.count_tasks("T1") >= 2  # the fuzz ran against real rows, and the store still answers
    finally:
        store.close()
    assert not failures, f"{len(failures)} of {INPUTS} inputs failed, e.g. {failures[:5]}"
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
