"""What every fake and test server shares, whatever the platform: an aiohttp app on 127.0.0.1 at a
free port, and a guard that fails any attempt to leave this machine."""
from __future__ import annotations

import socket

from aiohttp import web


async def serve_on_loopback(app: web.Application) -> tuple[web.AppRunner, str]:
    """Run `app` on 127.0.0.1 on a free port; (runner to clean up, base URL ending in /)."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    return runner, f"http://127.0.0.1:{port}/"


class InternetAttempt(AssertionError):
    pass


def forbid_internet(monkeypatch) -> list[str]:
    """Make every name lookup that is not loopback fail at once, and record it: tests assert the list
    stays empty (the bot never tried to reach Slack or Microsoft)."""
    attempts: list[str] = []
    real_getaddrinfo = socket.getaddrinfo

    def guarded(host, *args, **kwargs):
        name = host.decode() if isinstance(host, bytes) else str(host)
        if name not in ("127.0.0.1", "localhost", "::1", "None"):
            attempts.append(name)
            raise InternetAttempt(f"tests must not reach {name}")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", guarded)
    return attempts
