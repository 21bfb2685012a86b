-- Core schema: boards (directions), essays with every revision and status change, and the
-- bookkeeping for one-time form tokens and abuse limits.

CREATE TABLE directions (
    id          INTEGER PRIMARY KEY,
    slug        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    pillar      TEXT NOT NULL CHECK (pillar IN ('industry', 'innovation', 'opening', 'livelihood')),
    position    INTEGER NOT NULL DEFAULT 0,
    archived    INTEGER NOT NULL DEFAULT 0 CHECK (archived IN (0, 1)),
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);

CREATE TABLE essays (
    id              INTEGER PRIMARY KEY,
    tracking_code   TEXT NOT NULL UNIQUE,          -- short human code, CV-XXXX-XXXX
    token_hash      TEXT NOT NULL UNIQUE,          -- sha256 of the secret tracking token; never the token
    status          TEXT NOT NULL CHECK (status IN ('pending', 'needs_revision', 'published', 'rejected',
                                                    'unpublished', 'withdrawn', 'printed')),
    version         INTEGER NOT NULL DEFAULT 1,    -- bumped by every change; decisions carry it
    direction_id    INTEGER NOT NULL REFERENCES directions (id),
    headline        TEXT NOT NULL,
    body            TEXT NOT NULL,
    author_role     TEXT NOT NULL CHECK (author_role IN ('resident', 'community', 'enterprise', 'research',
                                                         'public_sector', 'student', 'other')),
    author_name     TEXT NOT NULL,
    affiliation     TEXT NOT NULL DEFAULT '',
    byline_mode     TEXT NOT NULL CHECK (byline_mode IN ('full', 'role_only')),
    phone           TEXT,                          -- private; NULL once erased
    email           TEXT,                          -- private
    photo_path      TEXT,                          -- relative to the media directory
    consent_print   INTEGER NOT NULL DEFAULT 0 CHECK (consent_print IN (0, 1)),
    featured        INTEGER NOT NULL DEFAULT 0 CHECK (featured IN (0, 1)),
    high_risk       INTEGER NOT NULL DEFAULT 0 CHECK (high_risk IN (0, 1)),
    author_note     TEXT NOT NULL DEFAULT '',      -- the latest note the author should see (revision / reject)
    reject_reason   TEXT NOT NULL DEFAULT '',
    submit_ip       TEXT,                          -- kept only as long as rate limiting needs it
    submitted_at    TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    published_at    TEXT,
    printed_edition TEXT                           -- e.g. 《锦州日报》2026-11-24 T08版
);
CREATE INDEX essays_status_submitted ON essays (status, high_risk DESC, submitted_at, id);
CREATE INDEX essays_board ON essays (direction_id, status, featured DESC, published_at DESC, id DESC);
CREATE INDEX essays_published ON essays (status, published_at DESC, id DESC);
CREATE INDEX essays_phone ON essays (phone);

-- Every version of the text the essay has had, numbered from 1.
CREATE TABLE essay_revisions (
    id          INTEGER PRIMARY KEY,
    essay_id    INTEGER NOT NULL REFERENCES essays (id),
    number      INTEGER NOT NULL,
    headline    TEXT NOT NULL,
    body        TEXT NOT NULL,
    actor_kind  TEXT NOT NULL CHECK (actor_kind IN ('author', 'moderator', 'editor', 'system')),
    actor_id    INTEGER,                           -- users.id for staff
    created_at  TEXT NOT NULL,
    UNIQUE (essay_id, number)
);

-- Append-only audit trail of status changes and edits; triggers refuse UPDATE and DELETE.
CREATE TABLE essay_events (
    id          INTEGER PRIMARY KEY,
    essay_id    INTEGER NOT NULL REFERENCES essays (id),
    action      TEXT NOT NULL,
    from_status TEXT,
    to_status   TEXT,
    actor_kind  TEXT NOT NULL CHECK (actor_kind IN ('author', 'moderator', 'editor', 'admin', 'system')),
    actor_id    INTEGER,
    reason      TEXT NOT NULL DEFAULT '',
    note        TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL
);
CREATE INDEX essay_events_essay ON essay_events (essay_id, id);
CREATE TRIGGER essay_events_append_only_update BEFORE UPDATE ON essay_events
BEGIN SELECT RAISE(ABORT, 'essay_events is append-only'); END;
CREATE TRIGGER essay_events_append_only_delete BEFORE DELETE ON essay_events
BEGIN SELECT RAISE(ABORT, 'essay_events is append-only'); END;

-- A submit form's one-time token, recorded at first use so a retry finds the same essay.
CREATE TABLE form_tokens (
    token_hash  TEXT PRIMARY KEY,
    essay_id    INTEGER REFERENCES essays (id),
    used_at     TEXT NOT NULL
);

-- Sliding-window counters shared by every worker process (submissions, look-ups, logins).
CREATE TABLE rate_events (
    id          INTEGER PRIMARY KEY,
    bucket      TEXT NOT NULL,                     -- e.g. submit-ip, submit-phone, track-ip
    key_hash    TEXT NOT NULL,                     -- hashed, so IPs and phones are not kept in clear here
    created_at  REAL NOT NULL                      -- unix time
);
CREATE INDEX rate_events_lookup ON rate_events (bucket, key_hash, created_at);
