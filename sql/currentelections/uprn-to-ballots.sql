-- Join every address with the current ballots whose geometry contains the
-- address (ST_Contains: a point on the boundary is outside), in one query
-- written partitioned by first letter: one Athena round trip instead of one
-- per letter, which the 120 s budget needs (docs/design.md). Every address
-- gets one row, duplicates included (the outcode Lambda reports and drops
-- identical ones, and fails on conflicting ones), with ballot_ids sorted,
-- distinct, without nulls, and [] when there are none. The target prefix
-- must be empty, as UNLOAD requires: the state machine empties it first.
UNLOAD (
    WITH
        ballots AS (
            SELECT election_id, ST_GeometryFromText(geometry) AS geom
            FROM "{{.database}}"."{{.ballots_table}}"
            WHERE source_table IN ('Organisation', 'Division')
              AND geometry <> ''
              AND election_id IS NOT NULL
        ),
        addresses AS (
            SELECT uprn, address, postcode, addressbase_source, longitude, latitude, first_letter
            FROM "{{.database}}"."{{.addressbase_table}}"
        ),
        hits AS (
            SELECT p.uprn, p.longitude, p.latitude, array_sort(array_agg(DISTINCT b.election_id)) AS ballot_ids
            FROM (SELECT DISTINCT uprn, longitude, latitude FROM addresses) AS p
            JOIN ballots AS b ON ST_Contains(b.geom, ST_Point(p.longitude, p.latitude))
            GROUP BY p.uprn, p.longitude, p.latitude
        )
    SELECT
        a.uprn,
        a.address,
        a.postcode,
        a.addressbase_source,
        coalesce(h.ballot_ids, CAST(ARRAY[] AS array(varchar))) AS ballot_ids,
        a.first_letter
    FROM addresses AS a
    LEFT JOIN hits AS h
        ON a.uprn = h.uprn AND a.longitude = h.longitude AND a.latitude = h.latitude
)
TO '{{.target_location}}'
WITH (format = 'PARQUET', compression = 'SNAPPY', partitioned_by = ARRAY['first_letter'])
