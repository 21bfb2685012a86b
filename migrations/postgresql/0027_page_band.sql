-- The directions band of a print page, PostgreSQL dialect of migrations/0027_page_band.sql (the
-- page's own wording of up to ten catalogue directions, in the editor's order).
CREATE TABLE page_band (
    page_id       BIGINT NOT NULL REFERENCES print_pages (id),
    position      BIGINT NOT NULL,
    direction_id  BIGINT NOT NULL REFERENCES directions (id),
    name          TEXT NOT NULL,
    description   TEXT NOT NULL,
    PRIMARY KEY (page_id, position)
);
