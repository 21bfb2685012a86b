-- Staff accounts. Residents never have accounts.
CREATE TABLE users (
    id             INTEGER PRIMARY KEY,
    username       TEXT NOT NULL UNIQUE COLLATE NOCASE,
    display_name   TEXT NOT NULL DEFAULT '',
    password_hash  TEXT NOT NULL,                 -- argon2id
    disabled       INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    session_epoch  INTEGER NOT NULL DEFAULT 1,    -- bumped to end every existing session of the user
    created_at     TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);

CREATE TABLE user_roles (
    user_id  INTEGER NOT NULL REFERENCES users (id),
    role     TEXT NOT NULL CHECK (role IN ('admin', 'moderator', 'editor')),
    PRIMARY KEY (user_id, role)
);

-- Every failed login, for throttling (per account and per IP) and for review.
CREATE TABLE login_failures (
    id          INTEGER PRIMARY KEY,
    username    TEXT NOT NULL COLLATE NOCASE,
    ip_hash     TEXT NOT NULL,
    created_at  REAL NOT NULL
);
CREATE INDEX login_failures_user ON login_failures (username, created_at);
CREATE INDEX login_failures_ip ON login_failures (ip_hash, created_at);
