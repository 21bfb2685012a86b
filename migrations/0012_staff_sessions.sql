-- Server-side staff sessions: the cookie carries only a random id, whose SHA-256 is the key here, so
-- logout, a password or role change and disabling end a session at once, and a stolen copy of the
-- table opens nothing.
CREATE TABLE staff_sessions (
    id            INTEGER PRIMARY KEY,                 -- shown on /account/sessions, never a secret
    id_hash       TEXT NOT NULL UNIQUE,                -- sha256 of the cookie's session id
    user_id       INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at    REAL NOT NULL,                       -- for the absolute timeout
    last_seen_at  REAL NOT NULL,                       -- for the idle timeout
    address       TEXT NOT NULL DEFAULT '',            -- the client's address at sign-in
    user_agent    TEXT NOT NULL DEFAULT ''             -- a summary such as "微信 · Android", not the header
);
CREATE INDEX staff_sessions_user ON staff_sessions (user_id, last_seen_at);

-- Throttling counts failures per account and address together, and per address.
CREATE INDEX login_failures_user_ip ON login_failures (username, ip_hash, created_at);
