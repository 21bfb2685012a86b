"""Several worker processes on one database file (slow): ``citizenvoice serve --workers 2`` under a
write load of concurrent submissions and moderation decisions gives zero "database is locked" errors
and zero 500s.

Residents submit 200 essays through the real form, 16 at a time; three moderators, signed in through the
real login form, take the next essay from /moderate/next as soon as one arrives and approve it through
the real decision form (a claim, a decision, a search-index update: all writes). The two workers each
have their own writer connection, so the writes really do contend for the one SQLite file.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import socket
import sqlite3
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx2
import pytest
from test_crash_safety import load_crash_test

pytestmark = pytest.mark.slow

SUBMISSIONS = 200
MODERATORS = 3
PASSWORD = "correct horse battery"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_VERSION = re.compile(r'name="version" value="(\d+)"')


async def sign_in(client: httpx2.AsyncClient, username: str) -> None:
    page = await client.get("/login")
    response = await client.post("/login", data={"username": username, "password": PASSWORD,
                                                 "csrf_token": _CSRF.search(page.text).group(1)})  # fmt: skip
    assert response.status_code == 303, response.text[:300]


async def moderator(
    url: str, username: str, arrivals: asyncio.Queue[bool], statuses: list[int], approvals: list[bool]
) -> None:
    """Approve the next free essay each time one arrives; stop at the sentinel (False)."""
    async with httpx2.AsyncClient(base_url=url, timeout=60.0) as client:
        await sign_in(client, username)
        while await arrivals.get():
            found = await client.get("/moderate/next")
            statuses.append(found.status_code)
            target = found.headers.get("location", "")
            if not re.fullmatch(r"/moderate/\d+", target):
                continue  # nothing free right now (a colleague holds it, or it is not committed yet)
            page = await client.get(target)
            statuses.append(page.status_code)
            version, csrf = _VERSION.search(page.text), _CSRF.search(page.text)
            if page.status_code != 200 or not version or not csrf:
                continue
            decision = await client.post(f"{target}/decision", data={
                "csrf_token": csrf.group(1), "action": "approve", "version": version.group(1)})  # fmt: skip
            statuses.append(decision.status_code)
            approvals.append(decision.status_code == 303)


async def load(crash_test: Any, url: str) -> tuple[list[Any], list[int], list[bool]]:
    items = crash_test.make_submissions(SUBMISSIONS)
    arrivals: asyncio.Queue[bool] = asyncio.Queue()
    statuses: list[int] = []
    approvals: list[bool] = []
    moderators = [asyncio.create_task(moderator(url, f"mod{i}", arrivals, statuses, approvals))
                  for i in range(MODERATORS)]  # fmt: skip
    await crash_test.submit_all(url, items, concurrency=16, on_receipt=lambda _: arrivals.put_nowait(True))
    for _ in range(SUBMISSIONS // 4):  # a last sweep, then the sentinels
        arrivals.put_nowait(True)
    for _ in moderators:
        arrivals.put_nowait(False)
    await asyncio.gather(*moderators)
    return items, statuses, approvals


def add_moderators(crash_test: Any, data_dir: Path) -> None:
    for i in range(MODERATORS):
        subprocess.run([*crash_test.cli(), "user", "add", f"mod{i}", "--role", "moderator", "--password-stdin"],
                       input=PASSWORD + "\n", text=True, env=crash_test.server_env(data_dir), check=True,
                       capture_output=True, timeout=120)  # fmt: skip


def test_two_workers_share_one_database_without_lock_errors(tmp_path: Path) -> None:
    crash_test = load_crash_test()
    add_moderators(crash_test, tmp_path)
    with crash_test.running(tmp_path, workers=2) as server:
        items, statuses, approvals = asyncio.run(load(crash_test, server.url))
        logs = server.log_text()
    submitted = [s.status for s in items]
    conn = sqlite3.connect(tmp_path / "citizenvoice.db")
    try:
        published = conn.execute("SELECT count(*) FROM essays WHERE status = 'published'").fetchone()[0]
        stored = conn.execute("SELECT count(*) FROM essays").fetchone()[0]
        integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        conn.close()
    pids = set(re.findall(r"Started server process \[(\d+)\]", logs))
    print(f"\nmulti-worker: {len(pids)} workers, {submitted.count(303)}/{SUBMISSIONS} submissions receipted, "
          f"{len(statuses)} moderation requests, {published} approved, "
          f"{logs.count('database is locked')} lock errors, {logs.count(chr(34) + 'status' + chr(34) + ': 500')} 500s")
    assert len(pids) >= 2, "the server did not start two workers"
    assert "database is locked" not in logs
    assert '"status": 500' not in logs
    assert [s for s in submitted + statuses if s is None or s >= 500] == []
    assert submitted.count(303) == SUBMISSIONS == stored
    assert [s.error for s in items if s.error] == []
    assert published > SUBMISSIONS // 4, "the moderators hardly got to decide anything"
    assert approvals.count(True) == published, "an approval answered 303 but did not stick (or the reverse)"
    assert integrity == "ok"


def _workers(parent: int) -> list[int]:
    """The parent's worker processes (its spawned children, not multiprocessing's resource tracker)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue  # the process ended while we looked
        if int(fields[1]) == parent and b"spawn_main" in cmdline:
            found.append(int(stat.parent.name))
    return sorted(found)


ESTABLISHED, LISTEN = "01", "0A"  # TCP states as /proc/net/tcp writes them


def _sockets_by_worker(port: int, workers: list[int], state: str = ESTABLISHED) -> dict[int, int]:
    """How many TCP sockets on local ``port`` in ``state`` each worker holds (Linux /proc)."""
    established = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].split(":")[1], 16) == port and fields[3] == state:
            established.add(f"socket:[{fields[9]}]")
    counts = {}
    for pid in workers:
        fds = []
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                fds.append(os.readlink(fd))
        counts[pid] = len(established.intersection(fds))
    return counts


def _until(condition: Callable[[], Any], seconds: float = 15.0) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(0.1)  # polling processes we do not control
    raise AssertionError(f"not within {seconds} s")


def test_each_worker_takes_connections_and_a_dead_worker_is_replaced(tmp_path: Path) -> None:
    """A burst of keep-alive connections lands on both workers (uvicorn's shared listener let one
    worker take them all), and the server keeps two workers when one dies."""
    crash_test = load_crash_test()
    with crash_test.running(tmp_path, workers=2) as server:
        workers = _until(lambda: len(found := _workers(server.process.pid)) == 2 and found)
        _until(lambda: all(_sockets_by_worker(server.port, workers, LISTEN).values()))
        clients = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(40)]
        try:
            counts = _until(lambda: sum((c := _sockets_by_worker(server.port, workers)).values()) == 40 and c)
        finally:
            for client in clients:
                client.close()
        assert all(counts[pid] > 0 for pid in workers), f"connections per worker: {counts}"

        os.kill(workers[0], signal.SIGKILL)
        replaced = _until(lambda: len(now := _workers(server.process.pid)) == 2 and workers[0] not in now and now)
        assert workers[1] in replaced
        assert _until(lambda: httpx2.get(f"{server.url}/healthz", timeout=2.0).status_code == 200)
    assert server.process.returncode == 0, server.log_text()[-2000:]
