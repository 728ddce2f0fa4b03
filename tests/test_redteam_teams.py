"""Red-team findings at the Teams route (after issue 10), against the real server on 127.0.0.1 with the fake
Bot Connector and the fake OpenID endpoint. Tests still marked xfail are holes not fixed yet."""
from __future__ import annotations

import json
import logging
import time

import jwt
import pytest
from aiohttp import ClientSession

from bot.runtime import RUNTIME
from bot.teams.route import parse_activity
from tests.fakes.bot_connector import TeamsActivities, new_user
from tests.fakes.openid import KEY_ID
from tests.test_teams_e2e import connector, no_internet, server  # noqa: F401 (fixtures)
from tests.test_teams_security import APP_ID, openid, secured  # noqa: F401 (fixtures)

# -- Teams: unauthenticated bodies ---------------------------------------------------------------------

DEEP_JSON = ["[" * 50_000, '{"a":' * 50_000,
             '{"type": "message", "serviceUrl": "http://127.0.0.1/", "conversation": {"id": "a"}, "channelData": '
             + "[" * 5_000 + "]" * 5_000 + "}"]


@pytest.mark.parametrize("body", DEEP_JSON, ids=["list", "object", "in-activity"])
async def test_redteam_deeply_nested_json_at_teams_is_a_polite_4xx(server, connector, caplog, body):  # noqa: F811
    """Python's JSON decoder raises RecursionError (not ValueError) on deep nesting: that was a 500 and
    an error-level log line for a request nobody authenticated."""
    caplog.set_level(logging.DEBUG)
    async with ClientSession() as session:
        async with session.post(f"{server.url}/api/messages", data=body,
                                headers={"Content-Type": "application/json"}) as response:
            assert 400 <= response.status < 500, response.status
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert connector.calls == []


def _token(key, **claims) -> str:
    now = int(time.time())
    base = {"iss": "https://api.botframework.com", "aud": APP_ID, "exp": now + 600, "nbf": now - 10,
            "serviceurl": "http://127.0.0.1/"}
    base.update(claims)
    return jwt.encode({k: v for k, v in base.items() if v is not None}, key, algorithm="RS256",
                      headers={"kid": KEY_ID})


async def test_redteam_a_refused_teams_token_logs_nothing_above_debug(secured, openid, connector, caplog):  # noqa: F811
    """Anyone can send forged tokens: each one was a warning line (`teams.unauthorized`), while Slack's
    unsigned requests and the 401 request lines stay at debug so nobody can fill the log."""
    caplog.set_level(logging.DEBUG)
    teams = TeamsActivities(connector.service_url)
    activity = teams.personal(new_user("Eve"), "tasks all")
    for authorization in ("Bearer not-a-jwt", "Bearer " + _token(openid.key, aud="another-bot"),
                          "Bearer " + _token(openid.key, exp=int(time.time()) - 3600)):
        assert await secured.post(activity, {"Authorization": authorization}) == 401
    loud = [r for r in caplog.records if r.levelno > logging.DEBUG]
    assert loud == [], [(r.levelname, r.getMessage()) for r in loud]


async def test_redteam_a_teams_token_without_expiry_is_refused(secured, openid, connector, tmp_path):  # noqa: F811
    """PyJWT checks `exp` only when a token has one: a token without it (Microsoft's always carry one)
    was accepted and never expired, so one leaked would work for ever."""
    from bot.config import Settings
    from bot.teams.auth import Authenticator

    teams = TeamsActivities(connector.service_url)
    activity = {**teams.personal(new_user("Eve"), ""), "type": "typing"}
    forever = _token(openid.key, exp=None, serviceurl=connector.service_url)
    assert await secured.post(activity, {"Authorization": "Bearer " + forever}) == 401
    assert connector.calls == []
    # The same token with an expiry is good (checked without the server: answering would fetch a token
    # from Microsoft), so it is the missing expiry alone that is refused.
    auth = Authenticator(Settings.from_env({"COMPLYBOT_DB": str(tmp_path / "auth.db"), "COMPLYBOT_HOST": "127.0.0.1",
                                            "MicrosoftAppId": APP_ID, "MicrosoftAppPassword": "never-sent",
                                            "COMPLYBOT_TEAMS_OPENID_URL": openid.metadata_url}))
    parsed = parse_activity(activity)
    expiring = _token(openid.key, serviceurl=connector.service_url)
    assert await auth.authenticate("Bearer " + expiring, parsed) is not None
    assert await auth.authenticate("Bearer " + forever, parsed) is None


# -- Teams local mode (the Emulator, auth off): reachable from any web page the developer opens ---------

async def _post_raw(url: str, body: str, headers: dict) -> int:
    async with ClientSession() as session:
        async with session.post(url, data=body, headers=headers) as response:
            await response.read()
            return response.status


@pytest.mark.parametrize("headers", [
    # a cross-site fetch() may send this without a CORS preflight: its media type is text/plain
    {"Content-Type": "text/plain; x=application/json", "Origin": "https://evil.example"},
    # DNS rebinding: evil.example resolves to 127.0.0.1, so the page is same-origin and may send JSON
    {"Content-Type": "application/json", "Host": "evil.example:3978", "Origin": "http://evil.example:3978"},
], ids=["cross-site", "dns-rebinding"])
async def test_redteam_a_web_page_cannot_drive_the_local_teams_route(server, connector, headers):  # noqa: F811
    """With auth off the route trusts a loopback serviceUrl only, but a page in the developer's browser
    could post an activity with a simple request: it ran as anyone in the `local` workspace (the one
    `complybot chat` and the playground use) and the bot posted its reply to any loopback port."""
    teams = TeamsActivities(connector.service_url)
    activity = teams.personal(new_user("Eve"), "assign Disk Encryption to me due 2031-01-01")
    activity["channelData"], activity["conversation"] = {}, {"conversationType": "personal", "id": "a:1eve"}
    status = await _post_raw(f"{server.url}/api/messages", json.dumps(activity), headers)
    assert 400 <= status < 500, status
    assert connector.calls == []
    assert server.app[RUNTIME].ctx.store.tasks("local", statuses=None) == []
