-- PostgreSQL version of migrations/0010_minhash_signatures.sql (same number; docs/architecture.md says how they pair).
-- The MinHash signature of each essay's current text, stored beside its LSH band keys (0007), so a
-- duplicate candidate is first compared by signature (64 numbers, microseconds) and only a candidate
-- whose signature agrees often enough is confirmed with the exact shingle similarity from its text.
-- 64 unsigned 64-bit values, big-endian (screening.signature_to_bytes). Replaced with the band keys
-- whenever the text is screened again. Essays screened before this migration have no row: their
-- candidates are confirmed from the text as before.
CREATE TABLE essay_minhash (
    essay_id   BIGINT PRIMARY KEY REFERENCES essays (id),
    signature  BYTEA NOT NULL
);
