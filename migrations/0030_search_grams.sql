-- PostgreSQL's 0030 replaces its trigram search index with a character and bigram one
-- (migrations/postgresql/0030_search_grams.sql); SQLite's FTS5 tables already index both.
SELECT 1;
