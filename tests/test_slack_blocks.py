"""Reply → Block Kit, Slack text → neutral text, the assign modal's parts, and the Slack manifest."""
from __future__ import annotations

import json

import yaml

from bot.commands import slack_manifest
from bot.slack.blocks import (
    ACTION_PREFIX, BLOCK_LIMIT, SECTION_LIMIT, escape, fallback_text, render, to_neutral_text,
)
from bot.slack.modals import assign_modal, blame, control_options, modal_request, submission
from handlers.types import Action, Reply, Section, mention


def all_text(blocks: list[dict]) -> str:
    return json.dumps(blocks, ensure_ascii=False)


def test_escape_neutralises_broadcasts_and_links_but_keeps_user_mentions():
    text = "hi <!channel> <!here|here> <https://evil.example|CC6.1> a&b <@U123> <#C1|general>"
    escaped = escape(text)
    assert "<!" not in escaped and "<http" not in escaped and "<#" not in escaped
    assert "&lt;!channel&gt;" in escaped and "a&amp;b" in escaped
    assert "<@U123>" in escaped
    assert escape("&lt;") == "&amp;lt;"  # already-escaped text is shown as typed, not decoded


def test_the_bots_own_mentions_are_slack_mentions():
    reply = Reply(f"Overdue: #1 ({mention('U0OWNER')})", sections=(Section(lines=(f"Owner: {mention('U0OWNER')}",)),))
    assert "Owner: <@U0OWNER>" in all_text(render(reply)) and "(<@U0OWNER>)" in fallback_text(reply)
    assert "\ufdd0" not in all_text(render(reply)) + fallback_text(reply)


def test_slack_text_becomes_neutral_text():
    slack = "<@UBOT> assign <@U2|ana> &amp; <#C9|sec> <!channel> <mailto:a@b.c|a@b.c> <https://x.example/p|doc> &lt;b&gt;"
    assert to_neutral_text(slack, "UBOT") == "assign <@U2> & #sec @channel a@b.c https://x.example/p <b>"
    assert to_neutral_text("<!subteam^S1|@auditors> hi") == "@auditors hi"


def test_a_reply_renders_text_sections_progress_and_buttons():
    reply = Reply(
        "Status:\nSOC 2 40%",
        sections=(Section("SOC 2", ("12 of 30 covered",), progress=0.4,
                          actions=(Action("Done", "done 3", "primary"), Action("Snooze 1 week", "snooze 3 7"))),),
        actions=(Action("Gap", "gap soc2", "danger"),),
    )
    blocks = render(reply)
    assert blocks[0]["text"]["text"] == "Status:"  # with sections, only the text's first line leads
    assert "*SOC 2*" in blocks[1]["text"]["text"] and "▓" in blocks[1]["text"]["text"]
    assert "40%" in blocks[1]["text"]["text"]
    first, second = blocks[2]["elements"]
    assert first["action_id"].startswith(ACTION_PREFIX) and first["value"] == "done 3" and first["style"] == "primary"
    assert "style" not in second
    assert blocks[3]["elements"][0]["style"] == "danger"
    assert len({b["block_id"] for b in blocks if "block_id" in b}) == 2
    assert fallback_text(reply) == "Status:\nSOC 2 40%"


def test_text_only_reply_and_escaping_in_every_part():
    reply = Reply("<!channel> x", sections=(Section("<!here>", ("<https://e.example|y>",),
                                                     actions=(Action("<!channel>", "done 1"),)),))
    blocks = render(reply)
    mrkdwn = [b["text"]["text"] for b in blocks if b.get("text", {}).get("type") == "mrkdwn"]
    shown = "\n".join(mrkdwn) + fallback_text(reply)
    for markup in ("<!channel>", "<!here>", "<https://e"):
        assert markup not in shown
    assert "&lt;!channel&gt;" in shown and "&lt;!here&gt;" in shown
    button = render(reply)[-1]["elements"][0]
    assert button["text"]["type"] == "plain_text"  # plain text is never parsed for mentions by Slack
    assert render(Reply("plain answer")) == [{"type": "section", "text": {"type": "mrkdwn", "text": "plain answer"}}]


def test_long_replies_are_cut_to_slacks_limits():
    long_line = "x" * (SECTION_LIMIT * 2 + 10)
    blocks = render(Reply(long_line))
    assert len(blocks) == 3 and all(len(b["text"]["text"]) <= SECTION_LIMIT for b in blocks)
    many = Reply("many", sections=tuple(Section(f"S{i}", ("line",)) for i in range(80)))
    blocks = render(many)
    assert len(blocks) == BLOCK_LIMIT and "more parts not shown" in blocks[-1]["elements"][0]["text"]
    labels = render(Reply("b", actions=(Action("L" * 200, "v" * 3000),)))[-1]["elements"][0]
    assert len(labels["text"]["text"]) <= 75 and len(labels["value"]) <= 2000
    assert len(fallback_text(Reply("y" * 50_000))) < 4000


def test_modal_requests_and_submissions():
    assert modal_request("assign") == {} and modal_request(" Reassign #12 ") == {"task": "12"}
    assert modal_request("assign Disk Encryption to me") is None and modal_request("reassign 3 to <@U1>") is None
    view = assign_modal(channel="C1")
    values = {"control": {"complybot_control": {"selected_option": {"value": "Disk Encryption"}}},
              "owner": {"owner": {"selected_user": "U2"}}, "due": {"due": {"selected_date": "2030-01-02"}}}
    meta, commands = submission({**view, "state": {"values": values}})
    assert meta == {"channel": "C1", "task": ""}
    assert commands == [("control", "assign Disk Encryption to <@U2> due 2030-01-02")]
    reassign = assign_modal(task="7")
    assert all(b["block_id"] != "control" for b in reassign["blocks"])
    _, commands = submission({**reassign, "state": {"values": {"owner": {"owner": {"selected_user": "U3"}}}}})
    assert commands == [("owner", "reassign 7 to <@U3>")]
    assert blame("control", "date", {"control", "due"}) == "due"  # the refusal's field, never its words
    assert blame("control", "control", {"control", "due"}) == "control"
    assert blame("owner", "date", {"owner"}) == "owner"  # no date input: the command's own field


def test_control_options_match_names_and_references():
    assert control_options("disk encrpytion")[0]["value"] == "Disk Encryption"
    by_ref = [o["value"] for o in control_options("A.8.1")]
    assert "Disk Encryption" in by_ref and by_ref[-1] == "A.8.1 itself"
    assert [o["value"] for o in control_options("A.5.23")] == ["A.5.23 itself"]  # no control covers it
    from knowledge.catalog import Control
    own = (Control("Code Review", ("CC8.1",), ("A.8.28",)),)
    assert control_options("code rev", own=own)[0]["value"] == "Code Review"
    assert [o["value"] for o in control_options("A.8.28", own=own)] == ["Code Review", "A.8.28 itself"]
    assert all(len(o["text"]["text"]) <= 75 for o in control_options(""))


def test_the_manifest_is_yaml_with_every_url_under_the_host(capsys):
    parser = __import__("argparse").ArgumentParser()
    slack_manifest.add_arguments(parser)
    assert slack_manifest.run(parser.parse_args(["--url", "https://bot.example.com/"])) == 0
    data = yaml.safe_load(capsys.readouterr().out)
    events = "https://bot.example.com/slack/events"
    assert data["settings"]["event_subscriptions"]["request_url"] == events
    assert set(data["settings"]["event_subscriptions"]["bot_events"]) == {
        "app_mention", "message.im", "app_home_opened", "app_uninstalled", "tokens_revoked"}
    assert data["settings"]["interactivity"] == {"is_enabled": True, "request_url": events,
                                                 "message_menu_options_url": events}
    [command] = data["features"]["slash_commands"]
    assert command["command"] == "/comply" and command["url"] == events and command["should_escape"] is True
    assert data["features"]["app_home"]["home_tab_enabled"] is True
    assert {"chat:write", "commands", "app_mentions:read", "im:history", "users:read"} <= set(
        data["oauth_config"]["scopes"]["bot"])
    assert data["oauth_config"]["redirect_urls"] == ["https://bot.example.com/slack/oauth_redirect"]
    assert data == slack_manifest.manifest("https://bot.example.com")


def test_the_manifest_refuses_a_url_slack_would_not_call(capsys):
    parser = __import__("argparse").ArgumentParser()
    slack_manifest.add_arguments(parser)
    assert slack_manifest.run(parser.parse_args(["--url", "http://bot.example.com"])) == 2
    assert "https://" in capsys.readouterr().err
    assert slack_manifest.run(parser.parse_args(["--url", "https://b.example", "--socket-mode"])) == 0
    data = yaml.safe_load(capsys.readouterr().out)
    assert data["settings"]["socket_mode_enabled"] is True and "request_url" not in data["settings"]["interactivity"]
