-- Essays a reporter entered on an author's behalf, PostgreSQL dialect of
-- migrations/0025_compiled_essays.sql (the newsroom's row; the essay itself stays the author's).
CREATE TABLE compiled_essays (
    essay_id      BIGINT PRIMARY KEY REFERENCES essays (id),
    entered_by    BIGINT NOT NULL REFERENCES users (id),
    source        TEXT NOT NULL CHECK (source IN ('interview', 'letter', 'phone', 'event')),
    consent_note  TEXT NOT NULL DEFAULT '',
    entered_at    TEXT NOT NULL
);
CREATE INDEX compiled_essays_entered_by ON compiled_essays (entered_by);
