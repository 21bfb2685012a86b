"""PostgreSQL connections: an asyncpg pool per worker process, the same interface as db/sqlite.py.

There is no single writer. ``write()`` is a READ COMMITTED transaction on a pooled connection, and two
write transactions run at the same time unless they touch the same rows or ask for the same key:

* An invariant about one row is a conditional UPDATE (``… WHERE id = ? AND version = ?``, a lease's
  ``… AND (holder = ? OR expires_at < ?)``): READ COMMITTED waits for the row lock of a concurrent
  writer and re-evaluates the WHERE against the committed row, so of two decisions on one essay
  exactly one updates a row and the other sees rowcount 0 (StaleVersion, 409). Uniqueness is a
  constraint (form tokens, usernames): the loser gets IntegrityError.
* A read-then-write sequence over rows that may not exist yet (a rate limit counted before the event
  is recorded, a claim checked before it is taken, the first admin, the sender's batch of due
  messages) calls :func:`citizenvoice.db.serialize` with the keys it depends on: a transaction-scoped
  advisory lock per key (:func:`lock_keys`), sorted, so only transactions on the same key wait for
  each other. On SQLite the same call does nothing: its writes are serial already.

A transaction run through ``write_at_once(fn)`` is retried (RETRIES times) when PostgreSQL aborts it
with serialization_failure (40001) or deadlock_detected (40P01); a ``write()`` block cannot be re-run
from here, so it takes its locks first (``serialize`` before any UPDATE) and touches rows in one order.
docs/architecture.md lists which transactions use what.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import asyncpg

from citizenvoice.db import dialect

T = TypeVar("T")
log = logging.getLogger("citizenvoice.db")

MIGRATE_LOCK = 0x63760002  # pg_advisory_lock key of `citizenvoice migrate`
CONNECT_TIMEOUT = 5.0
COMMAND_TIMEOUT = 60.0
RETRIES = 5  # attempts of a write_at_once transaction that PostgreSQL aborted to keep it consistent
RETRY_STATES = frozenset({"40001", "40P01"})  # serialization_failure, deadlock_detected

# Connection errors: the server went away, refused us, or the pool could not reach it.
# Narrow on purpose: web/errors.py answers these with the 503 page on either backend, so no OSError
# of a photo write or a TimeoutError of something else may be among them.
CONNECTION_ERRORS = (
    ConnectionRefusedError,
    ConnectionResetError,
    ConnectionAbortedError,
    asyncpg.ConnectionDoesNotExistError,
    asyncpg.InterfaceError,
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
)


async def _load_id_tables(conn: asyncpg.Connection) -> None:
    rows = await conn.fetch(
        "SELECT table_name FROM information_schema.columns"
        " WHERE table_schema = current_schema() AND column_name = 'id'"
    )
    dialect.ID_TABLES.update(r["table_name"] for r in rows)


async def connect(url: str, *, command_timeout: float | None = COMMAND_TIMEOUT) -> asyncpg.Connection:
    """One connection outside the pool (migrations, commands); ``command_timeout=None`` for bulk work."""
    return await asyncpg.connect(url, timeout=CONNECT_TIMEOUT, command_timeout=command_timeout)


class CoalescedRead:
    """One query answering every caller that arrived before it started.

    For a value read on every request (the page cache's content version): a pool acquire, a round
    trip and the pool's reset per request cost cached pages most of their speed on PostgreSQL. Callers
    that arrive while no query is running share the next one; callers that arrive while one runs wait
    for the one after it, so every caller's answer comes from a query that began after the caller
    asked (a publish committed before a request is always seen by it, as with a read of its own).
    """

    def __init__(self, database: Database, query: Callable[[dialect.PgConnection], Awaitable[T]]) -> None:
        self._database = database
        self._query = query
        self._next: asyncio.Future[Any] | None = None  # the callers waiting for a query not yet begun
        self._running = False

    async def __call__(self) -> Any:
        loop = asyncio.get_running_loop()
        if self._next is None or self._next.get_loop() is not loop:
            self._next = loop.create_future()
            if not self._running:
                self._running = True
                loop.create_task(self._fly())
        # shield: a caller that gives up (a client gone) must not cancel the others' answer
        return await asyncio.shield(self._next)

    async def _fly(self) -> None:
        try:
            while self._next is not None:
                waiting, self._next = self._next, None  # who asks from here on waits for the next query
                try:
                    async with self._database.read() as conn:
                        value = await self._query(conn)
                except BaseException as exc:  # every waiter sees the failure, as a read of its own would
                    if not waiting.done():
                        waiting.set_exception(exc)
                    if isinstance(exc, asyncio.CancelledError):
                        raise
                else:
                    if not waiting.done():
                        waiting.set_result(value)
        finally:
            self._running = False


class Database:
    """The app's handle on PostgreSQL: ``async with db.write() as conn`` and ``async with db.read()``."""

    dialect = "postgresql"

    def __init__(self, url: str, readers: int = 4) -> None:
        self.url = url
        self.path = url  # what db.pending_migrations and the commands are given
        self._size = max(2, readers + 2)
        self._pool: asyncpg.Pool | None = None
        self._opening = asyncio.Lock()
        self._coalesced: dict[Any, CoalescedRead] = {}

    def read_coalesced(self, query: Callable[[dialect.PgConnection], Awaitable[T]]) -> Awaitable[T]:
        """``query(conn)`` on a read connection, one query shared by the callers waiting at once
        (:class:`CoalescedRead`): for a small value every request reads."""
        if query not in self._coalesced:
            self._coalesced[query] = CoalescedRead(self, query)
        return self._coalesced[query]()

    async def open(self) -> None:
        """Opens the pool; an unreachable server is logged and retried on first use (recovery without
        a restart), so a worker starts and /healthz can say what is wrong."""
        try:
            await self._ensure_pool()
        except (TimeoutError, OSError, *CONNECTION_ERRORS) as exc:
            log.error("PostgreSQL unreachable at start (%s); retrying on each request", _reason(exc))

    async def _ensure_pool(self) -> asyncpg.Pool:
        if self._pool is not None:
            return self._pool
        async with self._opening:
            if self._pool is None:
                pool = await asyncpg.create_pool(
                    self.url, min_size=1, max_size=self._size, timeout=CONNECT_TIMEOUT,
                    command_timeout=COMMAND_TIMEOUT, statement_cache_size=512,
                )
                async with pool.acquire() as conn:
                    await _load_id_tables(conn)
                self._pool = pool
        return self._pool

    async def close(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.close()

    def peek(self) -> Any:
        raise NotImplementedError("PostgreSQL has no synchronous peek; use read()")

    @asynccontextmanager
    async def write(self) -> AsyncIterator[dialect.PgConnection]:
        """One READ COMMITTED write transaction: committed when the block ends, rolled back if it raises."""
        pool = await self._ensure_pool()
        async with pool.acquire() as raw:
            async with raw.transaction(isolation="read_committed"):
                yield dialect.PgConnection(raw)

    async def write_at_once(self, transaction: Callable[[Any], Awaitable[T]]) -> T:
        """``transaction(conn)`` in one write transaction, run again if PostgreSQL aborted it (40001, 40P01)."""
        for attempt in range(1, RETRIES + 1):
            try:
                async with self.write() as conn:
                    return await transaction(conn)
            except asyncpg.PostgresError as exc:
                if exc.sqlstate not in RETRY_STATES or attempt == RETRIES:
                    raise
                log.info("write transaction retried (%s, attempt %d)", exc.sqlstate, attempt)
                await asyncio.sleep(0.005 * attempt)
        raise AssertionError("unreachable")

    @asynccontextmanager
    async def read(self) -> AsyncIterator[dialect.PgConnection]:
        """A connection for reads; wrap several queries in ``BEGIN`` yourself if they must agree."""
        pool = await self._ensure_pool()
        async with pool.acquire() as raw:
            conn = dialect.PgConnection(raw)
            try:
                yield conn
            finally:
                if raw.is_in_transaction() and not raw.is_closed():
                    await raw.execute("ROLLBACK")

    async def is_healthy(self) -> bool:
        async with self.read() as conn:
            async with conn.execute("SELECT count(*) FROM schema_migrations") as cur:
                row = await cur.fetchone()
        return bool(row and row[0] > 0)


async def lock_keys(conn: dialect.PgConnection, keys: tuple[str, ...]) -> None:
    """Transaction-scoped advisory locks on ``keys`` (64-bit hashes of the text), in sorted order so two
    transactions asking for the same keys cannot deadlock on them; released at commit or rollback."""
    for key in sorted(set(keys)):
        await conn.raw.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", key)


def _reason(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
