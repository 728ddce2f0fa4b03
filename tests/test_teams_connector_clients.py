"""The Bot Connector clients outlive a turn: one per service URL and token, so a turn does not rebuild
one (the SDK's constructor reads the installed packages' metadata), and a rotated token gets its own."""
from __future__ import annotations

from microsoft_agents.hosting.core.authorization import ClaimsIdentity, ConnectionManager

from bot.teams.route import CONNECTOR_CLIENTS, ConnectorClients

SERVICE = "http://127.0.0.1:9/teams"


class RotatingTokens:
    """A token provider whose token is whatever the test last set (as MSAL's changes about hourly)."""

    token = "token-1"

    async def get_access_token(self, resource_url: str, scopes: list[str], force_refresh: bool = False) -> str:
        return self.token


def factory(tokens: RotatingTokens) -> ConnectorClients:
    service = {"SERVICE_CONNECTION": {"SETTINGS": {"CLIENTID": "app"}}}
    return ConnectorClients(ConnectionManager(provider_factory=lambda _: tokens, CONNECTIONS=service))


async def client(clients: ConnectorClients, url: str = SERVICE):
    return await clients.create_connector_client(None, ClaimsIdentity({}, False), url, "aud", ["scope"])


async def test_a_turn_reuses_the_client_of_its_url_and_token_and_a_new_token_gets_its_own():
    tokens = RotatingTokens()
    clients = factory(tokens)
    first = await client(clients)
    await first.close()  # what the adapter does at the end of every turn
    assert await client(clients) is first and not first.client.closed
    tokens.token = "token-2"
    rotated = await client(clients)
    assert rotated is not first
    assert rotated.client.headers["Authorization"] == "Bearer token-2"
    assert first.client.headers["Authorization"] == "Bearer token-1"
    await clients.close()
    assert first.client.closed and rotated.client.closed


async def test_the_least_recently_used_client_is_closed_past_the_limit():
    clients = factory(RotatingTokens())
    oldest = await client(clients, f"{SERVICE}/0/")
    kept = [await client(clients, f"{SERVICE}/{n}/") for n in range(1, CONNECTOR_CLIENTS + 1)]
    assert oldest.client.closed and not any(c.client.closed for c in kept)
    await clients.close()
