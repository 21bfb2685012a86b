"""CSRF tokens, security headers, and the client's address.

CSRF uses a signed double submit: a random per-browser cookie, and a form token that is the HMAC of
that cookie under the app's secret. A page from another site can neither read the cookie nor compute
the HMAC, and anonymous residents need no server-side session for it.
"""

from __future__ import annotations

import hmac
import secrets

from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from citizenvoice.domain.keys import keyed_mac

CSRF_COOKIE = "cv_csrf"
CSRF_FIELD = "csrf_token"
_NEW_CSRF_KEY = "citizenvoice.csrf_new"
_CSRF_COOKIE_AGE = 365 * 24 * 3600
CSRF_FAILED_MESSAGE = "页面已过期或来源无法验证，请刷新页面后重新提交。"

_POLICY = [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
]
CONTENT_SECURITY_POLICY = "; ".join(_POLICY)


def csp_allowing_scripts(origins: tuple[str, ...]) -> str:
    """The site's policy with scripts also allowed from ``origins`` (WeChat's JS-SDK, inside WeChat only)."""
    extra = " ".join(origins)
    return "; ".join(f"{rule} {extra}" if rule == "script-src 'self'" else rule for rule in _POLICY)


def _session_binding(request: HTTPConnection) -> str:
    # A staff member's form tokens are bound to their session id, so a token seen before login, or by
    # the previous user of the same browser, is worth nothing once the session changes.
    session = request.scope.get("session") or {}
    session_id = session.get("sid") if isinstance(session, dict) else None
    return session_id if isinstance(session_id, str) else ""


def _expected(request: HTTPConnection, seed: str) -> str:
    return keyed_mac(request.app.state.secret_key, "csrf", f"{seed}|{_session_binding(request)}")


def csrf_token(request: HTTPConnection) -> str:
    """The token for forms on this page; issues the browser a CSRF cookie when it has none."""
    seed = request.scope.get(_NEW_CSRF_KEY) or request.cookies.get(CSRF_COOKIE)
    if not seed or len(seed) > 64:
        seed = secrets.token_urlsafe(32)
        request.scope[_NEW_CSRF_KEY] = seed
    return _expected(request, seed)


def rotate_csrf(request: HTTPConnection) -> None:
    """A new CSRF cookie with this response (at login and logout): the old seed's tokens stop working."""
    request.scope[_NEW_CSRF_KEY] = secrets.token_urlsafe(32)


def csrf_valid(request: HTTPConnection, submitted: object) -> bool:
    seed = request.cookies.get(CSRF_COOKIE)
    if not seed or not isinstance(submitted, str) or not submitted:
        return False
    return hmac.compare_digest(_expected(request, seed), submitted)


def client_ip(request: HTTPConnection) -> str:
    # Behind nginx, uvicorn's --proxy-headers (see docs/operations.md) puts the real address here.
    return request.client.host if request.client else "unknown"


SECURITY_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "referrer-policy": "strict-origin-when-cross-origin",
    "x-frame-options": "DENY",
    "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=()",
    "cross-origin-opener-policy": "same-origin",
}
HSTS = "max-age=31536000; includeSubDomains"


def add_security_headers(headers: MutableHeaders, *, https: bool) -> None:
    """The headers every response carries; a value a response set itself is kept.

    SecurityHeadersMiddleware applies this to everything the app answers. The 500 page is rendered by
    Starlette's ServerErrorMiddleware, outside every user middleware, so errors.server_error calls it
    directly: one list of values for both.
    """
    for name, value in SECURITY_HEADERS.items():
        headers.setdefault(name, value)
    if https:
        headers.setdefault("strict-transport-security", HSTS)


class SecurityHeadersMiddleware:
    """Adds the security headers to every response and sets a newly issued CSRF cookie."""

    def __init__(self, app: ASGIApp, *, https: bool) -> None:
        self.app = app
        self.https = https

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                add_security_headers(headers, https=self.https)
                seed = scope.get(_NEW_CSRF_KEY)
                if seed:
                    headers.append("set-cookie", self._csrf_cookie(seed))
                    headers["cache-control"] = "private, no-store"
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _csrf_cookie(self, seed: str) -> str:
        flags = f"{CSRF_COOKIE}={seed}; Path=/; Max-Age={_CSRF_COOKIE_AGE}; HttpOnly; SameSite=Lax"
        return flags + ("; Secure" if self.https else "")
