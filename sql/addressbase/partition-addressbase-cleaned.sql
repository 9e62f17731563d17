-- Partition the AddressBase cleaned CSV into parquet by the first letter of
-- the postcode, under this run's own prefix {{.runs_location}}<run>/, which
-- is new and so empty, as UNLOAD needs; {run} is the execution's name. The
-- table is pointed at that prefix only after the gates have passed. {addressbase_cleaned_raw_location} is the source table's location,
-- read from Glue at run time, so every row records where it came from. A
-- location that is not SRID=4326;POINT(lon lat) fails the query, naming the
-- UPRN, rather than becoming NULL coordinates and so "no elections". The
-- CAST wraps the CASE so that both branches are strings: fail() returns
-- Trino's "unknown" type, which PostgreSQL (the tests' engine) lacks.
UNLOAD (
    SELECT
        split_part(postcode, ' ', 1) AS outcode,
        uprn,
        address,
        postcode,
        CAST(CASE
            WHEN regexp_like(location, '^SRID=4326;POINT\(([^ ]+) ([^ )]+)\)$')
                THEN regexp_extract(location, '^SRID=4326;POINT\(([^ ]+) ([^ )]+)\)$', 1)
            ELSE fail(format('addressbase: uprn %s has an unparsable location %s', uprn, location))
        END AS double) AS longitude,
        CAST(regexp_extract(location, '^SRID=4326;POINT\(([^ ]+) ([^ )]+)\)$', 2) AS double) AS latitude,
        '{addressbase_cleaned_raw_location}' AS addressbase_source,
        substr(postcode, 1, 1) AS first_letter
    FROM "{{.database}}"."{{.source_table}}"
)
TO '{{.runs_location}}{run}/'
WITH (format = 'PARQUET', compression = 'SNAPPY', partitioned_by = ARRAY['first_letter'])
