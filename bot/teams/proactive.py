"""A proactive turn (a nudge, a digest, a roster read) whose errors reach the caller."""
from __future__ import annotations

from microsoft_agents.hosting.core import TurnContext


async def proactively(start, deliver) -> None:
    """Run `deliver` in a proactive turn begun by `start(callback)`, and raise what it raised. The SDK hands
    an error inside a turn to the adapter's on_turn_error, which would swallow it (and apologise in the
    chat): delivery must see a failed send to retry it, never record it as sent."""
    failed: list[Exception] = []

    async def turn(turn_context: TurnContext) -> None:
        try:
            await deliver(turn_context)
        except Exception as error:  # re-raised below, outside the SDK's pipeline
            failed.append(error)

    await start(turn)
    if failed:
        raise failed[0]
