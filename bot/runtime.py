"""What the running server shares, typed: one `Runtime` on the aiohttp app under `RUNTIME`.

`bot.server.create_app` creates it once; platform mounts and the scheduler fill in their parts
(`app[RUNTIME].senders["slack"] = ...`), never create it. Read it as `app[RUNTIME].ctx`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

from aiohttp import web

from bot.config import Settings
from handlers.ports import Context, Directory, Sender

if TYPE_CHECKING:  # platform libraries are imported only when that platform is configured
    from bot.background import BackgroundWork
    from bot.scheduler import Scheduler
    from bot.slack.conversation import SlackRuntime


@dataclass
class Runtime:
    settings: Settings
    ctx: Context  # the one store of the process, shared by every platform
    senders: dict[str, Sender] = field(default_factory=dict)  # platform -> Sender; bot.delivery.FALLBACK: the log
    directories: dict[str, Directory] = field(default_factory=dict)  # platform -> campaign audiences (else known people)
    platforms: list[str] = field(default_factory=list)  # the chat platforms mounted
    health_reports: dict[str, Callable[[], dict]] = field(default_factory=dict)  # counters /healthz shows
    scheduler: Scheduler | None = None  # while the scheduler runs (not with COMPLYBOT_SCHEDULER=off)
    tick_seconds: float | None = None  # None: bot.scheduler.TICK_SECONDS (tests tick faster)
    playground: Context | None = None  # the playground's Context (the local admin) when it is served
    slack_runtime: SlackRuntime | None = None
    teams_work: BackgroundWork | None = None


RUNTIME = web.AppKey("runtime", Runtime)
