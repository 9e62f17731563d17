-- Join every address with the current ballots whose geometry contains the
-- address (ST_Contains: a point on the boundary is outside), in one query
-- written partitioned by first letter: one Athena round trip instead of one
-- per letter, which the 120 s budget needs (docs/design.md). Every address
-- gets one row, duplicates included (the outcode Lambda reports and drops
-- identical ones, and fails on conflicting ones), with ballot_ids sorted,
-- distinct, without nulls, and [] when there are none. It writes under this
-- run's own prefix {{.runs_location}}<run>/, which is new and so empty, as
-- UNLOAD requires; the table is pointed there once the gates have passed.
-- A ballot row that breaks a rule of a valid row (internal/validate; its
-- pattern and ranges are the template values) fails the query, naming its
-- election and division: an election_id with surrounding whitespace or
-- control characters, an empty geometry, or a coordinate outside the UK
-- (a swapped or (0, 0) geometry). Rows of source_table None are skipped.
UNLOAD (
    WITH
        ballots AS (
            SELECT election_id, ST_GeometryFromText(geometry) AS geom
            FROM "{{.database}}"."{{.ballots_table}}"
            WHERE source_table IN ('Organisation', 'Division')
              AND CAST(CASE
                  WHEN source_table NOT IN ('Organisation', 'Division') THEN 'ok'
                  WHEN NOT regexp_like(coalesce(election_id, ''), '{{.election_id_pattern}}')
                      THEN fail(format('ballots: election %s (division %s): field election_id is empty or has surrounding whitespace or control characters', election_id, division_id))
                  WHEN coalesce(geometry, '') = ''
                      THEN fail(format('ballots: election %s (division %s): field geometry is empty for a %s row', election_id, division_id, source_table))
                  WHEN NOT (ST_XMin(ST_GeometryFromText(geometry)) >= {{.min_lon}} AND ST_XMax(ST_GeometryFromText(geometry)) <= {{.max_lon}}
                        AND ST_YMin(ST_GeometryFromText(geometry)) >= {{.min_lat}} AND ST_YMax(ST_GeometryFromText(geometry)) <= {{.max_lat}})
                      THEN fail(format('ballots: election %s (division %s): field geometry is outside longitude {{.min_lon}}..{{.max_lon}}, latitude {{.min_lat}}..{{.max_lat}} (swapped lon/lat?)', election_id, division_id))
                  ELSE 'ok'
              END AS varchar) = 'ok'
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
TO '{{.runs_location}}{run}/'
WITH (format = 'PARQUET', compression = 'SNAPPY', partitioned_by = ARRAY['first_letter'])
