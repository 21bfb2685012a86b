-- The JSON API's change feed, and credentials fetched from providers (WeChat's access_token and
-- jsapi_ticket) that every worker and host shares.

-- /api/v1/changes walks essays that are or were public in (updated_at, id) order. Only essays
-- that were ever published qualify, so the index stays small next to the queue's churn.
CREATE INDEX essays_changes ON essays (updated_at, id) WHERE published_at IS NOT NULL;

-- One row per credential. ``refreshing_until`` is a lease: the worker that moves it forward (a
-- conditional UPDATE, so exactly one wins) calls the provider; the others wait for its result.
-- A failed refresh keeps the lease until its end, so a bad secret costs one call a minute, not one
-- a page view.
CREATE TABLE provider_credentials (
    name             TEXT PRIMARY KEY,
    value            TEXT NOT NULL DEFAULT '',
    expires_at       TEXT NOT NULL DEFAULT '',   -- ISO-8601 UTC; '' when never fetched
    refreshing_until TEXT NOT NULL DEFAULT '',   -- ISO-8601 UTC; '' when no refresh is under way
    last_error       TEXT NOT NULL DEFAULT '',   -- the provider's code and message of the last failure
    updated_at       TEXT NOT NULL
);
