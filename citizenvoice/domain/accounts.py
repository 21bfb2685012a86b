"""Staff accounts: password hashing and checking credentials, with login throttling.

The session that remembers who is signed in is HTTP plumbing: :mod:`citizenvoice.web.sessions`.
"""

from __future__ import annotations

import secrets
import time

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from citizenvoice.model.staff import ROLE_LABELS, ROLES, User  # noqa: F401  (re-exported)
from citizenvoice.store import admin as admin_store
from citizenvoice.store import users as user_store
from citizenvoice.text.normalize import normalize_line

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 200
MIN_STRENGTH = 3  # zxcvbn's score, 0–4: 3 is "safely unguessable" (~10^10 guesses)
THROTTLE_WINDOW = 15 * 60
# Failed logins within THROTTLE_WINDOW before an address must wait: for one account from one address,
# and for all accounts from one address (higher: a newsroom shares one address behind its NAT).
THROTTLE_LIMIT = 5
ADDRESS_LIMIT = 30
# Failures of one account from anywhere that alert the admins (the audit trail) — but never lock the
# account: a stranger must not be able to keep its owner out (OWASP ASVS 6.3, NIST 800-63B).
ACCOUNT_ALERT = 20
LOGIN_FAILED_MESSAGE = "用户名或密码不正确，或尝试次数过多，请稍后再试。"

_hasher = PasswordHasher()
# Verifying against this when the user does not exist keeps the response time the same.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


class WeakPassword(ValueError):
    """A password the rules refuse; ``str(exc)`` says in Chinese what to change."""


def password_problem(password: str, *, username: str = "", avoid: tuple[str, ...] = ()) -> str | None:
    """What is wrong with a new staff password, in Chinese, or None when it may be used.

    The same rule for the command line, the admin form, one's own password change and the first-admin
    setup: at least 12 characters, not whitespace or one character repeated, not built on the username
    or the paper's or site's name (``avoid``), and not guessable — zxcvbn's score of at least 3, which
    knows common and breached passwords, keyboard runs, dates, repeats and l33t substitutions.
    """
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"密码至少需要 {MIN_PASSWORD_LENGTH} 个字符（现在是 {len(password)} 个）。可以用几个词连成一句话，更长也更好记。"
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"密码不能超过 {MAX_PASSWORD_LENGTH} 个字符。"
    if not password.strip():
        return "密码不能全是空格，请用文字、字母、数字或符号。"
    if len(set(password)) == 1:
        return "密码不能由同一个字符重复组成，请混用不同的词、数字或符号。"
    folded = password.casefold()
    if len(username) >= 3 and username.casefold() in folded:
        return "密码不能包含用户名，请换一个别人猜不到的。"
    for name in avoid:
        if len(name) >= 2 and name.casefold() in folded and len(folded.replace(name.casefold(), "")) < MIN_PASSWORD_LENGTH:
            return f"密码不能以「{name}」为主，这是别人最先会猜的词。"
    if _strength(password, [username, *avoid]) < MIN_STRENGTH:
        return "这个密码太常见或太容易被猜到（常用密码、键盘顺序、重复的词或日期）。请换一个更长、更少见的组合，例如几个不相干的词加上数字。"
    return None


def _strength(password: str, user_inputs: list[str]) -> int:
    # Imported on first use: its dictionaries cost ~90 ms and ~12 MB, which a worker that never sets a
    # password should not pay.
    from zxcvbn import zxcvbn

    return int(zxcvbn(password[:100], user_inputs=[u for u in user_inputs if u])["score"])


def check_password(password: str, *, username: str = "", avoid: tuple[str, ...] = ()) -> None:
    """WeakPassword with the Chinese reason, unless :func:`password_problem` finds nothing."""
    problem = password_problem(password, username=username, avoid=avoid)
    if problem:
        raise WeakPassword(problem)


def hash_password(password: str) -> str:
    """The argon2id hash to store; the caller has checked the password with :func:`check_password`."""
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


async def authenticate(db, username: str, password: str, ip_hash: str) -> User | None:  # noqa: ANN001
    """The user for these credentials, or None.

    An address that failed too often (for this account, or for any) waits THROTTLE_WINDOW; its
    attempts meanwhile are refused without being checked or counted, so they do not extend the wait.
    Failures are counted per account and address, so a stranger's guesses from elsewhere never stop the
    owner, who signs in from an address without recent failures. A correct password is never a failure.
    """
    now = time.time()
    # Usernames are plain printable ASCII, so a name that normalisation changes (a NUL, a control or
    # bidi character) matches no account; only its normalised form is looked up and recorded, so the
    # failure log never stores invisible characters.
    typed, username = username, normalize_line(username)
    async with db.read() as conn:
        failures = await user_store.recent_failures(conn, username, ip_hash, now - THROTTLE_WINDOW)
        record = await user_store.get_by_username(conn, username) if username == typed else None
    if failures.pair >= THROTTLE_LIMIT or failures.address >= ADDRESS_LIMIT:
        return None
    if verify_password(record.password_hash if record else None, password) and record is not None:
        return None if record.user.disabled else record.user
    async with db.write() as conn:
        await user_store.record_failure(conn, username, ip_hash, now)
        if record is not None and failures.account + 1 == ACCOUNT_ALERT:
            await admin_store.record_audit(
                conn, actor_id=None, actor_name="login throttle", action="login.many_failures",
                target=f"user:{record.user.username}",
                after={"failures": ACCOUNT_ALERT, "window_minutes": THROTTLE_WINDOW // 60},
            )  # fmt: skip
    return None


class PasswordChangeRefused(ValueError):
    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("password change refused")
        self.errors = errors


async def change_own_password(
    conn, user: User, current: str, new: str, again: str, *, avoid: tuple[str, ...] = ()  # noqa: ANN001
) -> None:
    """A staff member's own password change, in the caller's write transaction; every session of the
    user ends with it (store.users.set_password), audited. PasswordChangeRefused with errors by field."""
    record = await user_store.get_by_username(conn, user.username)
    errors: dict[str, str] = {}
    if record is None or not verify_password(record.password_hash, current):
        errors["current_password"] = "当前密码不正确。"
    elif problem := password_problem(new, username=user.username, avoid=avoid):
        errors["new_password"] = problem
    elif new != again:
        errors["new_password_again"] = "两次输入的新密码不一致，请重新输入。"
    elif new == current:
        errors["new_password"] = "新密码不能与当前密码相同。"
    if errors:
        raise PasswordChangeRefused(errors)
    await user_store.set_password(conn, user.id, hash_password(new))
    await admin_store.record_audit(conn, actor_id=user.id, actor_name=user.username, action="user.password",
                                   target=f"user:{user.username}", after={"sessions_ended": True, "own": True})
