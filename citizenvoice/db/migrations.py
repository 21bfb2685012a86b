"""The migrations runner: numbered SQL files in migrations/, applied once each, in order, each in its own
transaction, and recorded in ``schema_migrations`` (the sqlite-utils pattern)."""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from citizenvoice.db.sqlite import connect_sync

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"
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


def migrate(path: Path, directory: Path = MIGRATIONS_DIR) -> list[str]:
    """Apply every migration not yet recorded, each in its own transaction. Returns names applied."""
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


def pending_migrations(path: Path, directory: Path = MIGRATIONS_DIR) -> list[str]:
    conn = connect_sync(path)
    try:
        done = applied_versions(conn)
    finally:
        conn.close()
    return [m.name for m in available_migrations(directory) if m.version not in done]
