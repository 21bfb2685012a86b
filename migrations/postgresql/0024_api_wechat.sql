-- The JSON API's change feed and shared provider credentials (issue 18), PostgreSQL dialect of
-- migrations/0024_api_wechat.sql (the same SQL).
CREATE INDEX essays_changes ON essays (updated_at, id) WHERE published_at IS NOT NULL;

CREATE TABLE provider_credentials (
    name             TEXT PRIMARY KEY,
    value            TEXT NOT NULL DEFAULT '',
    expires_at       TEXT NOT NULL DEFAULT '',
    refreshing_until TEXT NOT NULL DEFAULT '',
    last_error       TEXT NOT NULL DEFAULT '',
    updated_at       TEXT NOT NULL
);
