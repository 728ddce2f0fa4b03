"""A /comply answer whose response URL fails is retried (back-off, Retry-After) within the URL's limits
(30 minutes, 5 uses), and one that still does not arrive is logged with its outcome and counted on
/healthz: nothing is lost without a trace. The fake Slack fails the response URL N times."""
from __future__ import annotations

import logging

from aiohttp import ClientSession

from tests.fakes.slack_api import ADMIN, DROP, TEAM_ID, api, server, slack  # noqa: F401 (fixtures)


async def slack_health(server) -> dict:
    async with ClientSession() as session, session.get(f"{server.url}/healthz") as health:
        assert health.status == 200
        return (await health.json())["slack"]


def answer_lines(caplog) -> list[dict]:
    return [{**r.fields, "level": r.levelname} for r in caplog.records if getattr(r, "event", "") == "slack.answer"]


async def test_a_failing_response_url_is_retried_until_the_answer_arrives(server, slack, api, caplog):
    caplog.set_level(logging.INFO)
    for status, retry_after in ((503, 0), (DROP, 0), (429, 1)):
        api.fail_next("response_url", status, retry_after)
    status, _ = await slack.command(ADMIN, "assign Disk Encryption to me", hook="assign")
    assert status == 200
    await server.settle()
    tried = [c.method for c in api.calls if c.path == "/respond/assign"]
    assert tried == ["response_url!503", "response_url!0", "response_url!429", "response_url"]
    assert "Assigned Disk Encryption" in api.to("response_url")[0].body["text"]
    assert server.store.count_tasks(TEAM_ID) == 1
    assert await slack_health(server) == {"answers_failed": 0, "answers_retried": 1, "answers_refused": 0}
    [line] = answer_lines(caplog)
    assert (line["outcome"], line["attempts"], line["command"]) == ("retried", 4, "assign")
    assert line["failures"] == ["503", "ServerDisconnectedError", "429"]
    assert "/respond/" not in caplog.text  # a response URL is a credential: never in the log


async def test_an_answer_still_failing_after_five_uses_is_logged_and_counted_as_lost(server, slack, api, caplog):
    caplog.set_level(logging.INFO)
    for _ in range(6):
        api.fail_next("response_url", 429, retry_after=0)
    await slack.command(ADMIN, "status", hook="lost")
    await server.settle()
    assert [c.method for c in api.calls if c.path == "/respond/lost"] == ["response_url!429"] * 5  # 5 uses at most
    assert await slack_health(server) == {"answers_failed": 1, "answers_retried": 0, "answers_refused": 0}
    [line] = answer_lines(caplog)
    assert (line["level"], line["outcome"], line["attempts"], line["answers_failed"]) == ("ERROR", "lost", 5, 1)


async def test_a_retry_after_longer_than_the_urls_validity_is_not_waited_for(server, slack, api, caplog):
    api.fail_next("response_url", 429, retry_after=3 * 3600)  # past the 30 minutes a response URL works
    await slack.command(ADMIN, "status", hook="late")
    await server.settle()  # returns at once: nobody sleeps three hours on a dead URL
    assert [c.method for c in api.calls if c.path == "/respond/late"] == ["response_url!429"]
    assert (await slack_health(server))["answers_failed"] == 1
    [line] = answer_lines(caplog)
    assert (line["outcome"], line["attempts"], line["failures"]) == ("lost", 1, ["429"])
