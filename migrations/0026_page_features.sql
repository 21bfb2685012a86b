-- The feature article a print page may carry besides its essays, written by the paper's own staff
-- ("本报记者 某某"). Versioned: every save adds a row and the newest is the page's feature; a row with
-- removed = 1 takes the feature off the page and keeps the history.
CREATE TABLE page_features (
    id            INTEGER PRIMARY KEY,
    page_id       INTEGER NOT NULL REFERENCES print_pages (id),
    version       INTEGER NOT NULL,
    headline      TEXT NOT NULL DEFAULT '',
    byline        TEXT NOT NULL DEFAULT '',
    body          TEXT NOT NULL DEFAULT '',
    photo_path    TEXT,
    photo_credit  TEXT NOT NULL DEFAULT '',
    char_count    INTEGER NOT NULL DEFAULT 0,
    removed       INTEGER NOT NULL DEFAULT 0 CHECK (removed IN (0, 1)),
    created_by    INTEGER NOT NULL REFERENCES users (id),
    created_at    TEXT NOT NULL,
    UNIQUE (page_id, version)
);
