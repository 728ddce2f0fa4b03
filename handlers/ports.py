"""What handlers need from the runtime, as protocols. `bot/` implements them (the SQLite store, its
conversation memory, the real clock, the platform senders); tests may pass a fixed clock."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Protocol

from handlers.types import Outgoing


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(timezone.utc)


class SubjectMemory(Protocol):
    """The last answer's subject per workspace + conversation + person, until it expires (handlers/memory.py;
    bot/memory_store.py implements it). Times are unix seconds."""

    def subject_for(self, workspace: str, conversation: str, user: str, now: float) -> str: ...

    def keep_subject(self, workspace: str, conversation: str, user: str, subject: str, now: float,
                     until: float) -> None: ...


class Sender(Protocol):
    """Delivers a message the bot starts by itself (a nudge, a digest) on one platform. It may also
    have `async prepare(outgoing) -> Outgoing` for the steps that deliver nothing (opening a DM),
    which bot/delivery.py runs before it records that the message is about to leave."""

    async def send(self, outgoing: Outgoing) -> None: ...


@dataclass
class Context:
    """Everything a handler may touch for one message or clock tick."""

    store: Any  # bot.store.Store (see the protocols the task handlers declare)
    clock: Clock = field(default_factory=SystemClock)
    admins: tuple[str, ...] = ()  # platform user ids or emails configured as admins
    resolve_user: Callable[[str, str], Any] | None = None  # (workspace, mention) -> person, set by adapters


class Directory(Protocol):
    """Who belongs to a workspace or a channel, as the platform says (campaign audiences). Implemented
    by the Slack adapter (users.list, conversations.members), the Teams one (the teams' rosters,
    `bot.teams.members.TeamsDirectory`) and, for the console and the playground, by the people the store
    knows (`bot.directory.KnownPeople`)."""

    async def members(self, workspace: str, channel: str = "") -> list[str] | None:
        """User ids of the workspace's people (channel empty) or of a channel's, people of other
        organisations left out; None when it cannot tell now (try again later)."""
        ...


class EvidenceStore(Protocol):
    """bot/evidence_store.py: how long a control's evidence stays valid, and tasks' evidence."""

    def freshness_periods(self, workspace: str) -> dict[str, str]: ...
    def set_freshness(self, workspace: str, control: str, period: str | None, actor: str) -> None: ...
    def evidence_rows(self, workspace: str) -> list[tuple]: ...


class CampaignStore(Protocol):
    """bot/campaign_store.py: policy acceptance campaigns and the people each asks."""

    def publish_campaign(self, workspace: str, **fields: Any) -> Any: ...
    def campaign(self, workspace: str, campaign_id: int) -> Any: ...
    def campaigns_named(self, workspace: str, name: str) -> list: ...
    def open_campaigns(self, workspace: str | None = None) -> list: ...
    def add_campaign_people(self, workspace: str, campaign: Any, users: list[str], at: str,
                            checked: bool = True) -> int: ...
    def campaign_answer(self, workspace: str, campaign_id: int, user: str) -> dict | None: ...
    def answer_campaign(self, workspace: str, campaign_id: int, user: str, answer: str, via: str,
                        at: str) -> None: ...
    def campaign_counts(self, workspace: str, campaign_id: int) -> dict[str, int]: ...
    def campaign_pending(self, workspace: str, campaign_id: int) -> list: ...
