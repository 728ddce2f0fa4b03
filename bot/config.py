"""Settings from the environment (and `.env`), with clear errors for incomplete credentials.

Every setting is documented in `.env.example`. `Settings.from_env()` raises `ConfigError` with one
line naming the setting; `complybot serve` prints it and exits with code 2.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


class ConfigError(ValueError):
    """A setting is missing, partial or invalid. The message names the setting."""


def load_dotenv(path: Path = Path(".env")) -> dict[str, str]:
    """KEY=VALUE lines of a .env file; the real environment wins over it."""
    values: dict[str, str] = {}
    if path.is_file():
        for raw in path.read_text(encoding="utf-8").splitlines():
            line = raw.strip()
            if line and not line.startswith("#") and "=" in line:
                key, _, value = line.partition("=")
                values[key.strip()] = value.strip().strip('"').strip("'")
    return values


@dataclass(frozen=True)
class Settings:
    db_path: str = "complybot.db"
    host: str = "127.0.0.1"
    port: int = 3978

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> "Settings":
        if env is None:
            env = {**load_dotenv(), **os.environ}
        port = env.get("PORT", "3978")
        if not port.isdigit():
            raise ConfigError(f"PORT must be a number, not {port!r}")
        return cls(db_path=env.get("COMPLYBOT_DB", "complybot.db"), port=int(port))
