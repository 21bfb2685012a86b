"""Search on SQLite (FTS5) and PostgreSQL (pg_trgm) over the same essays, side by side.

    python bench/search_side_by_side.py --sqlite bench/data/100000/citizenvoice.db --database-url URL

The PostgreSQL database is the SQLite one moved with ``citizenvoice migrate-to-postgres``, so both hold
the same published essays. Each query runs ``store.search.search`` (count, page, snippets: the
server's share of a /search request) RUNS times per database; p50 and p95 in milliseconds, and
whether both found the same number of essays.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from citizenvoice.db import (
    Database,  # noqa: E402
    postgres,  # noqa: E402
)
from citizenvoice.store.search import search  # noqa: E402

QUERIES = ["港", "的", "锦州", "港口", "营商环境", "新能源汽车", "养老服务 社区", "物流枢纽建设"]


async def _time(db, query: str, runs: int) -> tuple[float, float, int]:  # type: ignore[no-untyped-def]
    times, total = [], 0
    for _ in range(runs):
        start = time.perf_counter()
        async with db.read() as conn:
            total = (await search(conn, query)).total
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return statistics.median(times), times[max(0, int(len(times) * 0.95) - 1)], total


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sqlite", type=Path, required=True)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    lite, pg = Database(args.sqlite, readers=1), postgres.Database(args.database_url, readers=1)
    await lite.open()
    await pg.open()
    print("| query | chars | SQLite p50 / p95 ms | PostgreSQL p50 / p95 ms | matches (SQLite / PG) |")
    print("|---|---|---|---|---|")
    try:
        for q in QUERIES:
            a, b = await _time(lite, q, args.runs), await _time(pg, q, args.runs)
            print(f"| {q} | {len(q.replace(' ', ''))} | {a[0]:.1f} / {a[1]:.1f} | {b[0]:.1f} / {b[1]:.1f} |"
                  f" {a[2]} / {b[2]} |")
    finally:
        await lite.close()
        await pg.close()


if __name__ == "__main__":
    asyncio.run(main())
