"""The signed-in staff member: the session cookie that remembers them, checked on every request."""

from __future__ import annotations

import secrets
import time

from starlette.requests import HTTPConnection

from citizenvoice.model.staff import User
from citizenvoice.store import users as user_store

IDLE_TIMEOUT = 8 * 3600
ABSOLUTE_TIMEOUT = 24 * 3600
USER_SCOPE_KEY = "citizenvoice.user"


def start_session(request: HTTPConnection, user: User) -> None:
    """A fresh session on login: nothing from the anonymous session survives."""
    now = int(time.time())
    request.session.clear()
    request.session.update(
        {"uid": user.id, "epoch": user.session_epoch, "sid": secrets.token_urlsafe(16), "iat": now, "seen": now}
    )


def end_session(request: HTTPConnection) -> None:
    request.session.clear()


async def current_user(request: HTTPConnection) -> User | None:
    """The signed-in staff member, checked against the database on every request."""
    if USER_SCOPE_KEY in request.scope:
        return request.scope[USER_SCOPE_KEY]
    user = await _load_session_user(request)
    request.scope[USER_SCOPE_KEY] = user
    return user


async def _load_session_user(request: HTTPConnection) -> User | None:
    if "session" not in request.scope:
        return None
    session = request.session
    uid = session.get("uid")
    if uid is None:
        return None
    now = int(time.time())
    if now - int(session.get("iat", 0)) > ABSOLUTE_TIMEOUT or now - int(session.get("seen", 0)) > IDLE_TIMEOUT:
        session.clear()
        return None
    async with request.app.state.db.read() as conn:
        user = await user_store.get_by_id(conn, int(uid))
    if user is None or user.disabled or user.session_epoch != session.get("epoch"):
        session.clear()
        return None
    if now - int(session.get("seen", 0)) > 60:  # refresh the idle clock without a new cookie per request
        session["seen"] = now
    return user
