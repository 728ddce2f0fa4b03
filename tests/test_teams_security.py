"""Teams security: Bot Framework auth on the real server, tenants kept apart, bad input refused.

With an app id configured, a token issued by the Bot Framework is verified against signing keys fetched
from an OpenID endpoint: here a fake one on 127.0.0.1 (tests/fakes/openid.py), never Microsoft's
(forbid_internet fails any non-loopback lookup and the fixture asserts none was tried). Answering would
fetch a token from Microsoft, so these tests assert the 401 path, decided before any outbound call.
"""
from __future__ import annotations

import asyncio
import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from aiohttp import ClientSession

from bot.config import ConfigError, Settings
from bot.runtime import RUNTIME
from bot.server import create_app
from tests.fakes.bot_connector import TeamsActivities, new_user
from tests.fakes.openid import KEY_ID, FakeOpenIdProvider
from tests.test_teams_e2e import assign_and_list, button, connector, no_internet, server, start_server  # noqa: F401

APP_ID = "0f6a2a3e-6b1c-4c3e-9a8e-2d4c5b6a7e8f"


@pytest.fixture
def openid():
    """Microsoft's key endpoint, played by a fake on 127.0.0.1 whose keys this test owns."""
    provider = FakeOpenIdProvider().start()
    yield provider
    provider.stop()


@pytest.fixture
async def secured(tmp_path, connector, openid, no_internet):  # noqa: F811
    running = await start_server(tmp_path / "complybot.db", MicrosoftAppId=APP_ID,
                                 MicrosoftAppPassword="test-password-never-sent", COMPLYBOT_TEAMS_LOCAL="0",
                                 COMPLYBOT_TEAMS_OPENID_URL=openid.metadata_url)
    yield running
    await running.stop()


def forged_token(issuer: str) -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = int(time.time())
    claims = {"iss": issuer, "aud": APP_ID, "exp": now + 600, "nbf": now - 10, "serviceurl": "http://127.0.0.1/"}
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": "attacker"})


def nothing_processed(server, connector, tenant: str) -> None:  # noqa: F811
    store = server.app[RUNTIME].ctx.store
    assert connector.calls == []
    assert store.tasks(tenant, statuses=None) == []
    assert store.people(tenant) == []
    assert store.db.execute("SELECT count(*) FROM teams_conversations").fetchone()[0] == 0


@pytest.mark.parametrize("authorization", [
    None,
    "",
    "Bearer",
    "Bearer not-a-jwt",
    "Basic dXNlcjpwYXNz",
    "Bearer " + forged_token("https://attacker.example.com"),  # signed, but by nobody Microsoft knows
])
async def test_without_a_valid_token_401_and_nothing_processed(secured, connector, authorization):
    teams = TeamsActivities(connector.service_url)
    alice, bob = new_user("Alice"), new_user("Bob")
    activity = teams.channel(alice, f"assign Multi-Factor Authentication to <at>{bob.name}</at> due 2031-03-31", mentions=(bob,))
    headers = {} if authorization is None else {"Authorization": authorization}

    assert await secured.post(activity, headers) == 401
    nothing_processed(secured, connector, teams.tenant_id)


async def test_auth_off_is_refused_outside_loopback(tmp_path):
    with pytest.raises(ConfigError, match="loopback"):
        Settings.from_env({"COMPLYBOT_DB": str(tmp_path / "a.db"), "COMPLYBOT_TEAMS_LOCAL": "1",
                           "COMPLYBOT_HOST": "0.0.0.0"})
    # Even settings built by hand (no from_env validation) cannot mount Teams with auth off in public.
    unchecked = Settings(db_path=str(tmp_path / "b.db"), host="0.0.0.0", teams_local=True)
    with pytest.raises(ConfigError, match="MicrosoftAppId"):
        create_app(unchecked)


async def test_local_mode_posts_only_to_a_loopback_service_url(server, connector):  # noqa: F811
    teams = TeamsActivities("https://smba.trafficmanager.net/emea/")
    activity = teams.personal(new_user("Eve"), "tasks")
    assert await server.post(activity) == 400
    nothing_processed(server, connector, teams.tenant_id)


@pytest.mark.parametrize("body, content_type", [
    ("not json", "application/json"),
    ('["a list"]', "application/json"),
    ('{"text": "no type"}', "application/json"),
    ('{"type": "message"}', "text/plain"),
    ('{"type": "message", "timestamp": "not a time", "serviceUrl": "http://127.0.0.1/", "conversation": {"id": "a"}}',
     "application/json"),
    ('{"type": "message", "serviceUrl": ["x"], "conversation": {"id": "a"}}', "application/json"),
    ('{"type": "message"}', "application/json; charset=utf-77"),  # an unknown charset: found by fuzzing
    (b'{"type": "\xff\xfe"}', "application/json"),  # not UTF-8
])
async def test_malformed_requests_are_refused(server, body, content_type):  # noqa: F811
    from aiohttp import ClientSession

    async with ClientSession() as session:
        async with session.post(f"{server.url}/api/messages", data=body,
                                headers={"Content-Type": content_type}) as response:
            assert response.status in (400, 415)
            assert "Traceback" not in await response.text()


async def test_a_user_of_tenant_a_cannot_see_or_change_tasks_of_tenant_b(server, connector):  # noqa: F811
    tenant_a = TeamsActivities(connector.service_url)
    tenant_b = TeamsActivities(connector.service_url)
    alice, bob = new_user("Alice"), new_user("Bob")  # tenant A
    mallory = new_user("Mallory")  # tenant B, admin of her own tenant
    connector.add_members(alice, bob)
    done = button((await assign_and_list(server, connector, tenant_a, alice, bob)).cards()[0], "done")
    store = server.app[RUNTIME].ctx.store
    [task] = store.tasks(tenant_a.tenant_id)

    # Mallory lists tasks in tenant B: nothing of tenant A shows.
    await server.post(tenant_b.personal(mallory, "tasks"))
    listing = (await connector.wait_for(4))[-1]
    assert "A.8.5" not in listing.all_text() and bob.name not in listing.all_text()

    # She replays tenant A's Done button (same task number) and a typed command: tenant A is untouched.
    conversation = tenant_b.personal(mallory, "")["conversation"]
    await server.post(tenant_b.card_submit(mallory, "card-1", done["data"], conversation))
    await server.post(tenant_b.personal(mallory, f"done {task.id}"))
    await connector.wait_for(6)
    assert store.task(tenant_a.tenant_id, task.id) == task
    assert store.tasks(tenant_b.tenant_id, statuses=None) == []


async def test_contradictory_tenant_ids_are_not_trusted(server, connector):  # noqa: F811
    teams = TeamsActivities(connector.service_url)
    activity = teams.personal(new_user("Zed"), "tasks")
    activity["conversation"]["tenantId"] = "another-tenant"
    assert await server.post(activity) == 201
    [call] = await connector.wait_for(1)
    assert "tenant" in call.text.lower()
    assert server.app[RUNTIME].ctx.store.db.execute("SELECT count(*) FROM teams_conversations").fetchone()[0] == 0


async def test_a_40000_character_message_is_refused_politely(server, connector):  # noqa: F811
    teams = TeamsActivities(connector.service_url)
    assert await server.post(teams.personal(new_user("Long"), "x" * 40_000)) == 201
    [call] = await connector.wait_for(1)
    assert "40,000" in call.text and "shorter" in call.text
    assert server.app[RUNTIME].ctx.store.tasks(teams.tenant_id, statuses=None) == []


# -- tokens that look like the Bot Framework's: real signature and claim checks, without the network ----

@pytest.fixture
def microsoft_signing_key(openid):
    """The key Microsoft would sign the Bot Framework's tokens with: the fake endpoint publishes it."""
    return openid.key


def bot_framework_token(key, service_url: str, kid: str = KEY_ID, **changes) -> str:
    now = int(time.time())
    claims = {"iss": "https://api.botframework.com", "aud": APP_ID, "exp": now + 600, "nbf": now - 10,
              "serviceurl": service_url, **changes}
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})


@pytest.mark.parametrize("case", ["attacker key", "unknown key id", "other bot", "other service url", "expired"])
async def test_forged_bot_framework_tokens_get_401(secured, connector, microsoft_signing_key, case):
    teams = TeamsActivities(connector.service_url)
    activity = teams.personal(new_user("Alice"), "tasks")
    attacker = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = int(time.time())
    token = {
        "attacker key": lambda: bot_framework_token(attacker, connector.service_url),
        "unknown key id": lambda: bot_framework_token(microsoft_signing_key, connector.service_url, kid="nope"),
        "other bot": lambda: bot_framework_token(microsoft_signing_key, connector.service_url,
                                                 aud="11111111-2222-3333-4444-555555555555"),
        "other service url": lambda: bot_framework_token(microsoft_signing_key, "https://evil.example.com/"),
        "expired": lambda: bot_framework_token(microsoft_signing_key, connector.service_url, exp=now - 3600),
    }[case]()

    assert await secured.post(activity, {"Authorization": f"Bearer {token}"}) == 401
    nothing_processed(secured, connector, teams.tenant_id)


async def test_a_genuine_token_passes_authentication(secured, connector, microsoft_signing_key):
    """The control for the cases above: the same request with a correctly signed token is let in.
    (Answering it would fetch a token from Microsoft for the reply, which tests never do, so only
    authentication is checked, directly on the adapter the server mounted.)"""
    from bot.teams import parse_activity

    teams = TeamsActivities(connector.service_url)
    activity = parse_activity(teams.personal(new_user("Alice"), "tasks"))
    token = bot_framework_token(microsoft_signing_key, connector.service_url)
    adapter = secured.app[RUNTIME].teams_adapter
    result = await adapter.bot_framework_authentication.authenticate_request(activity, f"Bearer {token}")
    assert result.claims_identity.is_authenticated
    assert result.claims_identity.claims["aud"] == APP_ID


# -- a slow or failing key endpoint: every route keeps answering, forged tokens get 401, fetches are few --

HANGS_SECONDS = 30  # the key endpoint's delay
REFUSED_WITHIN = 15  # seconds: a few, even on a loaded machine, and far less than HANGS_SECONDS
ATTACKER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EMULATOR_ISSUER = "https://sts.windows.net/d6d49420-f39b-4df7-a1dc-d59a935871db/"  # botbuilder checks the Emulator's keys


def forged_request(connector, issuer: str = "https://api.botframework.com") -> tuple[dict, dict]:  # noqa: F811
    """A well-formed token claiming a Microsoft issuer, signed by an attacker: verifying it needs the keys."""
    token = bot_framework_token(ATTACKER_KEY, connector.service_url, iss=issuer, ver="1.0", appid=APP_ID)
    activity = TeamsActivities(connector.service_url).personal(new_user("Eve"), "tasks all")
    return activity, {"Authorization": f"Bearer {token}"}


async def test_a_slow_key_endpoint_freezes_nothing(secured, connector, openid):
    openid.delay = HANGS_SECONDS  # Microsoft's endpoint hangs
    forged = asyncio.gather(*(secured.post(*forged_request(connector)) for _ in range(8)))

    async def key_fetch_started() -> None:
        while not openid.pending:
            await asyncio.sleep(0.05)

    await asyncio.wait_for(key_fetch_started(), 10)  # fails if the fetch blocks the loop that runs this test
    async with ClientSession() as session:
        for path in ("/healthz", "/api/messages"):
            async with session.request("GET" if path == "/healthz" else "POST", f"{secured.url}{path}",
                                       json=forged_request(connector)[0]) as response:
                assert response.status == (200 if path == "/healthz" else 401)  # the latter has no token
    assert openid.pending, "the routes above waited for the key endpoint"

    assert await asyncio.wait_for(forged, REFUSED_WITHIN) == [401] * 8
    assert openid.metadata_requests == 1  # one fetch in flight for all eight
    nothing_processed(secured, connector, "")


@pytest.mark.parametrize("issuer", ["https://api.botframework.com", EMULATOR_ISSUER])
async def test_a_failing_key_endpoint_is_not_fetched_for_every_forged_token(secured, connector, openid, issuer):
    openid.fail = True
    for _ in range(20):
        assert await secured.post(*forged_request(connector, issuer)) == 401
    assert 1 <= openid.metadata_requests <= 2  # then it backs off, however many tokens arrive
    nothing_processed(secured, connector, "")


async def test_after_the_key_endpoint_recovers_genuine_tokens_pass_again(secured, connector, openid):
    """Failures are remembered for a while, not for ever: once the endpoint is back, keys are fetched again."""
    from bot.teams import parse_activity

    openid.fail = True
    assert await secured.post(*forged_request(connector)) == 401
    openid.fail = False
    activity = parse_activity(TeamsActivities(connector.service_url).personal(new_user("Alice"), "tasks"))
    token = bot_framework_token(openid.key, connector.service_url)
    authentication = secured.app[RUNTIME].teams_adapter.bot_framework_authentication
    deadline = time.monotonic() + REFUSED_WITHIN
    while True:
        try:
            result = await authentication.authenticate_request(activity, f"Bearer {token}")
            break
        except Exception:  # still backing off
            assert time.monotonic() < deadline, "the keys were never fetched again"
            await asyncio.sleep(0.2)
    assert result.claims_identity.is_authenticated
    assert openid.metadata_requests == 2  # the failure, then one fetch that worked
