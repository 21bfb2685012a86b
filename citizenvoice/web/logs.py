"""Structured JSON logs with a request id, scrubbed of personal data.

One JSON object per line, so the logs can be shipped and queried without parsing prose. Every line
written while a request is handled carries that request's id, which is also returned to the client in
``X-Request-ID`` (a resident quoting it lets us find their request without them telling us anything
personal). Messages and tracebacks pass through :func:`scrub` on the way out: phone numbers,
e-mail addresses and anything that looks like a token or password never reach the log file.

Writing is off the event loop's hot path: :class:`JsonHandler` queues lines and a thread of its own
writes them in batches (one ``write`` per batch, every :data:`FLUSH_SECONDS`). The request line, the
one written for every request, is not even a ``LogRecord``: the middleware queues its raw values and
that thread formats them, reusing the scrubbed, encoded parts of lines it has written before (a cached
page is the same path again and again). Errors are written at once, and the queue is drained when
the handler is flushed or closed (``logging.shutdown`` at exit; ``serving`` flushes before uvicorn
re-raises SIGTERM), so no line is lost when the server stops.
"""

from __future__ import annotations

import json
import logging
import math
import os
import random
import re
import sys
import threading
import time
import traceback
import weakref
from collections import deque
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import IO, Any

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


FLUSH_SECONDS = 0.05  # how long a request line may wait in the queue before it is written
IDLE_SECONDS = 1.0  # how long the writer sleeps once it found nothing to write (woken by the next line)
MAX_BACKLOG = 50_000  # lines; beyond this the writer cannot keep up and the emitting thread writes
_BATCH = 512  # lines per write: the writer thread gives the GIL back between batches
_LAYOUTS = 4096  # request lines' cached parts (method, path, status), cleared when full


def _timestamp_parts(created: float) -> tuple[int, int]:
    """Whole seconds and microseconds, rounded as ``datetime.fromtimestamp`` rounds them."""
    frac, whole = math.modf(created)
    micros = round(frac * 1e6)
    seconds = int(whole)
    if micros >= 1_000_000:
        seconds, micros = seconds + 1, micros - 1_000_000
    elif micros < 0:
        seconds, micros = seconds - 1, micros + 1_000_000
    return seconds, micros


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def _query_keys(query: bytes) -> list[str]:
    """The query string's parameter names, sorted: its values (a search term, a code) can be personal."""
    text = query.decode("latin-1")
    return sorted({part.split("=", 1)[0] for part in text.split("&") if part})


class JsonHandler(logging.StreamHandler):
    """JSON lines to a stream (stderr by default), written by a thread of its own in batches.

    ``emit`` formats an ordinary record where it is logged (its arguments and the request id are
    those of that moment) and queues the line; :meth:`access` queues a request line's raw values, which
    the writer thread formats. Records from WARNING up are written before ``emit`` returns (with every
    line queued before them), and so is everything once the handler is closed.
    """

    def __init__(self, stream: IO[str] | None = None, *, interval: float = FLUSH_SECONDS) -> None:
        super().__init__(stream)
        self.setFormatter(JsonFormatter())
        self.interval = interval
        self._queue: deque[str | tuple[Any, ...]] = deque()
        self._writing = threading.Lock()  # one writer at a time, so lines keep their order
        self._wake = threading.Event()
        self._idle = False  # the writer found nothing last time and sleeps until woken
        self._closed = False
        self._layouts: dict[tuple[str, str, int], tuple[str, str]] = {}
        self._second = (-1, "")
        self._thread: threading.Thread | None = None
        self._start()
        _HANDLERS.add(self)

    def _start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="citizenvoice-log-writer", daemon=True)
        self._thread.start()

    # -- queueing -----------------------------------------------------------------------------------

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
        except Exception:
            self.handleError(record)
            return
        # A warning is for an operator reading along (a missing base URL, a failed refresh): at once.
        self._put(line, urgent=record.levelno >= logging.WARNING)

    def access(self, created: float, request_id: str, method: str, path: str, query: bytes, status: int,
               seconds: float) -> None:  # fmt: skip
        """Queue the line RequestLogMiddleware writes for a finished request (formatted by the writer)."""
        self._put((created, request_id, method, path, query, status, seconds), urgent=status >= 500)

    def _put(self, item: str | tuple[Any, ...], *, urgent: bool) -> None:
        self._queue.append(item)
        if urgent or self._closed or len(self._queue) > MAX_BACKLOG:
            self._drain()
        elif self._idle:
            self._idle = False
            self._wake.set()

    # -- writing ------------------------------------------------------------------------------------

    def _run(self) -> None:
        idle = False
        while not self._closed:
            # Every `interval` while lines come in; after an empty round, until the next line (a line
            # queued just as the writer falls idle waits IDLE_SECONDS at most).
            self._wake.wait(max(IDLE_SECONDS, self.interval) if idle else self.interval)
            self._wake.clear()
            idle = not self._queue
            self._idle = idle
            if not idle:
                self._drain()

    def _drain(self) -> None:
        """Write everything queued so far, in order, a batch per write."""
        queue = self._queue
        with self._writing:
            while queue:
                lines = []
                try:
                    while len(lines) < _BATCH:
                        item = queue.popleft()
                        lines.append(item if isinstance(item, str) else self._access_line(*item))
                except IndexError:
                    pass  # drained
                except Exception:
                    self._failed()
                self._write(lines)

    def _write(self, lines: list[str]) -> None:
        if not lines:
            return
        try:
            self.stream.write(self.terminator.join(lines) + self.terminator)
            self.stream.flush()
        except Exception:
            self._failed()

    @staticmethod
    def _failed() -> None:
        # As logging.Handler.handleError does: say so on stderr, never raise into the app.
        if logging.raiseExceptions and sys.stderr:
            traceback.print_exc(file=sys.stderr)

    def flush(self) -> None:
        """Write every queued line now (what ``logging.shutdown`` calls at exit)."""
        self._drain()

    def close(self) -> None:
        self._closed = True
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread() and thread.is_alive():
            thread.join(timeout=5)
        self._drain()
        _HANDLERS.discard(self)
        super().close()

    def _after_fork(self) -> None:
        # The child has its parent's queue (the parent writes those lines) but not its thread.
        self._queue.clear()
        self._writing = threading.Lock()
        self._wake = threading.Event()
        self._idle = False
        if not self._closed:
            self._start()

    # -- the request line ---------------------------------------------------------------------------

    def _access_line(self, created: float, request_id: str, method: str, path: str, query: bytes, status: int,
                     seconds: float) -> str:  # fmt: skip
        """What JsonFormatter writes for RequestLogMiddleware's record, built from cached parts."""
        layout = self._layouts.get((method, path, status))
        if layout is None:
            layout = self._layout(method, path, status)
        whole, micros = _timestamp_parts(created)
        second, prefix = self._second
        if whole != second:
            prefix = datetime.fromtimestamp(whole, UTC).strftime("%Y-%m-%dT%H:%M:%S")
            self._second = (whole, prefix)
        head, tail = layout
        # Letters and digits are what JSON never escapes: our own ids are hex, a proxy's may have "-".
        quoted = f'"{request_id}"' if request_id.isalnum() else _dumps(request_id)
        line = f'{{"ts": "{prefix}.{micros:06d}Z", {head}, "request_id": {quoted}, {tail}, "duration_ms": {round(seconds * 1000, 1)!r}'
        if query:
            keys = _query_keys(query)
            if keys:
                line += ', "query_keys": ' + _dumps([scrub(k)[:40] for k in keys])
        return line + "}"

    def _layout(self, method: str, path: str, status: int) -> tuple[str, str]:
        shown = safe_path(path)
        level = logging.getLevelName(logging.ERROR if status >= 500 else logging.INFO)
        head = (f'"level": {_dumps(level)}, "logger": {_dumps(access_log.name)},'
                f' "message": {_dumps(scrub(f"{method} {shown} {status}"))}')  # fmt: skip
        tail = f'"method": {_dumps(scrub(method))}, "path": {_dumps(scrub(shown))}, "status": {status}'
        if shown == path:  # a path with a token in it is not kept, not even in memory
            if len(self._layouts) >= _LAYOUTS:
                self._layouts.clear()
            self._layouts[method, path, status] = (head, tail)
        return head, tail


_HANDLERS: weakref.WeakSet[JsonHandler] = weakref.WeakSet()


def _reinit_after_fork() -> None:
    for handler in list(_HANDLERS):
        handler._after_fork()


os.register_at_fork(after_in_child=_reinit_after_fork)


def flush() -> None:
    """Write every line the JSON handlers still hold (before the process stops without ``atexit``)."""
    for handler in list(_HANDLERS):
        handler.flush()


# Libraries whose debug output carries request data verbatim (aiosqlite logs every SQL statement with
# its parameters: names, phone numbers, essay text). They speak only from WARNING up, whatever the level.
QUIET_LOGGERS = ("aiosqlite", "multipart", "python_multipart", "httpx", "httpcore", "PIL")


def configure_logging(level: str = "INFO", stream: IO[str] | None = None) -> logging.Handler:
    """Route every logger (ours, uvicorn's, libraries') through one JSON handler on the root logger."""
    handler = JsonHandler(stream or sys.stderr)
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h.formatter, JsonFormatter)]:
        root.removeHandler(old)
        old.close()  # writes what it still holds
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
            "stderr": {"class": "citizenvoice.web.logs.JsonHandler", "formatter": "json", "stream": "ext://sys.stderr"}
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
            if _INCOMING_ID.fullmatch(candidate):
                return candidate
    # 128 random bits as uuid4().hex has them, without its os.urandom call on every request: the id
    # only has to be unique, it grants nothing (random is seeded from os.urandom in every process).
    return f"{_random_bits(128):032x}"


_random_bits = random.getrandbits


def _access_handlers(level: int) -> tuple[list[JsonHandler], list[logging.Handler]] | None:
    """The handlers a ``citizenvoice.access`` record of ``level`` would reach, as ``Logger.callHandlers``
    finds them: JSON handlers (they take the request line's raw values, no LogRecord) and the others.
    None when a logger on the way filters records, or when there is no handler at all.
    """
    fast: list[JsonHandler] = []
    others: list[logging.Handler] = []
    logger: logging.Logger | None = access_log
    while logger is not None:
        if logger.filters:
            return None
        for handler in logger.handlers:
            if level < handler.level:
                continue
            if type(handler) is JsonHandler and not handler.filters and type(handler.formatter) is JsonFormatter:
                fast.append(handler)
            else:
                others.append(handler)
        if not logger.propagate:
            break
        logger = logger.parent
    return (fast, others) if fast or others else None


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
        id_header = (b"x-request-id", request_id.encode("latin-1"))

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                # Appended, not set: nothing inside sets it (the page cache does not store it).
                message["headers"] = [*message.get("headers", ()), id_header]
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
        handlers = _access_handlers(level)
        if handlers is not None:
            fast, others = handlers
            # The usual case: one JsonHandler, whose writer thread formats the line.
            for handler in fast:
                handler.access(time.time(), request_id, scope.get("method", ""), scope.get("path", ""),
                               scope.get("query_string", b""), status, seconds)  # fmt: skip
            if not others:
                return
        keys = _query_keys(scope.get("query_string", b""))
        fields: dict[str, Any] = {
            "method": scope.get("method", ""),
            "path": safe_path(scope.get("path", "")),
            "status": status,
            "duration_ms": round(seconds * 1000, 1),
        }
        if keys:
            fields["query_keys"] = [scrub(k)[:40] for k in keys]
        args = (fields["method"], fields["path"], status)
        extra = {"fields": fields, "request_id": request_id}
        if handlers is None:
            access_log.log(level, "%s %s %s", *args, extra=extra)
            return
        record = access_log.makeRecord(access_log.name, level, __file__, 0, "%s %s %s", args, None, extra=extra)
        for handler in handlers[1]:  # any other handler (pytest's caplog, say) gets an ordinary record
            handler.handle(record)
