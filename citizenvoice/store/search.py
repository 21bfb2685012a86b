"""Full-text search over published essays: exact substring matching for queries of any length.

Why this design (measured before it was chosen): word segmentation (jieba) cannot find a single
character, and FTS5's trigram tokenizer cannot match queries shorter than three characters. FTS5
over one token per character finds every length exactly, but a phrase of common characters must
walk their long position lists (50–70 ms at 100,000 essays). So each essay is indexed twice over:
- *bigram columns*: one overlapping character bigram per character, "锦州港" giving 锦州 州港 港
  (the last character of a run stands alone, so no phrase can run on past it). A term of two or
  more characters is the phrase of its bigrams ("锦州港" is "锦州 州港"): the bigrams are
  consecutive exactly where the text holds the term, and bigrams are rare, so the check is cheap;
- *character columns*: each distinct character of the essay once. A one-character term is that
  token, with one short entry per essay instead of one per occurrence.
A term longer than PROBE_CHARS is looked up by its first and last PROBE_CHARS characters and then
checked against the stored original, which bounds the work a long or repetitive term can cause.

Matching semantics (the tests' brute-force oracle checks exactly this):
- Text and query are compared after NFKC normalization and Unicode casefolding, so "ＡＩ" finds
  "ai" and the fullwidth "，" finds ",". Nothing else is folded: 医 does not find 醫.
- A term matches when it is a substring of the normalized headline, byline or body. This holds for
  Latin letters and digits too ("ai" finds "main"): they are indexed like CJK, not as words.
- Punctuation is text like any other character: "锦州，" finds "锦州，" but not "锦州。", and
  "州医" does not find "锦州，医保" (the bigrams there are 州， and ，医).
- Whitespace and ASCII control characters separate words: no bigram spans them and query words
  are split at them. Several words are ANDed; each may hit a different field.

The caller owns the transaction: nothing here commits, so the index changes atomically with the
publish, unpublish or edit that caused them. Only published essays are handed to ``index_essay``.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import aiosqlite

from citizenvoice.text.highlight import highlight, normalize, snippet

MAX_TERMS = 8
MAX_TERM_CHARS = 100
MAX_LIMIT = 100
# Terms longer than this are looked up by their two ends and verified. A phrase costs one doclist
# walk per bigram, so "哈" * 100 would walk the same doclist 99 times (0.3 s at 100,000 essays);
# two ends of six characters are still selective enough that few candidates need checking.
PROBE_CHARS = 6

# Above this many matches the page is no longer ordered by bm25. Scoring costs time in proportion
# to the match count (about 100 ms for 100,000 matches), and a query matching thousands of essays
# is so unspecific that bm25 barely tells them apart (a character found in most essays has an IDF
# of about zero). Such results keep headline hits first and then list each tier newest first by
# essay id (ids grow with submission, so this is close to publication order); the total stays exact.
RANK_CAP = 1000

# Matches are counted up to here and no further: beyond it a page says "more than 1,000" (and the API
# ``total_exact: false``). An exact count costs time in proportion to the matches — a common two- or
# four-character term matches 117,000 of a million essays, and counting them was most of the search's
# 50–560 ms — while nobody can page further (the site shows 50 pages of 20, the API 1,000 results).
# Not below RANK_CAP: the count also decides whether the matches are few enough to rank.
COUNT_CAP = 1000

# The FTS tables use the 'ascii' tokenizer with every printable ASCII punctuation mark declared a
# token character, so the only separators left are the space that joins the shadow's tokens and
# the ASCII control characters. Treating whitespace and controls as word breaks keeps them out of
# every token.
_BREAK = re.compile(r"[\s\x00-\x1f\x7f]+")


@dataclass(frozen=True)
class SearchDoc:
    essay_id: int
    direction: str
    headline: str
    byline: str
    body: str
    published_at: str


@dataclass(frozen=True)
class SearchHit:
    essay_id: int
    direction: str
    headline_html: str
    byline_html: str
    snippet_html: str
    published_at: str
    headline_hit: bool  # every term occurs in the headline
    doc: SearchDoc | None = None  # the plain texts, for clients that highlight themselves


@dataclass(frozen=True)
class SearchResults:
    total: int
    hits: list[SearchHit]
    terms: list[str]
    ranked: bool = True  # False when more than RANK_CAP matches were ordered by recency instead
    total_exact: bool = True  # False: there are more than ``total`` (= COUNT_CAP) matches


# ---------------------------------------------------------------------------------------------
# Normalization and the shadow text


def parse_query(q: str) -> list[str]:
    """Whitespace-separated terms, normalized, deduplicated, at most MAX_TERMS of MAX_TERM_CHARS."""
    terms: list[str] = []
    # Normalize before splitting: NFKC turns some characters (U+3000, U+00A8 …) into spaces.
    for word in _BREAK.split(normalize(q)):
        term = word[:MAX_TERM_CHARS]
        if term and term not in terms:
            terms.append(term)
    return terms[:MAX_TERMS]


def bigrams(normalized: str) -> str:
    """Bigram column tokens of normalized text: each character with its successor in the run."""
    tokens: list[str] = []
    for run in _BREAK.split(normalized):
        tokens += [run[i : i + 2] for i in range(len(run))]
    return " ".join(tokens)


def characters(*normalized: str) -> str:
    """Character column tokens: each distinct character once, in order of first appearance.

    The order must be reproducible: a contentless delete has to present the same tokens at the
    same positions, and set order changes with the hash seed.
    """
    return " ".join(dict.fromkeys(_BREAK.sub("", "".join(normalized))))


def _quoted(tokens: str) -> str:
    return '"' + tokens.replace('"', '""') + '"'


def _term_expr(term: str, bigram_columns: str, char_columns: str) -> str:
    """The FTS5 query for one normalized term (which holds no break characters)."""
    if len(term) == 1:
        return f"{{{char_columns}}} : {_quoted(term)}"
    # Only whole bigrams: the lone last character of the shadow marks where a run ends.
    pairs = " ".join(term[i : i + 2] for i in range(len(term) - 1))
    return f"{{{bigram_columns}}} : {_quoted(pairs)}"


def _direction_token(direction: str) -> str:
    # Hex keeps a slug such as "logistics-hub" one ASCII token that no query phrase can produce.
    return "d" + direction.encode().hex()


@dataclass(frozen=True)
class _Plan:
    """How a query is put to the index: the terms FTS5 looks up, and the long ones to verify."""

    terms: list[str]
    probes: list[str]
    verify: list[str]

    @classmethod
    def of(cls, terms: list[str]) -> _Plan:
        # A term inside another term is implied by it; dropping it saves a doclist read.
        needed = [t for t in terms if not any(t != u and t in u for u in terms)]
        probes: list[str] = []
        for term in needed:
            ends = [term] if len(term) <= PROBE_CHARS else [term[:PROBE_CHARS], term[-PROBE_CHARS:]]
            probes += [end for end in ends if end not in probes]
        return cls(terms, probes, [t for t in needed if len(t) > PROBE_CHARS])

    def main(self, direction: str | None, *, exclude_headline: bool = False) -> str:
        """The expression for search_fts: every term somewhere, optionally not all in the headline."""
        expr = " AND ".join(
            _term_expr(t, "headline byline body", "headline_chars text_chars") for t in self.probes
        )
        if exclude_headline:
            in_headline = " AND ".join(_term_expr(t, "headline", "headline_chars") for t in self.probes)
            expr = f"({expr}) NOT ({in_headline})"
        return _with_direction(expr, direction)

    def headline(self, direction: str | None) -> str:
        """The expression for search_headline_fts: every term in the headline."""
        return _with_direction(
            " AND ".join(_term_expr(t, "headline", "chars") for t in self.probes), direction
        )


def _with_direction(expr: str, direction: str | None) -> str:
    if direction is None:
        return expr
    return f'({expr}) AND {{direction}} : "{_direction_token(direction)}"'


# ---------------------------------------------------------------------------------------------
# Writing the index (inside the caller's transaction)


_INSERT_DOC = (
    "INSERT INTO search_docs (essay_id, direction, published_at, headline, byline, body) VALUES (?, ?, ?, ?, ?, ?)"
)
_INSERT_MAIN = (
    "INSERT INTO search_fts (rowid, headline, byline, body, headline_chars, text_chars, direction)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)"
)
_INSERT_HEAD = "INSERT INTO search_headline_fts (rowid, headline, chars, direction) VALUES (?, ?, ?, ?)"


def _doc_row(doc: SearchDoc) -> tuple[object, ...]:
    return (doc.essay_id, doc.direction, doc.published_at, doc.headline, doc.byline, doc.body)


def index_rows(doc: SearchDoc) -> tuple[tuple[object, ...], tuple[object, ...]]:
    """The token rows of one essay for search_fts and search_headline_fts (pure: no database)."""
    headline, byline, body = normalize(doc.headline), normalize(doc.byline), normalize(doc.body)
    direction = _direction_token(doc.direction)
    main = (
        doc.essay_id, bigrams(headline), bigrams(byline), bigrams(body),
        characters(headline), characters(byline, body), direction,
    )  # fmt: skip
    return main, (doc.essay_id, bigrams(headline), characters(headline), direction)


async def index_essay(conn: aiosqlite.Connection, doc: SearchDoc) -> None:
    """Add or replace one essay in the index."""
    if _on_postgres(conn):
        await _pg_index(conn, doc)
        return
    await remove_essay(conn, doc.essay_id)
    await conn.execute(_INSERT_DOC, _doc_row(doc))
    await _fts_write(conn, "insert", doc)


def bulk_index(conn: sqlite3.Connection, docs: Sequence[SearchDoc],
               rows: Sequence[tuple[tuple[object, ...], tuple[object, ...]]] | None = None) -> None:
    """Add many essays that are not in the index yet, on a blocking connection (bulk loads: the benchmark's
    data generator). ``rows`` may bring :func:`index_rows` of each doc, computed elsewhere (another process)."""
    rows = rows if rows is not None else [index_rows(doc) for doc in docs]
    conn.executemany(_INSERT_DOC, [_doc_row(doc) for doc in docs])
    conn.executemany(_INSERT_MAIN, [main for main, _ in rows])
    conn.executemany(_INSERT_HEAD, [head for _, head in rows])


async def remove_essay(conn: aiosqlite.Connection, essay_id: int) -> None:
    """Take one essay out of the index; a no-op when it is not there."""
    if _on_postgres(conn):
        await conn.execute("DELETE FROM search_docs WHERE essay_id = ?", (essay_id,))
        return
    docs = await _load_docs(conn, [essay_id])
    if essay_id not in docs:
        return
    # The FTS tables are contentless (a stored copy of the tokens would roughly double the
    # database), so a delete must present the very tokens that were inserted. They are rebuilt
    # from the stored original: NFKC and casefolding of assigned characters are stable by
    # Unicode policy, so a Python upgrade does not change them.
    await _fts_write(conn, "delete", docs[essay_id])
    await conn.execute("DELETE FROM search_docs WHERE essay_id = ?", (essay_id,))


async def rebuild_index(conn: aiosqlite.Connection, batch: int = 500) -> int:
    """Re-derive both FTS tables from search_docs; returns how many essays were indexed.

    The remedy when the tokens change: a new tokenization scheme, or a Python whose Unicode tables
    normalize some then-unassigned character differently from the one that indexed it.
    """
    if _on_postgres(conn):
        return await _pg_rebuild(conn, batch)
    await conn.execute("INSERT INTO search_fts (search_fts) VALUES ('delete-all')")
    await conn.execute("INSERT INTO search_headline_fts (search_headline_fts) VALUES ('delete-all')")
    count, after = 0, -1
    while True:
        ids = await _ids(
            conn,
            "SELECT essay_id FROM search_docs WHERE essay_id > ? ORDER BY essay_id LIMIT ?",
            (after, batch),
        )
        if not ids:
            return count
        for doc in (await _load_docs(conn, ids)).values():
            await _fts_write(conn, "insert", doc)
        count, after = count + len(ids), ids[-1]


async def _fts_write(conn: aiosqlite.Connection, command: str, doc: SearchDoc) -> None:
    """Insert or delete (FTS5's 'delete' command) one essay's tokens in both FTS tables."""
    main, head = index_rows(doc)
    if command == "delete":
        await conn.execute(
            "INSERT INTO search_fts (search_fts, rowid, headline, byline, body, headline_chars, text_chars,"
            " direction) VALUES ('delete', ?, ?, ?, ?, ?, ?, ?)",
            main,
        )
        await conn.execute(
            "INSERT INTO search_headline_fts (search_headline_fts, rowid, headline, chars, direction)"
            " VALUES ('delete', ?, ?, ?, ?)",
            head,
        )
        return
    await conn.execute(_INSERT_MAIN, main)
    await conn.execute(_INSERT_HEAD, head)


# ---------------------------------------------------------------------------------------------
# Querying

_Page = list[tuple[int, bool]]  # (essay_id, headline_hit) in result order


async def search(
    conn: aiosqlite.Connection, query: str, *, direction: str | None = None, limit: int = 20, offset: int = 0
) -> SearchResults:
    """Published essays containing every term of ``query``: headline hits first, then by relevance.

    The count and the page are separate statements: run them inside one read transaction when a
    concurrent publish must not make them disagree.
    """
    terms = parse_query(query)
    if not terms:
        return SearchResults(total=0, hits=[], terms=[])
    limit = max(1, min(limit, MAX_LIMIT))
    offset = max(0, offset)
    if _on_postgres(conn):
        return await _pg_search(conn, terms, direction, limit, offset)
    plan = _Plan.of(terms)
    ranked = True
    if plan.verify:
        total, page, docs = await _verified_page(conn, plan, direction, limit, offset)
    else:
        total = await _count(conn, "search_fts", plan.main(direction), up_to=COUNT_CAP + 1)
        ranked = total <= min(RANK_CAP, COUNT_CAP)
        if total == 0:
            page = []
        elif ranked:
            page = await _ranked_page(conn, plan, direction, limit, offset)
        else:
            page = await _recency_page(conn, plan, direction, limit, offset)
        docs = await _load_docs(conn, [essay_id for essay_id, _ in page])
    hits = [_hit(docs[essay_id], terms, headline_hit) for essay_id, headline_hit in page if essay_id in docs]
    return _results(total, hits, terms, ranked)


def _results(counted: int, hits: list[SearchHit], terms: list[str], ranked: bool) -> SearchResults:
    """The answer, its total cut to COUNT_CAP (``counted`` may run one past it, or further)."""
    exact = counted <= COUNT_CAP
    return SearchResults(total=min(counted, COUNT_CAP), hits=hits, terms=terms, ranked=ranked and exact,
                         total_exact=exact)  # fmt: skip


async def _count(conn: aiosqlite.Connection, table: str, expr: str, *, up_to: int) -> int:
    """Matches of ``expr``, counted no further than ``up_to``: the scan stops there."""
    sql = f"SELECT count(*) FROM (SELECT 1 FROM {table} WHERE {table} MATCH ? LIMIT ?)"  # noqa: S608
    async with conn.execute(sql, (expr, up_to)) as cur:
        row = await cur.fetchone()
    return int(row[0]) if row else 0


async def _ids(conn: aiosqlite.Connection, sql: str, params: tuple[object, ...]) -> list[int]:
    async with conn.execute(sql, params) as cur:
        return [int(row[0]) for row in await cur.fetchall()]


async def _ranked_page(
    conn: aiosqlite.Connection, plan: _Plan, direction: str | None, limit: int, offset: int
) -> _Page:
    """One query orders every match: headline hits, rank, newest, id.

    rank is bm25 with column weights, configured in the migration (0005_search.sql).
    """
    sql = (
        "SELECT search_fts.rowid,"
        " search_fts.rowid IN (SELECT rowid FROM search_headline_fts WHERE search_headline_fts MATCH ?) AS hh"
        " FROM search_fts JOIN search_docs AS d ON d.essay_id = search_fts.rowid"
        " WHERE search_fts MATCH ?"
        " ORDER BY hh DESC, search_fts.rank, d.published_at DESC, search_fts.rowid DESC"
        " LIMIT ? OFFSET ?"
    )
    params = (plan.headline(direction), plan.main(direction), limit, offset)
    async with conn.execute(sql, params) as cur:
        return [(int(row[0]), bool(row[1])) for row in await cur.fetchall()]


async def _recency_page(
    conn: aiosqlite.Connection, plan: _Plan, direction: str | None, limit: int, offset: int
) -> _Page:
    """Too many matches to score: headline hits, then the rest, each newest (highest id) first.

    Walking a doclist backwards by rowid stops after LIMIT + OFFSET rows, so this costs the page,
    not the match count. The small headline table keeps counting the first tier cheap.
    """
    head = plan.headline(direction)
    # Counted just past the page: more headline hits than that and the page is all headline hits.
    n_head = await _count(conn, "search_headline_fts", head, up_to=offset + limit + 1)
    page: _Page = []
    if offset < n_head:
        sql = (
            "SELECT rowid FROM search_headline_fts WHERE search_headline_fts MATCH ?"
            " ORDER BY rowid DESC LIMIT ? OFFSET ?"
        )
        page += [(i, True) for i in await _ids(conn, sql, (head, limit, offset))]
    rest_limit = limit - len(page)
    if rest_limit > 0:
        rest = plan.main(direction, exclude_headline=True)
        sql = "SELECT rowid FROM search_fts WHERE search_fts MATCH ? ORDER BY rowid DESC LIMIT ? OFFSET ?"
        page += [(i, False) for i in await _ids(conn, sql, (rest, rest_limit, max(0, offset - n_head)))]
    return page


async def _verified_page(
    conn: aiosqlite.Connection, plan: _Plan, direction: str | None, limit: int, offset: int
) -> tuple[int, _Page, dict[int, SearchDoc]]:
    """Long terms: the index finds essays holding each term's two ends; the originals decide.

    Essays that hold both ends of a long term but not the term itself are rare, so the candidates
    are about as many as the matches and all of them are checked, which keeps the total exact.
    """
    sql = (
        "SELECT search_fts.rowid, search_fts.rank,"
        " d.direction, d.headline, d.byline, d.body, d.published_at"
        " FROM search_fts JOIN search_docs AS d ON d.essay_id = search_fts.rowid WHERE search_fts MATCH ?"
    )
    async with conn.execute(sql, (plan.main(direction),)) as cur:
        rows = await cur.fetchall()
    found: list[tuple[bool, float, SearchDoc]] = []
    for row in rows:
        doc = SearchDoc(int(row[0]), row[2], row[3], row[4], row[5], row[6])
        fields = [normalize(doc.headline), normalize(doc.byline), normalize(doc.body)]
        if all(any(term in field for field in fields) for term in plan.verify):
            found.append((all(term in fields[0] for term in plan.terms), float(row[1]), doc))
    # Stable sorts, least significant key first: id, then date (both newest first), then rank.
    found.sort(key=lambda f: f[2].essay_id, reverse=True)
    found.sort(key=lambda f: f[2].published_at, reverse=True)
    found.sort(key=lambda f: (not f[0], f[1]))
    page = found[offset : offset + limit]
    return len(found), [(doc.essay_id, hh) for hh, _, doc in page], {doc.essay_id: doc for _, _, doc in page}


async def _load_docs(conn: aiosqlite.Connection, ids: list[int]) -> dict[int, SearchDoc]:
    if not ids:
        return {}
    marks = ", ".join("?" * len(ids))
    sql = (  # only placeholders are interpolated
        "SELECT essay_id, direction, headline, byline, body, published_at FROM search_docs"  # noqa: S608
        f" WHERE essay_id IN ({marks})"
    )
    async with conn.execute(sql, ids) as cur:
        rows = await cur.fetchall()
    return {int(r[0]): SearchDoc(int(r[0]), r[1], r[2], r[3], r[4], r[5]) for r in rows}


# ---------------------------------------------------------------------------------------------
# PostgreSQL: a character and bigram index over the folded text (migrations/postgresql/0030)
#
# The same matching semantics as above, checked on the folded (NFKC + casefolded) text that Python
# computes for both databases: a term matches where it is a substring of the folded headline, byline
# or body. The three fields are joined by a newline, which no term holds, so no match spans two.
# ``cv_search_grams(folded)`` is every distinct character and character pair of the text, and a GIN
# index over it (an expression index: the arrays are never stored) answers the same questions as
# SQLite's character and bigram columns: a term of one or two characters is one key, and the index's
# answer is exact; a longer term is the intersection of its bigrams (rare keys, so few candidates),
# confirmed by LIKE on the folded text. pg_trgm was the first design: it cannot narrow a term shorter
# than three characters and read every essay (bench/RESULTS.md has both measured).
# ``~~`` is LIKE written so db/dialect.py leaves it case-sensitive (it turns the word LIKE into ILIKE
# for SQLite's semantics).
# Order, as on SQLite: headline hits first; up to RANK_CAP matches the rest newest first (there is no
# bm25 here; see docs/architecture.md), and above it each tier newest first by essay id, so a common
# term costs a page and a count rather than a sort of every match.


def _on_postgres(conn: object) -> bool:
    return getattr(conn, "dialect", "sqlite") == "postgresql"


def _folded(doc: SearchDoc) -> tuple[str, str]:
    headline = normalize(doc.headline)
    return headline, "\n".join((headline, normalize(doc.byline), normalize(doc.body)))


def folded_columns(row: Mapping[str, Any]) -> dict[str, str]:
    """PostgreSQL's derived columns of one search_docs row, by name: what a bulk copy adds to each."""
    headline, folded = _folded(SearchDoc(0, "", row["headline"], row["byline"], row["body"], ""))
    return {"folded_headline": headline, "folded": folded}


async def _pg_index(conn: aiosqlite.Connection, doc: SearchDoc) -> None:
    await conn.execute("DELETE FROM search_docs WHERE essay_id = ?", (doc.essay_id,))
    await conn.execute(
        "INSERT INTO search_docs (essay_id, direction, published_at, headline, byline, body, folded_headline,"
        " folded) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (*_doc_row(doc), *_folded(doc)),
    )


async def _pg_rebuild(conn: aiosqlite.Connection, batch: int) -> int:
    count, after = 0, -1
    while True:
        ids = await _ids(
            conn, "SELECT essay_id FROM search_docs WHERE essay_id > ? ORDER BY essay_id LIMIT ?", (after, batch)
        )
        if not ids:
            return count
        # asyncpg's executemany sends a batch in one round trip (PgConnection's runs one statement a row).
        await conn.raw.executemany(  # type: ignore[attr-defined]
            "UPDATE search_docs SET folded_headline = $1, folded = $2 WHERE essay_id = $3",
            [(*_folded(doc), doc.essay_id) for doc in (await _load_docs(conn, ids)).values()],
        )
        count, after = count + len(ids), ids[-1]


def _like_pattern(term: str) -> str:
    return "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _pg_match(terms: list[str], column: str, direction: str | None) -> tuple[str, list[object]]:
    """The WHERE clause that finds every term in ``column`` through its gram index."""
    clauses = [] if direction is None else ["d.direction = ?"]
    params: list[object] = [] if direction is None else [direction]
    for term in terms:
        keys = [term] if len(term) <= 2 else list(dict.fromkeys(term[i : i + 2] for i in range(len(term) - 1)))
        clauses.append(f"cv_search_grams(d.{column}) @> ARRAY[{', '.join('?' * len(keys))}]")
        params += keys
        if len(term) > 2:
            clauses.append(f"d.{column} ~~ ?")
            params.append(_like_pattern(term))
    return " AND ".join(clauses), params


# Planner settings for the search's statements (SET LOCAL: this transaction only). The grams are an
# expression index, so any plan that filters rows instead of reading the index recomputes them, a few
# ms an essay: priced at that cost (migration 0030) no such plan looks cheap, but a bitmap scan's
# recheck is priced the same way although it runs only for lossy pages, so for a term in nearly every
# essay a sequential scan looked no dearer (and recomputed 85,000 rows), and "the newest 20" walked the
# primary key filtering row by row. Sequential and plain index scans are therefore off: every lookup
# is a bitmap from the GIN index. The honest price makes a 20 ms query look like a costly one, which would
# switch JIT compilation on (0.8 s at 100,000 essays); and a bitmap that outgrows work_mem turns lossy,
# which means recomputing every row of a lossy page, so it gets room for a million essays. Counts stop at
# COUNT_CAP, so a parallel scan's workers cost more to start (6 ms at 1 M essays) than they save.
_PG_PLANNER = (
    "SET LOCAL jit = off", "SET LOCAL enable_seqscan = off", "SET LOCAL enable_indexscan = off",
    "SET LOCAL work_mem = '64MB'", "SET LOCAL max_parallel_workers_per_gather = 0",
)  # fmt: skip


async def _pg_search(
    conn: aiosqlite.Connection, terms: list[str], direction: str | None, limit: int, offset: int
) -> SearchResults:
    raw = conn.raw  # type: ignore[attr-defined]
    if raw.is_in_transaction():
        for statement in _PG_PLANNER:
            await raw.execute(statement)
        return await _pg_answer(conn, terms, direction, limit, offset)
    # One snapshot, so the count and the page agree (the SQLite caller's read transaction does that).
    async with raw.transaction(isolation="repeatable_read", readonly=True):
        for statement in _PG_PLANNER:
            await raw.execute(statement)
        return await _pg_answer(conn, terms, direction, limit, offset)


async def _pg_answer(
    conn: aiosqlite.Connection, terms: list[str], direction: str | None, limit: int, offset: int
) -> SearchResults:
    needed = [t for t in terms if not any(t != u and t in u for u in terms)]
    where, params = _pg_match(needed, "folded", direction)
    total = await _count_sql(conn, f"SELECT count(*) FROM (SELECT 1 FROM search_docs d WHERE {where} LIMIT ?) m",  # noqa: S608
                             [*params, COUNT_CAP + 1])  # fmt: skip
    # A headline is short and stored inline, so LIKE on it costs less per row than its index would.
    in_headline = " AND ".join("d.folded_headline ~~ ?" for _ in needed)
    like = [_like_pattern(t) for t in needed]
    page: _Page = []
    if total == 0:
        pass
    elif total <= min(RANK_CAP, COUNT_CAP):
        sql = (
            f"SELECT d.essay_id, ({in_headline}) AS hh FROM search_docs d WHERE {where}"  # noqa: S608
            " ORDER BY hh DESC, d.published_at DESC, d.essay_id DESC LIMIT ? OFFSET ?"
        )
        page = await _pg_page(conn, sql, [*like, *params, limit, offset])
    else:
        matches = total if total <= COUNT_CAP else 0  # 0: more than counted, density unknown
        page = await _pg_recency_page(conn, needed, direction, (where, params), limit, offset, matches)
    docs = await _load_docs(conn, [essay_id for essay_id, _ in page])
    hits = [_hit(docs[essay_id], terms, hh) for essay_id, hh in page if essay_id in docs]
    return _results(total, hits, terms, total <= RANK_CAP)


async def _pg_recency_page(
    conn: aiosqlite.Connection,
    needed: list[str],
    direction: str | None,
    main: tuple[str, list[object]],
    limit: int,
    offset: int,
    matches: int,
) -> _Page:
    """SQLite's _recency_page: headline hits, then the rest, each tier newest (highest id) first.

    The first tier is found in the small headline index alone (a headline hit is a hit), counted
    just past the page, as there."""
    where, params = main
    head_where, head_params = _pg_match(needed, "folded_headline", direction)
    n_head = await _count_sql(conn, f"SELECT count(*) FROM (SELECT 1 FROM search_docs d WHERE {head_where} LIMIT ?) m",  # noqa: S608
                              [*head_params, offset + limit + 1])  # fmt: skip
    page: _Page = []
    if offset < n_head:
        counted = n_head if n_head <= offset + limit else 0  # 0: density unknown
        page += [(i, True) for i in await _pg_newest(conn, head_where, head_params, limit, offset, counted)]
    if limit - len(page) > 0:
        in_headline = " AND ".join("d.folded_headline ~~ ?" for _ in needed)
        rest = f"{where} AND NOT ({in_headline})"
        rest_params = [*params, *[_like_pattern(t) for t in needed]]
        found = await _pg_newest(conn, rest, rest_params, limit - len(page), max(0, offset - n_head), matches)
        page += [(i, False) for i in found]
    return page


async def _pg_newest(
    conn: aiosqlite.Connection, where: str, params: list[object], limit: int, offset: int, matches: int
) -> list[int]:
    """The ids of one page of matches, newest first, reading only the newest essays' rows.

    A GIN index cannot give its matches in id order, so "ORDER BY essay_id DESC LIMIT 20" would read
    every match (85,000 rows for 的 at 100,000 essays). Instead the scan is confined to the ids above a
    bound (the index's bitmap ANDed with the primary key's range) sized from how dense the matches
    are (``matches``, 0 when unknown), and the bound is lowered until the page is full or the range
    holds every id. The ids above the bound are exactly the newest, so the page is exact."""
    # The bound starts below the last id handed out, an upper bound of the newest published essay's
    # (any value is correct; a close one saves rounds). The sequence is one row: under the planner
    # settings above max(essay_id) could use no index and read all 850,000 keys (0.1 s at 1 M essays).
    top = await _count_sql(conn, "SELECT last_value FROM essays_id_seq", [])
    span = (offset + limit) * 2 * (top // matches if matches else 8) + 64
    sql = f"SELECT d.essay_id FROM search_docs d WHERE {where} AND d.essay_id > ? ORDER BY d.essay_id DESC LIMIT ? OFFSET ?"  # noqa: S608
    while True:
        ids = await _ids(conn, sql, (*params, top - span, limit, offset))
        if len(ids) == limit or top - span < 0:
            return ids
        span *= 4


async def _pg_page(conn: aiosqlite.Connection, sql: str, params: list[object]) -> _Page:
    async with conn.execute(sql, params) as cur:
        return [(int(row[0]), bool(row[1])) for row in await cur.fetchall()]


async def _count_sql(conn: aiosqlite.Connection, sql: str, params: list[object]) -> int:
    async with conn.execute(sql, params) as cur:
        row = await cur.fetchone()
    return int(row[0]) if row else 0


# ---------------------------------------------------------------------------------------------
# Hits, highlighted on the original text (citizenvoice.text.highlight)


def _hit(doc: SearchDoc, terms: list[str], headline_hit: bool) -> SearchHit:
    return SearchHit(
        essay_id=doc.essay_id,
        direction=doc.direction,
        headline_html=highlight(doc.headline, terms),
        byline_html=highlight(doc.byline, terms),
        snippet_html=snippet(doc.body, terms),
        published_at=doc.published_at,
        headline_hit=headline_hit,
        doc=doc,
    )
