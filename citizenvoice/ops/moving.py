"""``citizenvoice migrate-to-postgres --to URL [--from SQLITE_PATH]``: move a live SQLite site onto
PostgreSQL (docs/operations.md, "Moving from SQLite").

A consistent snapshot of the SQLite file (the backup API, while the site keeps serving) is copied table
by table into the PostgreSQL database, which is migrated first and must hold nothing but what the
migrations seed; sequences are set past the copied ids, the search index's folded text is computed
as its rows pass, and each table's row count and checksum are compared and printed. The photos stay
where they are: ``CITIZENVOICE_MEDIA_DIR`` keeps naming the same directory, and the rows name the
same files.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

from citizenvoice import db as database
from citizenvoice.db import postgres, transfer
from citizenvoice.ops.commands import command
from citizenvoice.ops.maintenance import snapshot_database
from citizenvoice.settings import Settings, _database_url
from citizenvoice.store import search


def _arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--to", required=True, metavar="URL", help="postgresql://user:password@host:port/dbname")
    p.add_argument("--from", dest="source", type=Path, default=None, metavar="SQLITE_PATH",
                   help="the SQLite file (default: the site's, CITIZENVOICE_DATABASE_PATH)")


async def move(snapshot: Path, url: str) -> list[transfer.TableReport]:
    """Copy the SQLite file ``snapshot`` into the empty, migrated database at ``url``."""
    conn = await postgres.connect(url, command_timeout=None)  # a large site's COPY takes minutes
    try:
        await postgres._load_id_tables(conn)
        return await transfer.copy(snapshot, conn, derived={"search_docs": search.folded_columns})
    finally:
        await conn.close()


@command("migrate-to-postgres", "copy this SQLite site into an empty PostgreSQL database", _arguments)
def migrate_to_postgres(args: argparse.Namespace, settings: Settings) -> int:
    try:
        url = _database_url(args.to)
    except ValueError as exc:
        print(f"migrate-to-postgres: --to: {exc}", file=sys.stderr)
        return 1
    source = args.source or settings.db_path
    if not Path(source).exists():
        print(f"migrate-to-postgres: no SQLite database at {source}", file=sys.stderr)
        return 1
    try:
        database.migrate(url)
    except database.unavailable_errors() as exc:
        print(f"migrate-to-postgres: cannot reach {url.split('@')[-1]}: {exc}", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="citizenvoice-move-") as tmp:
        snapshot = Path(tmp) / "snapshot.db"
        database.migrate(Path(source))  # the snapshot must be at the schema the target has
        snapshot_database(Path(source), snapshot)
        try:
            reports = asyncio.run(move(snapshot, url))
        except transfer.CopyFailed as exc:
            print(f"migrate-to-postgres: the copy failed: {exc}; it was one transaction, rolled back:"
                  " the target holds nothing of it", file=sys.stderr)  # fmt: skip
            return 1
        except transfer.TransferError as exc:
            print(f"migrate-to-postgres: refused: {exc}; nothing was copied", file=sys.stderr)
            return 1
    width = max(len(r.table) for r in reports)
    bad = [r for r in reports if r.source_rows != r.target_rows or not r.checksum_ok]
    for r in reports:
        state = "ok" if r not in bad else "MISMATCH"
        print(f"{r.table:<{width}}  {r.source_rows:>9} → {r.target_rows:>9}  checksum {state}")
    total = sum(r.source_rows for r in reports)
    print(f"copied {total} rows in {len(reports)} tables from {source}; "
          + ("every count and checksum agrees" if not bad else f"{len(bad)} tables DIFFER"))
    print("Set CITIZENVOICE_DATABASE_URL to the new database and keep CITIZENVOICE_MEDIA_DIR on the same photos.")
    return 0 if not bad else 1

