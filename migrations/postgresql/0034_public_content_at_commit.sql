-- The page-cache content version (0009) is bumped when the transaction commits, not at each update of
-- a public row. Taken at the first update, its one row was held for the rest of the transaction: a
-- print page marked printed (its essays updated one after another) and an edit of one of those essays
-- waited for each other — one on the version row, the other on the essay — and PostgreSQL aborted one
-- as a deadlock. Deferred, the row is the last lock a transaction takes and is held only while it
-- commits. Same triggers, same rows, same count of bumps.
DROP TRIGGER public_content_essay_insert ON essays;
DROP TRIGGER public_content_essay_update ON essays;
DROP TRIGGER public_content_essay_delete ON essays;
DROP TRIGGER public_content_directions ON directions;
DROP TRIGGER public_content_site_settings ON site_settings;

CREATE CONSTRAINT TRIGGER public_content_essay_insert AFTER INSERT ON essays
DEFERRABLE INITIALLY DEFERRED
FOR EACH ROW WHEN (NEW.status IN ('published', 'printed')) EXECUTE FUNCTION bump_public_content();

CREATE CONSTRAINT TRIGGER public_content_essay_update
AFTER UPDATE OF id, status, direction_id, headline, body, author_role, author_name, affiliation, byline_mode,
                featured, published_at, updated_at, printed_edition, photo_path ON essays
DEFERRABLE INITIALLY DEFERRED
FOR EACH ROW WHEN (OLD.status IN ('published', 'printed') OR NEW.status IN ('published', 'printed'))
EXECUTE FUNCTION bump_public_content();

CREATE CONSTRAINT TRIGGER public_content_essay_delete AFTER DELETE ON essays
DEFERRABLE INITIALLY DEFERRED
FOR EACH ROW WHEN (OLD.status IN ('published', 'printed')) EXECUTE FUNCTION bump_public_content();

CREATE CONSTRAINT TRIGGER public_content_directions AFTER INSERT OR UPDATE OR DELETE ON directions
DEFERRABLE INITIALLY DEFERRED
FOR EACH ROW EXECUTE FUNCTION bump_public_content();

CREATE CONSTRAINT TRIGGER public_content_site_settings AFTER INSERT OR UPDATE OR DELETE ON site_settings
DEFERRABLE INITIALLY DEFERRED
FOR EACH ROW EXECUTE FUNCTION bump_public_content();
