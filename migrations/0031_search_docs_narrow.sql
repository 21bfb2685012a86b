-- PostgreSQL's 0031 moves search_docs' long columns out of its rows
-- (migrations/postgresql/0031_search_docs_narrow.sql); SQLite's search_docs already puts the short
-- columns first, and FTS5 counts from its own doclists.
SELECT 1;
