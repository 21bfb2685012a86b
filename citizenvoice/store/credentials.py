"""Credentials fetched from providers and shared by every worker and host (provider_credentials)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from citizenvoice.store import fetch_one


@dataclass(frozen=True)
class Credential:
    name: str
    value: str
    expires_at: str  # ISO-8601 UTC, '' when never fetched
    refreshing_until: str
    last_error: str


async def get(conn: Any, name: str) -> Credential | None:
    row = await fetch_one(
        conn,
        "SELECT name, value, expires_at, refreshing_until, last_error FROM provider_credentials WHERE name = ?",
        (name,),
    )
    return None if row is None else Credential(row[0], row[1], row[2], row[3], row[4])


async def claim_refresh(conn: Any, name: str, *, now: str, until: str) -> bool:
    """Take the refresh lease of ``name`` if nobody holds it (``refreshing_until`` passed): True for
    exactly one of any number of concurrent callers."""
    cursor = await conn.execute(
        "INSERT INTO provider_credentials (name, refreshing_until, updated_at) VALUES (?, ?, ?)"
        " ON CONFLICT (name) DO UPDATE SET refreshing_until = excluded.refreshing_until, last_error = '',"
        " updated_at = excluded.updated_at WHERE provider_credentials.refreshing_until < ?",
        (name, until, now, now),
    )
    return cursor.rowcount == 1


async def save(conn: Any, name: str, *, value: str, expires_at: str, now: str) -> None:
    """A fresh value: stored, the lease released and the last error cleared."""
    await conn.execute(
        "INSERT INTO provider_credentials (name, value, expires_at, updated_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (name) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at,"
        " refreshing_until = '', last_error = '', updated_at = excluded.updated_at",
        (name, value, expires_at, now),
    )


async def hold_after_failure(conn: Any, name: str, *, until: str, error: str, now: str) -> None:
    """The refresh failed: the lease is kept until ``until`` so the provider is not asked again at once,
    and the provider's reason is kept for the log and the operator."""
    await conn.execute(
        "UPDATE provider_credentials SET refreshing_until = ?, last_error = ?, updated_at = ? WHERE name = ?",
        (until, error[:500], now, name),
    )
