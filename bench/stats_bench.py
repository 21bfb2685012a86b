"""Server time of the editorial meeting's statistics at city scale, in process (no network).

    .venv/bin/python bench/stats_bench.py                         # bench/data/100000 (generate.py builds it)
    .venv/bin/python bench/stats_bench.py --db /tmp/cv.db --runs 20

Works on a scratch copy of the database (the migrations add the stats indexes to it, which takes a few
seconds once), signs in as the generator's bench-editor and prints the median and worst time of
GET /editor/stats (default range: the last 12 weeks; and a whole year), of its two halves (the
queries, the charts and template), and of the exports. Not part of the test suite: the unit tests
never assert a time.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import aiosqlite  # noqa: E402
from starlette.testclient import TestClient  # noqa: E402

from bench import generate  # noqa: E402
from citizenvoice.app import create_app  # noqa: E402
from citizenvoice.db import migrations  # noqa: E402
from citizenvoice.domain import stats  # noqa: E402
from citizenvoice.settings import Settings  # noqa: E402
from citizenvoice.views import stats as stats_views  # noqa: E402


def timed(work: Callable[[], object], runs: int) -> tuple[float, float]:
    work()  # warm the page cache of SQLite and the template cache
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), max(times)


def sign_in(client: TestClient) -> None:
    page = client.get("/login").text
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    response = client.post("/login", data={"username": "bench-editor", "password": generate.PASSWORD,
                                           "csrf_token": token})  # fmt: skip
    assert response.status_code == 303, response.text[:500]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", type=Path, default=generate.default_db(100_000))
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args(argv)
    if not args.db.exists():
        print(f"{args.db} missing: run bench/generate.py 100000 first", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="cv-stats-bench-") as scratch:
        db = Path(scratch) / "citizenvoice.db"
        shutil.copyfile(args.db, db)
        started = time.perf_counter()
        migrations.migrate(db)
        print(f"migrations on the copy: {time.perf_counter() - started:.1f} s")
        settings = Settings(data_dir=Path(scratch), database_path=db, secret_key="bench-stats-secret").resolved()
        app = create_app(settings)
        with TestClient(app, base_url="http://testserver", follow_redirects=False) as client:
            sign_in(client)
            today = dt.datetime.now(stats.BEIJING).date()
            year = {"from": (today - dt.timedelta(days=365)).isoformat(), "to": today.isoformat()}
            report(client, db, args.runs, year)
    return 0


def _median_max(times: list[float]) -> tuple[float, float]:
    return statistics.median(times), max(times)


async def queries(db: Path, params: dict[str, str], runs: int) -> tuple[stats.Dashboard, list[float]]:
    """The dashboard's statements alone, on a connection of their own (no HTTP, no template)."""
    async with aiosqlite.connect(db) as conn:
        conn.row_factory = aiosqlite.Row
        today = dt.datetime.now(stats.BEIJING).date()
        board = await stats.load_dashboard(conn, params, today)
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            board = await stats.load_dashboard(conn, params, today)
            times.append((time.perf_counter() - start) * 1000)
        return board, times


def report(client: TestClient, db: Path, runs: int, year: dict[str, str]) -> None:
    def get(path: str, params: dict[str, str] | None = None) -> Callable[[], object]:
        def work() -> object:
            response = client.get(path, params=params)
            assert response.status_code == 200, response.text[:300]
            return response

        return work

    board = asyncio.run(queries(db, {}, 1))[0]
    print(f"default range: {board.totals.submitted} essays submitted, {board.queue.count} pending")
    rows = [
        ("GET /editor/stats (last 12 weeks)", get("/editor/stats")),
        ("GET /editor/stats (one year)", get("/editor/stats", year)),
        ("  of which the five charts (12 weeks)", lambda: stats_views._charts(board)),
        ("GET /editor/stats.csv (12 weeks)", get("/editor/stats.csv")),
        ("GET /editor/stats.xlsx (12 weeks)", get("/editor/stats.xlsx")),
    ]
    print(f"{'':42} {'median ms':>10} {'max ms':>8}   ({runs} runs)")
    for label, work in rows:
        median, worst = timed(work, runs)
        print(f"{label:42} {median:10.1f} {worst:8.1f}")
    median, worst = _median_max(asyncio.run(queries(db, {}, runs))[1])
    print(f"{'  of which the five queries (12 weeks)':42} {median:10.1f} {worst:8.1f}")
    median, worst = timed(get("/editor/essays.xlsx"), 3)
    print(f"{'GET /editor/essays.xlsx (12 weeks)':42} {median:10.1f} {worst:8.1f}   (3 runs)")


if __name__ == "__main__":
    raise SystemExit(main())
