"""The first admin of a fresh install, created in the browser through a one-time link.

A fresh install has no staff account, and only an admin can add staff (at /admin/users). So while no
active admin exists, ``citizenvoice serve`` asks :func:`issue_token` for a token before its workers
start and prints the link ``/setup/<token>`` once (citizenvoice/ops/startup.py); the operator opens
it and creates the first admin, :func:`create_first_admin`. The link:

* works once, for 24 hours, and only while no active admin exists: after that every token is refused
  (the page answers 404), and a newer start's link replaces an older one;
* is kept as a SHA-256 hash only, so the database and its backups never hold a usable link;
* creates the account through the same checks as /admin/users (``administration.check_new_user``)
  and records the same ``user.add`` audit row, in the transaction that uses the token up.

``citizenvoice user add NAME --role admin`` stays the way to do the same from a shell.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import aiosqlite

from citizenvoice import db
from citizenvoice.domain import accounts, administration
from citizenvoice.store import admin as admin_store
from citizenvoice.store import setup as setup_store
from citizenvoice.store import users as user_store

TOKEN_LIFETIME = timedelta(hours=24)
SETUP_ACTOR = "首次设置链接"  # the audit trail's name for whoever followed the link (cf. "command line")
ROLES = frozenset({"admin"})
_LONGEST_TOKEN = 100  # ours are 43 characters; anything much longer is not worth hashing


class NotFound(LookupError):
    """The link is unknown, used, expired, or an admin exists already: all the same 404."""


@dataclass(frozen=True)
class FirstAdminForm:
    username: str
    display_name: str
    password: str
    password_again: str


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    """43 URL-safe random characters (256 bits), at least one of them a digit: the log scrubber
    (web/logs.py) masks long random strings that contain a digit, and that is what keeps the token
    out of the access-log line of a request for /setup/<token>."""
    while True:
        token = secrets.token_urlsafe(32)
        if any(c.isdigit() for c in token):
            return token


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


async def needs_first_admin(conn: aiosqlite.Connection) -> bool:
    return await admin_store.count_active_admins(conn) == 0


async def issue_token(conn: aiosqlite.Connection, *, now: datetime | None = None) -> str | None:
    """A new setup token while no active admin exists (None once one does); it replaces any earlier one.

    Runs inside the caller's write transaction. The token itself is returned once and never stored.
    """
    if not await needs_first_admin(conn):
        await setup_store.delete_tokens(conn)
        return None
    token = new_token()
    await setup_store.replace_token(conn, token_hash(token), _now(now) + TOKEN_LIFETIME)
    return token


async def token_usable(conn: aiosqlite.Connection, token: str, *, now: datetime | None = None) -> bool:
    if not token or len(token) > _LONGEST_TOKEN:
        return False
    return await needs_first_admin(conn) and await setup_store.token_valid(conn, token_hash(token), _now(now))


def _form_errors(form: FirstAdminForm, avoid: tuple[str, ...]) -> dict[str, str]:
    """The checks /admin/users makes for a new user, and that both password fields agree."""
    account = administration.UserForm(form.username, form.display_name, form.password, ROLES)
    errors: dict[str, str] = {}
    try:
        administration.check_new_user(account, avoid)
    except administration.Invalid as exc:
        errors.update(exc.errors)
    if "password" not in errors and form.password != form.password_again:
        errors["password_again"] = "两次输入的密码不一致，请重新输入。"
    return errors


async def create_first_admin(
    conn: aiosqlite.Connection, token: str, form: FirstAdminForm, *, avoid: tuple[str, ...] = (),
    now: datetime | None = None,
) -> int:
    """Create the first admin and use up every setup token, inside the caller's write transaction.

    Raises :class:`NotFound` when the token is not usable (checked first, in this same transaction, so
    two browsers racing with one link cannot both succeed), or ``administration.Invalid`` with a Chinese
    message per field. ``avoid``: the names a password must not be built on (the paper's, the site's).
    Returns the new user's id.
    """
    await db.serialize(conn, "first-admin")  # two browsers with one link: the second finds it used
    if not await token_usable(conn, token, now=now):
        raise NotFound
    errors = _form_errors(form, avoid)
    if not errors and await user_store.get_by_username(conn, form.username):
        errors["username"] = "这个用户名已被使用。"  # a moderator added from the shell, say
    if errors:
        raise administration.Invalid(errors)
    user_id = await user_store.create_user(
        conn, form.username, accounts.hash_password(form.password), set(ROLES), form.display_name
    )
    await setup_store.delete_tokens(conn)
    # The same row /admin/users and `citizenvoice user add` write; never the password or its hash.
    after = {"username": form.username, "display_name": form.display_name, "roles": sorted(ROLES)}
    await admin_store.record_audit(
        conn, actor_id=None, actor_name=SETUP_ACTOR, action="user.add", target=f"user:{form.username}",
        after=after,
    )  # fmt: skip
    return user_id
