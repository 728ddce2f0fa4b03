"""What is let in at `POST /slack/events`, before Bolt sees anything.

The signature is checked on the raw bytes with slack_sdk's own `SignatureVerifier` first, so a request
Slack did not sign gets 401 whatever else is wrong with it, and nothing is parsed, run or sent for it.
A signed body must then be a Slack payload: a JSON object (directly or as `payload=`) whose parts that
Bolt and the listeners read have the types Slack sends, and a view submission, view close or block action
has the keys Bolt reads (`REQUIRED`); anything else gets a polite 400, not a 500.
Replays of signed commands and interactions are named here (`replay_key`) and dropped in `bot.slack.app`.
"""
from __future__ import annotations

import hashlib

from aiohttp import web
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.request.internals import parse_body
from slack_sdk.signature import SignatureVerifier

NOT_A_SLACK_PAYLOAD = {"ok": False, "error": "This is not a Slack request complybot understands."}
NOT_SIGNED = "This request is not signed by Slack."
# What a person does that may change something; options requests (block_suggestion) only read.
INTERACTIONS = ("block_actions", "view_submission", "view_closed", "shortcut", "message_action")

_OPTIONAL = (str, type(None))
_OBJECT_ID = {"id": str, "team_id": _OPTIONAL, "enterprise_id": _OPTIONAL}
# The parts of a payload read before any check of ours, with the types Slack gives them (a dict is an
# object whose listed keys, when present, have those shapes; a list holds items of one shape).
SLACK_PAYLOAD = {
    "type": str, "event_id": str, "team_id": _OPTIONAL, "user_id": str, "channel_id": str, "enterprise_id": _OPTIONAL,
    "command": str, "text": str, "trigger_id": str, "response_url": str, "api_app_id": str,
    "is_enterprise_install": (bool, str), "is_ext_shared_channel": bool, "callback_id": str, "value": str,
    "team": (_OBJECT_ID, str, None), "user": (_OBJECT_ID, str), "channel": (_OBJECT_ID, str),
    "enterprise": (_OBJECT_ID, str, None), "authorizations": [{"team_id": _OPTIONAL, "user_id": _OPTIONAL,
                                                               "enterprise_id": _OPTIONAL}],
    "event": {"type": str, "user": str, "text": str, "channel": str, "ts": str, "thread_ts": str, "event_ts": str,
              "channel_type": str, "subtype": _OPTIONAL, "bot_id": _OPTIONAL, "tab": str, "team": _OPTIONAL,
              "user_team": _OPTIONAL, "bot_profile": (dict, None), "message": dict},
    "actions": [{"action_id": str, "block_id": str, "value": str, "type": str}],
    "view": {"id": str, "type": str, "callback_id": str, "private_metadata": str, "state": dict, "blocks": list,
             "app_installed_team_id": _OPTIONAL, "team_id": _OPTIONAL},
    "container": {"type": str, "message_ts": str, "channel_id": str, "is_ephemeral": bool, "view_id": str},
    "message": {"ts": str, "text": str, "blocks": list},
}

# Keys Bolt and its listeners read by subscript (`body["view"]["type"]`, `body["actions"][0]["action_id"]`)
# once they take a payload of that type: without them a KeyError or IndexError, a 500. A list part must
# hold at least one item, each with the keys.
REQUIRED = {"view_submission": {"view": ("id", "type", "callback_id")},
            "view_closed": {"view": ("id", "type", "callback_id")},
            "block_actions": {"actions": ("action_id",)}}


def signed_by_slack(verifier: SignatureVerifier, body: bytes, headers) -> bool:
    """slack_sdk's own check: `v0=` HMAC-SHA256 of `v0:{timestamp}:{body}`, at most 5 minutes old. A
    malformed timestamp (`abc`, 400 digits) or a body that is not UTF-8 is simply not signed."""
    try:
        return verifier.is_valid_request(body, headers)
    except (ValueError, OverflowError):  # int("abc"), a timestamp too large for a float, bytes not UTF-8
        return False


def signed_bolt_request(request: web.Request, body: bytes) -> AsyncBoltRequest | None:
    """Bolt's request for a verified body, or None when the body is no Slack payload."""
    text = body.decode()  # verified, so UTF-8
    try:
        parsed = parse_body(text, request.content_type)
    except ValueError:  # not JSON, directly or as `payload=`
        return None
    if not fits(parsed, SLACK_PAYLOAD) or not has_required_keys(parsed):
        return None
    return AsyncBoltRequest(body=text, query=request.query_string, headers=request.headers)


def fits(value, shape) -> bool:
    """Whether `value` has `shape`: a type, None, a tuple of alternatives, [item shape], {key: shape}."""
    if isinstance(shape, dict):
        return isinstance(value, dict) and all(fits(value[key], part) for key, part in shape.items() if key in value)
    if isinstance(shape, list):
        return isinstance(value, list) and all(fits(item, shape[0]) for item in value)
    if isinstance(shape, tuple):
        return any(fits(value, alternative) for alternative in shape)
    return value is None if shape is None else isinstance(value, shape)


def has_required_keys(payload: dict) -> bool:
    """Whether a payload that `fits` SLACK_PAYLOAD (so its type is a string) has every key REQUIRED names
    for its type; payloads of other types need none."""
    def has(value, keys) -> bool:
        return isinstance(value, dict) and all(key in value for key in keys)

    def complete(value, keys) -> bool:
        return (bool(value) and all(has(item, keys) for item in value)) if isinstance(value, list) else has(value, keys)

    return all(complete(payload.get(part), keys) for part, keys in REQUIRED.get(payload.get("type"), {}).items())


def replay_key(req, body: dict) -> str | None:
    """What names one slash command or interaction however often it arrives: its trigger id (kept when
    the request is sent again), else a digest of its signature and timestamp. None for anything else."""
    if "command" not in body and body.get("type") not in INTERACTIONS:
        return None
    if body.get("trigger_id"):
        return f"trigger:{body['trigger_id']}"
    signature = (req.headers.get("x-slack-signature") or [""])[0]
    stamp = (req.headers.get("x-slack-request-timestamp") or [""])[0]
    return "signature:" + hashlib.sha256(f"{stamp}:{signature}".encode()).hexdigest() if signature else None
