-- Keep search_docs' rows narrow: a count of a common term's matches reads the heap page of every
-- match (its GIN index cannot count alone), so the pages should hold many rows. By default a row is
-- toasted only above ~2 KB, and a 1,500-character essay's text, compressed, often fits under that, so
-- at 100,000 essays a page held 3.6 rows (186 MB of heap for 85,000 essays; counting 51,641 matches
-- of 港 read 18,805 pages). With a 128-byte target the long columns (body, folded) go to the TOAST
-- table, which only the snippets of one page of hits and LIKE checks of long terms read, while the
-- short ones a query touches per row stay inline (MAIN: out of line only if a row could not fit a
-- page at all). folded is stored uncompressed (EXTERNAL), so the LIKE that checks every candidate of a
-- term of three or more characters does not decompress it first; bench/RESULTS.md has the bytes.
-- Rows written before this migration keep their layout until they are written again (a publish or
-- edit re-inserts the row; `VACUUM FULL search_docs` rewrites them all at once).
ALTER TABLE search_docs SET (toast_tuple_target = 128);
ALTER TABLE search_docs
    ALTER COLUMN direction SET STORAGE MAIN,
    ALTER COLUMN published_at SET STORAGE MAIN,
    ALTER COLUMN headline SET STORAGE MAIN,
    ALTER COLUMN byline SET STORAGE MAIN,
    ALTER COLUMN folded_headline SET STORAGE MAIN,
    ALTER COLUMN folded SET STORAGE EXTERNAL;
