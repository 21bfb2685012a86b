-- The print desk: pages of the column, the essays placed on them, their print versions, the
-- editors' verification of authors, and the authors' sign-off on cuts.

CREATE TABLE print_pages (
    id              INTEGER PRIMARY KEY,
    paper           TEXT NOT NULL,
    pub_date        TEXT NOT NULL,                 -- YYYY-MM-DD
    page_label      TEXT NOT NULL,                 -- e.g. T08
    column_title    TEXT NOT NULL,
    slots           INTEGER NOT NULL CHECK (slots BETWEEN 1 AND 8),
    slot_budget     INTEGER NOT NULL DEFAULT 500 CHECK (slot_budget BETWEEN 100 AND 5000),
    lead            TEXT NOT NULL DEFAULT '',      -- 核心提示
    credits         TEXT NOT NULL DEFAULT '',      -- one credit line per line
    byline_style    TEXT NOT NULL DEFAULT 'under_headline' CHECK (byline_style IN ('under_headline', 'after_body')),
    state           TEXT NOT NULL DEFAULT 'draft' CHECK (state IN ('draft', 'locked', 'printed')),
    version         INTEGER NOT NULL DEFAULT 1,
    created_by      INTEGER REFERENCES users (id),
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    printed_at      TEXT
);
CREATE INDEX print_pages_date ON print_pages (pub_date DESC, id DESC);

-- An essay sits on at most one page at a time.
CREATE TABLE print_slots (
    page_id      INTEGER NOT NULL REFERENCES print_pages (id),
    essay_id     INTEGER NOT NULL UNIQUE REFERENCES essays (id),
    position     INTEGER NOT NULL,
    PRIMARY KEY (page_id, essay_id)
);

-- "核实": an editor called the author and confirmed authorship. Kept per essay, so it carries over
-- if the essay moves to another page.
CREATE TABLE author_verifications (
    id          INTEGER PRIMARY KEY,
    essay_id    INTEGER NOT NULL REFERENCES essays (id),
    user_id     INTEGER NOT NULL REFERENCES users (id),
    note        TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE INDEX author_verifications_essay ON author_verifications (essay_id, id);

-- The text as it will be printed, separate from the online text, every version kept.
CREATE TABLE print_versions (
    id          INTEGER PRIMARY KEY,
    page_id     INTEGER NOT NULL REFERENCES print_pages (id),
    essay_id    INTEGER NOT NULL REFERENCES essays (id),
    number      INTEGER NOT NULL,
    headline    TEXT NOT NULL,
    byline      TEXT NOT NULL,
    body        TEXT NOT NULL,
    char_count  INTEGER NOT NULL,
    created_by  INTEGER REFERENCES users (id),
    created_at  TEXT NOT NULL,
    UNIQUE (page_id, essay_id, number)
);

-- The editor asks the author to confirm cuts; the author accepts or objects with a note.
CREATE TABLE signoff_requests (
    id                INTEGER PRIMARY KEY,
    page_id           INTEGER NOT NULL REFERENCES print_pages (id),
    essay_id          INTEGER NOT NULL REFERENCES essays (id),
    print_version_id  INTEGER NOT NULL REFERENCES print_versions (id),
    requested_by      INTEGER REFERENCES users (id),
    requested_at      TEXT NOT NULL,
    answer            TEXT CHECK (answer IN ('accepted', 'objected')),
    answer_note       TEXT NOT NULL DEFAULT '',
    answered_at       TEXT
);
CREATE INDEX signoff_requests_essay ON signoff_requests (essay_id, id);

-- Append-only records: what happened to a page, and every time someone saw an author's phone.
CREATE TABLE page_events (
    id          INTEGER PRIMARY KEY,
    page_id     INTEGER NOT NULL REFERENCES print_pages (id),
    action      TEXT NOT NULL,
    actor_id    INTEGER REFERENCES users (id),
    essay_id    INTEGER,
    reason      TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL
);
CREATE INDEX page_events_page ON page_events (page_id, id);
CREATE TRIGGER page_events_append_only_update BEFORE UPDATE ON page_events
BEGIN SELECT RAISE(ABORT, 'page_events is append-only'); END;
CREATE TRIGGER page_events_append_only_delete BEFORE DELETE ON page_events
BEGIN SELECT RAISE(ABORT, 'page_events is append-only'); END;

CREATE TABLE phone_views (
    id        INTEGER PRIMARY KEY,
    essay_id  INTEGER NOT NULL REFERENCES essays (id),
    user_id   INTEGER NOT NULL REFERENCES users (id),
    viewed_at TEXT NOT NULL
);
CREATE INDEX phone_views_essay ON phone_views (essay_id, id);
CREATE TRIGGER phone_views_append_only_update BEFORE UPDATE ON phone_views
BEGIN SELECT RAISE(ABORT, 'phone_views is append-only'); END;
