-- Essays a reporter entered on an author's behalf (采访、来信、电话、座谈会). The essay itself is an
-- ordinary row of essays, written in the author's name; this table says who on the staff entered it,
-- how it was gathered and how the author's consent was obtained. The author stays the author
-- everywhere public; this row is for the newsroom (the moderator's mark, the page credits).
CREATE TABLE compiled_essays (
    essay_id      INTEGER PRIMARY KEY REFERENCES essays (id),
    entered_by    INTEGER NOT NULL REFERENCES users (id),
    source        TEXT NOT NULL CHECK (source IN ('interview', 'letter', 'phone', 'event')),
    consent_note  TEXT NOT NULL DEFAULT '',
    entered_at    TEXT NOT NULL
);
CREATE INDEX compiled_essays_entered_by ON compiled_essays (entered_by);
