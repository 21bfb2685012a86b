"""Structured JSON logs with a request id, scrubbed of personal data.

One JSON object per line, so the logs can be shipped and queried without parsing prose. Every line
written while a request is handled carries that request's id, which is also returned to the client in
``X-Request-ID`` (a resident quoting it lets us find their request without them telling us anything
personal). Messages and tracebacks pass through :func:`scrub` on the way out: phone numbers,
e-mail addresses and anything that looks like a token or password never reach the log file.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import IO, Any

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

request_id_var: ContextVar[str | None] = ContextVar("citizenvoice_request_id", default=None)
access_log = logging.getLogger("citizenvoice.access")

# A proxy's id (nginx $request_id) is reused when it is plainly an id; anything else is replaced.
_INCOMING_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")

_SCRUBBERS: tuple[tuple[re.Pattern[str], str], ...] = (
    # key=value / key: value / "key": "value" pairs whose value is a secret
    (
        re.compile(
            r"(?i)(\b(?:password|passwd|pwd|secret|token|csrf_token|api_key|authorization|cookie|session)"
            r"[\"']?\s*[=:]\s*[\"']?)[^\s\"'&,;}]+"
        ),
        r"\1[redacted]",
    ),
    # the secret tracking token, or the signed look-up pass, in a tracking link
    (re.compile(r"(/track/(?:code/)?)[A-Za-z0-9_\-.]{16,}"), r"\1[token]"),
    (re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}"), "[email]"),
    (re.compile(r"(?<!\d)(?:\+?86[\s-]?)?1[3-9]\d(?:[\s-]?\d{4}){2}(?!\d)"), "[phone]"),
    # long random-looking strings: tokens, keys, hashes, signed cookies
    (
        re.compile(r"(?<![A-Za-z0-9_\-])(?=[A-Za-z0-9_\-]*\d)[A-Za-z0-9_\-]{32,}(?![A-Za-z0-9_\-])"),
        "[redacted]",
    ),
)


def scrub(text: str) -> str:
    for pattern, replacement in _SCRUBBERS:
        text = pattern.sub(replacement, text)
    return text


def safe_path(path: str) -> str:
    """The request path as it may be logged: the tracking token and other long secrets masked."""
    return scrub(path)


class JsonFormatter(logging.Formatter):
    """One scrubbed JSON object per record: time, level, logger, message, request id, extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "level": record.levelname,
            "logger": record.name,
            "message": scrub(record.getMessage()),
        }
        request_id = getattr(record, "request_id", None) or request_id_var.get()
        if request_id:
            entry["request_id"] = request_id
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update({k: scrub(v) if isinstance(v, str) else v for k, v in fields.items()})
        if record.exc_info:
            entry["exception"] = scrub(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False, default=str)


# Libraries whose debug output carries request data verbatim (aiosqlite logs every SQL statement with
# its parameters: names, phone numbers, essay text). They speak only from WARNING up, whatever the level.
QUIET_LOGGERS = ("aiosqlite", "multipart", "python_multipart", "httpx", "httpcore", "PIL")


def configure_logging(level: str = "INFO", stream: IO[str] | None = None) -> logging.Handler:
    """Route every logger (ours, uvicorn's, libraries') through one JSON handler on the root logger."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h.formatter, JsonFormatter)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    return handler


def uvicorn_log_config(level: str = "INFO") -> dict[str, Any]:
    """A dictConfig for ``uvicorn.run(log_config=…)``; uvicorn applies it in every worker process."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "citizenvoice.web.logs.JsonFormatter"}},
        "handlers": {
            "stderr": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}
        },
        "root": {"handlers": ["stderr"], "level": level.upper()},
        "loggers": {
            "uvicorn": {"handlers": [], "propagate": True},
            "uvicorn.error": {"handlers": [], "propagate": True},
            "uvicorn.access": {"handlers": [], "propagate": False, "level": "WARNING"},
            **{name: {"level": "WARNING"} for name in QUIET_LOGGERS},
        },
    }


def _request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            candidate = value.decode("latin-1")
            if _INCOMING_ID.match(candidate):
                return candidate
    return uuid.uuid4().hex


class RequestLogMiddleware:
    """Assigns each request an id (``X-Request-ID``) and logs one line when it is done (pure ASGI).

    The line holds method, path, status, duration and id. The query string is reduced to its keys:
    its values (a search term, a tracking code) can be personal.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)["x-request-id"] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except BaseException:
            self._log(scope, 500, time.perf_counter() - started, request_id)
            # The id stays set: Starlette's outermost error handler logs the traceback after this
            # frame, and that line must carry the same id. Each request runs in its own task context.
            raise
        self._log(scope, status, time.perf_counter() - started, request_id)
        request_id_var.reset(token)

    @staticmethod
    def _log(scope: Scope, status: int, seconds: float, request_id: str) -> None:
        level = logging.ERROR if status >= 500 else logging.INFO
        if not access_log.isEnabledFor(level):
            return  # scrubbing the path costs more than a cached page does to serve
        query = scope.get("query_string", b"").decode("latin-1")
        keys = sorted({part.split("=", 1)[0] for part in query.split("&") if part})
        fields: dict[str, Any] = {
            "method": scope.get("method", ""),
            "path": safe_path(scope.get("path", "")),
            "status": status,
            "duration_ms": round(seconds * 1000, 1),
        }
        if keys:
            fields["query_keys"] = [scrub(k)[:40] for k in keys]
        access_log.log(
            level,
            "%s %s %s",
            fields["method"],
            fields["path"],
            status,
            extra={"fields": fields, "request_id": request_id},
        )
