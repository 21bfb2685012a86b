-- PostgreSQL version of migrations/0035_essay_counts.sql. Every submission changes a count, and writers
-- run concurrently here: one row a key would be a lock every submission waits for (and, taken in
-- different orders by an approval and an unpublish, a deadlock). So a key may have several rows, and a
-- trigger adds its change to any row of the key no other transaction holds (FOR UPDATE SKIP LOCKED:
-- it never waits), or to a new row when all are held. A key thus has at most as many rows as writers
-- ever changed it at once; readers sum them. Writes run READ COMMITTED (db/postgres.py), where a row
-- locked after the statement's snapshot is re-read, not a serialization failure.
CREATE TABLE essay_counts (
    status TEXT NOT NULL,
    review_stage BIGINT NOT NULL,
    n BIGINT NOT NULL
);

INSERT INTO essay_counts (status, review_stage, n)
SELECT status, review_stage, count(*) FROM essays GROUP BY status, review_stage;

CREATE FUNCTION add_essay_count(key_status TEXT, key_stage BIGINT, delta BIGINT) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    target tid;
BEGIN
    SELECT ctid INTO target FROM essay_counts
    WHERE status = key_status AND review_stage = key_stage
    LIMIT 1 FOR UPDATE SKIP LOCKED;
    IF FOUND THEN
        UPDATE essay_counts SET n = n + delta WHERE ctid = target;
    ELSE
        INSERT INTO essay_counts (status, review_stage, n) VALUES (key_status, key_stage, delta);
    END IF;
END $$;

CREATE FUNCTION count_essay_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM add_essay_count(OLD.status, OLD.review_stage, -1);
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        PERFORM add_essay_count(NEW.status, NEW.review_stage, 1);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER essay_counts_insert AFTER INSERT ON essays
FOR EACH ROW EXECUTE FUNCTION count_essay_change();

CREATE TRIGGER essay_counts_delete AFTER DELETE ON essays
FOR EACH ROW EXECUTE FUNCTION count_essay_change();

CREATE TRIGGER essay_counts_update AFTER UPDATE OF status, review_stage ON essays
FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.review_stage IS DISTINCT FROM NEW.review_stage)
EXECUTE FUNCTION count_essay_change();
