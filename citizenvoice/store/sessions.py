"""Staff sessions, kept server-side (``staff_sessions``): the cookie holds only a random id."""

from __future__ import annotations

from dataclasses import dataclass

import aiosqlite

from citizenvoice.store import fetch_all, fetch_one, insert


@dataclass(frozen=True)
class StaffSession:
    id: int
    user_id: int
    created_at: float
    last_seen_at: float
    address: str
    user_agent: str


_COLUMNS = "id, user_id, created_at, last_seen_at, address, user_agent"


def _session(row: aiosqlite.Row) -> StaffSession:
    return StaffSession(row["id"], row["user_id"], row["created_at"], row["last_seen_at"], row["address"],
                        row["user_agent"])  # fmt: skip


async def create(
    conn: aiosqlite.Connection, id_hash: str, user_id: int, *, at: float, address: str, user_agent: str
) -> int:
    return await insert(
        conn,
        "INSERT INTO staff_sessions (id_hash, user_id, created_at, last_seen_at, address, user_agent)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (id_hash, user_id, at, at, address[:64], user_agent[:80]),
    )


async def get(conn: aiosqlite.Connection, id_hash: str) -> tuple[StaffSession, str] | None:
    """The session with this id hash, and its own hash back (so callers need not keep both)."""
    row = await fetch_one(conn, f"SELECT {_COLUMNS} FROM staff_sessions WHERE id_hash = ?", (id_hash,))  # noqa: S608
    return (_session(row), id_hash) if row else None


async def list_for_user(conn: aiosqlite.Connection, user_id: int) -> list[StaffSession]:
    rows = await fetch_all(
        conn,
        f"SELECT {_COLUMNS} FROM staff_sessions WHERE user_id = ? ORDER BY last_seen_at DESC, id DESC",  # noqa: S608
        (user_id,),
    )
    return [_session(r) for r in rows]


async def touch(conn: aiosqlite.Connection, session_id: int, at: float) -> None:
    await conn.execute("UPDATE staff_sessions SET last_seen_at = ? WHERE id = ?", (at, session_id))


async def end(conn: aiosqlite.Connection, session_id: int, *, user_id: int | None = None) -> bool:
    """End one session (only if it is ``user_id``'s, when given); True if one was ended."""
    if user_id is None:
        cur = await conn.execute("DELETE FROM staff_sessions WHERE id = ?", (session_id,))
    else:
        cur = await conn.execute("DELETE FROM staff_sessions WHERE id = ? AND user_id = ?", (session_id, user_id))
    return cur.rowcount > 0


async def end_all(conn: aiosqlite.Connection, user_id: int) -> int:
    cur = await conn.execute("DELETE FROM staff_sessions WHERE user_id = ?", (user_id,))
    return cur.rowcount


async def end_expired(conn: aiosqlite.Connection, *, idle_before: float, created_before: float) -> int:
    cur = await conn.execute(
        "DELETE FROM staff_sessions WHERE last_seen_at < ? OR created_at < ?", (idle_before, created_before)
    )
    return cur.rowcount


async def end_others(conn: aiosqlite.Connection, user_id: int, keep_id: int | None) -> int:
    """End every session of the user except ``keep_id`` (the one making the request)."""
    cur = await conn.execute("DELETE FROM staff_sessions WHERE user_id = ? AND id IS DISTINCT FROM ?", (user_id, keep_id))
    return cur.rowcount
