"""No message text and no secret in the log of a whole `complybot serve` run (README: message text is
never logged). Slack and Teams fakes send questions, commands with URLs and notes, and a long message;
the whole log is then searched for every text sent and every 12-character piece of it."""
from __future__ import annotations

import json

import pytest
from aiohttp import ClientSession

from tests.fakes.bot_connector import FakeBotConnector, TeamsActivities, new_user
from tests.fakes.slack_api import (  # noqa: F401 (api is a fixture)
    ADMIN, BOT_TOKEN, BOT_USER_ID, MEMBER, SIGNING_SECRET, SignedSlack, api,
)
from tests.serving import ServeProcess
from tests.test_teams_security import APP_ID, forged_token

PIECE = 12  # characters: a piece this long of what someone wrote must not be found in the log
APP_PASSWORD = "teams-app-password-7Qx9"
SLACK_TEXTS = {
    "mention": ("what does the quokka-zebracrossing policy say about CC 6.1?",
                "assign Disk Encryption to <@U0OWNER> due 2031-03-31 note marmalade telescope",
                "ünïcödé sphinx of black quartz, judge my vow — is A.8.5 enough?"),
    "command": ("evidence 1 https://drive.example/quince-harpsichord-7731 the Q3 lantern report",
                "na Penetration Test we keep no periwinkle servers at all",
                "history 1", "what is the saffron-bassoon rule of ISO 27001?"),
    "direct": ("block 1 waiting on the accordion-vendor contract renewal",
               "snooze 1 7 because the tamarind auditors are away",
               "tell me about " + " ".join(f"wombat{i:04d}-hedgehog" for i in range(300))),  # over the limit
}
TEAMS_TEXTS = ("what is the tangerine-xylophone control about?",
               "assign Multi-Factor Authentication to me note vermilion okapi 9921",
               "evidence 1 https://sharepoint.example/sites/cobalt-flamingo-44 signed minutes")


def pieces(text: str) -> set[str]:
    """The text and each of its PIECE-long pieces, as typed and as JSON would write it."""
    found = set()
    for form in {text, json.dumps(text, ensure_ascii=False)[1:-1], json.dumps(text)[1:-1]}:
        found.add(form)
        found.update(form[i:i + PIECE] for i in range(max(len(form) - PIECE + 1, 0)))
    return found


@pytest.mark.parametrize("teams_auth, level", [(False, "DEBUG"), (True, "INFO")], ids=["teams-local", "teams-auth"])
async def test_a_whole_server_run_logs_no_message_text_and_no_secret(tmp_path, api, teams_auth, level):
    connector = await FakeBotConnector().start()
    teams_settings = ({"MicrosoftAppId": APP_ID, "MicrosoftAppPassword": APP_PASSWORD} if teams_auth
                      else {"COMPLYBOT_TEAMS_LOCAL": "1"})
    try:
        with ServeProcess(tmp_path, COMPLYBOT_HOST="127.0.0.1", SLACK_BOT_TOKEN=BOT_TOKEN,
                          SLACK_SIGNING_SECRET=SIGNING_SECRET, SLACK_API_URL=api.base_url,
                          COMPLYBOT_LOG_LEVEL=level, **teams_settings) as serve:
            async with SignedSlack(serve.url, SIGNING_SECRET, api) as slack:
                for i, text in enumerate(SLACK_TEXTS["mention"]):
                    assert (await slack.mention(ADMIN, text))[0] == 200
                for i, text in enumerate(SLACK_TEXTS["command"]):
                    assert (await slack.command(ADMIN, text, hook=f"c{i}"))[0] == 200
                for text in SLACK_TEXTS["direct"]:
                    assert (await slack.direct_message(MEMBER, text))[0] == 200
                await api.wait_for("response_url", len(SLACK_TEXTS["command"]), timeout=20)
                await api.wait_for("chat.postMessage", 1 + len(SLACK_TEXTS["direct"]), timeout=20)
            teams, alice = TeamsActivities(connector.service_url), new_user("Alice")
            headers = {"Authorization": f"Bearer {forged_token('https://attacker.example.com')}"} if teams_auth else {}
            async with ClientSession() as session:
                for text in TEAMS_TEXTS:
                    async with session.post(f"{serve.url}/api/messages", json=teams.personal(alice, text),
                                            headers=headers) as response:
                        assert response.status == (401 if teams_auth else 201)
            if not teams_auth:
                await connector.wait_for(len(TEAMS_TEXTS), timeout=20)
            assert serve.terminate() == 0
            log = serve.logs()
    finally:
        await connector.stop()

    sent = [text for texts in SLACK_TEXTS.values() for text in texts] + list(TEAMS_TEXTS)
    for text in sent:
        leaked = sorted(piece for piece in pieces(text) if piece in log)
        assert not leaked, f"the log holds {leaked[:5]} of {text[:30]!r}"
    for secret in (SIGNING_SECRET, BOT_TOKEN, APP_PASSWORD):
        assert secret not in log
    # what a turn is logged by instead: its command's name (and its answer's kind)
    turns = [line for line in map(json.loads, log.splitlines()) if line["event"] in ("slack.turn", "request")]
    assert {"question", "assign", "evidence", "na", "history", "block", "snooze"} <= {t.get("command") for t in turns}
