"""Staff members' second factor: the TOTP key (``staff_two_factor``) and the hashed one-time recovery
codes (``staff_recovery_codes``)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import aiosqlite

from citizenvoice.store import fetch_all, fetch_one, fetch_value, utcnow


@dataclass(frozen=True)
class Enrolment:
    user_id: int
    secret: str
    last_counter: int
    enrolled_at: str
    recovery_codes_left: int


async def get(conn: aiosqlite.Connection, user_id: int) -> Enrolment | None:
    row = await fetch_one(
        conn,
        "SELECT user_id, secret, last_counter, enrolled_at,"
        " (SELECT count(*) FROM staff_recovery_codes c WHERE c.user_id = t.user_id) AS codes_left"
        " FROM staff_two_factor t WHERE user_id = ?",
        (user_id,),
    )
    if row is None:
        return None
    return Enrolment(row["user_id"], row["secret"], row["last_counter"], row["enrolled_at"], row["codes_left"])


async def is_enrolled(conn: aiosqlite.Connection, user_id: int) -> bool:
    return bool(await fetch_value(conn, "SELECT 1 FROM staff_two_factor WHERE user_id = ?", (user_id,)))


async def enrolled_user_ids(conn: aiosqlite.Connection) -> set[int]:
    return {row[0] for row in await fetch_all(conn, "SELECT user_id FROM staff_two_factor")}


async def enrol(
    conn: aiosqlite.Connection, user_id: int, secret: str, counter: int, code_hashes: Iterable[str]
) -> None:
    """Store a confirmed key (replacing any earlier one) and its recovery codes (replacing all old ones)."""
    await conn.execute(
        "INSERT INTO staff_two_factor (user_id, secret, last_counter, enrolled_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (user_id) DO UPDATE SET secret = excluded.secret, last_counter = excluded.last_counter,"
        " enrolled_at = excluded.enrolled_at",
        (user_id, secret, counter, utcnow()),
    )
    await replace_recovery_codes(conn, user_id, code_hashes)


async def replace_recovery_codes(conn: aiosqlite.Connection, user_id: int, code_hashes: Iterable[str]) -> None:
    await conn.execute("DELETE FROM staff_recovery_codes WHERE user_id = ?", (user_id,))
    await conn.executemany(
        "INSERT INTO staff_recovery_codes (code_hash, user_id) VALUES (?, ?)", [(h, user_id) for h in code_hashes]
    )


async def advance_counter(conn: aiosqlite.Connection, user_id: int, counter: int) -> bool:
    """Record ``counter`` as the last time step used, only if it is later than the one recorded: False
    means the code of that step (or a later one) was already accepted, so this one is a replay."""
    cur = await conn.execute(
        "UPDATE staff_two_factor SET last_counter = ? WHERE user_id = ? AND last_counter < ?",
        (counter, user_id, counter),
    )
    return cur.rowcount > 0


async def use_recovery_code(conn: aiosqlite.Connection, user_id: int, code_hash: str) -> bool:
    """Spend one recovery code: True if it was one of the user's unused codes (it is gone now)."""
    cur = await conn.execute(
        "DELETE FROM staff_recovery_codes WHERE code_hash = ? AND user_id = ?", (code_hash, user_id)
    )
    return cur.rowcount > 0


async def remove(conn: aiosqlite.Connection, user_id: int) -> bool:
    """Remove the key and every recovery code; True if the user had a second factor."""
    await conn.execute("DELETE FROM staff_recovery_codes WHERE user_id = ?", (user_id,))
    cur = await conn.execute("DELETE FROM staff_two_factor WHERE user_id = ?", (user_id,))
    return cur.rowcount > 0
