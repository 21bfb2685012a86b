-- PostgreSQL version of migrations/0013_two_factor.sql (same number; docs/architecture.md says how they pair).
-- Two-factor sign-in for staff (TOTP, RFC 6238). A row here means the user confirmed an authenticator
-- app with a code; the secret is the shared key the app holds (base32), needed in clear to compute the
-- codes, so the database and its backups must be guarded like the passwords' hashes are.
CREATE TABLE staff_two_factor (
    user_id       BIGINT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    secret        TEXT NOT NULL,                 -- base32 TOTP key, 160 bits
    last_counter  BIGINT NOT NULL DEFAULT 0,    -- the time step of the last accepted code: no replay
    enrolled_at   TEXT NOT NULL                  -- ISO-8601 UTC
);

-- Ten one-time recovery codes per enrolled user, for a lost phone. Only the SHA-256 of each is kept:
-- a code is 80 random bits, so no slow or keyed hash is needed to stop guessing it back from a copy of
-- the table. A code is deleted when it is used; new codes replace all the old ones.
CREATE TABLE staff_recovery_codes (
    code_hash  TEXT PRIMARY KEY,                 -- hex SHA-256 of the normalised code
    user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE
);
CREATE INDEX staff_recovery_codes_user ON staff_recovery_codes (user_id);
