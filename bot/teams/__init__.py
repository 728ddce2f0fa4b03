"""Microsoft Teams on the Microsoft 365 Agents SDK (core packages). Every SDK import of the project lives
in this package; the rest sees neutral `Message` / `Reply` / `Outgoing` objects.

    route       POST /api/messages on the SDK's aiohttp CloudAdapter; mount(app, settings)
    auth        settings → the SDK's connection settings; token validation; signing keys off the loop
    activities  the ActivityHandler: messages, card buttons (Action.Execute invokes), the welcome
    members     the member map, saved conversation references, activity de-duplication (SQLite)
    cards       Reply → text or Adaptive Card 1.5 (people's words escaped; the bot's mentions live)
    sender      proactive messages: continue_conversation, create_conversation for a new 1:1 chat
"""
from bot.teams.route import mount

__all__ = ["mount"]
