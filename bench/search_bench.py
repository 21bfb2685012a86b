"""Scale benchmark for citizenvoice.store.search: build an index of N synthetic essays, time queries.

    python bench/search_bench.py                # 100,000 essays in a temporary database
    python bench/search_bench.py 20000 --runs 50
    python bench/search_bench.py 100000 --db /tmp/search.db --keep   # reuse the built index later

Essays are 400–1,500 CJK characters drawn from a Zipf-weighted vocabulary (so 的 is in nearly every
essay while most words are rare), with Chinese punctuation and paragraphs. Everything goes through
``index_essay`` in transactions of BATCH essays, as the app's writer would. Query times are the
wall time of ``search()`` including snippet building: the server's share of a /search request.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import aiosqlite

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from citizenvoice.store.search import SearchDoc, index_essay, search  # noqa: E402

MIGRATION = Path(__file__).resolve().parent.parent / "migrations" / "0005_search.sql"
BATCH = 500
DIRECTIONS = [
    "business-environment", "logistics-hub", "strategic-reserve", "new-energy-hub", "education-talent",
    "port-industry-city", "finance-center", "open-cooperation", "rural-revitalization", "silver-economy",
    "wellbeing", "ecology",
]  # fmt: skip
PARTICLES = ["的", "了", "是", "在", "和"]
# Topic words placed at spread-out vocabulary ranks, so they range from common to rare.
THEMED = {
    40: "城市",
    80: "锦州",
    150: "港口",
    300: "海",
    600: "医保",
    1200: "营商环境",
    2500: "新能源",
    9000: "锦州港",
}
ROLES = ["市民", "社区工作者", "企业职工", "研究人员", "公职人员", "学生", "退休教师"]


@dataclass
class Corpus:
    """A seeded generator of essay text with a Zipf-shaped vocabulary."""

    rng: random.Random
    chars: list[str]
    words: list[str]
    cum_weights: list[float]

    @classmethod
    def make(cls, seed: int) -> Corpus:
        rng = random.Random(seed)
        chars = rng.sample([chr(cp) for cp in range(0x4E00, 0x9FA6)], 3500)
        char_weights = [1 / (rank + 1) ** 0.8 for rank in range(len(chars))]
        words = list(PARTICLES)
        while len(words) < 30_000:
            length = rng.choices([1, 2, 3, 4], [15, 60, 15, 10])[0]
            words.append(THEMED.get(len(words)) or "".join(rng.choices(chars, char_weights, k=length)))
        total, cum = 0.0, []
        for rank in range(len(words)):
            total += 1 / (rank + 1)
            cum.append(total)
        return cls(rng, chars, words, cum)

    def text(self, n_chars: int) -> str:
        """About n_chars characters: clauses of words joined by Chinese punctuation, in paragraphs."""
        rng, parts, size = self.rng, [], 0
        stream = iter(rng.choices(self.words, cum_weights=self.cum_weights, k=n_chars))
        while size < n_chars:
            clause = "".join(next(stream, "的") for _ in range(rng.randint(3, 8)))
            mark = rng.choices(["，", "。", "、", "！", "？", "；", "。\n"], [50, 25, 8, 3, 3, 3, 8])[0]
            parts.append(clause + mark)
            size += len(clause) + 1
        return "".join(parts)[:n_chars]

    def doc(self, essay_id: int) -> SearchDoc:
        rng = self.rng
        headline = self.text(rng.randint(8, 24)).rstrip("，、；\n")
        byline = f"{rng.choice(ROLES)} {''.join(rng.choices(self.chars[:800], k=rng.randint(2, 3)))}"
        minutes = essay_id * 5  # published in id order, five minutes apart
        published = f"2026-{1 + minutes // 43200 % 12:02d}-{1 + minutes // 1440 % 28:02d}T{minutes // 60 % 24:02d}:{minutes % 60:02d}:00Z"
        return SearchDoc(
            essay_id, rng.choice(DIRECTIONS), headline, byline, self.text(rng.randint(400, 1500)), published
        )


async def build(conn: aiosqlite.Connection, corpus: Corpus, n: int) -> float:
    started = time.perf_counter()
    for first in range(1, n + 1, BATCH):
        await conn.execute("BEGIN IMMEDIATE")
        for essay_id in range(first, min(first + BATCH, n + 1)):
            await index_essay(conn, corpus.doc(essay_id))
        await conn.execute("COMMIT")
        if first // BATCH % 20 == 0:
            print(
                f"  indexed {min(first + BATCH - 1, n):>7} essays, {time.perf_counter() - started:6.1f} s",
                flush=True,
            )
    return time.perf_counter() - started


async def queries(conn: aiosqlite.Connection, corpus: Corpus) -> dict[str, list[tuple[str, str | None]]]:
    """Query sets by length: common, middling and rare characters and words, some with a board,
    quotes taken from indexed essays, and deliberately costly queries."""
    rng = random.Random(7)
    chars = corpus.chars
    one = ["的", "海", chars[0], chars[20], chars[300], chars[2000], chars[3400]]
    two = ["锦州", "医保", "港口", *rng.sample([w for w in corpus.words[5:3000] if len(w) == 2], 5)]
    sample = corpus.text(4000).replace("\n", "")
    four = ["营商环境", *(sample[i : i + 4] for i in rng.sample(range(len(sample) - 4), 6))]
    async with conn.execute("SELECT body FROM search_docs ORDER BY essay_id LIMIT 3") as cur:
        bodies = [row[0] for row in await cur.fetchall()]  # a quote across a paragraph is two words
    return {
        "1-char": [(q, None) for q in one],
        "2-char": [(q, None) for q in two],
        "4-char": [(q, None) for q in four],
        "1-char + board": [("的", "wellbeing"), ("海", "ecology"), (chars[300], "logistics-hub")],
        "two words": [("锦州 医保", None), ("的 港口", None), (f"{chars[20]} {two[3]}", None)],
        "quotes 12-60": [(body[100 : 100 + n], None) for body, n in zip(bodies, [12, 30, 60], strict=True)],
        "stress": [("的 了 是 在 和", None), (" ".join(chars[:8]), None), (chars[0] * 100, None)],
    }


async def time_queries(conn: aiosqlite.Connection, corpus: Corpus, runs: int) -> None:
    """Wall time, and the process's CPU time: on a shared machine the wall time also counts the
    time other programs held the CPU, while the CPU time is this query's own work."""
    print(
        f"\n{'query set':<16} {'wall median':>11} {'p95':>6} {'max':>6} {'cpu median':>10} {'p95':>6}   (ms)"
    )
    for label, qs in (await queries(conn, corpus)).items():
        wall: list[float] = []
        cpu: list[float] = []
        detail = []
        for q, direction in qs:
            mine = []
            for _ in range(runs):
                started, started_cpu = time.perf_counter(), time.process_time()
                result = await search(conn, q, direction=direction)
                wall.append((time.perf_counter() - started) * 1000)
                cpu.append((time.process_time() - started_cpu) * 1000)
                mine.append(wall[-1])
            shown = (q[:10] + f"…[{len(q)}]" if len(q) > 12 else q).replace("\n", " ")
            board = "@" + direction if direction else ""
            detail.append(f"{shown}{board}({result.total}) {statistics.median(mine):.1f}")
        print(
            f"{label:<16} {statistics.median(wall):>11.1f} {p95(wall):>6.1f} {max(wall):>6.1f}"
            f" {statistics.median(cpu):>10.1f} {p95(cpu):>6.1f}"
        )
        print(f"    wall medians, text(matches) ms: {'; '.join(detail)}")


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[18]


def db_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("n", nargs="?", type=int, default=100_000, help="essays to index (default 100000)")
    parser.add_argument("--runs", type=int, default=30, help="timed runs of each query")
    parser.add_argument("--db", type=Path, help="database file (default: a temporary one)")
    parser.add_argument("--keep", action="store_true", help="reuse --db when it already holds an index")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = args.db or Path(tmp) / "search.db"
        reuse = args.keep and path.exists()
        corpus = Corpus.make(args.seed)
        async with aiosqlite.connect(path, isolation_level=None) as conn:
            await conn.execute("PRAGMA journal_mode=WAL")
            await conn.execute("PRAGMA synchronous=NORMAL")
            if not reuse:
                await conn.executescript(MIGRATION.read_text(encoding="utf-8"))
                print(f"building an index of {args.n:,} essays in {path}")
                seconds = await build(conn, corpus, args.n)
                print(f"index build: {seconds:.1f} s ({args.n / seconds:,.0f} essays/s)")
            await conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            count = (await (await conn.execute("SELECT count(*) FROM search_docs")).fetchone())[0]
            print(f"essays indexed: {count:,}; database size: {db_size(path) / 2**20:,.0f} MiB")
            await time_queries(conn, corpus, args.runs)


if __name__ == "__main__":
    asyncio.run(main())
