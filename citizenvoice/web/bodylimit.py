"""Request bodies are limited before they are read into memory (pure ASGI).

A declared Content-Length over the limit is refused before a byte of the body is read; a body without
one (chunked transfer) is counted as it streams in and cut off as soon as it passes the limit.

Starlette has the same check built in (``Starlette(max_body_size=…)``), but its middleware sits outside
every user middleware and the exception handlers: it answers in English plain text, without the
security headers, and the access log records the refusal as a 500. This one sits inside
SecurityHeadersMiddleware and answers with the Chinese 413 page of :mod:`citizenvoice.errors`.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from citizenvoice.web.errors import error_response


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` when a streamed body passes the limit. Raised inside a handler (while it
    reads the form), the app's HTTPException handler turns it into the 413 page like any other error."""

    def __init__(self) -> None:
        super().__init__(413)


def declared_length(scope: Scope) -> int | None:
    raw = Headers(scope=scope).get("content-length", "")
    return int(raw) if raw.isascii() and raw.isdigit() else None


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = declared_length(scope)
        if declared is not None and declared > self.max_bytes:
            await self._refuse(scope, receive, send)
            return

        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge()
            return message

        async def watching_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, watching_send)
        except BodyTooLarge:
            if started:  # too late for an error page; the server closes the connection
                raise
            await self._refuse(scope, receive, send)

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send) -> None:
        response = error_response(Request(scope), 413)
        # The rest of the body is never read, so the connection cannot carry another request.
        response.headers["connection"] = "close"
        await response(scope, receive, send)
