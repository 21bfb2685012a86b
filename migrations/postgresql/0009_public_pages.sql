-- PostgreSQL version of migrations/0009_public_pages.sql: the board's role-count index and the public
-- content version every worker's page cache compares (SQLite: triggers with UPDATE list_versions).
CREATE INDEX essays_board_roles ON essays (direction_id, status, author_role);

INSERT INTO list_versions (name, version) VALUES ('public_content', 1);

CREATE FUNCTION bump_public_content() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE list_versions SET version = version + 1 WHERE name = 'public_content';
    RETURN NULL;
END $$;

-- Essays: only rows public before or after the write, and only the columns public pages read.
CREATE TRIGGER public_content_essay_insert AFTER INSERT ON essays
FOR EACH ROW WHEN (NEW.status IN ('published', 'printed')) EXECUTE FUNCTION bump_public_content();

CREATE TRIGGER public_content_essay_update
AFTER UPDATE OF id, status, direction_id, headline, body, author_role, author_name, affiliation, byline_mode,
                featured, published_at, updated_at, printed_edition, photo_path ON essays
FOR EACH ROW WHEN (OLD.status IN ('published', 'printed') OR NEW.status IN ('published', 'printed'))
EXECUTE FUNCTION bump_public_content();

CREATE TRIGGER public_content_essay_delete AFTER DELETE ON essays
FOR EACH ROW WHEN (OLD.status IN ('published', 'printed')) EXECUTE FUNCTION bump_public_content();

CREATE TRIGGER public_content_directions AFTER INSERT OR UPDATE OR DELETE ON directions
FOR EACH ROW EXECUTE FUNCTION bump_public_content();

CREATE TRIGGER public_content_site_settings AFTER INSERT OR UPDATE OR DELETE ON site_settings
FOR EACH ROW EXECUTE FUNCTION bump_public_content();
