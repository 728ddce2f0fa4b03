"""Start-up refuses a bad configuration: one line on stderr naming the setting, exit code 2.

Run through the installed `complybot` command, as an operator would meet it."""
from __future__ import annotations

import pytest

from bot.config import ConfigError, Settings, database_path
from tests.serving import clean_env, run_complybot

SLACK_TOKEN = "xoxb-1234-5678-secretsecret"


def refused(tmp_path, *args, **settings):
    settings.setdefault("COMPLYBOT_DB", str(tmp_path / "complybot.db"))
    result = run_complybot("serve", *args, cwd=tmp_path, env=clean_env(**settings), timeout=30)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert len(lines) == 1, result.stderr
    assert result.stdout == ""
    return lines[0]


def test_slack_token_without_signing_secret(tmp_path):
    line = refused(tmp_path, SLACK_BOT_TOKEN=SLACK_TOKEN)
    assert line.startswith("complybot serve: SLACK_SIGNING_SECRET is required when SLACK_BOT_TOKEN is set")
    assert "secretsecret" not in line  # the token itself is never echoed


def test_slack_client_id_without_secret(tmp_path):
    line = refused(tmp_path, SLACK_CLIENT_ID="123.456", SLACK_SIGNING_SECRET="abc")
    assert "SLACK_CLIENT_SECRET is required" in line


def test_teams_auth_off_outside_local_mode(tmp_path):
    line = refused(tmp_path, "--host", "0.0.0.0", COMPLYBOT_TEAMS_LOCAL="1")
    assert "COMPLYBOT_TEAMS_LOCAL=1 turns Bot Framework auth off" in line
    assert "not 0.0.0.0" in line


def test_teams_app_password_without_app_id(tmp_path):
    line = refused(tmp_path, MicrosoftAppPassword="hunter2-password")
    assert "MicrosoftAppId is required when MicrosoftAppPassword is set" in line
    assert "hunter2" not in line


def test_database_in_a_missing_directory(tmp_path):
    line = refused(tmp_path, COMPLYBOT_DB=str(tmp_path / "no-such-dir" / "complybot.db"))
    assert "COMPLYBOT_DB: cannot write the database" in line
    assert "does not exist" in line
    assert not (tmp_path / "no-such-dir").exists()


def test_database_under_a_file(tmp_path):
    (tmp_path / "a-file").write_text("not a directory")
    line = refused(tmp_path, COMPLYBOT_DB=str(tmp_path / "a-file" / "complybot.db"))
    assert "COMPLYBOT_DB: cannot write the database" in line


def test_unknown_time_zone(tmp_path):
    line = refused(tmp_path, COMPLYBOT_TZ="Mars/Olympus_Mons")
    assert line == ("complybot serve: COMPLYBOT_TZ: unknown time zone 'Mars/Olympus_Mons' "
                    "(use an IANA name like Europe/Berlin)")


def test_playground_on_a_public_address(tmp_path):
    line = refused(tmp_path, "--host", "0.0.0.0")
    assert "the playground has no login and binds to 127.0.0.1 only" in line


def test_settings_come_from_dot_env_too(tmp_path):
    (tmp_path / ".env").write_text(f"# local settings\nSLACK_BOT_TOKEN={SLACK_TOKEN}\n")
    line = refused(tmp_path)
    assert "SLACK_SIGNING_SECRET is required" in line


def test_environment_wins_over_dot_env(tmp_path):
    (tmp_path / ".env").write_text("COMPLYBOT_TZ=Europe/Berlin\n")
    line = refused(tmp_path, COMPLYBOT_TZ="Nowhere/Atlantis")
    assert "'Nowhere/Atlantis'" in line


# -- the Settings object itself --------------------------------------------------------------------

def test_defaults_are_safe(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    plain = Settings.from_env({})
    assert (plain.port, plain.host, plain.timezone, plain.platforms) == (3978, "127.0.0.1", "UTC", ())
    assert plain.playground_enabled


def test_a_configured_platform_listens_publicly_unless_the_playground_is_asked(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    slack = {"SLACK_BOT_TOKEN": SLACK_TOKEN, "SLACK_SIGNING_SECRET": "s3cr3t"}
    assert Settings.from_env(slack).host == "0.0.0.0"
    assert Settings.from_env(slack).platforms == ("slack",)
    assert Settings.from_env(slack, playground=True).host == "127.0.0.1"
    assert Settings.from_env({**slack, "PORT": "8080"}, port=9000).port == 9000  # --port wins over $PORT
    assert Settings.from_env({"COMPLYBOT_TEAMS_LOCAL": "1"}).host == "127.0.0.1"


def test_secrets_stay_out_of_repr(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    configured = Settings.from_env({"SLACK_BOT_TOKEN": SLACK_TOKEN, "SLACK_SIGNING_SECRET": "s3cr3t",
                                    "MicrosoftAppId": "app", "MicrosoftAppPassword": "hunter2"})
    text = repr(configured)
    assert "secretsecret" not in text and "s3cr3t" not in text and "hunter2" not in text
    assert configured.platforms == ("slack", "teams")


@pytest.mark.parametrize("env, setting_named", [
    ({"PORT": "eighty"}, "PORT"),
    ({"PORT": "70000"}, "PORT"),
    ({"COMPLYBOT_TEAMS_LOCAL": "maybe"}, "COMPLYBOT_TEAMS_LOCAL"),
    ({"MicrosoftAppId": "id", "MicrosoftAppPassword": "pw", "MicrosoftAppType": "SingleTenant"}, "MicrosoftAppTenantId"),
    ({"MicrosoftAppId": "id", "MicrosoftAppPassword": "pw", "MicrosoftAppType": "Weird"}, "MicrosoftAppType"),
    ({"SLACK_APP_TOKEN": "xapp-1-A"}, "SLACK_BOT_TOKEN"),
    ({"SLACK_SIGNING_SECRET": "s"}, "SLACK_BOT_TOKEN"),
    ({"COMPLYBOT_LOG_LEVEL": "chatty"}, "COMPLYBOT_LOG_LEVEL"),
    ({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s", "SLACK_API_URL": "slack-gov.com/api"}, "SLACK_API_URL"),
    # the signing keys come from Microsoft, or in tests from this machine, never from another host
    ({"MicrosoftAppId": "id", "MicrosoftAppPassword": "pw",
      "COMPLYBOT_TEAMS_OPENID_URL": "https://keys.example.com/.well-known/openidconfiguration"}, "COMPLYBOT_TEAMS_OPENID_URL"),
    ({"MicrosoftAppId": "id", "MicrosoftAppPassword": "pw", "COMPLYBOT_HOST": "0.0.0.0",
      "COMPLYBOT_TEAMS_OPENID_URL": "http://127.0.0.1:1/.well-known/openidconfiguration"}, "COMPLYBOT_TEAMS_OPENID_URL"),
])
def test_each_bad_setting_is_named(tmp_path, monkeypatch, env, setting_named):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as raised:
        Settings.from_env(env)
    assert setting_named in str(raised.value)
    assert "\n" not in str(raised.value)


def test_socket_mode_needs_no_signing_secret(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    socket_mode = Settings.from_env({"SLACK_BOT_TOKEN": SLACK_TOKEN, "SLACK_APP_TOKEN": "xapp-1-A-2"})
    assert socket_mode.platforms == ("slack",)


def test_database_path_alone():
    assert database_path({"COMPLYBOT_DB": "/srv/complybot/db.sqlite"}) == "/srv/complybot/db.sqlite"
    assert database_path({}) == "complybot.db"


def test_every_setting_is_documented_in_env_example(tmp_path, monkeypatch):
    """.env.example names every setting, and its values are valid defaults."""
    from dataclasses import fields
    from pathlib import Path

    from bot.config import load_dotenv

    example = load_dotenv(Path(__file__).parent.parent / ".env.example")
    assert {f.metadata["env"] for f in fields(Settings)} <= set(example)
    monkeypatch.chdir(tmp_path)
    assert Settings.from_env(example).platforms == ()


def test_quick_start_has_two_commands_and_ci_runs_the_test_one():
    from pathlib import Path

    root = Path(__file__).parent.parent
    quick_start = (root / "README.md").read_text().split("## Quick start", 1)[1].split("\n## ", 1)[0]
    block = quick_start.split("```sh", 1)[1].split("```", 1)[0]
    commands = [line.strip() for line in block.splitlines() if line.strip() and not line.strip().startswith("#")]
    assert len(commands) == 2
    assert commands[0].endswith("complybot chat") and "-e ." in commands[0]
    ci_lines = [line.strip() for line in (root / ".ci" / "run").read_text().splitlines()]
    assert commands[1] in ci_lines
    assert not any("playwright install" in line for line in ci_lines if not line.startswith("#"))


def test_dot_env_syntax(tmp_path):
    from bot.config import load_dotenv

    (tmp_path / ".env").write_text(
        "# comment\nexport PORT=8080\nCOMPLYBOT_TZ=Europe/Berlin  # where we are\n"
        "SLACK_SIGNING_SECRET=\"a #hash inside\"\nCOMPLYBOT_ADMINS='U1, U2'\nnot a setting\n")
    assert load_dotenv(tmp_path / ".env") == {"PORT": "8080", "COMPLYBOT_TZ": "Europe/Berlin",
                                              "SLACK_SIGNING_SECRET": "a #hash inside", "COMPLYBOT_ADMINS": "U1, U2"}


def test_a_bad_switch_names_every_accepted_spelling(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as raised:
        Settings.from_env({"COMPLYBOT_SCHEDULER": "sometimes"})
    assert "COMPLYBOT_SCHEDULER must be on or off" in str(raised.value)
    assert Settings.from_env({"COMPLYBOT_SCHEDULER": "off"}).scheduler is False
