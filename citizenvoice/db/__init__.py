"""The database: connections, the single writer, and the migrations runner.

``open_database(settings)`` gives what the app and commands hold: db/sqlite.py's ``Database`` on the
SQLite file, or db/postgres.py's when ``CITIZENVOICE_DATABASE_URL`` names PostgreSQL (both have
``write()``, ``write_at_once()``, ``read()``, ``is_healthy()`` and ``dialect``). ``migrate`` brings
either up to date. Everything above this layer imports from here, not from the modules.
"""

import sqlite3
from typing import Any

from citizenvoice.db.migrations import (
    MIGRATIONS_DIR,
    PG_MIGRATIONS_DIR,
    Migration,
    MigrationError,
    applied_versions,
    available_migrations,
    is_postgres,
    migrate,
    pending_migrations,
)
from citizenvoice.db.sqlite import (
    BATCH_MAX,
    BUSY_TIMEOUT_MS,
    LOCK_POLL_SECONDS,
    PRAGMAS,
    Database,
    InlineConnection,
    connect_sync,
    sync_connection,
)

# What the store raises on a violated constraint or an append-only trigger, on both backends.
IntegrityError = sqlite3.IntegrityError


def open_database(settings: Any, readers: int = 4) -> Any:
    """The backend the settings name (not yet opened: ``await db.open()``)."""
    if settings.database_url:
        from citizenvoice.db import postgres

        return postgres.Database(settings.database_url, readers=readers)
    return Database(settings.db_path, readers=readers)


async def serialize(conn: Any, *keys: str) -> None:
    """Make the rest of this write transaction run one at a time with every other write transaction that
    serialises on one of the same ``keys`` (a rate-limit bucket and key, an essay's claim, the first
    admin): what a read-then-write sequence needs. SQLite's writes are serial already (BEGIN IMMEDIATE),
    so there it does nothing; on PostgreSQL it takes advisory locks (db/postgres.py). Call it before the
    transaction's first read of what it depends on."""
    from citizenvoice.db import dialect

    if isinstance(conn, dialect.PgConnection):
        from citizenvoice.db import postgres

        await postgres.lock_keys(conn, keys)


def errors() -> tuple[type[BaseException], ...]:
    """Exceptions that mean "the database could not answer" on either backend."""
    found: tuple[type[BaseException], ...] = (sqlite3.Error,)
    try:
        import asyncpg

        from citizenvoice.db.postgres import CONNECTION_ERRORS
    except ImportError:  # pragma: no cover - asyncpg is a dependency
        return found
    return (*found, asyncpg.PostgresError, *CONNECTION_ERRORS)


def migrate_or_report(target: Any, log: Any) -> bool:
    """``migrate(target)``; on PostgreSQL an unreachable server is logged (a clear line naming the
    reason) instead of raised, so a host starts, /healthz answers 503 with the reason, and the pool
    connects once the server is back. Returns whether the migrations ran."""
    try:
        migrate(target)
    except (OSError, TimeoutError, *unavailable_errors()) as exc:
        if not is_postgres(target):
            raise
        log.error("PostgreSQL unreachable, migrations not checked (%s: %s); /healthz answers 503 until it"
                  " is back", type(exc).__name__, exc)
        return False
    return True


def unavailable_errors() -> tuple[type[BaseException], ...]:
    """Exceptions that mean "the database server cannot be reached" (PostgreSQL; SQLite is a file)."""
    try:
        from citizenvoice.db.postgres import CONNECTION_ERRORS
    except ImportError:  # pragma: no cover - asyncpg is a dependency
        return ()
    return CONNECTION_ERRORS


__all__ = [
    "IntegrityError", "serialize", "migrate_or_report", "unavailable_errors", "PG_MIGRATIONS_DIR", "errors", "is_postgres", "open_database",
    "BATCH_MAX", "BUSY_TIMEOUT_MS", "LOCK_POLL_SECONDS", "MIGRATIONS_DIR", "PRAGMAS", "Database",
    "InlineConnection", "Migration", "MigrationError", "applied_versions", "available_migrations",
    "connect_sync", "migrate", "pending_migrations", "sync_connection",
]
