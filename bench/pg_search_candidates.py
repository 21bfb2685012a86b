"""The two PostgreSQL search designs issue 13 names, measured on the same essays (bench/RESULTS.md).

    python bench/pg_search_candidates.py --database-url URL [--runs 10]

URL is a database moved from ``bench/generate.py N`` with ``citizenvoice migrate-to-postgres``. Each
candidate gets its index built here, in a scratch table or as an expression index, so the build time and
size are measured on the same rows; then every query runs what a results page needs (the exact count and
the newest 20 matches) RUNS times: p50 and p95 in ms, and the match count, which must agree across rows.

- ``trgm``: LIKE '%term%' on the folded text, answered by the pg_trgm GIN index (migration 0005).
- ``tsv``: a tsvector of one lexeme per character with its positions (built from the folded text; the
  'simple' parser would drop punctuation, so lexemes are written as literals), phrase queries ``a <-> b``.
- ``grams``: a GIN over the distinct characters and character bigrams of the folded text
  (``cv_search_grams``, migration 0030): a 1–2 character term is one exact key; a longer term is the
  intersection of its bigrams, confirmed by LIKE on the folded text.

This is the raw SQL under PostgreSQL's default planner settings; ``store.search`` adds its own
(``_PG_PLANNER``: the default planner recomputed the grams row by row for some of these queries), so
measure the store with ``search_side_by_side.py``. On the 2-core machine the tsv build did not finish
in 12 minutes at 100,000 essays (bench/RESULTS.md); ``--candidates grams,trgm`` skips it.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

import asyncpg

QUERIES = ["港", "的", "锦州", "港口", "营商环境", "养老服务", "新能源汽车", "养老服务 社区", "物流枢纽建设"]

_TSV_FUNCTION = r"""
CREATE OR REPLACE FUNCTION bench_char_tsv(t text) RETURNS tsvector LANGUAGE sql IMMUTABLE STRICT AS $$
  SELECT coalesce(string_agg('''' || replace(replace(c, '\', '\\'), '''', '''''') || ''':' || p, ' '), '')::tsvector
  FROM (SELECT substr(t, i, 1) AS c, string_agg(least(i, 16383)::text, ',') AS p
        FROM generate_series(1, length(t)) AS i GROUP BY 1) AS s
  WHERE c !~ '\s'
$$
"""


def _like(term: str) -> str:
    return "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _lexeme(c: str) -> str:
    return "'" + c.replace("\\", "\\\\").replace("'", "''") + "'"


def _where(candidate: str, terms: list[str]) -> tuple[str, list[object]]:
    clauses, params = [], []
    for term in terms:
        if candidate == "trgm":
            params.append(_like(term))
            clauses.append(f"d.folded LIKE ${len(params)}")
        elif candidate == "tsv":
            params.append(" <-> ".join(_lexeme(c) for c in term))
            clauses.append(f"bench_char_tsv(d.folded) @@ ${len(params)}::tsquery")
        else:
            keys = [term] if len(term) <= 2 else [term[i : i + 2] for i in range(len(term) - 1)]
            params.append(keys)
            clauses.append(f"cv_search_grams(d.folded) @> ${len(params)}::text[]")
            if len(term) > 2:
                params.append(_like(term))
                clauses.append(f"d.folded LIKE ${len(params)}")
    return " AND ".join(clauses), params


async def _query(conn: asyncpg.Connection, candidate: str, q: str) -> int:
    where, params = _where(candidate, q.split())
    total = await conn.fetchval(f"SELECT count(*) FROM search_docs d WHERE {where}", *params)  # noqa: S608
    await conn.fetch(f"SELECT essay_id FROM search_docs d WHERE {where} ORDER BY essay_id DESC LIMIT 20", *params)  # noqa: S608
    return int(total)


async def _build(conn: asyncpg.Connection, candidate: str) -> tuple[float, int]:
    start = time.perf_counter()
    if candidate == "tsv":
        await conn.execute(_TSV_FUNCTION)
        await conn.execute("DROP INDEX IF EXISTS bench_search_tsv")
        await conn.execute("CREATE INDEX bench_search_tsv ON search_docs USING gin (bench_char_tsv(folded))")
        name = "bench_search_tsv"
    elif candidate == "grams":
        name = "search_docs_grams"
        if not await conn.fetchval("SELECT to_regclass('search_docs_grams') IS NOT NULL"):
            await conn.execute("CREATE INDEX search_docs_grams ON search_docs USING gin (cv_search_grams(folded))")
    else:
        name = "search_docs_folded"
        if not await conn.fetchval("SELECT to_regclass('search_docs_folded') IS NOT NULL"):
            await conn.execute("CREATE INDEX search_docs_folded ON search_docs USING gin (folded gin_trgm_ops)")
    built = time.perf_counter() - start
    await conn.execute("ANALYZE search_docs")
    return built, int(await conn.fetchval("SELECT pg_relation_size($1::regclass)", name))


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--candidates", default="grams,tsv,trgm")
    parser.add_argument("--trgm-runs", type=int, default=3, help="runs for trgm (seconds a query)")
    args = parser.parse_args()
    conn = await asyncpg.connect(args.database_url, command_timeout=None)
    try:
        await conn.execute("SET work_mem = '64MB'")
        docs = await conn.fetchval("SELECT count(*) FROM search_docs")
        print(f"{docs} indexed essays\n")
        print("| candidate | index MB | build s | " + " | ".join(QUERIES) + " |")
        print("|---|---|---|" + "---|" * len(QUERIES))
        for candidate in args.candidates.split(","):
            built, size = await _build(conn, candidate)
            runs = args.trgm_runs if candidate == "trgm" else args.runs
            cells = []
            for q in QUERIES:
                times, total = [], 0
                for _ in range(runs):
                    start = time.perf_counter()
                    total = await _query(conn, candidate, q)
                    times.append((time.perf_counter() - start) * 1000)
                times.sort()
                p95 = times[max(0, int(round(len(times) * 0.95)) - 1)]
                cells.append(f"{statistics.median(times):.0f} / {p95:.0f} ({total})")
            print(f"| {candidate} | {size / 1e6:.0f} | {built:.0f} | " + " | ".join(cells) + " |", flush=True)
    finally:
        await conn.close()


if __name__ == "__main__":
    asyncio.run(main())
