-- Two- or three-level review (三审制).
--
-- essays.status stays 'pending' through every level, so the public side, search, feeds, the author's
-- 「审核中」, privacy and the print desk are unchanged; review_stage says whose queue a pending essay is
-- in (1 初审, 2 复审 or 终审, 3 终审; see citizenvoice/model/review.py). Each event records the stage
-- it was decided at.
ALTER TABLE essays ADD COLUMN review_stage INTEGER NOT NULL DEFAULT 1 CHECK (review_stage BETWEEN 1 AND 3);
ALTER TABLE essay_events ADD COLUMN review_stage INTEGER CHECK (review_stage IS NULL OR review_stage BETWEEN 1 AND 3);
CREATE INDEX essays_review_stage ON essays (status, review_stage, high_risk DESC, submitted_at, id);

-- New roles (reviewer 复审, chief 终审) and a new site setting (review_levels) are values the CHECK
-- constraints of 0003 and 0006 refuse. SQLite cannot alter a CHECK, and its documented table rebuild
-- drops the old table, which migrations never do. So each table is renamed aside (kept, emptied, so no
-- second copy of the data can go stale), recreated under its old name with the same columns and no
-- CHECK on the value, and the rule moves into BEFORE INSERT/UPDATE triggers: admitting a value later
-- is a trigger replaced, not a table rebuilt.
ALTER TABLE user_roles RENAME TO retired_user_roles_0003;
CREATE TABLE user_roles (
    user_id  INTEGER NOT NULL REFERENCES users (id),
    role     TEXT NOT NULL,
    PRIMARY KEY (user_id, role)
);
INSERT INTO user_roles (user_id, role) SELECT user_id, role FROM retired_user_roles_0003;
DELETE FROM retired_user_roles_0003;
CREATE TRIGGER user_roles_known_insert BEFORE INSERT ON user_roles
WHEN NEW.role NOT IN ('admin', 'moderator', 'editor', 'reviewer', 'chief')
BEGIN SELECT RAISE(ABORT, 'unknown staff role'); END;
CREATE TRIGGER user_roles_known_update BEFORE UPDATE ON user_roles
WHEN NEW.role NOT IN ('admin', 'moderator', 'editor', 'reviewer', 'chief')
BEGIN SELECT RAISE(ABORT, 'unknown staff role'); END;

-- The page-cache triggers of 0009 moved with the renamed table; they belong on the live one.
ALTER TABLE site_settings RENAME TO retired_site_settings_0006;
DROP TRIGGER public_content_site_settings_insert;
DROP TRIGGER public_content_site_settings_update;
DROP TRIGGER public_content_site_settings_delete;
CREATE TABLE site_settings (
    key         TEXT PRIMARY KEY,
    value       TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
INSERT INTO site_settings (key, value, updated_at) SELECT key, value, updated_at FROM retired_site_settings_0006;
DELETE FROM retired_site_settings_0006;
CREATE TRIGGER site_settings_known_insert BEFORE INSERT ON site_settings
WHEN NEW.key NOT IN ('site_name', 'city', 'paper_name', 'column_title', 'lead', 'review_levels')
BEGIN SELECT RAISE(ABORT, 'unknown site setting'); END;
CREATE TRIGGER site_settings_known_update BEFORE UPDATE ON site_settings
WHEN NEW.key NOT IN ('site_name', 'city', 'paper_name', 'column_title', 'lead', 'review_levels')
BEGIN SELECT RAISE(ABORT, 'unknown site setting'); END;
CREATE TRIGGER site_settings_review_levels_insert BEFORE INSERT ON site_settings
WHEN NEW.key = 'review_levels' AND NEW.value NOT IN ('1', '2', '3')
BEGIN SELECT RAISE(ABORT, 'review_levels must be 1, 2 or 3'); END;
CREATE TRIGGER site_settings_review_levels_update BEFORE UPDATE ON site_settings
WHEN NEW.key = 'review_levels' AND NEW.value NOT IN ('1', '2', '3')
BEGIN SELECT RAISE(ABORT, 'review_levels must be 1, 2 or 3'); END;
CREATE TRIGGER public_content_site_settings_insert AFTER INSERT ON site_settings
BEGIN UPDATE list_versions SET version = version + 1 WHERE name = 'public_content'; END;
CREATE TRIGGER public_content_site_settings_update AFTER UPDATE ON site_settings
BEGIN UPDATE list_versions SET version = version + 1 WHERE name = 'public_content'; END;
CREATE TRIGGER public_content_site_settings_delete AFTER DELETE ON site_settings
BEGIN UPDATE list_versions SET version = version + 1 WHERE name = 'public_content'; END;
