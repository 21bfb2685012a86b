-- The newsroom's finish (issue 16), PostgreSQL dialect of migrations/0020_page_settings.sql.
ALTER TABLE print_pages ADD COLUMN slogan TEXT NOT NULL DEFAULT '';
ALTER TABLE print_pages ADD COLUMN deleted_at TEXT;
ALTER TABLE print_pages ADD COLUMN deleted_by BIGINT REFERENCES users (id);
