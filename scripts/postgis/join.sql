-- PostGIS comparison, step 3: one row per address with its sorted,
-- distinct ballot ids ('{}' when none), in per-outcode file order.
SELECT a.outcode, a.uprn, a.address, a.postcode,
       COALESCE(array_agg(DISTINCT b.election_id ORDER BY b.election_id)
                FILTER (WHERE b.election_id IS NOT NULL), '{}') AS ballot_ids
FROM ab a
LEFT JOIN ballots b ON ST_Contains(b.geom, a.geom)
GROUP BY a.outcode, a.postcode, a.uprn, a.address
ORDER BY a.outcode, a.postcode, a.uprn
