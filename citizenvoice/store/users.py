"""Staff accounts, roles and failed logins."""

from __future__ import annotations

from dataclasses import dataclass

import aiosqlite

from citizenvoice.model.staff import User
from citizenvoice.store import fetch_all, fetch_one, fetch_value, insert

_USER_COLUMNS = (
    "u.id, u.username, u.display_name, u.disabled, u.session_epoch, u.password_hash,"
    " (SELECT group_concat(role) FROM user_roles r WHERE r.user_id = u.id) AS roles"
)


@dataclass(frozen=True)
class UserRecord:
    user: User
    password_hash: str


def _record(row: aiosqlite.Row) -> UserRecord:
    roles = frozenset(filter(None, (row["roles"] or "").split(",")))
    user = User(
        id=row["id"],
        username=row["username"],
        display_name=row["display_name"],
        roles=roles,
        disabled=bool(row["disabled"]),
        session_epoch=row["session_epoch"],
    )
    return UserRecord(user, row["password_hash"])


async def get_by_id(conn: aiosqlite.Connection, user_id: int) -> User | None:
    row = await fetch_one(conn, f"SELECT {_USER_COLUMNS} FROM users u WHERE u.id = ?", (user_id,))
    return _record(row).user if row else None


async def get_by_username(conn: aiosqlite.Connection, username: str) -> UserRecord | None:
    row = await fetch_one(conn, f"SELECT {_USER_COLUMNS} FROM users u WHERE u.username = ?", (username,))
    return _record(row) if row else None


async def list_users(conn: aiosqlite.Connection) -> list[User]:
    rows = await fetch_all(conn, f"SELECT {_USER_COLUMNS} FROM users u ORDER BY u.username")
    return [_record(r).user for r in rows]


async def create_user(
    conn: aiosqlite.Connection, username: str, password_hash: str, roles: set[str], display_name: str = ""
) -> int:
    user_id = await insert(
        conn,
        "INSERT INTO users (username, display_name, password_hash) VALUES (?, ?, ?)",
        (username, display_name, password_hash),
    )
    await set_roles(conn, user_id, roles)
    return user_id


async def set_roles(conn: aiosqlite.Connection, user_id: int, roles: set[str]) -> None:
    await conn.execute("DELETE FROM user_roles WHERE user_id = ?", (user_id,))
    await conn.executemany(
        "INSERT INTO user_roles (user_id, role) VALUES (?, ?)", [(user_id, r) for r in sorted(roles)]
    )


async def set_disabled(conn: aiosqlite.Connection, user_id: int, disabled: bool) -> None:
    # Every session the user has ends with it, in the same transaction.
    await conn.execute(
        "UPDATE users SET disabled = ?, session_epoch = session_epoch + 1 WHERE id = ?",
        (int(disabled), user_id),
    )
    await conn.execute("DELETE FROM staff_sessions WHERE user_id = ?", (user_id,))


async def set_password(conn: aiosqlite.Connection, user_id: int, password_hash: str) -> None:
    await conn.execute(
        "UPDATE users SET password_hash = ?, session_epoch = session_epoch + 1 WHERE id = ?",
        (password_hash, user_id),
    )
    await conn.execute("DELETE FROM staff_sessions WHERE user_id = ?", (user_id,))


@dataclass(frozen=True)
class RecentFailures:
    pair: int  # this account from this address
    address: int  # any account from this address
    account: int  # this account from any address


async def recent_failures(conn: aiosqlite.Connection, username: str, ip_hash: str, since: float) -> RecentFailures:
    """Failed logins since ``since``, counted three ways."""
    pair = await fetch_value(
        conn, "SELECT count(*) FROM login_failures WHERE username = ? AND ip_hash = ? AND created_at > ?",
        (username, ip_hash, since),
    )
    by_ip = await fetch_value(
        conn, "SELECT count(*) FROM login_failures WHERE ip_hash = ? AND created_at > ?", (ip_hash, since)
    )
    by_user = await fetch_value(
        conn, "SELECT count(*) FROM login_failures WHERE username = ? AND created_at > ?", (username, since)
    )
    return RecentFailures(pair or 0, by_ip or 0, by_user or 0)


async def record_failure(conn: aiosqlite.Connection, username: str, ip_hash: str, at: float) -> None:
    await conn.execute(
        "INSERT INTO login_failures (username, ip_hash, created_at) VALUES (?, ?, ?)", (username[:100], ip_hash, at)
    )
