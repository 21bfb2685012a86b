"""The signed-in staff member: a server-side session, found from the id the session cookie carries.

The cookie (Starlette's signed session cookie) holds only ``{"sid": <random id>}``; the session itself
is a row of ``staff_sessions`` keyed by the id's SHA-256. So logout, a password or role change and
disabling end a session at once (the row is gone), ``/account/sessions`` can list and end them, and
the idle and absolute timeouts are checked against the row, not against what the browser sends.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time

from starlette.requests import HTTPConnection

from citizenvoice.domain.keys import keyed_hash
from citizenvoice.domain.ratelimit import address_key
from citizenvoice.model.staff import User
from citizenvoice.store import sessions as session_store
from citizenvoice.store import users as user_store
from citizenvoice.store.sessions import StaffSession
from citizenvoice.web.security import client_ip, rotate_csrf

IDLE_TIMEOUT = 8 * 3600
ABSOLUTE_TIMEOUT = 24 * 3600
SEEN_EVERY = 60  # seconds between writes of last_seen_at: the idle clock needs no write per request
USER_SCOPE_KEY = "citizenvoice.user"
SESSION_SCOPE_KEY = "citizenvoice.staff_session"


def login_address(request: HTTPConnection) -> str:
    """The client's address as the login throttle counts it (an IPv6 /64 as one address, like every
    other limit): a keyed hash, never the address itself."""
    return keyed_hash(request.app.state.secret_key, "login-ip", address_key(client_ip(request)))


def id_hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


async def start_session(request: HTTPConnection, user: User) -> None:
    """A fresh session on login: nothing from the anonymous session survives, not even its CSRF seed."""
    session_id = secrets.token_urlsafe(32)
    async with request.app.state.db.write() as conn:
        now = time.time()
        await session_store.end_expired(conn, idle_before=now - IDLE_TIMEOUT, created_before=now - ABSOLUTE_TIMEOUT)
        await session_store.create(conn, id_hash(session_id), user.id, at=now, address=client_ip(request),
                                   user_agent=user_agent_summary(request.headers.get("user-agent", "")))  # fmt: skip
    request.session.clear()
    request.session["sid"] = session_id
    request.scope[USER_SCOPE_KEY] = user
    rotate_csrf(request)


async def end_session(request: HTTPConnection) -> None:
    """Sign out: the row goes, so the cookie opens nothing even if a copy of it was kept."""
    session_id = request.session.get("sid") if "session" in request.scope else None
    if isinstance(session_id, str):
        async with request.app.state.db.write() as conn:
            found = await session_store.get(conn, id_hash(session_id))
            if found is not None:
                await session_store.end(conn, found[0].id)
    if "session" in request.scope:
        request.session.clear()
    request.scope[USER_SCOPE_KEY] = None
    rotate_csrf(request)


async def current_user(request: HTTPConnection) -> User | None:
    """The signed-in staff member, checked against the database on every request."""
    if USER_SCOPE_KEY in request.scope:
        return request.scope[USER_SCOPE_KEY]
    user = await _load_session_user(request)
    request.scope[USER_SCOPE_KEY] = user
    return user


def current_session(request: HTTPConnection) -> StaffSession | None:
    """The session row behind this request (after :func:`current_user`), to mark it on the sessions page."""
    return request.scope.get(SESSION_SCOPE_KEY)


async def _load_session_user(request: HTTPConnection) -> User | None:
    if "session" not in request.scope:
        return None
    session_id = request.session.get("sid")
    if not isinstance(session_id, str) or not 20 <= len(session_id) <= 100:
        if request.session:
            request.session.clear()
        return None
    now = time.time()
    async with request.app.state.db.read() as conn:
        found = await session_store.get(conn, id_hash(session_id))
        user = await user_store.get_by_id(conn, found[0].user_id) if found else None
    if found is None or user is None or user.disabled:
        request.session.clear()
        return None
    staff_session = found[0]
    if now - staff_session.created_at > ABSOLUTE_TIMEOUT or now - staff_session.last_seen_at > IDLE_TIMEOUT:
        async with request.app.state.db.write() as conn:
            await session_store.end(conn, staff_session.id)
        request.session.clear()
        return None
    if now - staff_session.last_seen_at > SEEN_EVERY:
        async with request.app.state.db.write() as conn:
            await session_store.touch(conn, staff_session.id, now)
    request.scope[SESSION_SCOPE_KEY] = staff_session
    return user


_BROWSERS = (
    ("MicroMessenger", "微信"), ("wxwork", "企业微信"), ("DingTalk", "钉钉"), ("Edg/", "Edge"),
    ("Firefox/", "Firefox"), ("Chrome/", "Chrome"), ("Safari/", "Safari"),
)  # fmt: skip
_SYSTEMS = (
    ("Android", "Android"), ("iPhone", "iPhone"), ("iPad", "iPad"), ("Windows", "Windows"),
    ("Mac OS X", "macOS"), ("Linux", "Linux"),
)  # fmt: skip


def user_agent_summary(header: str) -> str:
    """"微信 · Android" and the like: enough for a person to recognise a session, never the whole header."""
    browser = next((name for marker, name in _BROWSERS if marker in header), "")
    system = next((name for marker, name in _SYSTEMS if marker in header), "")
    summary = " · ".join(part for part in (browser, system) if part)
    return summary or re.sub(r"[^\w.\- ]", "", header)[:30] or "未知浏览器"
