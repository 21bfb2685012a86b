-- PostgreSQL's 0034 makes its page-cache version triggers fire at commit, so concurrent writers cannot
-- deadlock on the version row (migrations/postgresql/0034_public_content_at_commit.sql); SQLite's
-- writes are serial, one writer at a time, and need no change.
SELECT 1;
