-- PostgreSQL version of migrations/0014_review_levels.sql: two- or three-level review (三审制).
-- PostgreSQL can replace a CHECK constraint, so the tables stay where they are (SQLite renamed them
-- aside and moved the rule into triggers); migrate-to-postgres skips SQLite's empty retired_* tables.
ALTER TABLE essays ADD COLUMN review_stage BIGINT NOT NULL DEFAULT 1 CHECK (review_stage BETWEEN 1 AND 3);
ALTER TABLE essay_events ADD COLUMN review_stage BIGINT CHECK (review_stage IS NULL OR review_stage BETWEEN 1 AND 3);
CREATE INDEX essays_review_stage ON essays (status, review_stage, high_risk DESC, submitted_at, id);

ALTER TABLE user_roles DROP CONSTRAINT user_roles_role_check;
ALTER TABLE user_roles ADD CONSTRAINT user_roles_role_check
    CHECK (role IN ('admin', 'moderator', 'editor', 'reviewer', 'chief'));

ALTER TABLE site_settings DROP CONSTRAINT site_settings_key_check;
ALTER TABLE site_settings ADD CONSTRAINT site_settings_key_check
    CHECK (key IN ('site_name', 'city', 'paper_name', 'column_title', 'lead', 'review_levels'));
ALTER TABLE site_settings ADD CONSTRAINT site_settings_review_levels_check
    CHECK (key <> 'review_levels' OR value IN ('1', '2', '3'));
