"""PostgreSQL's side of ``citizenvoice backup | restore | check`` (ops/maintenance.py has the commands):
pg_dump / pg_restore in custom format, and the catalogue checks that stand in for SQLite's
``PRAGMA integrity_check`` / ``foreign_key_check``.

A backup is taken inside one REPEATABLE READ transaction whose snapshot pg_dump shares
(``pg_export_snapshot`` + ``--snapshot``): the table counts, the applied migrations and the referenced
photos written into the manifest describe exactly the rows in the dump, while the site keeps writing.
"""

from __future__ import annotations

import asyncio
import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

from citizenvoice.db import dialect, postgres

T = TypeVar("T")


class DumpError(RuntimeError):
    pass


def tool(name: str) -> str:
    """pg_dump / pg_restore: the newest of /usr/lib/postgresql/*/bin (Debian's layout, which keeps each
    major version apart; a newer pg_dump reads an older server), else the one on PATH."""
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda p: int(p.split("/")[4]))
    path = found[-1] if found else shutil.which(name)
    if not path:
        raise DumpError(f"{name} is not installed (Debian: apt-get install postgresql-client)")
    return path


def display_url(url: str) -> str:
    """The URL without its password, for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def _run(argv: list[str]) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, env={**os.environ, "PGCONNECT_TIMEOUT": "10"})
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise DumpError(f"{Path(argv[0]).name} failed: {detail[-1] if detail else f'exit {done.returncode}'}")


@dataclass(frozen=True)
class Facts:
    """What a manifest and ``check`` say about a database, read in one snapshot."""

    table_counts: dict[str, int]
    migrations: list[str]
    problems: list[str]
    extra: Any = None


async def _tables(conn: Any) -> list[str]:
    rows = await conn.fetch(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
        " AND table_type = 'BASE TABLE' ORDER BY table_name")  # fmt: skip
    return [r[0] for r in rows]


async def _facts(conn: Any, more: Callable[[Any], Awaitable[T]] | None) -> Facts:
    tables = await _tables(conn)
    # Names come from the catalogue itself, quoted; no user input reaches this statement.
    counts = {t: int(await conn.fetchval(f'SELECT count(*) FROM "{t}"')) for t in tables}  # noqa: S608
    migrations = []
    if "schema_migrations" in tables:
        migrations = [r[0] for r in await conn.fetch("SELECT name FROM schema_migrations ORDER BY version")]
    # ``more`` is store SQL: it runs on a migrated database only.
    extra = await more(dialect.PgConnection(conn)) if more and migrations else None
    return Facts(counts, migrations, await integrity_problems(conn), extra)


async def integrity_problems(conn: Any) -> list[str]:
    """What PostgreSQL can say is wrong without reading every page: a constraint left NOT VALID (rows
    that were never checked against it, foreign keys included) and an index left invalid by a failed
    CREATE INDEX CONCURRENTLY, which the planner silently ignores."""
    problems = [
        f"constraint not validated: {r[0]}.{r[1]}" for r in await conn.fetch(
            "SELECT c.conrelid::regclass::text, c.conname FROM pg_constraint c"
            " WHERE c.connamespace = current_schema()::regnamespace AND NOT c.convalidated ORDER BY 1, 2")
    ]  # fmt: skip
    problems += [
        f"index invalid: {r[0]}" for r in await conn.fetch(
            "SELECT i.indexrelid::regclass::text FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
            " WHERE c.relnamespace = current_schema()::regnamespace AND NOT i.indisvalid ORDER BY 1")
    ]  # fmt: skip
    return problems


def facts(url: str, more: Callable[[Any], Awaitable[T]] | None = None) -> Facts:
    """Table counts, migrations and integrity problems of the database at ``url``; ``more(conn)`` (a
    store function) is run in the same snapshot on a migrated database, its result ``Facts.extra``."""

    async def read() -> Facts:
        conn = await postgres.connect(url)
        try:
            async with conn.transaction(isolation="repeatable_read", readonly=True):
                return await _facts(conn, more)
        finally:
            await conn.close()

    return asyncio.run(read())


def dump(url: str, target: Path, more: Callable[[Any], Awaitable[T]] | None = None) -> Facts:
    """``pg_dump -Fc`` of the database into ``target``, and its Facts, from one snapshot."""
    program = tool("pg_dump")

    async def run() -> Facts:
        conn = await postgres.connect(url, command_timeout=None)
        try:
            async with conn.transaction(isolation="repeatable_read", readonly=True):
                snapshot = await conn.fetchval("SELECT pg_export_snapshot()")
                found = await _facts(conn, more)
                # The exported snapshot lives as long as this transaction: pg_dump runs inside it.
                await asyncio.to_thread(_run, [program, "--format=custom", "--no-owner", "--no-privileges",
                                               f"--snapshot={snapshot}", f"--file={target}", f"--dbname={url}"])
                return found
        finally:
            await conn.close()

    return asyncio.run(run())


def verify(archive: Path) -> None:
    """pg_restore reads the archive's table of contents: a truncated or foreign file fails here."""
    _run([tool("pg_restore"), "--list", str(archive)])


def restore(url: str, archive: Path) -> None:
    """Replace the database at ``url`` with the archive's, in one transaction: the schema is dropped and
    the archive's objects and rows created (through psql, which applies pg_restore's script with its
    COPY data). A failure anywhere leaves the database as it was, and nothing of a newer release's
    schema lingers to collide with the migrations that bring the restored copy up to date."""
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "restore.sql"
        _run([tool("pg_restore"), "--no-owner", "--no-privileges", f"--file={script}", str(archive)])
        _run([tool("psql"), "--no-psqlrc", "--quiet", "--single-transaction", "--set=ON_ERROR_STOP=1",
              "--command=DROP SCHEMA IF EXISTS public CASCADE", "--command=CREATE SCHEMA public",
              f"--file={script}", f"--dbname={url}"])  # fmt: skip
