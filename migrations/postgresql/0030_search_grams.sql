-- PostgreSQL search, second design (store/search.py explains it; bench/RESULTS.md has the measurements
-- that chose it): a GIN index over the distinct characters and character bigrams of the folded text.
-- pg_trgm extracts no trigram from a 1- or 2-character term, so those queries read every essay
-- (3–4 s at 100,000 essays); here such a term is one index key, and the index's answer is exact (a
-- term holds no break character, and the fields are joined by a newline, so a key spanning two fields
-- or a break is never looked up). A longer term is the intersection of its bigrams, confirmed by LIKE
-- on the folded text.
--
-- An expression index rather than a stored array: the arrays would be ~8 KB an essay on the heap and
-- are only ever read through the index. The function walks the characters once (substr(t, i, 2) on
-- UTF-8 text would restart from the beginning at every i). Its COST is its real price (a few ms
-- an essay, against the default's 0.25 µs): priced as the default, the planner answers "newest 20
-- matches" by walking the primary key backwards and recomputing the grams of every essay it passes,
-- which for a rare term is every essay.
CREATE FUNCTION cv_search_grams(folded text) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE COST 100000 AS $$
    SELECT coalesce(array_agg(DISTINCT gram) FILTER (WHERE gram IS NOT NULL), '{}')
    FROM (
        SELECT c, lead(c) OVER (ORDER BY i) AS next_c
        FROM unnest(string_to_array(folded, NULL)) WITH ORDINALITY AS chars (c, i)
    ) AS pairs,
    LATERAL (VALUES (c), (c || next_c)) AS grams (gram)
$$;

CREATE INDEX search_docs_grams ON search_docs USING gin (cv_search_grams(folded));
CREATE INDEX search_docs_headline_grams ON search_docs USING gin (cv_search_grams(folded_headline));

-- The trigram indexes answered nothing the bigram index cannot, and cost every publish a second
-- index write over the whole text.
DROP INDEX search_docs_folded;
DROP INDEX search_docs_folded_headline;
