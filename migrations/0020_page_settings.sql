-- The newsroom's finish (issue 16): a page's slogan line, and deleting a draft page.
-- A deleted draft keeps its row (its append-only page_events and print versions point at it); it is
-- hidden from the print desk and its essays are freed for other pages. Portable ALTERs only.
ALTER TABLE print_pages ADD COLUMN slogan TEXT NOT NULL DEFAULT '';
ALTER TABLE print_pages ADD COLUMN deleted_at TEXT;
ALTER TABLE print_pages ADD COLUMN deleted_by INTEGER REFERENCES users (id);
