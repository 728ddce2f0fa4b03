"""A fake OpenID provider standing in for Microsoft's Bot Framework key endpoint, for tests.

`FakeOpenIdProvider` serves, on 127.0.0.1 (port 0), what a Bot Framework channel's token is verified
against:

    GET /.well-known/openidconfiguration    the metadata document, naming `jwks_uri`
    GET /keys                               the signing keys (JWKS), each with its endorsements

It runs in a thread with its own event loop, as a remote service would: a bot that blocks its own loop
while fetching cannot stall it (nor deadlock the test). Point the bot at it with
`COMPLYBOT_TEAMS_OPENID_URL=provider.metadata_url`. `delay` makes every answer wait that many seconds,
`fail` answers 503; `metadata_requests` counts the fetches, `pending` the answers still being delayed.
"""
from __future__ import annotations

import asyncio
import json
import threading
from dataclasses import dataclass, field

from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from tests.fakes.loopback import serve_on_loopback

KEY_ID = "test-bot-framework-key"


@dataclass
class FakeOpenIdProvider:
    delay: float = 0.0
    fail: bool = False
    key: rsa.RSAPrivateKey = field(default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048))
    metadata_requests: int = 0
    pending: int = 0
    base_url: str = ""
    _loop: asyncio.AbstractEventLoop | None = None
    _thread: threading.Thread | None = None
    _runner: web.AppRunner | None = None

    @property
    def metadata_url(self) -> str:
        return f"{self.base_url}.well-known/openidconfiguration"

    def start(self) -> "FakeOpenIdProvider":
        started = threading.Event()
        self._loop = asyncio.new_event_loop()

        def run() -> None:
            asyncio.set_event_loop(self._loop)
            self._runner, self.base_url = self._loop.run_until_complete(serve_on_loopback(self._app()))
            started.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, name="fake-openid", daemon=True)
        self._thread.start()
        started.wait(10)
        return self

    def stop(self) -> None:
        """Stop at once, even while answers are being delayed."""
        async def shutdown() -> None:
            await self._runner.shutdown()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def _app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/.well-known/openidconfiguration", self._metadata)
        app.router.add_get("/keys", self._keys)
        return app

    async def _answer(self, body: dict) -> web.Response:
        self.pending += 1
        try:
            await asyncio.sleep(self.delay)
        finally:
            self.pending -= 1
        if self.fail:
            return web.json_response({"error": "unavailable"}, status=503)
        return web.json_response(body)

    async def _metadata(self, request: web.Request) -> web.Response:
        self.metadata_requests += 1
        return await self._answer({"issuer": "https://api.botframework.com", "jwks_uri": f"{self.base_url}keys",
                                   "id_token_signing_alg_values_supported": ["RS256"]})

    async def _keys(self, request: web.Request) -> web.Response:
        jwk = {**json.loads(RSAAlgorithm.to_jwk(self.key.public_key())), "kid": KEY_ID, "endorsements": ["msteams"]}
        return await self._answer({"keys": [jwk]})
