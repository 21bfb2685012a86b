"""SQLite connections: one funnelled writer and a small pool of readers.

SQLite allows one writer at a time. Inside a process every write transaction waits for one
``asyncio.Lock``: handlers' ``db.write()`` blocks run on the aiosqlite writer, and ``db.write_at_once``
batches (the submission path) on a plain connection owned by one thread. Across worker processes
``BEGIN IMMEDIATE`` takes the write lock up front and the other process waits for it instead of
failing (both writer connections poll for it every millisecond; readers never wait in WAL mode), so no
request ever sees "database is locked".
"""

from __future__ import annotations

import asyncio
import functools
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

T = TypeVar("T")

BUSY_TIMEOUT_MS = 30_000
# Queued write_at_once transactions committed together at most; bounds how long one batch holds the
# write lock (a submission's statements take ~1 ms) while moderators' writes wait.
BATCH_MAX = 32
LOCK_POLL_SECONDS = 0.001

PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA foreign_keys=ON",
    f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA temp_store=MEMORY",
    # Erased personal data must not linger in the file's free pages.
    "PRAGMA secure_delete=ON",
)


def connect_sync(path: Path, *, readonly: bool = False) -> sqlite3.Connection:
    """A blocking connection for commands and migrations (autocommit; callers BEGIN themselves).

    A writable one gets the site's PRAGMAS (WAL among them); a read-only one opens the file as it is
    (``mode=ro``) and leaves its journal mode alone, as a backup copy must stay byte for byte."""
    if readonly:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None,
                               timeout=BUSY_TIMEOUT_MS / 1000)
        conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        return conn
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
    for pragma in PRAGMAS:
        conn.execute(pragma)
    return conn


@contextmanager
def sync_connection(path: Path, *, readonly: bool = False) -> Iterator[sqlite3.Connection]:
    """:func:`connect_sync`, closed when the block ends."""
    conn = connect_sync(path, readonly=readonly)
    try:
        yield conn
    finally:
        conn.close()


async def _open(path: Path, *, readonly: bool) -> aiosqlite.Connection:
    conn = await aiosqlite.connect(path, isolation_level=None)
    conn.row_factory = aiosqlite.Row
    for pragma in PRAGMAS:
        if readonly and pragma.startswith("PRAGMA journal_mode"):
            continue  # the writer already set WAL; it is persistent in the file
        await conn.execute(pragma)
    if readonly:
        await conn.execute("PRAGMA query_only=ON")
    return conn


class _Done:
    """What awaiting an :class:`InlineConnection` call gives: the value, at once (also ``async with``)."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def __await__(self) -> Any:
        return self.value
        yield  # a generator, so ``await`` works; never reached

    async def __aenter__(self) -> Any:
        return self.value

    async def __aexit__(self, *exc: object) -> None:
        return None


class InlineConnection:
    """The part of ``aiosqlite.Connection`` the store uses, answered synchronously by a plain sqlite3
    connection: awaiting a call never suspends, so a coroutine of store calls runs to its end in one
    ``send`` on the thread that owns the connection (see :meth:`Database.write_at_once`)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    @property
    def in_transaction(self) -> bool:
        return self._conn.in_transaction

    def execute(self, sql: str, parameters: Iterable[Any] = ()) -> _Done:
        return _Done(self._conn.execute(sql, tuple(parameters)))

    def executemany(self, sql: str, parameters: Iterable[Iterable[Any]]) -> _Done:
        return _Done(self._conn.executemany(sql, parameters))

    def execute_fetchall(self, sql: str, parameters: Iterable[Any] = ()) -> _Done:
        return _Done(self._conn.execute(sql, tuple(parameters)).fetchall())

    def execute_insert(self, sql: str, parameters: Iterable[Any] = ()) -> _Done:
        cursor = self._conn.execute(sql, tuple(parameters))
        return _Done((cursor.lastrowid,))


def _run_inline(coroutine: Coroutine[Any, Any, T]) -> T:
    try:
        coroutine.send(None)
    except StopIteration as done:
        return done.value
    coroutine.close()
    raise RuntimeError("a write_at_once transaction awaited something other than its connection")


def _busy(exc: sqlite3.OperationalError) -> bool:
    return exc.sqlite_errorcode & 0xFF == sqlite3.SQLITE_BUSY  # SQLITE_BUSY or one of its extended codes


def _begin_immediate_polling(conn: sqlite3.Connection) -> None:
    """BEGIN IMMEDIATE on a writer connection (busy_timeout 0), retried every millisecond while another
    process holds the write lock, for up to BUSY_TIMEOUT_MS.

    SQLite's own busy handler sleeps 1, 2, 5, 10, 15, 20, 25 … ms between tries, so a writer that just
    missed the lock sleeps on long after it is free: with two worker processes the lock sat idle a good
    part of the time, and a writer polling every millisecond would all but shut out one that backs off.
    Only taking the lock needs this: in WAL mode nothing else in a write transaction waits for another
    connection.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            conn.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as exc:
            if not _busy(exc) or time.monotonic() >= deadline:
                raise
        time.sleep(LOCK_POLL_SECONDS)


async def _begin_immediate_polling_async(conn: aiosqlite.Connection) -> None:
    """:func:`_begin_immediate_polling` for the aiosqlite writer, sleeping on the event loop."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            await conn.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as exc:
            if not _busy(exc) or time.monotonic() >= deadline:
                raise
        await asyncio.sleep(LOCK_POLL_SECONDS)


Queued = tuple[Callable[[Any], Awaitable[Any]], "asyncio.Future[Any]"]


def _settle(batch: list[Queued], running: asyncio.Future[list[tuple[bool, Any]]]) -> None:
    """Hand each queued caller its own result or exception; all of them the batch's, if it failed whole
    (taking the lock or COMMIT)."""
    failed = running.exception()
    outcomes = [(False, failed)] * len(batch) if failed else running.result()
    for (_, done), (ok, value) in zip(batch, outcomes, strict=True):
        if not done.done():
            done.set_result(value) if ok else done.set_exception(value)


class Database:
    """The app's handle on SQLite: ``async with db.write() as conn`` and ``async with db.read() as conn``."""

    dialect = "sqlite"

    def __init__(self, path: Path, readers: int = 4) -> None:
        self.path = path
        self._reader_count = readers
        self._writer: aiosqlite.Connection | None = None
        self._write_lock = asyncio.Lock()
        self._readers: asyncio.Queue[aiosqlite.Connection] = asyncio.Queue()
        self._all_readers: list[aiosqlite.Connection] = []
        self._peek: sqlite3.Connection | None = None
        self._inline: sqlite3.Connection | None = None
        self._inline_thread: ThreadPoolExecutor | None = None
        self._queued: list[Queued] = []
        self._drainer: asyncio.Task[None] | None = None

    async def open(self) -> None:
        self._writer = await _open(self.path, readonly=False)
        await self._writer.execute("PRAGMA busy_timeout=0")  # it polls for the lock instead (see above)
        for _ in range(self._reader_count):
            reader = await _open(self.path, readonly=True)
            self._all_readers.append(reader)
            self._readers.put_nowait(reader)

    async def close(self) -> None:
        if self._drainer is not None:
            await asyncio.wait([self._drainer])
            self._drainer = None
        for conn in [self._writer, *self._all_readers]:
            if conn is not None:
                await conn.close()
        self._writer = None
        self._all_readers.clear()
        if self._inline_thread is not None:
            inline, self._inline = self._inline, None
            if inline is not None:
                await asyncio.get_running_loop().run_in_executor(self._inline_thread, inline.close)
            self._inline_thread.shutdown()
            self._inline_thread = None
        if self._peek is not None:
            self._peek.close()
            self._peek = None

    def peek(self) -> sqlite3.Connection:
        """A synchronous read-only connection for one-row lookups made on the event loop itself.

        Only for reads that take microseconds (a primary-key lookup): in WAL mode a reader never waits
        for the writer, so this skips the thread round trip an aiosqlite query costs.
        """
        if self._peek is None:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=1.0)
            conn.execute("PRAGMA query_only=ON")
            self._peek = conn
        return self._peek

    @asynccontextmanager
    async def write(self) -> AsyncIterator[aiosqlite.Connection]:
        """One write transaction: committed when the block ends, rolled back if it raises."""
        assert self._writer is not None, "database not open"
        async with self._write_lock:
            conn = self._writer
            await _begin_immediate_polling_async(conn)
            try:
                yield conn
            except BaseException:
                await conn.execute("ROLLBACK")
                raise
            else:
                await conn.execute("COMMIT")

    async def write_at_once(self, transaction: Callable[[Any], Awaitable[T]]) -> T:
        """``transaction(conn)`` as one all-or-nothing write, run whole on the writer's own thread: one
        round trip instead of one per statement, and one commit shared with whatever else is queued.

        For fixed sequences of store calls on a busy path (a submission is ~20 statements). Each round
        trip of ``write()`` waits for whatever CPU work other requests queued on the event loop meanwhile,
        all while the write lock is held; here the lock is held for one round trip per *batch*: the
        transactions queued while the writer was busy run together in one BEGIN IMMEDIATE … COMMIT,
        each inside its own SAVEPOINT, so one that raises is rolled back alone and raises to its own
        caller. Sharing the commit is what keeps several worker processes moving: whatever queued in one
        while another held SQLite's write lock is committed in its next trip.

        ``transaction`` may await only its connection (an :class:`InlineConnection`): anything that
        would suspend raises RuntimeError. It runs off the event loop, so keep it to SQL and small work.
        """
        assert self._writer is not None, "database not open"
        done: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._queued.append((transaction, done))
        if self._drainer is None or self._drainer.done():
            self._drainer = asyncio.create_task(self._drain_queued())
        try:
            return await asyncio.shield(done)
        except asyncio.CancelledError:
            # The batch cannot be stopped midway: wait until this transaction has ended (committed or
            # rolled back), so the caller's clean-up sees the outcome.
            await asyncio.wait([done])
            raise

    async def _drain_queued(self) -> None:
        loop = asyncio.get_running_loop()
        while self._queued:
            async with self._write_lock:
                batch, self._queued = self._queued[:BATCH_MAX], self._queued[BATCH_MAX:]
                if self._inline_thread is None:
                    self._inline_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="db-write-at-once")
                running = loop.run_in_executor(
                    self._inline_thread, self._batch_inline, [transaction for transaction, _ in batch]
                )
                # Settled by a callback, so every caller learns its outcome even if this task is cancelled.
                running.add_done_callback(functools.partial(_settle, batch))
                await asyncio.wait([running])

    def _batch_inline(self, transactions: list[Callable[[Any], Awaitable[Any]]]) -> list[tuple[bool, Any]]:
        # Only ever called on the one executor thread, which therefore owns this connection.
        if self._inline is None:
            conn = connect_sync(self.path)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA busy_timeout=0")  # it polls for the lock instead
            self._inline = conn
        conn = self._inline
        outcomes: list[tuple[bool, Any]] = []
        _begin_immediate_polling(conn)
        try:
            for transaction in transactions:
                conn.execute("SAVEPOINT queued")
                try:
                    result = _run_inline(transaction(InlineConnection(conn)))
                except Exception as exc:
                    conn.execute("ROLLBACK TO queued")
                    outcomes.append((False, exc))
                else:
                    outcomes.append((True, result))
                conn.execute("RELEASE queued")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return outcomes

    @asynccontextmanager
    async def read(self) -> AsyncIterator[aiosqlite.Connection]:
        """A read-only connection; wrap several queries in ``BEGIN`` yourself if they must agree."""
        conn = await self._readers.get()
        try:
            yield conn
        finally:
            if conn.in_transaction:
                await conn.execute("ROLLBACK")
            self._readers.put_nowait(conn)

    async def is_healthy(self) -> bool:
        async with self.read() as conn:
            async with conn.execute("SELECT count(*) FROM schema_migrations") as cur:
                row = await cur.fetchone()
        return bool(row and row[0] > 0)
