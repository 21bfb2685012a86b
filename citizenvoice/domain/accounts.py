"""Staff accounts: password hashing and checking credentials, with login throttling.

The session that remembers who is signed in is HTTP plumbing: :mod:`citizenvoice.web.sessions`.
"""

from __future__ import annotations

import secrets
import time

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from citizenvoice.model.staff import ROLE_LABELS, ROLES, User  # noqa: F401  (re-exported)
from citizenvoice.store import users as user_store
from citizenvoice.text.normalize import normalize_line

MIN_PASSWORD_LENGTH = 10
THROTTLE_WINDOW = 15 * 60
THROTTLE_LIMIT = 5
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
