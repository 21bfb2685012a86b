"""citizenvoice.store.search: exact substring matching at every query length, ranking, snippets, upkeep.

Each test runs its own coroutine with asyncio.run on a fresh in-memory database holding only the
search migration, so no pytest plugin and no shared state are needed. With
CITIZENVOICE_TEST_DATABASE_URL set (``make test-postgres``) the same tests, the oracle property among
them, run on PostgreSQL: one migrated database for the module, its search index emptied before each.
"""

from __future__ import annotations

import asyncio
import re
import unicodedata
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TypeVar
from unittest import mock

import aiosqlite
import asyncpg
import pgtest
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from citizenvoice.db import dialect, migrate
from citizenvoice.store import search as search_module
from citizenvoice.store.search import (
    MAX_TERM_CHARS,
    MAX_TERMS,
    SearchDoc,
    SearchResults,
    index_essay,
    parse_query,
    rebuild_index,
    remove_essay,
    search,
)
from citizenvoice.text import highlight

MIGRATION = Path(__file__).resolve().parent.parent / "migrations" / "0005_search.sql"
T = TypeVar("T")


ON_POSTGRES = pgtest.enabled()
sqlite_only = pytest.mark.skipif(ON_POSTGRES, reason="SQLite's FTS5 tables and runner")
_pg_url: str | None = None


def with_index(body: Callable[[aiosqlite.Connection], Awaitable[T]]) -> T:
    async def run() -> T:
        async with aiosqlite.connect(":memory:", isolation_level=None) as conn:
            await conn.executescript(MIGRATION.read_text(encoding="utf-8"))
            return await body(conn)

    async def run_pg() -> T:
        global _pg_url
        _pg_url = _pg_url or pgtest.fresh_database()  # a database a test would cost 200 for the property
        raw = await asyncpg.connect(_pg_url)
        try:
            await raw.execute("TRUNCATE search_docs")
            return await body(dialect.PgConnection(raw))  # type: ignore[arg-type]
        finally:
            await raw.close()

    return asyncio.run(run_pg() if ON_POSTGRES else run())


def doc(
    essay_id: int, body: str, *, headline: str = "标题", byline: str = "市民", direction: str = "wellbeing"
) -> SearchDoc:
    return SearchDoc(
        essay_id, direction, headline, byline, body, f"2026-01-{essay_id % 28 + 1:02d}T08:00:00Z"
    )


async def index_all(conn: aiosqlite.Connection, docs: Sequence[SearchDoc]) -> None:
    await conn.execute("BEGIN")
    for d in docs:
        await index_essay(conn, d)
    await conn.execute("COMMIT")


async def all_ids(conn: aiosqlite.Connection, q: str, direction: str | None = None) -> list[int]:
    """Every hit, page by page, in ranked order (checks that paging neither loses nor repeats)."""
    ids: list[int] = []
    while True:
        page = await search(conn, q, direction=direction, limit=3, offset=len(ids))
        ids += [h.essay_id for h in page.hits]
        if not page.hits:
            assert len(ids) == page.total if page.total_exact else len(ids) > page.total
            return ids


def norm(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def oracle(docs: Sequence[SearchDoc], q: str, direction: str | None = None) -> set[int]:
    """Brute force: every word a substring of the NFKC + casefolded headline, byline or body."""
    terms = [t for t in re.split(r"[\s\x00-\x1f\x7f]+", norm(q)) if t]
    if not terms:
        return set()
    return {
        d.essay_id
        for d in docs
        if (direction is None or d.direction == direction)
        and all(any(t in norm(field) for field in (d.headline, d.byline, d.body)) for t in terms)
    }


CORPUS = [
    doc(1, "锦州港的集装箱吞吐量又创新高，海风很大。", headline="港口新气象"),
    doc(2, "医保报销更方便了，看病不再跑腿。", headline="说说医保", direction="wellbeing"),
    doc(3, "我住在锦州，医保卡在社区就能办。", headline="社区生活", direction="ecology"),
    doc(4, "海边的公园绿道修好了。", headline="海", byline="退休教师 王海", direction="ecology"),
    doc(5, "城市更新要听居民的意见。", headline="旧城改造"),
]


def test_one_character_query_finds_every_essay_containing_it() -> None:
    async def body(conn: aiosqlite.Connection) -> SearchResults:
        await index_all(conn, CORPUS)
        return await search(conn, "海")

    results = with_index(body)
    assert {h.essay_id for h in results.hits} == {1, 4} == oracle(CORPUS, "海")
    assert results.total == 2 and results.terms == ["海"]


def test_two_and_more_character_queries() -> None:
    async def body(conn: aiosqlite.Connection) -> dict[str, set[int]]:
        await index_all(conn, CORPUS)
        return {
            q: set(await all_ids(conn, q)) for q in ["锦州", "医保", "锦州港", "医保卡在社区", "看病跑腿"]
        }

    found = with_index(body)
    assert found == {"锦州": {1, 3}, "医保": {2, 3}, "锦州港": {1}, "医保卡在社区": {3}, "看病跑腿": set()}


def test_words_are_anded_and_may_hit_different_fields() -> None:
    async def body(conn: aiosqlite.Connection) -> tuple[set[int], set[int]]:
        await index_all(conn, CORPUS)
        return set(await all_ids(conn, "锦州 医保")), set(await all_ids(conn, "王海  公园"))

    both, byline_and_body = with_index(body)
    assert both == {3}
    assert byline_and_body == {4}


def test_punctuation_stops_a_match_but_can_be_searched() -> None:
    async def body(conn: aiosqlite.Connection) -> list[set[int]]:
        await index_all(conn, CORPUS)
        return [set(await all_ids(conn, q)) for q in ["州医", "州，医", "州,医", "锦州。"]]

    across, with_comma, ascii_comma, wrong_mark = with_index(body)
    assert across == set()
    assert with_comma == {3}
    assert ascii_comma == {3}  # NFKC makes the fullwidth comma an ASCII one, on both sides
    assert wrong_mark == set()


def test_latin_and_digits_match_as_substrings_ignoring_case_and_width() -> None:
    docs = [doc(1, "Main Street 2026 AI 计划"), doc(2, "a i 分开"), doc(3, "x<y & a,b")]

    async def body(conn: aiosqlite.Connection) -> list[set[int]]:
        await index_all(conn, docs)
        return [set(await all_ids(conn, q)) for q in ["ai", "ＡＩ", "02", "street2026", "a,b", "<y", "&"]]

    assert with_index(body) == [{1}, {1}, {1}, set(), {3}, {3}, {3}]


def test_every_ascii_punctuation_mark_is_searchable_and_safe_in_queries() -> None:
    marks = [chr(c) for c in range(33, 127) if not chr(c).isalnum()]
    docs = [doc(i, f"k{mark}m 其他") for i, mark in enumerate(marks, 1)]

    async def body(conn: aiosqlite.Connection) -> list[tuple[set[int], set[int]]]:
        await index_all(conn, docs)
        return [(set(await all_ids(conn, mark)), set(await all_ids(conn, f"k{mark}"))) for mark in marks]

    # FTS5 syntax characters (" * ( ) : ^ { } -) reach the index as plain text, never as operators.
    assert with_index(body) == [({i}, {i}) for i in range(1, len(marks) + 1)]


def test_whitespace_and_control_characters_separate_words() -> None:
    docs = [doc(1, "a\tb c\x01d"), doc(2, "ab cd"), doc(3, "锦州 州港")]

    async def body(conn: aiosqlite.Connection) -> list[set[int]]:
        await index_all(conn, docs)
        return [
            set(await all_ids(conn, q)) for q in ["ab", "cd", "a b", "c\x00d", "b\u3000c", "锦州港", "州州"]
        ]

    # "锦州港" must not be stitched together from the runs "锦州" and "州港".
    assert with_index(body) == [{2}, {2}, {1, 2}, {1, 2}, {1, 2}, set(), set()]


def test_headline_hits_rank_first() -> None:
    docs = [
        doc(1, "医保" * 5 + "，医保报销说明。", headline="一封信"),
        doc(2, "正文里提一次医保。", headline="关于医保的建议"),
        doc(3, "医保医保医保。", headline="另一封信"),
    ]

    async def body(conn: aiosqlite.Connection) -> SearchResults:
        await index_all(conn, docs)
        return await search(conn, "医保")

    results = with_index(body)
    assert [h.essay_id for h in results.hits][0] == 2
    assert [h.headline_hit for h in results.hits] == [True, False, False]
    assert results.hits[0].headline_html == "关于<mark>医保</mark>的建议"


def test_direction_filter() -> None:
    async def body(conn: aiosqlite.Connection) -> tuple[set[int], set[int], int]:
        await index_all(conn, CORPUS)
        eco = set(await all_ids(conn, "海", direction="ecology"))
        wellbeing = set(await all_ids(conn, "医保", direction="wellbeing"))
        return eco, wellbeing, (await search(conn, "海", direction="no-such-board")).total

    eco, wellbeing, nothing = with_index(body)
    assert eco == {4} == oracle(CORPUS, "海", "ecology")
    assert wellbeing == {2}
    assert nothing == 0


def test_remove_and_reindex_after_edit() -> None:
    async def body(conn: aiosqlite.Connection) -> list[set[int]]:
        await index_all(conn, CORPUS)
        await conn.execute("BEGIN")
        await remove_essay(conn, 1)
        await remove_essay(conn, 999)  # never indexed: nothing happens
        await index_essay(conn, doc(3, "改成谈养老了。", headline="养老"))
        await conn.execute("COMMIT")
        return [set(await all_ids(conn, q)) for q in ["海", "锦州", "医保", "养老"]]

    assert with_index(body) == [{4}, set(), {2}, {3}]


def test_rebuild_index_rederives_the_tokens_from_the_stored_text() -> None:
    async def body(conn: aiosqlite.Connection) -> tuple[int, list[set[int]]]:
        await index_all(conn, CORPUS)
        await conn.execute("BEGIN")
        count = await rebuild_index(conn, batch=2)
        await remove_essay(conn, 3)  # a delete after the rebuild still finds its tokens
        await conn.execute("COMMIT")
        return count, [set(await all_ids(conn, q)) for q in ["海", "锦州", "医保", "城市"]]

    assert with_index(body) == (5, [{1, 4}, {1}, {2}, {5}])


def test_index_changes_belong_to_the_callers_transaction() -> None:
    async def body(conn: aiosqlite.Connection) -> tuple[bool, int, int]:
        await index_all(conn, CORPUS[:1])
        await conn.execute("BEGIN")
        await index_essay(conn, CORPUS[1])
        await remove_essay(conn, 1)
        still_open = conn.in_transaction
        await conn.execute("ROLLBACK")
        return still_open, (await search(conn, "海")).total, (await search(conn, "医保")).total

    assert with_index(body) == (True, 1, 0)


def test_snippet_escapes_html_and_marks_every_occurrence() -> None:
    text = "开头" * 40 + "<script>alert(1)</script>海港与海湾" + "结尾" * 60

    async def body(conn: aiosqlite.Connection) -> SearchResults:
        await index_all(conn, [doc(1, text, headline="<b>海</b>")])
        return await search(conn, "海")

    hit = with_index(body).hits[0]
    assert "<script>" not in hit.snippet_html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;<mark>海</mark>港与<mark>海</mark>湾" in hit.snippet_html
    assert hit.snippet_html.startswith("…") and hit.snippet_html.endswith("…")
    visible = hit.snippet_html.replace("<mark>", "").replace("</mark>", "").strip("…")
    assert 80 <= len(visible.replace("&lt;", "<").replace("&gt;", ">")) <= 120
    assert hit.headline_html == "&lt;b&gt;<mark>海</mark>&lt;/b&gt;"


def test_headline_only_hit_shows_the_start_of_the_body() -> None:
    async def body(conn: aiosqlite.Connection) -> SearchResults:
        await index_all(conn, [doc(1, "正文" * 100, headline="锦州新闻", byline="记者 Li")])
        return await search(conn, "锦州 LI")

    hit = with_index(body).hits[0]
    assert hit.snippet_html.startswith("正文正文") and hit.snippet_html.endswith("…")
    assert hit.headline_html == "<mark>锦州</mark>新闻"
    assert hit.byline_html == "记者 <mark>Li</mark>"
    assert hit.headline_hit is False  # "li" is not in the headline


def test_highlight_maps_normalized_matches_back_to_the_original() -> None:
    spans = highlight.match_spans("ＡＩ与ﬁ工作", ["ai", "i"])
    assert spans == [(0, 2), (3, 4)]  # fullwidth letters and the ﬁ ligature are marked whole


def test_large_result_sets_stay_exact_with_headline_hits_first() -> None:
    docs = [doc(i, f"第{i}篇，海。", headline="海" if i % 3 == 0 else "山") for i in range(1, 21)]

    async def body(conn: aiosqlite.Connection) -> tuple[list[int], list[bool], bool]:
        await index_all(conn, docs)
        with mock.patch.object(search_module, "RANK_CAP", 5):
            ids = await all_ids(conn, "海")
            results = await search(conn, "海", limit=10, offset=3)
        return ids, [h.headline_hit for h in results.hits], results.ranked

    ids, flags, ranked = with_index(body)
    assert ids == [18, 15, 12, 9, 6, 3, 20, 19, 17, 16, 14, 13, 11, 10, 8, 7, 5, 4, 2, 1]
    assert flags == [True, True, True] + [False] * 7
    assert ranked is False


def test_counting_stops_at_the_cap_and_every_match_can_still_be_paged() -> None:
    docs = [doc(i, f"第{i}篇，海。", headline="海" if i % 3 == 0 else "山") for i in range(1, 21)]

    async def body(conn: aiosqlite.Connection) -> tuple[list[tuple[int, bool]], list[int]]:
        await index_all(conn, docs)
        with mock.patch.object(search_module, "COUNT_CAP", 5), mock.patch.object(search_module, "PROBE_CHARS", 1):
            answers = [(r.total, r.total_exact) for r in [await search(conn, q) for q in ["海", "篇，海", "第1"]]]
            return answers, await all_ids(conn, "海")

    answers, ids = with_index(body)
    # 20 essays hold 海 and 篇，海 (that one verified against the text); 11 hold 第1 (1, 10–19).
    assert answers == [(5, False), (5, False), (5, False)]
    assert ids == [18, 15, 12, 9, 6, 3, 20, 19, 17, 16, 14, 13, 11, 10, 8, 7, 5, 4, 2, 1]


def test_long_terms_are_probed_by_their_ends_and_verified() -> None:
    quote = "让学校、科研和产业握手，留住青年人才"
    docs = [
        doc(1, f"他说：{quote}。"),
        doc(2, "让学校、科研和产业握手。另一句：留住青年人才"),  # both ends, not the whole
        doc(3, "哈" * 30, headline="哈" * 12),
        doc(4, "哈" * 11),
    ]

    async def body(conn: aiosqlite.Connection) -> list[tuple[int, list[int], list[bool]]]:
        await index_all(conn, docs)
        out = []
        for q in [quote, "哈" * 12, "哈" * 25 + " 哈哈"]:
            results = await search(conn, q)
            out.append(
                (results.total, [h.essay_id for h in results.hits], [h.headline_hit for h in results.hits])
            )
        return out

    assert with_index(body) == [(1, [1], [False]), (1, [3], [True]), (1, [3], [False])]


def test_parse_query() -> None:
    assert parse_query("  锦州\u3000医保  锦州 ") == ["锦州", "医保"]
    assert parse_query("ＡＢｃ") == ["abc"]
    assert parse_query(" ".join(str(i) for i in range(20))) == [str(i) for i in range(MAX_TERMS)]
    assert parse_query("海" * 300) == ["海" * MAX_TERM_CHARS]
    assert parse_query(" \t ") == []


def test_empty_query_finds_nothing() -> None:
    async def body(conn: aiosqlite.Connection) -> SearchResults:
        await index_all(conn, CORPUS)
        return await search(conn, "   ")

    assert with_index(body) == SearchResults(total=0, hits=[], terms=[])


@sqlite_only
def test_migration_applies_through_the_project_runner(tmp_path: Path) -> None:
    path = tmp_path / "app.db"
    assert "0005_search" in migrate(path)

    async def run() -> SearchResults:
        async with aiosqlite.connect(path, isolation_level=None) as conn:
            conn.row_factory = aiosqlite.Row  # as the app's connections are set up
            await index_all(conn, CORPUS)
            return await search(conn, "锦州")

    assert asyncio.run(run()).total == 2


@sqlite_only
def test_query_uses_the_full_text_index() -> None:
    async def body(conn: aiosqlite.Connection) -> str:
        plan = await conn.execute_fetchall(
            "EXPLAIN QUERY PLAN SELECT count(*) FROM search_fts WHERE search_fts MATCH ?", ('"海"',)
        )
        return " ".join(str(row[-1]) for row in plan)

    assert "VIRTUAL TABLE INDEX" in with_index(body)


# ---------------------------------------------------------------------------------------------
# Property: the index agrees with the brute-force oracle, through edits and removals

ALPHABET = "海锦州医保港口城市的了，。！ 、ab1A,"
SEPARATORS = " ，。！、,"
# A slice as typed, in the other case, or in fullwidth forms: all must find the same essays.
VARIANTS = [str, str.swapcase, lambda s: "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in s)]
texts = st.text(alphabet=ALPHABET, max_size=30)
corpora = st.lists(
    st.builds(
        lambda h, b, body, d: (h, b, body, d), texts, st.text(alphabet=ALPHABET, max_size=6), texts,
        st.sampled_from(["ecology", "wellbeing"]),
    ),
    min_size=1, max_size=8,
)  # fmt: skip
queries = st.text(alphabet=ALPHABET, min_size=1, max_size=4)


# database=None: no .hypothesis/ folder in the work tree; failures print their reproducing example.
@settings(max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    corpus=corpora,
    edits=st.lists(st.tuples(st.integers(1, 8), st.one_of(st.none(), texts)), max_size=4),
    data=st.data(),
    direction=st.sampled_from([None, "ecology"]),
    rank_cap=st.sampled_from([0, 1000]),
    probe_chars=st.sampled_from([2, 8]),
)
def test_search_matches_the_substring_oracle(
    corpus: list[tuple[str, str, str, str]],
    edits: list[tuple[int, str | None]],
    data: st.DataObject,
    direction: str | None,
    rank_cap: int,
    probe_chars: int,
) -> None:
    """rank_cap 0 sends every query down the recency path; probe_chars 2 sends every term of three
    or more characters down the probe-and-verify path."""
    docs = {
        i: SearchDoc(i, d, h, b, body, f"2026-01-01T00:00:{i:02d}Z")
        for i, (h, b, body, d) in enumerate(corpus, 1)
    }
    qs = [data.draw(query_near(list(docs.values()))) for _ in range(data.draw(st.integers(1, 5)))]

    async def body(conn: aiosqlite.Connection) -> None:
        await index_all(conn, list(docs.values()))
        for essay_id, new_body in edits:  # an edit re-indexes; None unpublishes
            if new_body is None:
                await remove_essay(conn, essay_id)
                docs.pop(essay_id, None)
            else:
                old = docs.get(essay_id, SearchDoc(essay_id, "ecology", "", "", "", "2026-01-02T00:00:00Z"))
                docs[essay_id] = SearchDoc(
                    essay_id, old.direction, old.headline, old.byline, new_body, old.published_at
                )
                await index_essay(conn, docs[essay_id])
        with (
            mock.patch.object(search_module, "RANK_CAP", rank_cap),
            mock.patch.object(search_module, "PROBE_CHARS", probe_chars),
        ):
            for q in qs:
                ids = await all_ids(conn, q, direction)
                assert len(ids) == len(set(ids))
                assert set(ids) == oracle(list(docs.values()), q, direction), q
                await check_headline_hits_first(conn, q, direction)
        for table in [] if ON_POSTGRES else ["search_fts", "search_headline_fts"]:  # edits left no broken structure
            await conn.execute(f"INSERT INTO {table} ({table}) VALUES ('integrity-check')")  # noqa: S608

    with_index(body)


def query_near(docs: list[SearchDoc]) -> st.SearchStrategy[str]:
    """Queries of one to three words: random ones, slices of the texts (which hit) and slices with
    the separator between two characters cut out (which must not hit through it: "锦州，医" gives
    "州医")."""
    fields = [f for d in docs for f in (d.headline, d.byline, d.body) if f]
    bridges = [(f, i) for f in fields for i in range(1, len(f) - 1) if f[i] in SEPARATORS]

    @st.composite
    def slice_of(draw: st.DrawFn) -> str:
        field = draw(st.sampled_from(fields))
        start = draw(st.integers(0, len(field) - 1))
        return draw(st.sampled_from(VARIANTS))(field[start : start + draw(st.integers(1, 4))])

    @st.composite
    def across(draw: st.DrawFn) -> str:
        field, at = draw(st.sampled_from(bridges))
        left = field[max(0, at - draw(st.integers(1, 2))) : at]
        right = field[at + 1 : at + 1 + draw(st.integers(1, 3))]
        # Also fuse the two sides on a shared character: "a1 1b" must not give "a1b".
        return left + (right[1:] if draw(st.booleans()) else right)

    word = st.one_of([queries] + ([slice_of()] if fields else []) + ([across()] if bridges else []))
    # Several words are ANDed; a word inside another word must not change the answer either.
    return st.one_of(st.lists(word, min_size=1, max_size=3).map(" ".join), word.map(lambda w: f"{w} {w[1:]}"))


async def check_headline_hits_first(conn: aiosqlite.Connection, q: str, direction: str | None) -> None:
    results = await search(conn, q, direction=direction, limit=100)
    flags = [h.headline_hit for h in results.hits]
    assert flags == sorted(flags, reverse=True)
    for hit in results.hits:
        headline = (
            await conn.execute_fetchall(
                "SELECT headline FROM search_docs WHERE essay_id = ?", (hit.essay_id,)
            )
        )[0][0]
        assert hit.headline_hit == all(t in norm(headline) for t in results.terms)
