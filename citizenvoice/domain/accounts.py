"""Staff users: password hashing, login throttling, and the session that says who is signed in."""

from __future__ import annotations

import secrets
import time

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from starlette.requests import HTTPConnection

from citizenvoice.model.staff import ROLE_LABELS, ROLES, User  # noqa: F401  (re-exported)
from citizenvoice.store import users as user_store
from citizenvoice.text.normalize import normalize_line

MIN_PASSWORD_LENGTH = 10
IDLE_TIMEOUT = 8 * 3600
ABSOLUTE_TIMEOUT = 24 * 3600
THROTTLE_WINDOW = 15 * 60
THROTTLE_LIMIT = 5
USER_SCOPE_KEY = "citizenvoice.user"
LOGIN_FAILED_MESSAGE = "用户名或密码不正确，或尝试次数过多，请稍后再试。"

_hasher = PasswordHasher()
# Verifying against this when the user does not exist keeps the response time the same.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


class PasswordTooShort(ValueError):
    pass


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise PasswordTooShort(f"密码至少需要 {MIN_PASSWORD_LENGTH} 个字符。")
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


async def authenticate(db, username: str, password: str, ip_hash: str) -> User | None:  # noqa: ANN001
    """The user for these credentials, or None; throttled per account and per IP, every failure recorded."""
    now = time.time()
    # Usernames are plain printable ASCII, so a name that normalisation changes (a NUL, a control or
    # bidi character) matches no account; only its normalised form is looked up and recorded, so the
    # failure log never stores invisible characters.
    typed, username = username, normalize_line(username)
    async with db.read() as conn:
        throttled = await user_store.recent_failures(conn, username, ip_hash, now - THROTTLE_WINDOW)
        record = await user_store.get_by_username(conn, username) if username == typed else None
    ok = (
        throttled < THROTTLE_LIMIT
        and verify_password(record.password_hash if record else None, password)
        and record is not None
        and not record.user.disabled
    )
    if ok and record is not None:
        return record.user
    async with db.write() as conn:
        await user_store.record_failure(conn, username, ip_hash, now)
    return None


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
