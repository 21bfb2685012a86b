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


def errors() -> tuple[type[BaseException], ...]:
    """Exceptions that mean "the database could not answer" on either backend."""
    found: tuple[type[BaseException], ...] = (sqlite3.Error,)
    try:
        import asyncpg

        from citizenvoice.db.postgres import CONNECTION_ERRORS
    except ImportError:  # pragma: no cover - asyncpg is a dependency
        return found
    return (*found, asyncpg.PostgresError, *CONNECTION_ERRORS)


__all__ = [
    "IntegrityError", "PG_MIGRATIONS_DIR", "errors", "is_postgres", "open_database",
    "BATCH_MAX", "BUSY_TIMEOUT_MS", "LOCK_POLL_SECONDS", "MIGRATIONS_DIR", "PRAGMAS", "Database",
    "InlineConnection", "Migration", "MigrationError", "applied_versions", "available_migrations",
    "connect_sync", "migrate", "pending_migrations", "sync_connection",
]
