"""Crash safety: every essay that got its 303 receipt survives a SIGKILL of the server.

Starts the real server (``citizenvoice serve``) on a free port with a temporary data directory, sends
a few hundred concurrent submissions through the real form (GET /submit for the CSRF cookie, CSRF
token and form token, then POST), SIGKILLs the server once half of them have been receipted, restarts
it, sends the rest, and then checks that every receipted essay is present and intact — its tracking
page answers and the stored headline and body are exactly what was sent — and that
``PRAGMA integrity_check`` says ok, both on the file the killed server left behind and at the end.

    .venv/bin/python bench/crash_test.py [--submissions 300] [--concurrency 24] [--workers 1] [--keep]

tests/test_crash_safety.py runs it (marked slow); tests/test_multiworker.py reuses its server and
submission helpers.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import html
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx2

STARTUP_SECONDS = 30
BODY = (
    "清晨六点，港区的吊机已经亮起了灯。我在这座城市生活了三十年，看着码头从几条泊位长成今天的模样。"
    "下一个五年，我希望家门口的公园多一些树荫，老人散步的路平一些，孩子上学的路安全一些。\n\n"
    "作为社区的一名志愿者，我准备做三件事：帮楼里的老人学会用手机挂号，和邻居们一起把小区的角落种上花，"
    "每个月组织一次河边的清洁活动。我相信，城市的变化就藏在这些小事里，每个人伸一把手，日子就会更好。"
)
_FIELD = re.compile(r'name="(csrf_token|form_token)" value="([^"]+)"')


# ---------------------------------------------------------------------------------------------------
# The real server as a subprocess


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cli() -> list[str]:
    script = Path(sys.executable).with_name("citizenvoice")
    return [str(script)] if script.exists() else [sys.executable, "-c", "from citizenvoice.cli import main; main()"]


def server_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CITIZENVOICE_")}
    env.update(CITIZENVOICE_DATA_DIR=str(data_dir), CITIZENVOICE_SUBMIT_LIMIT_PER_PHONE="100",
               CITIZENVOICE_SUBMIT_LIMIT_PER_ADDRESS="100000", CITIZENVOICE_TRACK_LOOKUP_LIMIT="100000",
               CITIZENVOICE_TRACK_CODE_LIMIT="100", **extra)  # fmt: skip
    return env


class Server:
    """``citizenvoice serve`` in its own process group, logging to ``data_dir/server-N.log``."""

    def __init__(self, data_dir: Path, *, workers: int = 1, env: dict[str, str] | None = None) -> None:
        self.data_dir = data_dir
        self.workers = workers
        self.env = env or {}  # more CITIZENVOICE_* settings (a PostgreSQL URL, a shared secret key)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.logs: list[Path] = []

    def start(self) -> None:
        log = self.data_dir / f"server-{len(self.logs) + 1}.log"
        self.logs.append(log)
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                [*cli(), "serve", "--host", "127.0.0.1", "--port", str(self.port), "--workers", str(self.workers)],
                env=server_env(self.data_dir, **self.env), stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        self._wait_until_healthy(log)

    def _wait_until_healthy(self, log: Path) -> None:
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}:\n{log.read_text(errors='replace')}")
            with contextlib.suppress(httpx2.HTTPError):
                if httpx2.get(f"{self.url}/healthz", timeout=1.0).status_code == 200:
                    return
            time.sleep(0.1)  # polling a starting process
        raise RuntimeError(f"server did not come up in {STARTUP_SECONDS}s:\n{log.read_text(errors='replace')}")

    def kill(self) -> None:
        """SIGKILL the whole process group: no shutdown handler, no flush, no goodbye."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.kill()

    def log_text(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in self.logs if p.exists())

    def wait_for_log(self, text: str, times: int = 1, seconds: float = STARTUP_SECONDS) -> str:
        """The log once ``text`` stands in it ``times`` times (a slow machine starts workers late)."""
        deadline = time.monotonic() + seconds
        while (log := self.log_text()).count(text) < times and time.monotonic() < deadline:
            time.sleep(0.1)  # polling a starting process
        return log


@contextlib.contextmanager
def running(data_dir: Path, *, workers: int = 1, env: dict[str, str] | None = None) -> Iterator[Server]:
    server = Server(data_dir, workers=workers, env=env)
    server.start()
    try:
        yield server
    finally:
        server.stop()


# ---------------------------------------------------------------------------------------------------
# Submissions through the real form


@dataclass
class Submission:
    index: int
    headline: str
    body: str
    phone: str
    token: str | None = None  # the tracking token of the 303 receipt
    posted: bool = False  # the POST left the client (it may still have died with the server)
    status: int | None = None
    error: str = ""


def make_submissions(count: int, start: int = 0) -> list[Submission]:
    return [
        Submission(i, f"第{i}号投稿：港口的灯光", f"{BODY}\n\n这是第 {i} 号投稿的最后一段，用来核对全文。", f"138{i:08d}")
        for i in range(start, start + count)
    ]  # fmt: skip


def form_for(item: Submission, tokens: dict[str, str]) -> dict[str, str]:
    return {
        **tokens, "headline": item.headline, "body": item.body, "direction": "wellbeing",
        "author_role": "resident", "author_name": "李春梅", "byline_mode": "full", "phone": item.phone,
        "consent_publish": "yes", "consent_privacy": "yes", "consent_print": "yes",
    }  # fmt: skip


async def submit(client: httpx2.AsyncClient, item: Submission) -> None:
    page = await client.get("/submit")
    tokens = dict(_FIELD.findall(page.text))
    item.posted = True
    response = await client.post("/submit", data=form_for(item, tokens))
    item.status = response.status_code
    if response.status_code == 303:
        item.token = response.headers["location"].removeprefix("/track/")


async def submit_all(
    url: str, items: list[Submission], *, concurrency: int, stop_after: int | None = None,
    on_stop: Callable[[], None] | None = None, on_receipt: Callable[[Submission], None] | None = None,
) -> bool:  # fmt: skip
    """Send ``items`` with ``concurrency`` residents (own cookies each). When ``stop_after`` receipts
    have arrived, ``on_stop()`` runs at once (the crash test kills the server there, with the other
    residents' requests in flight) and no new submission starts. Returns True if that happened."""
    queue: asyncio.Queue[Submission] = asyncio.Queue()
    for item in items:
        queue.put_nowait(item)
    receipted = 0
    stopped = asyncio.Event()

    async def resident() -> None:
        nonlocal receipted
        async with httpx2.AsyncClient(base_url=url, timeout=60.0) as client:
            while not stopped.is_set() and not queue.empty():
                item = queue.get_nowait()
                try:
                    await submit(client, item)
                except httpx2.HTTPError as exc:
                    item.error = type(exc).__name__
                    continue
                if item.token:
                    receipted += 1
                    if on_receipt:
                        on_receipt(item)
                    if stop_after is not None and receipted >= stop_after and not stopped.is_set():
                        stopped.set()
                        if on_stop:
                            on_stop()

    await asyncio.gather(*(resident() for _ in range(concurrency)))
    return stopped.is_set()


# ---------------------------------------------------------------------------------------------------
# Checking what survived


def integrity(db_path: Path) -> str:
    conn = sqlite3.connect(db_path)
    try:
        return "; ".join(row[0] for row in conn.execute("PRAGMA integrity_check"))
    finally:
        conn.close()


def stored(db_path: Path, token: str) -> tuple[str, str] | None:
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        row = conn.execute("SELECT headline, body FROM essays WHERE token_hash = ?",
                           (hashlib.sha256(token.encode()).hexdigest(),)).fetchone()  # fmt: skip
    finally:
        conn.close()
    return (row[0], row[1]) if row else None


def tracking_page_shows(url: str, item: Submission) -> bool:
    response = httpx2.get(f"{url}/track/{item.token}", timeout=30.0)
    text = html.unescape(response.text)
    return response.status_code == 200 and item.headline in text and f"这是第 {item.index} 号投稿" in text


@dataclass
class Result:
    sent: int = 0  # POSTs that left the client
    receipted: int = 0  # 303 receipts received
    receipted_before_kill: int = 0
    found: int = 0  # receipted essays present and intact after the restart
    killed: bool = False
    missing: list[int] = field(default_factory=list)
    altered: list[int] = field(default_factory=list)
    integrity_after_kill: str = ""
    integrity_at_end: str = ""
    rows: int = 0
    server_errors: int = 0

    @property
    def ok(self) -> bool:
        return (self.killed and self.receipted > 0 and self.found == self.receipted and not self.missing
                and not self.altered and self.integrity_after_kill == "ok" and self.integrity_at_end == "ok"
                and self.server_errors == 0)  # fmt: skip

    def summary(self) -> str:
        return (f"sent {self.sent}, receipted {self.receipted} ({self.receipted_before_kill} before the SIGKILL), "
                f"found intact after restart {self.found}, missing {len(self.missing)}, altered {len(self.altered)}, "
                f"essays stored {self.rows}, integrity after kill: {self.integrity_after_kill}, "
                f"at end: {self.integrity_at_end}, 5xx: {self.server_errors}")  # fmt: skip


def run(data_dir: Path, *, submissions: int = 300, concurrency: int = 24, workers: int = 1) -> Result:
    result = Result()
    before = make_submissions(submissions * 2 // 3)
    after = make_submissions(submissions - len(before), start=len(before))
    server = Server(data_dir, workers=workers)
    server.start()
    try:
        # The kill comes once half of all submissions are receipted, with the others in flight.
        result.killed = asyncio.run(submit_all(server.url, before, concurrency=concurrency,
                                               stop_after=submissions // 2, on_stop=server.kill))  # fmt: skip
        server.kill()  # (already dead if the threshold was reached)
        result.integrity_after_kill = integrity(data_dir / "citizenvoice.db")
        result.receipted_before_kill = sum(1 for s in before if s.token)
        server.start()
        asyncio.run(submit_all(server.url, after, concurrency=concurrency))
        everything = before + after
        _check(server.url, data_dir, everything, result)
    finally:
        server.stop()
    result.integrity_at_end = integrity(data_dir / "citizenvoice.db")
    result.server_errors += server.log_text().count('"status": 500')
    return result


def _check(url: str, data_dir: Path, items: list[Submission], result: Result) -> None:
    result.sent = sum(1 for s in items if s.posted)
    result.server_errors = sum(1 for s in items if s.status is not None and s.status >= 500)
    receipted = [s for s in items if s.token]
    result.receipted = len(receipted)
    for item in receipted:
        row = stored(data_dir / "citizenvoice.db", item.token or "")
        if row is None or not tracking_page_shows(url, item):
            result.missing.append(item.index)
        elif row != (item.headline, item.body):
            result.altered.append(item.index)
        else:
            result.found += 1
    conn = sqlite3.connect(f"file:{data_dir / 'citizenvoice.db'}?mode=ro", uri=True)
    try:
        result.rows = conn.execute("SELECT count(*) FROM essays").fetchone()[0]
    finally:
        conn.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--submissions", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=24)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep the data directory and server logs")
    args = parser.parse_args(argv)
    data_dir = Path(tempfile.mkdtemp(prefix="cv-crash-"))
    try:
        result = run(data_dir, submissions=args.submissions, concurrency=args.concurrency, workers=args.workers)
    finally:
        if not args.keep:
            shutil.rmtree(data_dir, ignore_errors=True)
    print(result.summary())
    if args.keep:
        print(f"data and logs kept in {data_dir}")
    if result.missing or result.altered:
        print(f"missing: {result.missing[:20]} altered: {result.altered[:20]}")
    print("OK" if result.ok else "FAILED")
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
