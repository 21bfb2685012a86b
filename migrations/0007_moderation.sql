-- Moderation: what screening found in each essay, near-duplicate links, who is reviewing what, and the
-- queue's indexes.

-- Findings of the screener (citizenvoice/screening.py) on the essay's current text; replaced whenever
-- the text changes (resubmission, a moderator's edit or redaction), so they are derived data, not
-- history. Personal data is stored masked: the item page re-screens the live text for highlighting,
-- these rows drive the queue's badges and its flag filter.
CREATE TABLE essay_flags (
    id           INTEGER PRIMARY KEY,
    essay_id     INTEGER NOT NULL REFERENCES essays (id),
    field        TEXT NOT NULL CHECK (field IN ('headline', 'body')),
    kind         TEXT NOT NULL CHECK (kind IN ('banned', 'suspect', 'phone', 'id_number', 'email', 'url')),
    term         TEXT NOT NULL,                 -- the list word, or the name of the personal-data pattern
    matched      TEXT NOT NULL,                 -- as written (masked for personal data)
    start_at     INTEGER NOT NULL,
    end_at       INTEGER NOT NULL,
    explanation  TEXT NOT NULL,
    list_version INTEGER NOT NULL,              -- screening_words version the automaton was built from
    created_at   TEXT NOT NULL
);
CREATE INDEX essay_flags_essay ON essay_flags (essay_id, kind);
CREATE INDEX essay_flags_kind ON essay_flags (kind, essay_id);

-- MinHash LSH buckets: essays sharing a band key are near-duplicate candidates, confirmed with the
-- exact shingle Jaccard similarity before a link is stored.
CREATE TABLE essay_shingle_bands (
    band_key  TEXT NOT NULL,                    -- "07:3fa1…" (band number and hash)
    essay_id  INTEGER NOT NULL REFERENCES essays (id),
    PRIMARY KEY (band_key, essay_id)
);  -- not WITHOUT ROWID: the privacy export reads every essay_id table in rowid order
CREATE INDEX essay_shingle_bands_essay ON essay_shingle_bands (essay_id);

-- A confirmed near-duplicate pair; essay_id is the later essay, other_id the one it resembles.
CREATE TABLE essay_duplicates (
    essay_id    INTEGER NOT NULL REFERENCES essays (id),
    other_id    INTEGER NOT NULL REFERENCES essays (id),
    similarity  REAL NOT NULL CHECK (similarity BETWEEN 0 AND 1),
    created_at  TEXT NOT NULL,
    PRIMARY KEY (essay_id, other_id),
    CHECK (essay_id <> other_id)
);
CREATE INDEX essay_duplicates_other ON essay_duplicates (other_id, essay_id);

-- Who is looking at an essay right now. One row per essay; a row whose expires_at has passed is as
-- good as absent (the next claim overwrites it), so nothing has to sweep expired claims.
CREATE TABLE essay_claims (
    essay_id    INTEGER PRIMARY KEY REFERENCES essays (id),
    user_id     INTEGER NOT NULL REFERENCES users (id),
    claimed_at  REAL NOT NULL,                  -- unix time
    expires_at  REAL NOT NULL                   -- unix time
);
CREATE INDEX essay_claims_user ON essay_claims (user_id);

-- Append-only record of taking an essay over from a colleague (and of giving one up), shown with the
-- audit trail on the item page.
CREATE TABLE claim_events (
    id                INTEGER PRIMARY KEY,
    essay_id          INTEGER NOT NULL REFERENCES essays (id),
    user_id           INTEGER NOT NULL REFERENCES users (id),
    action            TEXT NOT NULL CHECK (action IN ('takeover', 'release')),
    previous_user_id  INTEGER REFERENCES users (id),
    created_at        TEXT NOT NULL
);
CREATE INDEX claim_events_essay ON claim_events (essay_id, id);
CREATE TRIGGER claim_events_append_only_update BEFORE UPDATE ON claim_events
BEGIN SELECT RAISE(ABORT, 'claim_events is append-only'); END;
CREATE TRIGGER claim_events_append_only_delete BEFORE DELETE ON claim_events
BEGIN SELECT RAISE(ABORT, 'claim_events is append-only'); END;

-- The queue walks essays_status_submitted (status, high_risk DESC, submitted_at, id) from 0001. These
-- serve queue health (oldest pending, how many overdue), the direction filter without visiting every
-- pending row, and the 90-day window of duplicate candidates.
CREATE INDEX essays_status_age ON essays (status, submitted_at);
CREATE INDEX essays_queue_direction ON essays (status, direction_id, high_risk DESC, submitted_at, id);
CREATE INDEX essays_submitted ON essays (submitted_at);
