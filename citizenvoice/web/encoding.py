"""Accept-Encoding, read as RFC 9110 §12.5.3 says, q-values included.

Starlette's GZipMiddleware and the page cache both ask only whether "gzip" occurs in the header, so
``gzip;q=0`` ("anything but gzip") would still get gzip. This middleware rewrites the header, before
either sees it, to the one answer that matters here: ``gzip`` when the client accepts it (named with a
q-value above 0, or covered by ``*``), otherwise ``identity``.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send


def accepts_gzip(header: str) -> bool:
    """Whether an Accept-Encoding value admits gzip (``x-gzip`` is its registered alias)."""
    named: float | None = None
    wildcard: float | None = None
    for item in header.split(","):
        coding, _, params = item.strip().partition(";")
        coding = coding.strip().lower()
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value.strip())
                except ValueError:
                    q = 0.0  # a malformed weight is no consent
        if coding in {"gzip", "x-gzip"}:
            named = q if named is None else max(named, q)
        elif coding == "*":
            wildcard = q
    if named is not None:
        return named > 0
    return wildcard is not None and wildcard > 0


class AcceptEncodingMiddleware:
    """Pure ASGI; outermost, so the page cache and GZipMiddleware see the header already decided."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = scope["headers"]
            for index, (name, value) in enumerate(headers):
                if name == b"accept-encoding":
                    # The common header ("gzip, deflate, br") has no weights: nothing to rewrite.
                    if b";" in value or b"*" in value:
                        decided = b"gzip" if accepts_gzip(value.decode("latin-1")) else b"identity"
                        scope = dict(scope)
                        scope["headers"] = [*headers[:index], (name, decided), *headers[index + 1:]]
                    break
        await self.app(scope, receive, send)
