-- PostgreSQL version of migrations/0005_search.sql: full-text search over published essays.
-- Rows are written and removed only by store/search.py, in the same transaction as publish, unpublish
-- and edit, so the index never shows an essay that is not published.
--
-- SQLite answers with FTS5 over bigram and character tokens; here the same exact-substring semantics
-- come from pg_trgm: ``folded`` holds the NFKC + casefolded headline, byline and body (computed in
-- Python, store/search.py, so both databases fold alike), joined by a newline, which no query term
-- can hold, and a trigram GIN index answers ``LIKE '%term%'`` for terms of three or more characters.
-- Shorter terms are checked by the same LIKE (pg_trgm's index cannot narrow them; see store/search.py).
CREATE TABLE search_docs (
    essay_id     BIGINT PRIMARY KEY,            -- essays.id
    direction    TEXT NOT NULL,                 -- directions.slug
    published_at TEXT NOT NULL,                 -- ISO-8601 UTC, sorts as text
    headline     TEXT NOT NULL,
    byline       TEXT NOT NULL,
    body         TEXT NOT NULL,
    folded_headline TEXT NOT NULL,
    folded       TEXT NOT NULL                  -- folded headline, byline and body, newline-joined
);
CREATE INDEX search_docs_folded ON search_docs USING gin (folded gin_trgm_ops);
CREATE INDEX search_docs_folded_headline ON search_docs USING gin (folded_headline gin_trgm_ops);
CREATE INDEX search_docs_direction ON search_docs (direction, essay_id);
