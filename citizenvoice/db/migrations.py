"""The migrations runner: numbered SQL files in migrations/, applied once each, in order, each in its own
transaction, and recorded in ``schema_migrations`` (the sqlite-utils pattern).

The target is a SQLite file (a Path) or a PostgreSQL URL (a str): PostgreSQL's versions of the same
numbers live in migrations/postgresql/ and are applied under an advisory lock, so two hosts migrating
at once apply each migration once.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from citizenvoice.db.sqlite import connect_sync

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"
PG_MIGRATIONS_DIR = MIGRATIONS_DIR / "postgresql"
_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


class MigrationError(RuntimeError):
    pass


@dataclass(frozen=True)
class Migration:
    version: str
    name: str
    sql: str


def available_migrations(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    found = []
    for path in sorted(directory.glob("*.sql")):
        match = _MIGRATION_NAME.match(path.name)
        if not match:
            raise MigrationError(f"migration file name not numbered: {path.name}")
        found.append(Migration(match.group(1), path.stem, path.read_text(encoding="utf-8")))
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise MigrationError("two migration files share a number")
    return found


def applied_versions(conn: sqlite3.Connection) -> set[str]:
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version TEXT PRIMARY KEY, name TEXT NOT NULL,"
        " applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')))"
    )
    return {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}


def is_postgres(target: Path | str) -> bool:
    return isinstance(target, str) and target.startswith(("postgresql://", "postgres://"))


def _run_blocking(coroutine_factory):  # type: ignore[no-untyped-def]
    """Run an async PostgreSQL job to its end from sync code, even when called on a running loop
    (the app's lifespan migrates synchronously, as it does on SQLite)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(coroutine_factory())).result()


def migrate(path: Path | str, directory: Path | None = None) -> list[str]:
    """Apply every migration not yet recorded, each in its own transaction. Returns names applied."""
    if is_postgres(path):
        return _run_blocking(lambda: _pg_migrate(str(path), directory or PG_MIGRATIONS_DIR))
    directory = directory or MIGRATIONS_DIR
    conn = connect_sync(path)
    applied: list[str] = []
    try:
        conn.execute("BEGIN IMMEDIATE")  # one migrating process at a time
        done = applied_versions(conn)
        conn.execute("COMMIT")
        for migration in available_migrations(directory):
            if migration.version in done:
                continue
            _apply(conn, migration)
            applied.append(migration.name)
    finally:
        conn.close()
    return applied


def _apply(conn: sqlite3.Connection, migration: Migration) -> None:
    # executescript would COMMIT on its own; wrapping the script keeps each migration atomic.
    script = (
        "BEGIN IMMEDIATE;\n"
        + migration.sql
        + "\n;INSERT INTO schema_migrations (version, name) VALUES ("
        + f"'{migration.version}', '{migration.name}');\nCOMMIT;"
    )
    try:
        if migration.version in applied_versions(conn):
            return  # another process applied it meanwhile
        conn.executescript(script)
    except sqlite3.Error as exc:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise MigrationError(f"{migration.name}: {exc}") from exc


def pending_migrations(path: Path | str, directory: Path | None = None) -> list[str]:
    if is_postgres(path):
        return _run_blocking(lambda: _pg_pending(str(path), directory or PG_MIGRATIONS_DIR))
    directory = directory or MIGRATIONS_DIR
    conn = connect_sync(path)
    try:
        done = applied_versions(conn)
    finally:
        conn.close()
    return [m.name for m in available_migrations(directory) if m.version not in done]


# ---------------------------------------------------------------------------------------------
# PostgreSQL

_PG_SCHEMA_MIGRATIONS = (
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version TEXT PRIMARY KEY, name TEXT NOT NULL,"
    " applied_at TEXT NOT NULL DEFAULT (to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')))"
)


async def _pg_applied(conn) -> set[str]:  # type: ignore[no-untyped-def]
    exists = await conn.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL")
    if not exists:
        return set()
    return {row[0] for row in await conn.fetch("SELECT version FROM schema_migrations")}


async def _pg_migrate(url: str, directory: Path) -> list[str]:
    from citizenvoice.db import postgres

    conn = await postgres.connect(url)
    applied: list[str] = []
    try:
        # Session-level: held across every migration's own transaction, released on close.
        await conn.execute("SELECT pg_advisory_lock($1)", postgres.MIGRATE_LOCK)
        await conn.execute(_PG_SCHEMA_MIGRATIONS)
        done = await _pg_applied(conn)
        for migration in available_migrations(directory):
            if migration.version in done:
                continue
            try:
                async with conn.transaction():
                    await conn.execute(migration.sql)
                    await conn.execute(
                        "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                        migration.version, migration.name,
                    )
            except Exception as exc:
                raise MigrationError(f"{migration.name}: {exc}") from exc
            applied.append(migration.name)
    finally:
        await conn.close()
    return applied


async def _pg_pending(url: str, directory: Path) -> list[str]:
    from citizenvoice.db import postgres

    conn = await postgres.connect(url)
    try:
        done = await _pg_applied(conn)
    finally:
        await conn.close()
    return [m.name for m in available_migrations(directory) if m.version not in done]
