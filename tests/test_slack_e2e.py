"""End to end in Slack: the real server (create_app) on 127.0.0.1 with the real Bolt app, requests signed
exactly as Slack signs them, and a fake Slack Web API on another port that records what the bot sent."""
from __future__ import annotations

import json

import pytest

from tests.fakes.bot_connector import forbid_internet
from tests.fakes.slack_api import (
    BOT_TOKEN, BOT_USER_ID, SIGNING_SECRET, TEAM_ID, FakeSlackAPI, SignedSlack, buttons, start_slack_server,
)

ADMIN, OWNER, OTHER = "U0ADMIN", "U0OWNER", "U0OTHER"


@pytest.fixture
def no_internet(monkeypatch):
    attempts = forbid_internet(monkeypatch)
    yield attempts
    assert attempts == [], f"the bot tried to reach {attempts}"


@pytest.fixture
async def api():
    fake = await FakeSlackAPI().start()
    fake.add_user(ADMIN, "Ada", "ada@example.com", "Europe/Berlin")
    fake.add_user(OWNER, "Olu", "olu@example.com", "America/New_York")
    fake.add_user(OTHER, "Oz", "oz@example.com")
    yield fake
    await fake.stop()


@pytest.fixture
async def server(tmp_path, api, no_internet):
    running = await start_slack_server(tmp_path / "complybot.db", api)
    yield running
    await running.stop()


@pytest.fixture
async def slack(server, api):
    async with SignedSlack(server.url, SIGNING_SECRET, api) as client:
        yield client


def visible(call) -> str:
    """The text and blocks of a post, as one string."""
    return call.body.get("text", "") + json.dumps(call.blocks(), ensure_ascii=False)


async def test_a_direct_message_is_answered_in_the_dm(server, slack, api):
    status, _ = await slack.direct_message(ADMIN, "x" * 40_000)
    assert status == 200
    await server.settle()
    [post] = api.to("chat.postMessage")
    assert post.body["channel"] == "D0001" and "thread_ts" not in post.body
    assert "40,000 characters" in visible(post)
    assert post.token == BOT_TOKEN
    assert api.calls[0].method == "auth.test"  # Bolt checks its token before anything else
