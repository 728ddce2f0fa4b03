"""Structured logs: one JSON line per event, never a secret.

Every line carries the event name and, inside a request, its request id. The server's middleware
writes one `request` line per request with platform, workspace, command, latency and outcome;
adapters add what they learn with `note(workspace=..., command=..., kind=...)`. Message text is never
logged: a turn is logged by its command's name (`router.command_of`) and its answer's kind. A
`RedactFilter` on the handler scrubs tokens, bearer tokens, signatures and emails from every line
anyway, as a safety net.
"""
from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
import sysconfig
import time
from pathlib import Path
from typing import Any

LOGGER_NAME = "complybot"
_PROJECT_ROOT = str(Path(__file__).resolve().parent.parent) + "/"
_STDLIB = sysconfig.get_paths()["stdlib"] + "/"
PAYLOAD_LOGGERS = ("slack_sdk", "slack_bolt", "microsoft_agents", "msal", "urllib3")

# The fields of the request being handled; the middleware sets a fresh dict per request.
_request_fields: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar("complybot_request", default=None)

_SECRET_PATTERNS = [
    (re.compile(r"\bxox[abposer]-[A-Za-z0-9-]+"), "xox?-[redacted]"),  # Slack bot/user/refresh tokens
    (re.compile(r"\bxapp-[A-Za-z0-9-]+"), "xapp-[redacted]"),  # Slack app-level tokens
    (re.compile(r"(?i)\bhttps://hooks\.slack(?:-gov)?\.com/[^\s\"']+"), "[slack hook redacted]"),  # response URLs
    (re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]+"), "Bearer [redacted]"),
    (re.compile(r"\bv0=[0-9a-fA-F]{16,}"), "v0=[redacted]"),  # Slack request signatures
    (re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*"), "[jwt redacted]"),
    (re.compile(r"(?i)((?:secret|password|token|signature)[\"']?\s*[:=]\s*[\"']?)[^\s\"',}]+"), r"\1[redacted]"),
    (re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"), "[email redacted]"),
]


def redact(text: str) -> str:
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactFilter(logging.Filter):
    """Rewrites every record's final message with secrets removed (also third-party libraries')."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info:  # no stack traces in the log: the exception's type and place only
            record.msg = f"{record.getMessage()} [{describe_exception(record.exc_info[1])}]"
            record.args, record.exc_info, record.exc_text = None, None, None
        return True


class JsonLineFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "event": getattr(record, "event", None) or "log",
        }
        fields = getattr(record, "fields", None)
        if fields:
            line.update(fields)
        elif record.name != LOGGER_NAME or line["event"] == "log":
            line["logger"] = record.name
            line["msg"] = record.getMessage()
        request = _request_fields.get()
        if request and "request_id" not in line:
            line["request_id"] = request.get("request_id")
        # Redact the values, then serialise: redacting the serialised line could eat the backslash of an
        # escaped quote (a path with `token=\"`) and end the JSON string early, so anyone could cut their
        # request's line short of its status and id.
        return json.dumps(_redacted(line), ensure_ascii=False, default=lambda value: redact(str(value)))


def _redacted(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: _redacted(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_redacted(item) for item in value]
    return value


def setup(level: str = "INFO", stream: Any = None) -> None:
    """Send every log record (ours and the libraries') as JSON lines to stderr, redacted."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonLineFormatter())
    handler.addFilter(RedactFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    logging.getLogger("aiohttp.access").disabled = True  # our middleware logs each request once
    logging.captureWarnings(True)  # library warnings become log lines too, not raw stderr text
    if root.level > logging.DEBUG:  # APScheduler says "Running job …", the Agents SDK "Replying to activity …"
        for name in ("apscheduler", "microsoft_agents"):  # at INFO on every tick and every Teams turn
            logging.getLogger(name).setLevel(logging.WARNING)
    else:  # DEBUG is for our own lines: these libraries log whole requests and answers (message text) there
        for name in PAYLOAD_LOGGERS:
            logging.getLogger(name).setLevel(logging.INFO)


def event(name: str, level: int = logging.INFO, **fields: Any) -> None:
    """Log one event as one line: `event("serve.start", port=3978)`."""
    logger = logging.getLogger(LOGGER_NAME)
    if logger.isEnabledFor(level):
        clean = {key: value for key, value in fields.items() if value is not None and value != ""}
        logger.log(level, name, extra={"event": name, "fields": clean})


def describe_exception(error: BaseException | None) -> str:
    """`KeyError at handlers/tasks.py:42`: enough to find the bug, nothing of the data."""
    if error is None:
        return ""
    tb = error.__traceback__
    while tb and tb.tb_next:
        tb = tb.tb_next
    if tb is None:
        return type(error).__name__
    filename = tb.tb_frame.f_code.co_filename
    if "/site-packages/" in filename:  # first: a virtualenv may sit inside the project
        filename = filename[filename.rindex("/site-packages/") + len("/site-packages/"):]
    elif filename.startswith((_PROJECT_ROOT, _STDLIB)):
        filename = filename[len(_PROJECT_ROOT if filename.startswith(_PROJECT_ROOT) else _STDLIB):]
    return f"{type(error).__name__} at {filename}:{tb.tb_lineno}"


# -- request context -----------------------------------------------------------------------------

def begin_request(request_id: str, **fields: Any) -> contextvars.Token:
    return _request_fields.set({"request_id": request_id, **fields})


def end_request(token: contextvars.Token) -> dict[str, Any]:
    fields = _request_fields.get() or {}
    _request_fields.reset(token)
    return fields


def note(**fields: Any) -> None:
    """Add what an adapter learned (platform, workspace, command, user) to the current request's
    log line; never message text. Outside a request it does nothing."""
    current = _request_fields.get()
    if current is not None:
        current.update({key: value for key, value in fields.items() if value is not None})
