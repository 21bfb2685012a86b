-- PostgreSQL version of migrations/0015_stats.sql (same number; docs/architecture.md says how they pair).
-- Statistics for the editorial meeting: the target mix of voices the editors aim for, and the
-- indexes that keep the dashboard fast at 100,000 essays.

-- The share (per cent) of the printed column each voice should have; what the four named voices
-- leave of 100 is the target of every other voice together ('other').
CREATE TABLE voice_targets (
    voice       TEXT PRIMARY KEY CHECK (voice IN ('resident', 'community', 'enterprise', 'research')),
    percent     BIGINT NOT NULL CHECK (percent BETWEEN 0 AND 100),
    updated_by  BIGINT REFERENCES users (id),
    updated_at  TEXT NOT NULL
);
INSERT INTO voice_targets (voice, percent, updated_at) VALUES
 ('resident', 25, to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')),
 ('community', 25, to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')),
 ('enterprise', 25, to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')),
 ('research', 25, to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'));

-- The dashboard counts essays by submission date (a range scan that reads direction, role and the
-- outcome from the index alone), each essay's decisions by essay and action, and the printed column
-- by the date of the 'print' event.
CREATE INDEX essays_submitted_stats ON essays (submitted_at, direction_id, author_role, status, published_at);
CREATE INDEX essay_events_decisions ON essay_events (essay_id, action, created_at);
CREATE INDEX essay_events_action_time ON essay_events (action, created_at, essay_id);
