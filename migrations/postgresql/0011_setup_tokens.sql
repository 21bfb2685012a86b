-- PostgreSQL version of migrations/0011_setup_tokens.sql (same number; docs/architecture.md says how they pair).
-- One-time links for creating the first admin in the browser. `citizenvoice serve` makes one when no
-- active admin exists and prints it once. Only the SHA-256 of the token is kept, with its expiry, so
-- neither the database nor a backup holds a usable link; a token is deleted when it is used (or when
-- a newer one replaces it), so a row here is a link that still works until expires_at.
CREATE TABLE setup_tokens (
    token_hash  TEXT PRIMARY KEY,   -- hex SHA-256 of the token in the link
    expires_at  TEXT NOT NULL       -- ISO-8601 UTC, compared as text like every stored time
);
