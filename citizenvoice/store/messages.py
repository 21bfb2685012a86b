"""The message outbox, the sender's lease, and phone verification codes.

Portable SQL only (``?`` placeholders, ``ON CONFLICT … DO NOTHING``, ISO timestamps passed in), so the
PostgreSQL backend runs the same statements.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from citizenvoice.store import fetch_all, fetch_one, fetch_value


@dataclass(frozen=True)
class Message:
    id: int
    idempotency_key: str
    channel: str
    recipient: str
    template: str
    params: dict[str, Any]
    essay_id: int | None
    status: str
    attempts: int
    next_attempt_at: str
    last_error: str
    provider_id: str
    created_at: str
    sent_at: str | None


_COLUMNS = ("id, idempotency_key, channel, recipient, template, params, essay_id, status, attempts,"
            " next_attempt_at, last_error, provider_id, created_at, sent_at")


def _message(row: Any) -> Message:
    values = dict(zip(_COLUMNS.replace(" ", "").split(","), tuple(row), strict=True))
    values["params"] = json.loads(values["params"])
    return Message(**values)


async def enqueue(conn: Any, *, key: str, channel: str, recipient: str, template: str, params: dict[str, Any],
                  essay_id: int | None, at: str) -> bool:
    """Queue one message; False (and nothing written) when a message with this key already exists."""
    cursor = await conn.execute(
        "INSERT INTO messages (idempotency_key, channel, recipient, template, params, essay_id, status,"
        " next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, ?, 'queued', ?, ?)"
        " ON CONFLICT (idempotency_key) DO NOTHING",
        (key, channel, recipient, template, json.dumps(params, ensure_ascii=False), essay_id, at, at),
    )
    return cursor.rowcount == 1


async def due(conn: Any, now: str, limit: int) -> list[Message]:
    rows = await fetch_all(
        conn,
        f"SELECT {_COLUMNS} FROM messages WHERE status = 'queued' AND next_attempt_at <= ? ORDER BY id LIMIT ?",
        (now, limit),
    )
    return [_message(r) for r in rows]


async def claim(conn: Any, message_id: int, attempts: int, retry_at: str) -> bool:
    """Count an attempt and push the message ahead to ``retry_at`` before it is sent: a sender killed
    mid-send leaves it queued, due again then (at least once)."""
    cursor = await conn.execute(
        "UPDATE messages SET attempts = ?, next_attempt_at = ? WHERE id = ? AND status = 'queued' AND attempts = ?",
        (attempts + 1, retry_at, message_id, attempts),
    )
    return cursor.rowcount == 1


async def mark_sent(conn: Any, message_id: int, *, at: str, provider_id: str, params: dict[str, Any]) -> None:
    await conn.execute(
        "UPDATE messages SET status = 'sent', sent_at = ?, provider_id = ?, last_error = '', params = ?"
        " WHERE id = ?",
        (at, provider_id[:200], json.dumps(params, ensure_ascii=False), message_id),
    )


async def mark_error(conn: Any, message_id: int, *, error: str, failed: bool) -> None:
    await conn.execute(
        "UPDATE messages SET last_error = ?, status = ? WHERE id = ? AND status = 'queued'",
        (error[:500], "failed" if failed else "queued", message_id),
    )


async def retry(conn: Any, message_id: int, now: str) -> bool:
    cursor = await conn.execute(
        "UPDATE messages SET status = 'queued', attempts = 0, next_attempt_at = ? WHERE id = ? AND status <> 'sent'",
        (now, message_id),
    )
    return cursor.rowcount == 1


async def get(conn: Any, message_id: int) -> Message | None:
    row = await fetch_one(conn, f"SELECT {_COLUMNS} FROM messages WHERE id = ?", (message_id,))
    return _message(row) if row else None


async def recent(conn: Any, status: str | None, limit: int = 200) -> list[Message]:
    if status:
        rows = await fetch_all(conn, f"SELECT {_COLUMNS} FROM messages WHERE status = ? ORDER BY id DESC LIMIT ?",
                               (status, limit))
    else:
        rows = await fetch_all(conn, f"SELECT {_COLUMNS} FROM messages ORDER BY id DESC LIMIT ?", (limit,))
    return [_message(r) for r in rows]


async def counts(conn: Any) -> dict[str, int]:
    rows = await fetch_all(conn, "SELECT status, count(*) FROM messages GROUP BY status")
    return {"queued": 0, "sent": 0, "failed": 0, **{r[0]: int(r[1]) for r in rows}}


async def sent_since(conn: Any, since: str) -> int:
    return int(await fetch_value(conn, "SELECT count(*) FROM messages WHERE sent_at >= ?", (since,)) or 0)


async def for_essay(conn: Any, essay_id: int) -> list[Message]:
    rows = await fetch_all(conn, f"SELECT {_COLUMNS} FROM messages WHERE essay_id = ? ORDER BY id", (essay_id,))
    return [_message(r) for r in rows]


async def erase_for_essay(conn: Any, essay_id: int) -> int:
    """An erased essay's messages go with its personal data: the recipient and the params (a note,
    a headline) are the author's; a queued one is no longer wanted."""
    cursor = await conn.execute("DELETE FROM messages WHERE essay_id = ?", (essay_id,))
    return cursor.rowcount


async def delete_old(conn: Any, before: str) -> int:
    """Delivered or abandoned messages older than ``before`` (codes and lost links included)."""
    cursor = await conn.execute("DELETE FROM messages WHERE status <> 'queued' AND created_at < ?", (before,))
    return cursor.rowcount


# ---------------------------------------------------------------------------------------------------
# The lease


async def take_lease(conn: Any, name: str, holder: str, *, now: str, until: str) -> bool:
    """Claim or renew ``name`` for ``holder`` until ``until``; False while another holder's lease runs."""
    cursor = await conn.execute(
        "UPDATE leases SET holder = ?, expires_at = ? WHERE name = ? AND (holder = ? OR expires_at < ?)",
        (holder, until, name, holder, now),
    )
    return cursor.rowcount == 1


async def lease(conn: Any, name: str) -> tuple[str, str]:
    """(holder, expires_at) of the lease."""
    row = await fetch_one(conn, "SELECT holder, expires_at FROM leases WHERE name = ?", (name,))
    return (row[0], row[1]) if row else ("", "")


async def has_due(conn: Any, now: str) -> bool:
    row = await fetch_one(conn, "SELECT 1 FROM messages WHERE status = 'queued' AND next_attempt_at <= ? LIMIT 1",
                          (now,))
    return row is not None


async def release_lease(conn: Any, name: str, holder: str) -> None:
    await conn.execute("UPDATE leases SET holder = '', expires_at = '' WHERE name = ? AND holder = ?", (name, holder))


# ---------------------------------------------------------------------------------------------------
# Verification codes


@dataclass(frozen=True)
class PhoneCode:
    id: int
    code_hash: str
    created_at: str
    expires_at: str
    tries: int
    used: bool


async def add_code(conn: Any, phone_hash: str, code_hash: str, *, at: str, expires_at: str) -> None:
    await conn.execute(
        "INSERT INTO phone_codes (phone_hash, code_hash, created_at, expires_at) VALUES (?, ?, ?, ?)",
        (phone_hash, code_hash, at, expires_at),
    )


async def latest_code(conn: Any, phone_hash: str) -> PhoneCode | None:
    row = await fetch_one(
        conn,
        "SELECT id, code_hash, created_at, expires_at, tries, used FROM phone_codes WHERE phone_hash = ?"
        " ORDER BY created_at DESC, id DESC LIMIT 1",
        (phone_hash,),
    )
    return PhoneCode(row[0], row[1], row[2], row[3], int(row[4]), bool(row[5])) if row else None


async def count_try(conn: Any, code_id: int) -> None:
    await conn.execute("UPDATE phone_codes SET tries = tries + 1 WHERE id = ?", (code_id,))


async def use_code(conn: Any, code_id: int) -> bool:
    cursor = await conn.execute("UPDATE phone_codes SET used = 1 WHERE id = ? AND used = 0", (code_id,))
    return cursor.rowcount == 1


async def purge_codes(conn: Any, before: str) -> None:
    await conn.execute("DELETE FROM phone_codes WHERE expires_at < ?", (before,))
