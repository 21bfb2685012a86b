-- Administration: the audit trail of every admin change, admin-editable site texts, and the record of
-- authors' erasure requests.

-- Append-only like essay_events: who changed what, when, and the values before and after (JSON).
-- Never holds a password or its hash.
CREATE TABLE admin_audit (
    id          INTEGER PRIMARY KEY,
    actor_id    INTEGER REFERENCES users (id),     -- NULL for the command line / system
    actor_name  TEXT NOT NULL,                     -- kept as written, so renames do not rewrite history
    action      TEXT NOT NULL,                     -- e.g. user.add, direction.archive, words.replace
    target      TEXT NOT NULL DEFAULT '',          -- e.g. user:3, direction:wellbeing, words:banned
    before_json TEXT,
    after_json  TEXT,
    created_at  TEXT NOT NULL
);
CREATE INDEX admin_audit_created ON admin_audit (id DESC);
CREATE TRIGGER admin_audit_append_only_update BEFORE UPDATE ON admin_audit
BEGIN SELECT RAISE(ABORT, 'admin_audit is append-only'); END;
CREATE TRIGGER admin_audit_append_only_delete BEFORE DELETE ON admin_audit
BEGIN SELECT RAISE(ABORT, 'admin_audit is append-only'); END;

-- Overrides of the deployment's defaults (settings.py); a missing key means "use the default".
CREATE TABLE site_settings (
    key         TEXT PRIMARY KEY CHECK (key IN ('site_name', 'city', 'paper_name', 'column_title', 'lead')),
    value       TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
-- Every worker caches the site texts and reloads them only when this version moves.
INSERT INTO list_versions (name, version) VALUES ('site_settings', 1);

-- When an essay's personal data was erased (author's request or the retention rule), and whether the
-- text was taken down with it. NULL = personal data still held.
ALTER TABLE essays ADD COLUMN personal_data_erased_at TEXT;
ALTER TABLE essays ADD COLUMN text_removed_at TEXT;
CREATE INDEX essays_retention ON essays (status, personal_data_erased_at, updated_at);

-- The author's deletion requests, so the newsroom can show it honoured them. No personal data here.
CREATE TABLE erasure_requests (
    id            INTEGER PRIMARY KEY,
    essay_id      INTEGER NOT NULL REFERENCES essays (id),
    source        TEXT NOT NULL CHECK (source IN ('author', 'retention')),
    keep_text     TEXT NOT NULL CHECK (keep_text IN ('anonymous', 'remove', 'not_public')),
    created_at    TEXT NOT NULL
);
CREATE INDEX erasure_requests_essay ON erasure_requests (essay_id, id);
