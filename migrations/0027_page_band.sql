-- The directions band across the top of a print page: up to ten boxes in the editor's order, each a
-- direction of the catalogue with its name and one sentence, copied here so the page can word them
-- its own way without changing the public boards. Saving the band replaces the page's rows.
CREATE TABLE page_band (
    page_id       INTEGER NOT NULL REFERENCES print_pages (id),
    position      INTEGER NOT NULL,
    direction_id  INTEGER NOT NULL REFERENCES directions (id),
    name          TEXT NOT NULL,
    description   TEXT NOT NULL,
    PRIMARY KEY (page_id, position)
);
