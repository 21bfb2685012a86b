-- The author channel (issue 14): a durable outbox of messages to authors, the lease that lets exactly
-- one sender loop run across workers and hosts, phone verification codes, and the author's own say
-- over notifications. Portable SQL: explicit INTEGER PRIMARY KEY ids, ISO-8601 text timestamps computed
-- by the application, 0/1 integers for booleans.

-- One row per message promised to an author, written in the transaction of the change that causes it.
-- idempotency_key makes a second enqueue of the same promise a no-op and travels to the provider
-- (Aliyun OutId, Tencent SessionContext, the mail's Message-ID) so a retried send can be recognised.
CREATE TABLE messages (
    id               INTEGER PRIMARY KEY,
    idempotency_key  TEXT NOT NULL UNIQUE,
    channel          TEXT NOT NULL CHECK (channel IN ('sms', 'email')),
    recipient        TEXT NOT NULL,                 -- private: a phone or an e-mail address
    template         TEXT NOT NULL,
    params           TEXT NOT NULL,                 -- JSON object
    essay_id         INTEGER REFERENCES essays (id),
    status           TEXT NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sent', 'failed')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TEXT NOT NULL,                 -- due from then; pushed ahead before each attempt
    last_error       TEXT NOT NULL DEFAULT '',      -- the provider's reason, for /admin/messages
    provider_id      TEXT NOT NULL DEFAULT '',      -- the provider's request or message id
    created_at       TEXT NOT NULL,
    sent_at          TEXT
);
CREATE INDEX messages_due ON messages (status, next_attempt_at, id);
CREATE INDEX messages_created ON messages (created_at, id);

-- Exactly one sender loop is active: the worker holding an unexpired lease. Claimed and renewed with
-- one conditional UPDATE (holder = me OR expires_at < now), which both SQLite and PostgreSQL serialise.
CREATE TABLE leases (
    name        TEXT PRIMARY KEY,
    holder      TEXT NOT NULL DEFAULT '',
    expires_at  TEXT NOT NULL DEFAULT ''
);
INSERT INTO leases (name, holder, expires_at) VALUES ('message_sender', '', '');

-- Verification codes: only a keyed hash of the phone and of the code is kept.
CREATE TABLE phone_codes (
    id          INTEGER PRIMARY KEY,
    phone_hash  TEXT NOT NULL,
    code_hash   TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    tries       INTEGER NOT NULL DEFAULT 0,
    used        INTEGER NOT NULL DEFAULT 0 CHECK (used IN (0, 1))
);
CREATE INDEX phone_codes_phone ON phone_codes (phone_hash, created_at);

-- sms_channel: the phone may receive messages (verified, or given while verification was off).
-- notify: the author has not stopped notifications from the tracking page.
ALTER TABLE essays ADD COLUMN sms_channel INTEGER NOT NULL DEFAULT 0 CHECK (sms_channel IN (0, 1));
ALTER TABLE essays ADD COLUMN notify INTEGER NOT NULL DEFAULT 1 CHECK (notify IN (0, 1));

-- The admin may now set the limits and phone verification too (dialect-specific: SQLite triggers).
DROP TRIGGER site_settings_known_insert;
DROP TRIGGER site_settings_known_update;
CREATE TRIGGER site_settings_known_insert BEFORE INSERT ON site_settings
WHEN NEW.key NOT IN ('site_name', 'city', 'paper_name', 'column_title', 'lead', 'review_levels',
                     'phone_verification', 'submit_limit_per_phone', 'submit_limit_per_address',
                     'track_lookup_limit', 'track_code_limit', 'code_limit_per_phone',
                     'code_limit_per_address', 'lost_link_limit_per_phone', 'lost_link_limit_per_address')
BEGIN SELECT RAISE(ABORT, 'unknown site setting'); END;
CREATE TRIGGER site_settings_known_update BEFORE UPDATE ON site_settings
WHEN NEW.key NOT IN ('site_name', 'city', 'paper_name', 'column_title', 'lead', 'review_levels',
                     'phone_verification', 'submit_limit_per_phone', 'submit_limit_per_address',
                     'track_lookup_limit', 'track_code_limit', 'code_limit_per_phone',
                     'code_limit_per_address', 'lost_link_limit_per_phone', 'lost_link_limit_per_address')
BEGIN SELECT RAISE(ABORT, 'unknown site setting'); END;
