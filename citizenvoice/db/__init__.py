"""The database: connections, the single writer, and the migrations runner.

``Database`` (db/sqlite.py) is what the app and commands hold; ``migrate`` (db/migrations.py) brings a
database file up to date. Everything above this layer imports from here, not from the modules.
"""

from citizenvoice.db.migrations import (
    MIGRATIONS_DIR,
    Migration,
    MigrationError,
    applied_versions,
    available_migrations,
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

__all__ = [
    "BATCH_MAX", "BUSY_TIMEOUT_MS", "LOCK_POLL_SECONDS", "MIGRATIONS_DIR", "PRAGMAS", "Database",
    "InlineConnection", "Migration", "MigrationError", "applied_versions", "available_migrations",
    "connect_sync", "migrate", "pending_migrations", "sync_connection",
]
