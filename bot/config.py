"""Settings from the environment (and `.env`), with clear errors for incomplete credentials.

Every setting is documented in `.env.example`. `Settings.from_env()` raises `ConfigError` with one
line naming the setting; `complybot serve` prints it and exits with code 2.

To add a setting: add one field below with `setting("NAME")` (its type comes from the annotation: str,
int, bool, tuple[str, ...]; `secret=True` for credentials), document it in `.env.example`, and if it can be wrong add a check to
`Settings.validate`.
"""
from __future__ import annotations

import ipaddress
import os
import tempfile
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_PORT = 3978
LOOPBACK_HOST = "127.0.0.1"
PUBLIC_HOST = "0.0.0.0"
TEAMS_APP_TYPES = ("MultiTenant", "SingleTenant", "UserAssignedMSI")


class ConfigError(ValueError):
    """A setting is missing, partial or invalid. The message names the setting."""


def load_dotenv(path: Path = Path(".env")) -> dict[str, str]:
    """KEY=VALUE lines of a .env file; the real environment wins over it."""
    values: dict[str, str] = {}
    if path.is_file():
        for raw in path.read_text(encoding="utf-8").splitlines():
            line = raw.strip()
            if line.startswith("export "):
                line = line[len("export "):]
            if line and not line.startswith("#") and "=" in line:
                key, _, value = line.partition("=")
                value = value.strip()
                if value[:1] in ('"', "'") and value.endswith(value[0]) and len(value) > 1:
                    value = value[1:-1]
                else:
                    value = value.split(" #", 1)[0].strip()  # KEY=value  # a comment
                values[key.strip()] = value
    return values


def setting(name: str, default: Any = "", *, secret: bool = False) -> Any:
    """A dataclass field read from the environment variable `name`. Secrets stay out of repr()."""
    if isinstance(default, (list, dict, set)):
        raise TypeError("use a tuple for list settings")
    return field(default=default, repr=not secret, metadata={"env": name})


def database_path(env: dict[str, str] | None = None) -> str:
    """COMPLYBOT_DB alone, for commands that need nothing else (backup, restore)."""
    if env is None:
        env = {**load_dotenv(), **os.environ}
    return env.get("COMPLYBOT_DB", "").strip() or Settings.db_path


def default_timezone(env: dict[str, str] | None = None) -> str:
    """COMPLYBOT_TZ alone, for commands that open the store without the server's settings (chat, digest)."""
    if env is None:
        env = {**load_dotenv(), **os.environ}
    return env.get("COMPLYBOT_TZ", "").strip() or Settings.timezone


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Settings:
    # Core
    db_path: str = setting("COMPLYBOT_DB", "complybot.db")
    port: int = setting("PORT", DEFAULT_PORT)
    host: str = setting("COMPLYBOT_HOST", "")  # empty: 0.0.0.0 with a platform, else 127.0.0.1
    timezone: str = setting("COMPLYBOT_TZ", "UTC")  # default time zone of people and digests
    admins: tuple[str, ...] = setting("COMPLYBOT_ADMINS", ())  # user ids or emails, comma-separated
    log_level: str = setting("COMPLYBOT_LOG_LEVEL", "INFO")
    playground: bool = setting("COMPLYBOT_PLAYGROUND", False)  # also `complybot serve --playground`
    test_hooks: bool = setting("COMPLYBOT_TEST_HOOKS", False)  # tests only: POST /__test__/slow, loopback only
    scheduler: bool = setting("COMPLYBOT_SCHEDULER", True)  # off on extra web instances: one scheduler per database

    # Slack
    slack_bot_token: str = setting("SLACK_BOT_TOKEN", secret=True)
    slack_signing_secret: str = setting("SLACK_SIGNING_SECRET", secret=True)
    slack_app_token: str = setting("SLACK_APP_TOKEN", secret=True)  # xapp-…: Socket Mode, for development
    slack_client_id: str = setting("SLACK_CLIENT_ID")  # with the secret: OAuth, many workspaces
    slack_client_secret: str = setting("SLACK_CLIENT_SECRET", secret=True)
    slack_api_url: str = setting("SLACK_API_URL")  # Web API base URL (GovSlack, proxies, tests)

    # Microsoft Teams (names as the Bot Framework documents them)
    microsoft_app_id: str = setting("MicrosoftAppId")
    microsoft_app_password: str = setting("MicrosoftAppPassword", secret=True)
    microsoft_app_type: str = setting("MicrosoftAppType", "MultiTenant")
    microsoft_app_tenant_id: str = setting("MicrosoftAppTenantId")
    teams_local: bool = setting("COMPLYBOT_TEAMS_LOCAL", False)  # Bot Framework auth off, loopback only
    # tests only: a loopback OpenID metadata document in place of Microsoft's (its signing keys)
    teams_openid_url: str = setting("COMPLYBOT_TEAMS_OPENID_URL")

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides: Any) -> "Settings":
        """Read every field from `env` (default: `.env` then the environment), apply non-None
        overrides (command-line options) and validate."""
        if env is None:
            env = {**load_dotenv(), **os.environ}
        values = {}
        for f in fields(cls):
            raw = env.get(f.metadata["env"])
            if raw is not None and raw.strip() != "":
                values[f.name] = _parse(f.metadata["env"], f.type, raw.strip())
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values).resolved().validate()

    # -- derived ---------------------------------------------------------------------------------

    @property
    def slack_enabled(self) -> bool:
        return bool(self.slack_bot_token or self.slack_client_id)

    @property
    def slack_oauth(self) -> bool:
        return bool(self.slack_client_id)

    @property
    def teams_enabled(self) -> bool:
        return bool(self.microsoft_app_id or self.teams_local)

    @property
    def platforms(self) -> tuple[str, ...]:
        return tuple(name for name, on in (("slack", self.slack_enabled), ("teams", self.teams_enabled)) if on)

    @property
    def playground_enabled(self) -> bool:
        """The local web chat: asked for, or nothing else to serve."""
        return self.playground or not self.platforms

    def resolved(self) -> "Settings":
        """Fill in the host: public only when a chat platform must reach us and no playground."""
        if self.host:
            return self
        authenticated = self.slack_enabled or self.microsoft_app_id
        public = authenticated and not self.playground
        return replace(self, host=PUBLIC_HOST if public else LOOPBACK_HOST)

    # -- checks ----------------------------------------------------------------------------------

    def validate(self) -> "Settings":
        for check in (self._check_core, self._check_slack, self._check_teams, self._check_database):
            check()
        return self

    def _check_core(self) -> None:
        if not 0 < self.port < 65536:
            raise ConfigError(f"PORT must be between 1 and 65535, not {self.port}")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(f"COMPLYBOT_TZ: unknown time zone {self.timezone!r} (use an IANA name like Europe/Berlin)") from None
        if self.log_level.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR"):
            raise ConfigError(f"COMPLYBOT_LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR, not {self.log_level!r}")
        if self.test_hooks and not is_loopback(self.host):
            raise ConfigError("COMPLYBOT_TEST_HOOKS is for tests and runs only on a loopback address")
        if self.playground_enabled and not is_loopback(self.host):
            raise ConfigError(
                f"--host {self.host}: the playground has no login and binds to 127.0.0.1 only "
                "(configure Slack or Teams, or drop --host / COMPLYBOT_HOST)"
            )

    def _check_slack(self) -> None:
        if self.slack_bot_token and not self.slack_bot_token.startswith("xox"):
            raise ConfigError("SLACK_BOT_TOKEN must be a Slack bot token (xoxb-…)")
        if self.slack_app_token and not self.slack_app_token.startswith("xapp-"):
            raise ConfigError("SLACK_APP_TOKEN must be an app-level token (xapp-…) for Socket Mode")
        if self.slack_api_url and not self.slack_api_url.startswith(("https://", "http://")):
            raise ConfigError(f"SLACK_API_URL must be an http(s) URL like https://slack-gov.com/api/, not {self.slack_api_url!r}")
        if self.slack_app_token and not self.slack_bot_token:
            raise ConfigError("SLACK_BOT_TOKEN is required when SLACK_APP_TOKEN is set (Socket Mode)")
        if bool(self.slack_client_id) != bool(self.slack_client_secret):
            missing = "SLACK_CLIENT_SECRET" if self.slack_client_id else "SLACK_CLIENT_ID"
            raise ConfigError(f"{missing} is required: Slack OAuth needs both SLACK_CLIENT_ID and SLACK_CLIENT_SECRET")
        needs_secret = (self.slack_bot_token and not self.slack_app_token) or self.slack_oauth
        if needs_secret and not self.slack_signing_secret:
            given = "SLACK_CLIENT_ID" if self.slack_oauth else "SLACK_BOT_TOKEN"
            raise ConfigError(f"SLACK_SIGNING_SECRET is required when {given} is set (it verifies requests from Slack)")
        if self.slack_signing_secret and not self.slack_enabled:
            raise ConfigError("SLACK_BOT_TOKEN (or SLACK_CLIENT_ID and SLACK_CLIENT_SECRET) is required when SLACK_SIGNING_SECRET is set")

    def _check_teams(self) -> None:
        if self.microsoft_app_type not in TEAMS_APP_TYPES:
            raise ConfigError(f"MicrosoftAppType must be one of {', '.join(TEAMS_APP_TYPES)}, not {self.microsoft_app_type!r}")
        if self.microsoft_app_password and not self.microsoft_app_id:
            raise ConfigError("MicrosoftAppId is required when MicrosoftAppPassword is set")
        if self.microsoft_app_id:
            if self.microsoft_app_type != "UserAssignedMSI" and not self.microsoft_app_password:
                raise ConfigError("MicrosoftAppPassword is required when MicrosoftAppId is set")
            if self.microsoft_app_type != "MultiTenant" and not self.microsoft_app_tenant_id:
                raise ConfigError(f"MicrosoftAppTenantId is required when MicrosoftAppType is {self.microsoft_app_type}")
        openid_host = urlsplit(self.teams_openid_url).hostname or ""
        if self.teams_openid_url and not (is_loopback(openid_host) and is_loopback(self.host)):
            raise ConfigError("COMPLYBOT_TEAMS_OPENID_URL is for tests: a loopback URL (like "
                              "http://127.0.0.1:8000/.well-known/openidconfiguration), on a loopback host only")
        if not self.microsoft_app_id and self.teams_local and not is_loopback(self.host):
            raise ConfigError(
                f"COMPLYBOT_TEAMS_LOCAL=1 turns Bot Framework auth off, allowed only on a loopback address, "
                f"not {self.host} (set MicrosoftAppId and MicrosoftAppPassword, or use --host 127.0.0.1)"
            )

    def _check_database(self) -> None:
        reason = database_unwritable_reason(Path(self.db_path))
        if reason:
            raise ConfigError(f"COMPLYBOT_DB: cannot write the database {self.db_path!r}: {reason}")


def database_unwritable_reason(path: Path) -> str:
    """Why SQLite could not write `path` (and its -wal/-shm files next to it), or "" if it can.
    Tries for real: permission bits alone say nothing when running as root."""
    directory = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        return "it is a directory"
    if not directory.exists():
        return f"the directory {str(directory)!r} does not exist"
    if not directory.is_dir():
        return f"{str(directory)!r} is not a directory"
    try:
        with tempfile.TemporaryFile(dir=directory):
            pass
        if path.exists():
            with open(path, "r+b"):
                pass
    except OSError as error:
        return error.strerror or type(error).__name__
    return ""


def _parse(name: str, kind: Any, raw: str) -> Any:
    kind = str(kind)
    if kind == "bool":
        if raw.lower() in ("1", "true", "yes", "on"):
            return True
        if raw.lower() in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"{name} must be on or off (1/0, true/false, yes/no), not {raw!r}")
    if kind == "int":
        if not raw.isdigit():
            raise ConfigError(f"{name} must be a whole number, not {raw!r}")
        return int(raw)
    if kind.startswith("tuple"):
        return tuple(item.strip() for item in raw.split(",") if item.strip())
    return raw
