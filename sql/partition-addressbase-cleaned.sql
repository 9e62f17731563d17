-- Partition the AddressBase cleaned CSV into parquet by the first letter of
-- the postcode. The target prefix must be empty: the state machine empties it
-- first. {addressbase_cleaned_raw_location} is the source table's location,
-- read from Glue at run time, so every row records where it came from.
UNLOAD (
    SELECT
        split_part(postcode, ' ', 1) AS outcode,
        uprn,
        address,
        postcode,
        CAST(regexp_extract(location, '^SRID=4326;POINT\(([^ ]+) ([^ )]+)\)$', 1) AS double) AS longitude,
        CAST(regexp_extract(location, '^SRID=4326;POINT\(([^ ]+) ([^ )]+)\)$', 2) AS double) AS latitude,
        '{addressbase_cleaned_raw_location}' AS addressbase_source,
        substr(postcode, 1, 1) AS first_letter
    FROM "{{.database}}"."{{.source_table}}"
)
TO '{{.target_location}}'
WITH (format = 'PARQUET', compression = 'SNAPPY', partitioned_by = ARRAY['first_letter'])
