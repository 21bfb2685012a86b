"""The databases behind a benchmark run: PostgreSQL copies of the generated SQLite file, and sizes.

``run.py --database-url URL`` names a PostgreSQL database that holds (or will hold) the generated
essays: when it has none, the pristine SQLite file is moved into it with ``citizenvoice
migrate-to-postgres`` (timed: the report says how long), then VACUUM ANALYZE, as an operator would
after a bulk load. Each run serves a scratch copy (``CREATE DATABASE … TEMPLATE``, a file copy), as the
SQLite side serves a copy of its file, because submissions and sessions write.

``sizes`` answers "bytes per essay on disk and what they are made of": each table with its indexes
(SQLite: the dbstat virtual table, FTS5 shadow tables grouped under their index; PostgreSQL:
pg_table_size and pg_indexes_size, TOAST counted with its table).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import subprocess
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg

ROOT = Path(__file__).resolve().parent.parent


def _with_db(url: str, name: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(path="/" + name))


def _db_name(url: str) -> str:
    return urllib.parse.urlsplit(url).path.lstrip("/") or "postgres"


def _run(coroutine):  # type: ignore[no-untyped-def]
    return asyncio.run(coroutine)


async def _fetch(url: str, sql: str, *args: object) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(url, command_timeout=None)
    try:
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()


async def _execute(url: str, *statements: str) -> None:
    conn = await asyncpg.connect(url, command_timeout=None)
    try:
        for sql in statements:
            await conn.execute(sql)
    finally:
        await conn.close()


def essay_count(url: str) -> int:
    """Essays in the PostgreSQL database (0 when it is not migrated yet)."""
    rows = _run(_fetch(url, "SELECT to_regclass('essays') IS NOT NULL AS migrated"))
    if not rows[0]["migrated"]:
        return 0
    return int(_run(_fetch(url, "SELECT count(*) AS n FROM essays"))[0]["n"])


def ensure_postgres(url: str, sqlite_path: Path) -> float | None:
    """Move the pristine SQLite file into ``url`` unless it already holds its essays; the seconds it
    took (None when reused). Migrations added since are applied either way."""
    with contextlib.closing(sqlite3.connect(f"file:{sqlite_path}?mode=ro", uri=True)) as conn:
        wanted = conn.execute("SELECT count(*) FROM essays").fetchone()[0]
    found = essay_count(url)
    if found == wanted:
        from citizenvoice import db as database

        applied = database.migrate(url)
        print(f"reusing PostgreSQL {_db_name(url)} ({found:,} essays){'; applied ' + ', '.join(applied) if applied else ''}")
        return None
    if found:
        raise RuntimeError(f"{_db_name(url)} holds {found:,} essays, not the {wanted:,} of {sqlite_path}; use an empty database")
    exe = ROOT / ".venv" / "bin" / "citizenvoice"
    print(f"moving {sqlite_path} into PostgreSQL {_db_name(url)} (citizenvoice migrate-to-postgres) …", flush=True)
    started = time.perf_counter()
    subprocess.run([str(exe), "migrate-to-postgres", "--to", url, "--from", str(sqlite_path)], check=True,
                   cwd=ROOT, env={**os.environ, "CITIZENVOICE_LOG_LEVEL": "WARNING"})  # fmt: skip
    seconds = time.perf_counter() - started
    # The copy leaves no statistics and an unset visibility map: the planner would guess, and counts
    # would visit every heap page.
    _run(_execute(url, "VACUUM ANALYZE"))
    print(f"moved in {seconds:.0f} s (+ VACUUM ANALYZE)")
    return seconds


@contextlib.contextmanager
def scratch_copy(url: str, tag: str) -> Iterator[str]:
    """A copy of the pristine database for one run, dropped afterwards."""
    name = f"{_db_name(url)}_run_{tag}"
    admin = _with_db(url, "postgres")
    # FILE_COPY (PostgreSQL 15+): the default WAL_LOG strategy writes the whole template through the
    # WAL, 13 GB at a million essays, whose checkpoints then ran during the measured load.
    strategy = " STRATEGY FILE_COPY" if int(server_version(url).split(".")[0]) >= 15 else ""
    _run(_execute(admin, f'DROP DATABASE IF EXISTS "{name}"',
                  f'CREATE DATABASE "{name}" TEMPLATE "{_db_name(url)}"{strategy}'))  # fmt: skip
    try:
        yield _with_db(url, name)
    finally:
        _run(_execute(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def server_version(url: str) -> str:
    return str(_run(_fetch(url, "SHOW server_version"))[0][0]).split()[0]


def search_totals(url: str, queries: list[str]) -> dict[str, int]:
    from citizenvoice.db import postgres
    from citizenvoice.store import search

    async def totals() -> dict[str, int]:
        db = postgres.Database(url, readers=1)
        await db.open()
        try:
            async with db.read() as conn:
                return {q: (await search.search(conn, q)).total for q in queries}
        finally:
            await db.close()

    return _run(totals())


# ---------------------------------------------------------------------------------------------------
# Sizes


@dataclass(frozen=True)
class Part:
    name: str
    table_bytes: int
    index_bytes: int

    @property
    def total(self) -> int:
        return self.table_bytes + self.index_bytes


def sqlite_sizes(path: Path) -> tuple[int, list[Part]]:
    """The file's bytes, and each table's: its own b-tree and its indexes' (dbstat). An FTS5 table's
    shadow tables (``x_data``, ``x_idx`` …) count as that table's index."""
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
        page = conn.execute("PRAGMA page_size").fetchone()[0]
        total = conn.execute("PRAGMA page_count").fetchone()[0] * page
        owners = dict(conn.execute("SELECT name, tbl_name FROM sqlite_schema WHERE type IN ('table', 'index')"))
        fts = [n for n, (sql,) in ((n, conn.execute("SELECT sql FROM sqlite_schema WHERE name = ?", (n,)).fetchone())
                                   for n in owners) if sql and "VIRTUAL TABLE" in sql.upper()]  # fmt: skip
        parts: dict[str, list[int]] = {}
        for name, size in conn.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name"):
            owner = owners.get(name, name)
            shadow = next((f for f in fts if owner.startswith(f + "_")), None)
            is_index = owner != name or shadow is not None
            key = shadow or owner
            parts.setdefault(key, [0, 0])[1 if is_index else 0] += int(size)
    return total, [Part(k, t, i) for k, (t, i) in parts.items()]


def postgres_sizes(url: str) -> tuple[int, list[Part]]:
    rows = _run(_fetch(url, """
        SELECT c.relname AS name, pg_table_size(c.oid) AS t, pg_indexes_size(c.oid) AS i,
               pg_database_size(current_database()) AS db
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind = 'r' AND n.nspname = 'public'
    """))  # fmt: skip
    total = int(rows[0]["db"]) if rows else 0
    return total, [Part(r["name"], int(r["t"]), int(r["i"])) for r in rows]


def size_table(essays: int, sqlite: tuple[int, list[Part]], pg: tuple[int, list[Part]] | None) -> list[str]:
    """Markdown: bytes per essay, the whole database and its largest tables (table + indexes)."""
    sides = [("SQLite", sqlite)] + ([("PostgreSQL", pg)] if pg else [])
    lines = [
        f"Size on disk, bytes per essay ({essays:,} essays; table = rows incl. TOAST/overflow, index = its"
        " indexes, FTS5 shadow tables under their FTS table):",
        "",
        "| database | relation | table B/essay | index B/essay | total MiB |",
        "|---|---|--:|--:|--:|",
    ]
    for label, (total, parts) in sides:
        lines.append(f"| {label} | **whole database** | | | **{total / 2**20:,.0f}** ({total / essays:,.0f} B/essay) |")
        for p in sorted(parts, key=lambda p: -p.total)[:8]:
            lines.append(f"| {label} | `{p.name}` | {p.table_bytes / essays:,.0f} | {p.index_bytes / essays:,.0f} |"
                         f" {p.total / 2**20:,.0f} |")  # fmt: skip
        rest = sorted(parts, key=lambda p: -p.total)[8:]
        if rest:
            size = sum(p.total for p in rest)
            lines.append(f"| {label} | {len(rest)} other tables | | | {size / 2**20:,.0f} |")
    return lines
