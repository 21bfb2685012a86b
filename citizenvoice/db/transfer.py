"""Copying a SQLite database into an empty, migrated PostgreSQL one, table by table (the mechanics of
``citizenvoice migrate-to-postgres``; ops/moving.py is the command).

The source is a snapshot file (SQLite's backup API: one consistent read), so a live site can be
copied while it serves. Every table PostgreSQL's schema has is copied with the columns both sides
have, in one transaction; the identity sequences are then set past the copied ids, and every table's
row count and checksum are compared between the snapshot and what PostgreSQL now holds.

A large site is millions of rows, so nothing is held whole: each table streams from a SQLite cursor
into one COPY, and the checksums are folded in as the rows pass. Inside the transaction the tables'
indexes, keys and foreign keys are dropped before the COPY and recreated from the catalogue's own
definitions after it (a bulk build sorts once, where row-by-row maintenance of a GIN index over every
essay's grams costs milliseconds a row; a foreign key is checked by one join instead of one look-up a
row), and the tables' own triggers are off while they fill. PostgreSQL's DDL is transactional: if any
step fails, the drops roll back with the rows, and the target is as the migrations left it.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg

from citizenvoice.db import dialect

# Rows the migrations themselves insert (boards, reasons, word lists, versions, targets, the message
# sender's lease row that a host's sender may already hold): the copy replaces them with the site's
# own. Any other row in the target means it is not empty.
SEEDED = frozenset({
    "directions", "leases", "list_versions", "rejection_reasons", "screening_words", "voice_targets",
})
SKIPPED = frozenset({"schema_migrations"})
BATCH = 5_000  # rows read from SQLite at a time, and fetched back from PostgreSQL at a time
# Builds of the indexes, once the rows are in; this transaction only (SET LOCAL).
MAINTENANCE_WORK_MEM = "512MB"

# Columns PostgreSQL has and SQLite does not, computed from each row's shared columns (by name) as it
# is copied: {table: derive(row) -> {column: value}}. ops/moving.py passes the search index's.
Derived = Mapping[str, Callable[[Mapping[str, Any]], Mapping[str, Any]]]


class TransferError(RuntimeError):
    pass


class CopyFailed(TransferError):
    """PostgreSQL refused a row or a rebuilt index or key; the transaction rolled back."""


@dataclass(frozen=True)
class TableReport:
    table: str
    source_rows: int
    target_rows: int
    checksum_ok: bool


class _Checksum:
    """An order-independent checksum: the count and the sum (mod 2**256) of every row's SHA-256.

    Neither side needs to sort or hold its rows; a changed, missing or extra row changes the sum.
    """

    def __init__(self) -> None:
        self.rows, self.total = 0, 0

    def add(self, row: tuple[Any, ...]) -> None:
        self.rows += 1
        self.total = (self.total + int.from_bytes(hashlib.sha256(repr(row).encode()).digest(), "big")) % 2**256


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


async def non_empty_tables(conn: asyncpg.Connection) -> list[str]:
    found = []
    for table in await _tables_in_order(conn):
        if table in SEEDED:
            continue
        if await conn.fetchval(f'SELECT EXISTS (SELECT 1 FROM "{table}")'):  # noqa: S608
            found.append(table)
    return found


async def copy(snapshot: Path, conn: asyncpg.Connection, derived: Derived | None = None) -> list[TableReport]:
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
        try:
            async with conn.transaction():
                return await _copy_tables(src, conn, tables, derived or {})
        except asyncpg.PostgresError as exc:
            raise CopyFailed(f"{type(exc).__name__}: {exc}") from exc
    finally:
        src.close()


async def _copy_tables(src: sqlite3.Connection, conn: asyncpg.Connection, tables: list[str],
                       derived: Derived) -> list[TableReport]:  # fmt: skip
    await conn.execute(f"SET LOCAL maintenance_work_mem = '{MAINTENANCE_WORK_MEM}'")
    # The triggers keep derived state (the public content's version) and guard history against
    # edits; the copy brings the derived state along as it is and edits nothing.
    for table in tables:
        await conn.execute(f'ALTER TABLE "{table}" DISABLE TRIGGER USER')
    for table in reversed(tables):
        if table in SEEDED:
            await conn.execute(f'DELETE FROM "{table}"')  # noqa: S608
    rebuild = await _drop_indexes(conn, tables)
    reports = [await _copy_table(src, conn, table, derived.get(table)) for table in tables]
    for statement in rebuild:
        await conn.execute(statement)
    for table in tables:
        await conn.execute(f'ALTER TABLE "{table}" ENABLE TRIGGER USER')
    await _reset_sequences(conn, tables)
    return reports


async def _drop_indexes(conn: asyncpg.Connection, tables: list[str]) -> list[str]:
    """Drop the tables' foreign keys, keys and indexes; return the statements that recreate them.

    Read from the catalogue, so whatever a migration adds is rebuilt as that migration defined it:
    keys and plain indexes first, foreign keys (which need their parents' keys) last.
    """
    foreign = await conn.fetch(
        "SELECT c.conrelid::regclass::text AS tbl, c.conname, pg_get_constraintdef(c.oid) AS def"
        " FROM pg_constraint c WHERE c.contype = 'f' AND c.connamespace = current_schema()::regnamespace"
        " AND (c.conrelid::regclass::text = ANY($1::text[]) OR c.confrelid::regclass::text = ANY($1::text[]))"
        " ORDER BY c.conrelid::regclass::text, c.conname", tables)  # fmt: skip
    keys = await conn.fetch(
        "SELECT c.conrelid::regclass::text AS tbl, c.conname, pg_get_constraintdef(c.oid) AS def"
        " FROM pg_constraint c WHERE c.contype IN ('p', 'u', 'x') AND c.conindid <> 0"
        " AND c.connamespace = current_schema()::regnamespace AND c.conrelid::regclass::text = ANY($1::text[])"
        " ORDER BY c.conrelid::regclass::text, c.conname", tables)  # fmt: skip
    indexes = await conn.fetch(
        "SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS def FROM pg_index i"
        " JOIN pg_class t ON t.oid = i.indrelid WHERE t.relnamespace = current_schema()::regnamespace"
        " AND t.relname = ANY($1::text[]) AND NOT EXISTS (SELECT 1 FROM pg_constraint c"
        " WHERE c.conindid = i.indexrelid AND c.contype IN ('p', 'u', 'x'))"
        " ORDER BY 1", tables)  # fmt: skip
    for r in foreign:
        await conn.execute(f'ALTER TABLE {r["tbl"]} DROP CONSTRAINT "{r["conname"]}"')
    for r in keys:
        await conn.execute(f'ALTER TABLE {r["tbl"]} DROP CONSTRAINT "{r["conname"]}"')
    for r in indexes:
        await conn.execute(f"DROP INDEX {r['name']}")
    return [
        *(f'ALTER TABLE {r["tbl"]} ADD CONSTRAINT "{r["conname"]}" {r["def"]}' for r in keys),
        *(r["def"] for r in indexes),
        *(f'ALTER TABLE {r["tbl"]} ADD CONSTRAINT "{r["conname"]}" {r["def"]}' for r in foreign),
    ]


async def _copy_table(src: sqlite3.Connection, conn: asyncpg.Connection, table: str,
                      derive: Callable[[Mapping[str, Any]], Mapping[str, Any]] | None) -> TableReport:  # fmt: skip
    target = await _columns(conn, table)
    source = _sqlite_columns(src, table)
    if source is None:
        return TableReport(table, 0, int(await conn.fetchval(f'SELECT count(*) FROM "{table}"')), True)  # noqa: S608
    shared = [c for c in source if c in target]
    types = [target[c] for c in shared]
    quoted = ", ".join(f'"{c}"' for c in shared)
    cursor = src.execute(f'SELECT {quoted} FROM "{table}"')  # noqa: S608
    first = cursor.fetchmany(BATCH)
    extra = [c for c in derive(dict(zip(shared, first[0], strict=True))) if c in target] if derive and first else []
    sent = _Checksum()

    async def records() -> AsyncIterator[tuple[Any, ...]]:
        batch = first
        while batch:
            for r in batch:
                row = tuple(dialect._coerce(v, t) for v, t in zip(r, types, strict=True))
                sent.add(row)
                if extra:
                    values = derive(dict(zip(shared, row, strict=True)))  # type: ignore[misc]
                    yield (*row, *(values[c] for c in extra))
                else:
                    yield row
            batch = cursor.fetchmany(BATCH)

    if first:
        await conn.copy_records_to_table(table, records=records(), columns=shared + extra)
    back = _Checksum()
    async for r in conn.cursor(f'SELECT {quoted} FROM "{table}"', prefetch=BATCH):  # noqa: S608
        back.add(tuple(dialect._number(v) for v in r))
    return TableReport(table, sent.rows, back.rows, sent.total == back.total)


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
