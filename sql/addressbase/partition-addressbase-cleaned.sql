-- Partition the AddressBase cleaned CSV into parquet by the first letter of
-- the postcode, under this run's own prefix {{.runs_location}}<run>/, which
-- is new and so empty, as UNLOAD needs; {run} is the execution's name. The
-- table is pointed at that prefix only after the gates have passed. {addressbase_cleaned_raw_location} is the source table's location,
-- read from Glue at run time, so every row records where it came from. A
-- location that is not SRID=4326;POINT(lon lat) fails the query, naming the
-- UPRN, rather than becoming NULL coordinates and so "no elections". The
-- CAST wraps the CASE so that both branches are strings: fail() returns
-- Trino's "unknown" type, which PostgreSQL (the tests' engine) lacks.
-- The WHERE applies the rules of a valid row (internal/validate; its
-- patterns and ranges are the template values), failing the query on the
-- first row that breaks one, naming its UPRN and field. A byte-order mark
-- at the start of an object is dropped from the first UPRN, as the local
-- bake's reader skips it.
UNLOAD (
    SELECT outcode, uprn, address, postcode, longitude, latitude, addressbase_source, first_letter
    FROM (
        SELECT
            split_part(postcode, ' ', 1) AS outcode,
            CASE WHEN starts_with(uprn, U&'\FEFF') THEN substr(uprn, 2) ELSE uprn END AS uprn,
            address,
            postcode,
            CAST(CASE
                WHEN regexp_like(location, '^SRID=4326;POINT\(([^ ]+) ([^ )]+)\)$')
                    THEN regexp_extract(location, '^SRID=4326;POINT\(([^ ]+) ([^ )]+)\)$', 1)
                ELSE fail(format('addressbase: uprn %s has an unparsable location %s', uprn, location))
            END AS double) AS longitude,
            CAST(regexp_extract(location, '^SRID=4326;POINT\(([^ ]+) ([^ )]+)\)$', 2) AS double) AS latitude,
            location,
            '{addressbase_cleaned_raw_location}' AS addressbase_source,
            substr(postcode, 1, 1) AS first_letter
        FROM "{{.database}}"."{{.source_table}}"
    ) AS r
    WHERE CAST(CASE
        WHEN NOT regexp_like(coalesce(uprn, ''), '{{.uprn_pattern}}')
            THEN fail(format('addressbase: uprn %s: field uprn is not 1 to {{.uprn_max_digits}} digits or ONSPD-<postcode>', uprn))
        WHEN NOT regexp_like(coalesce(postcode, ''), '{{.postcode_pattern}}')
            THEN fail(format('addressbase: uprn %s: field postcode %s is not a UK postcode (upper case, one space)', uprn, postcode))
        WHEN NOT (longitude >= {{.min_lon}} AND longitude <= {{.max_lon}} AND latitude >= {{.min_lat}} AND latitude <= {{.max_lat}})
            THEN fail(format('addressbase: uprn %s: field location %s is outside longitude {{.min_lon}}..{{.max_lon}}, latitude {{.min_lat}}..{{.max_lat}}', uprn, location))
        ELSE 'ok'
    END AS varchar) = 'ok'
)
TO '{{.runs_location}}{run}/'
WITH (format = 'PARQUET', compression = 'SNAPPY', partitioned_by = ARRAY['first_letter'])
