-- Aggregate one first letter's boundary review changes per address: every
-- address of {{.addressbase_table}} gets one row, duplicates included (as
-- for the ballots), with boundary_reviews: one compact JSON string per
-- review, sorted by boundary_review_id, and [] (never NULL) when none.
--
-- The JSON is built by concatenation, so its keys keep the data contract's
-- order (a cast from a MAP or ROW would not). Each string value goes
-- through json_format(CAST(x AS JSON)), which quotes and escapes it; an
-- empty CSV field (the CSV cannot tell empty from missing) becomes null.
-- A review's changes are sorted by division_type (then by their JSON, so
-- the order never depends on the plan).
-- {first_letter} and {run} are filled at run time: each letter goes under
-- this run's own prefix {{.runs_location}}<run>/, new and so empty, as
-- UNLOAD requires; the gates read it through the staging twin.
UNLOAD (
    WITH
        addresses AS (
            SELECT uprn, address, postcode, addressbase_source, longitude, latitude
            FROM "{{.database}}"."{{.addressbase_table}}"
            WHERE first_letter = '{first_letter}'
        ),
        quoted AS (
            SELECT
                uprn, longitude, latitude, boundary_review_id, division_type,
                coalesce(json_format(CAST(nullif(slug, '') AS JSON)), 'null') AS slug,
                coalesce(json_format(CAST(nullif(status, '') AS JSON)), 'null') AS status,
                coalesce(json_format(CAST(nullif(consultation_url, '') AS JSON)), 'null') AS consultation_url,
                coalesce(json_format(CAST(nullif(legislation_title, '') AS JSON)), 'null') AS legislation_title,
                coalesce(json_format(CAST(nullif(effective_date, '') AS JSON)), 'null') AS effective_date,
                coalesce(json_format(CAST(nullif(organisation_name, '') AS JSON)), 'null') AS organisation_name,
                coalesce(json_format(CAST(nullif(organisation_official_name, '') AS JSON)), 'null') AS organisation_official_name,
                coalesce(json_format(CAST(nullif(organisation_gss, '') AS JSON)), 'null') AS organisation_gss,
                CASE WHEN division_type IS NOT NULL THEN
                    '{"division_type":' || coalesce(json_format(CAST(nullif(division_type, '') AS JSON)), 'null')
                    || ',"old_division_slug":' || coalesce(json_format(CAST(nullif(old_division_slug, '') AS JSON)), 'null')
                    || ',"old_division_name":' || coalesce(json_format(CAST(nullif(old_division_name, '') AS JSON)), 'null')
                    || ',"old_division_official_identifier":' || coalesce(json_format(CAST(nullif(old_division_official_identifier, '') AS JSON)), 'null')
                    || ',"old_divisionset_pmtiles_url":' || coalesce(json_format(CAST(nullif(old_divisionset_pmtiles_url, '') AS JSON)), 'null')
                    || ',"new_division_slug":' || coalesce(json_format(CAST(nullif(new_division_slug, '') AS JSON)), 'null')
                    || ',"new_division_name":' || coalesce(json_format(CAST(nullif(new_division_name, '') AS JSON)), 'null')
                    || ',"new_division_official_identifier":' || coalesce(json_format(CAST(nullif(new_division_official_identifier, '') AS JSON)), 'null')
                    || ',"new_divisionset_pmtiles_url":' || coalesce(json_format(CAST(nullif(new_divisionset_pmtiles_url, '') AS JSON)), 'null')
                    || ',"change_scenario":' || coalesce(json_format(CAST(nullif(change_scenario, '') AS JSON)), 'null')
                    || '}'
                END AS change
            FROM "{{.database}}"."{{.changes_table}}"
            WHERE first_letter = '{first_letter}'
        ),
        -- One element per address and review. Organisation rows have no
        -- change, and array_join skips NULLs, so they give "changes":[].
        elements AS (
            SELECT
                uprn, longitude, latitude, boundary_review_id,
                '{"boundary_review_id":' || CAST(boundary_review_id AS varchar)
                || ',"slug":' || slug
                || ',"status":' || status
                || ',"boundary_review_details":{"consultation_url":' || consultation_url
                || ',"legislation_title":' || legislation_title
                || ',"effective_date":' || effective_date
                || ',"organisation_name":' || organisation_name
                || ',"organisation_official_name":' || organisation_official_name
                || ',"organisation_gss":' || organisation_gss
                || '},"changes":[' || coalesce(array_join(array_agg(change ORDER BY division_type, change), ','), '')
                || ']}' AS element
            FROM quoted
            GROUP BY uprn, longitude, latitude, boundary_review_id, slug, status, consultation_url,
                     legislation_title, effective_date, organisation_name, organisation_official_name, organisation_gss
        ),
        hits AS (
            SELECT uprn, longitude, latitude, array_agg(element ORDER BY boundary_review_id, element) AS boundary_reviews
            FROM elements
            GROUP BY uprn, longitude, latitude
        )
    SELECT
        a.uprn,
        a.address,
        a.postcode,
        a.addressbase_source,
        coalesce(h.boundary_reviews, CAST(ARRAY[] AS array(varchar))) AS boundary_reviews
    FROM addresses AS a
    LEFT JOIN hits AS h
        ON a.uprn = h.uprn AND a.longitude = h.longitude AND a.latitude = h.latitude
)
TO '{{.runs_location}}{run}/first_letter={first_letter}/'
WITH (format = 'PARQUET', compression = 'SNAPPY')
