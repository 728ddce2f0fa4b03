"""complybot in Slack: a Bolt AsyncApp on the project's aiohttp server (see `bot.slack.app.mount`)."""
from __future__ import annotations


def mount(app, settings):
    """Serve Slack from the aiohttp `app` (imports Bolt only when Slack is configured)."""
    from bot.slack.app import mount as mount_slack

    return mount_slack(app, settings)
