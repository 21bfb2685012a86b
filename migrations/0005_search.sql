-- Full-text search over published essays (citizenvoice/search.py explains the design).
-- Rows are written and removed only by search.py, in the same transaction as publish, unpublish
-- and edit, so the index never shows an essay that is not published.

-- The original text of every indexed essay: results, highlights and snippets are built from it,
-- and a contentless FTS5 delete needs the tokens that were inserted, which are rebuilt from it.
-- The short columns come first so reading published_at for ranking never touches the body's
-- overflow pages.
CREATE TABLE search_docs (
    essay_id     INTEGER PRIMARY KEY,           -- essays.id; also the rowid in both FTS tables
    direction    TEXT NOT NULL,                 -- directions.slug
    published_at TEXT NOT NULL,                 -- ISO-8601 UTC, sorts as text
    headline     TEXT NOT NULL,
    byline       TEXT NOT NULL,
    body         TEXT NOT NULL
);

-- search.py builds the tokens from the NFKC + casefolded text: the headline, byline and body
-- columns hold overlapping character bigrams (phrases of them find terms of two or more
-- characters), headline_chars and text_chars hold each distinct character once (they find
-- one-character terms; text_chars covers byline and body). The 'ascii' tokenizer keeps every
-- non-ASCII character, letter and digit, and here every printable ASCII punctuation mark, as a
-- token character, so the space between tokens is the only separator that matters.
-- Contentless, because a stored copy of the tokens would roughly double the database.
-- The direction column holds one token per essay, so a board filter is an index intersection.
CREATE VIRTUAL TABLE search_fts USING fts5(
    headline, byline, body, headline_chars, text_chars, direction,
    content = '', detail = full,
    tokenize = 'ascii tokenchars ''!"#$%&''''()*+,-./:;<=>?@[\]^_`{|}~'''
);

-- Relevance is bm25 with column weights (headline, byline, body, headline_chars, text_chars,
-- direction): a headline hit outweighs many body hits; the direction token only filters.
INSERT INTO search_fts (search_fts, rank) VALUES ('rank', 'bm25(10.0, 4.0, 1.0, 10.0, 2.0, 0.0)');

-- Headlines alone (bigrams, characters, direction): lets a query count and page through its
-- headline hits without reading doclists that, for a common character, cover every essay.
CREATE VIRTUAL TABLE search_headline_fts USING fts5(
    headline, chars, direction,
    content = '', detail = full,
    tokenize = 'ascii tokenchars ''!"#$%&''''()*+,-./:;<=>?@[\]^_`{|}~'''
);
