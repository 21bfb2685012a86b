-- Public pages at city scale: an index for the board's role counts, and the content version that
-- tells every worker's rendered-page cache (citizenvoice/pagecache.py) when its pages went stale.

-- role_counts groups a board's public essays by author_role: with this index it reads the index alone
-- instead of every row past the body (and its overflow pages).
CREATE INDEX essays_board_roles ON essays (direction_id, status, author_role);

-- Bumped by the triggers below in the same transaction as any write that can change what a public
-- page shows, whichever code path (web, command line, a future one) makes it. Workers compare it on
-- every request, so a cached page is never served once the data behind it has changed.
INSERT INTO list_versions (name, version) VALUES ('public_content', 1);

-- Essays: only rows that are public before or after the write, and only the columns public pages
-- read (store/public.py; tests/test_pagecache.py checks the list against it). Private columns (phone,
-- e-mail, submit_ip, notes, high_risk …) and non-public essays (the whole queue) never invalidate.
CREATE TRIGGER public_content_essay_insert AFTER INSERT ON essays
WHEN NEW.status IN ('published', 'printed')
BEGIN UPDATE list_versions SET version = version + 1 WHERE name = 'public_content'; END;

CREATE TRIGGER public_content_essay_update
AFTER UPDATE OF id, status, direction_id, headline, body, author_role, author_name, affiliation, byline_mode,
                featured, published_at, updated_at, printed_edition, photo_path ON essays
WHEN OLD.status IN ('published', 'printed') OR NEW.status IN ('published', 'printed')
BEGIN UPDATE list_versions SET version = version + 1 WHERE name = 'public_content'; END;

CREATE TRIGGER public_content_essay_delete AFTER DELETE ON essays
WHEN OLD.status IN ('published', 'printed')
BEGIN UPDATE list_versions SET version = version + 1 WHERE name = 'public_content'; END;

-- Boards: names, descriptions, order, archiving all show on public pages.
CREATE TRIGGER public_content_direction_insert AFTER INSERT ON directions
BEGIN UPDATE list_versions SET version = version + 1 WHERE name = 'public_content'; END;
CREATE TRIGGER public_content_direction_update AFTER UPDATE ON directions
BEGIN UPDATE list_versions SET version = version + 1 WHERE name = 'public_content'; END;
CREATE TRIGGER public_content_direction_delete AFTER DELETE ON directions
BEGIN UPDATE list_versions SET version = version + 1 WHERE name = 'public_content'; END;

-- Site texts (site name, city in anonymous bylines, paper, column title, lead) are on every page.
CREATE TRIGGER public_content_site_settings_insert AFTER INSERT ON site_settings
BEGIN UPDATE list_versions SET version = version + 1 WHERE name = 'public_content'; END;
CREATE TRIGGER public_content_site_settings_update AFTER UPDATE ON site_settings
BEGIN UPDATE list_versions SET version = version + 1 WHERE name = 'public_content'; END;
CREATE TRIGGER public_content_site_settings_delete AFTER DELETE ON site_settings
BEGIN UPDATE list_versions SET version = version + 1 WHERE name = 'public_content'; END;
