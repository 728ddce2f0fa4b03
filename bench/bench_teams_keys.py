"""Benchmark: forged Bot Framework tokens while Microsoft's key endpoint hangs or fails.

The real server (create_app on 127.0.0.1, Bot Framework auth on) verifies tokens against a fake OpenID
endpoint (tests/fakes/openid.py, in its own thread) that answers after `--hang` seconds, or at once
with 503 (`--fail`). `--forged` requests with well-formed, attacker-signed tokens claiming the Bot
Framework as issuer are sent `--concurrency` at a time while /healthz is probed every 50 ms. Prints
p50/p99/max of /healthz and of the forged requests' 401, and how often the key endpoint was fetched.
Loopback only.

    .venv/bin/python bench/bench_teams_keys.py [--forged 200] [--concurrency 20] [--hang 30] [--fail]
"""
from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import jwt  # noqa: E402
from aiohttp import ClientSession  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import rsa  # noqa: E402

from bench.stats import percentile  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.server import create_app  # noqa: E402
from tests.fakes.bot_connector import TeamsActivities, new_user  # noqa: E402
from tests.fakes.loopback import serve_on_loopback  # noqa: E402
from tests.fakes.openid import FakeOpenIdProvider  # noqa: E402

APP_ID = "0f6a2a3e-6b1c-4c3e-9a8e-2d4c5b6a7e8f"


def forged_token(key) -> str:
    now = int(time.time())
    claims = {"iss": "https://api.botframework.com", "aud": APP_ID, "exp": now + 600, "nbf": now - 10,
              "serviceurl": "http://127.0.0.1:9/"}
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": "attacker"})


def summary(name: str, seconds: list[float]) -> str:
    ms = [s * 1000 for s in seconds]
    return f"{name}: n={len(ms)} p50={percentile(ms, 0.5):.1f} ms p99={percentile(ms, 0.99):.1f} ms max={max(ms):.1f} ms"


async def run(forged: int, concurrency: int, hang: float, fail: bool) -> None:
    provider = FakeOpenIdProvider(delay=0 if fail else hang, fail=fail).start()
    attacker = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = forged_token(attacker)
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings.from_env({
            "COMPLYBOT_DB": f"{folder}/bench.db", "COMPLYBOT_HOST": "127.0.0.1", "COMPLYBOT_SCHEDULER": "off",
            "MicrosoftAppId": APP_ID, "MicrosoftAppPassword": "never-sent", "COMPLYBOT_TEAMS_OPENID_URL": provider.metadata_url,
        })
        runner, url = await serve_on_loopback(create_app(settings))
        activity = TeamsActivities("http://127.0.0.1:9/").personal(new_user("Eve"), "tasks all")
        refused: list[float] = []
        probes: list[float] = []
        statuses: list[int] = []
        gate = asyncio.Semaphore(concurrency)
        done = asyncio.Event()
        async with ClientSession() as session:
            async def one_forged() -> None:
                async with gate:
                    started = time.perf_counter()
                    async with session.post(f"{url}api/messages", json=activity,
                                            headers={"Authorization": f"Bearer {token}"}) as response:
                        await response.read()
                        statuses.append(response.status)
                    refused.append(time.perf_counter() - started)

            async def probe() -> None:
                while not done.is_set():
                    started = time.perf_counter()
                    async with session.get(f"{url}healthz") as response:
                        await response.read()
                    probes.append(time.perf_counter() - started)
                    await asyncio.sleep(0.05)

            prober = asyncio.ensure_future(probe())
            await asyncio.gather(*(one_forged() for _ in range(forged)))
            done.set()
            await prober
        await runner.cleanup()
    provider.stop()
    mode = "failing (503)" if fail else f"hanging {hang:.0f} s"
    print(f"key endpoint {mode}; {forged} forged tokens, {concurrency} at a time")
    print(f"  statuses: {sorted(set(statuses))}; key endpoint fetched {provider.metadata_requests} times")
    print("  " + summary("forged → 401", refused))
    print("  " + summary("/healthz meanwhile", probes))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--forged", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--hang", type=float, default=30.0)
    parser.add_argument("--fail", action="store_true")
    args = parser.parse_args()
    asyncio.run(run(args.forged, args.concurrency, args.hang, args.fail))


if __name__ == "__main__":
    main()
