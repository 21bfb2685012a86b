"""Copying a SQLite database into an empty, migrated PostgreSQL one, table by table (the mechanics of
``citizenvoice migrate-to-postgres``; ops/moving.py is the command).

The source is a snapshot file (SQLite's backup API: one consistent read), so a live site can be
copied while it serves. Every table PostgreSQL's schema has is copied with the columns both sides
have, parents before children (foreign keys stay enforced), in one transaction; the identity
sequences are then set past the copied ids, and every table's row count and checksum are compared
between the snapshot and what PostgreSQL now holds.
"""

from __future__ import annotations

import hashlib
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg

from citizenvoice.db import dialect

# Rows the migrations themselves insert (boards, reasons, word lists, versions, targets, the message
# sender's lease of 0016): the copy replaces them with the site's own. Any other row in the target means it is not empty.
SEEDED = frozenset({"directions", "leases", "list_versions", "rejection_reasons", "screening_words", "voice_targets"})
SKIPPED = frozenset({"schema_migrations"})
# Derived columns PostgreSQL has and SQLite does not; filled by the caller afterwards (search).
DERIVED = {"search_docs": {"folded_headline": "", "folded": ""}}


class TransferError(RuntimeError):
    pass


@dataclass(frozen=True)
class TableReport:
    table: str
    source_rows: int
    target_rows: int
    checksum_ok: bool


async def _tables_in_order(conn: asyncpg.Connection) -> list[str]:
    tables = [r[0] for r in await conn.fetch(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
        " AND table_type = 'BASE TABLE'")]  # fmt: skip
    parents: dict[str, set[str]] = {t: set() for t in tables}
    for child, parent in await conn.fetch(
        "SELECT c.conrelid::regclass::text, c.confrelid::regclass::text FROM pg_constraint c"
        " WHERE c.contype = 'f' AND c.connamespace = current_schema()::regnamespace"
    ):
        if child != parent and child in parents:
            parents[child].add(parent)
    ordered: list[str] = []
    while parents:
        ready = sorted(t for t, ps in parents.items() if not ps - set(ordered))
        if not ready:
            raise TransferError(f"foreign keys form a circle among: {', '.join(sorted(parents))}")
        ordered += ready
        for t in ready:
            del parents[t]
    return [t for t in ordered if t not in SKIPPED]


async def _columns(conn: asyncpg.Connection, table: str) -> dict[str, str]:
    rows = await conn.fetch(
        "SELECT column_name, udt_name FROM information_schema.columns"
        " WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position", table)  # fmt: skip
    return {r[0]: r[1] for r in rows}


def _sqlite_columns(src: sqlite3.Connection, table: str) -> list[str] | None:
    exists = src.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)).fetchone()
    if not exists:
        return None
    return [r[1] for r in src.execute(f'PRAGMA table_info("{table}")')]


def _checksum(rows: list[tuple[Any, ...]]) -> str:
    return hashlib.sha256(repr(sorted(rows, key=repr)).encode()).hexdigest()


async def non_empty_tables(conn: asyncpg.Connection) -> list[str]:
    found = []
    for table in await _tables_in_order(conn):
        if table in SEEDED:
            continue
        if await conn.fetchval(f'SELECT EXISTS (SELECT 1 FROM "{table}")'):  # noqa: S608
            found.append(table)
    return found


async def copy(snapshot: Path, conn: asyncpg.Connection) -> list[TableReport]:
    """Copy every table of ``snapshot`` into the migrated, empty database of ``conn``; one transaction."""
    src = sqlite3.connect(f"file:{snapshot}?mode=ro", uri=True)
    # COPY is binary in asyncpg, which has no binary codec for the citext extension's type; its binary
    # form is text's, the UTF-8 bytes.
    await conn.set_type_codec("citext", encoder=lambda s: s.encode(), decoder=lambda b: b.decode(),
                              schema="public", format="binary")
    try:
        busy = await non_empty_tables(conn)
        if busy:
            raise TransferError(f"the target database is not empty (rows in: {', '.join(busy)})")
        tables = await _tables_in_order(conn)
        reports = []
        async with conn.transaction():
            for table in reversed(tables):
                if table in SEEDED:
                    await conn.execute(f'ALTER TABLE "{table}" DISABLE TRIGGER USER')
                    await conn.execute(f'DELETE FROM "{table}"')  # noqa: S608
            for table in tables:
                reports.append(await _copy_table(src, conn, table))
            for table in tables:
                if table in SEEDED:
                    await conn.execute(f'ALTER TABLE "{table}" ENABLE TRIGGER USER')
            await _reset_sequences(conn, tables)
        return reports
    finally:
        src.close()


async def _copy_table(src: sqlite3.Connection, conn: asyncpg.Connection, table: str) -> TableReport:
    target = await _columns(conn, table)
    source = _sqlite_columns(src, table)
    if source is None:
        return TableReport(table, 0, int(await conn.fetchval(f'SELECT count(*) FROM "{table}"')), True)  # noqa: S608
    shared = [c for c in source if c in target]
    extra = DERIVED.get(table, {})
    names = shared + [c for c in extra if c in target]
    quoted = ", ".join(f'"{c}"' for c in shared)
    rows = [
        tuple(dialect._coerce(v, target[c]) for v, c in zip(r, shared, strict=True))
        for r in src.execute(f'SELECT {quoted} FROM "{table}"')  # noqa: S608
    ]
    if rows:
        await conn.copy_records_to_table(
            table, records=[(*r, *extra.values()) for r in rows], columns=names
        )
    back = [tuple(r) for r in await conn.fetch(f'SELECT {quoted} FROM "{table}"')]  # noqa: S608
    back = [tuple(dialect._number(v) for v in r) for r in back]
    return TableReport(table, len(rows), len(back), _checksum(rows) == _checksum(back))


async def _reset_sequences(conn: asyncpg.Connection, tables: list[str]) -> None:
    identity = {r[0] for r in await conn.fetch(
        "SELECT table_name FROM information_schema.columns WHERE table_schema = current_schema()"
        " AND column_name = 'id' AND is_identity = 'YES'")}  # fmt: skip
    for table in (t for t in tables if t in identity):
        sequence = await conn.fetchval("SELECT pg_get_serial_sequence($1, 'id')", table)
        if sequence:
            await conn.execute(
                f"SELECT setval($1, coalesce((SELECT max(id) FROM \"{table}\"), 0) + 1, false)",  # noqa: S608
                sequence,
            )
