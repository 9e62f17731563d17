-- Join every address with the boundary reviews whose geometry contains it
-- (ST_Contains: a point on an edge is outside), one row per review,
-- division type and address: the address's old and new division of that
-- type and the change between them, or, for a review with no new division
-- set yet, one row per review and address inside the organisation's area
-- with the division columns NULL.
--
-- All reviews run in one query rather than one per letter: whether a
-- division's UPRN set changed needs every UPRN of the old and of the new
-- division, and a division's addresses can have postcodes under several
-- first letters. The result is written partitioned by first_letter, so the
-- per-letter aggregation reads one letter, under this run's own prefix
-- {{.runs_location}}<run>/, which is new and so empty, as UNLOAD requires;
-- the table is pointed there once the run has published.
--
-- An address inside both an old and a new division of a type gets one
-- change; one inside only an old (or only a new) division of a type gets
-- none for it, and a review that gives an address no change and no
-- organisation area does not apply to it.
-- change_scenario: NO_CHANGE (same slug, same UPRN set), NAME_CHANGED
-- (same set), BOUNDARY_CHANGED (same slug), BOTH_CHANGED (otherwise).
UNLOAD (
    WITH
        reviews AS (
            SELECT DISTINCT
                CAST(boundary_review_id AS bigint) AS boundary_review_id, slug, status,
                consultation_url, legislation_title, effective_date,
                organisation_name, organisation_official_name, organisation_gss
            FROM "{{.database}}"."{{.reviews_table}}"
        ),
        -- A row that breaks a rule of a valid row fails the query, naming
        -- its review and field, as the local bake's reader refuses it: a
        -- generation other than old, new or organisation, an empty
        -- geometry, or a coordinate outside the UK (internal/validate's
        -- ranges are the template values; a swapped geometry is outside).
        pieces AS (
            SELECT
                CAST(boundary_review_id AS bigint) AS boundary_review_id,
                divisionset_generation AS generation, divisionset_pmtiles_url,
                division_type, division_slug, division_name, division_official_identifier,
                ST_GeometryFromText(geometry) AS geom
            FROM "{{.database}}"."{{.reviews_table}}"
            WHERE CAST(CASE
                WHEN coalesce(divisionset_generation, '') NOT IN ('old', 'new', 'organisation')
                    THEN fail(format('boundary reviews: review %s: field divisionset_generation %s is not old, new or organisation', boundary_review_id, divisionset_generation))
                WHEN coalesce(geometry, '') = ''
                    THEN fail(format('boundary reviews: review %s: field geometry is empty', boundary_review_id))
                WHEN NOT (ST_XMin(ST_GeometryFromText(geometry)) >= {{.min_lon}} AND ST_XMax(ST_GeometryFromText(geometry)) <= {{.max_lon}}
                      AND ST_YMin(ST_GeometryFromText(geometry)) >= {{.min_lat}} AND ST_YMax(ST_GeometryFromText(geometry)) <= {{.max_lat}})
                    THEN fail(format('boundary reviews: review %s (division %s): field geometry is outside longitude {{.min_lon}}..{{.max_lon}}, latitude {{.min_lat}}..{{.max_lat}} (swapped lon/lat?)', boundary_review_id, division_slug))
                ELSE 'ok'
            END AS varchar) = 'ok'
        ),
        points AS (
            SELECT DISTINCT uprn, longitude, latitude, first_letter
            FROM "{{.database}}"."{{.addressbase_table}}"
        ),
        -- One row per review, generation, division and address inside it;
        -- DISTINCT because a division is exported as many pieces.
        hits AS (
            SELECT DISTINCT
                d.boundary_review_id, d.generation, d.divisionset_pmtiles_url,
                d.division_type, d.division_slug, d.division_name, d.division_official_identifier,
                p.uprn, p.longitude, p.latitude, p.first_letter
            FROM points AS p
            JOIN pieces AS d ON ST_Contains(d.geom, ST_Point(p.longitude, p.latitude))
        ),
        -- Each old and new division's set of UPRNs, sorted, so two sets
        -- compare equal exactly when they hold the same UPRNs.
        uprn_sets AS (
            SELECT boundary_review_id, generation, division_type, division_slug,
                   array_sort(array_agg(DISTINCT uprn)) AS uprns
            FROM hits
            WHERE generation IN ('old', 'new')
            GROUP BY boundary_review_id, generation, division_type, division_slug
        ),
        changes AS (
            SELECT
                o.boundary_review_id, o.uprn, o.longitude, o.latitude, o.first_letter, o.division_type,
                o.division_slug AS old_division_slug, o.division_name AS old_division_name,
                o.division_official_identifier AS old_division_official_identifier,
                o.divisionset_pmtiles_url AS old_divisionset_pmtiles_url,
                n.division_slug AS new_division_slug, n.division_name AS new_division_name,
                n.division_official_identifier AS new_division_official_identifier,
                n.divisionset_pmtiles_url AS new_divisionset_pmtiles_url,
                CASE
                    WHEN o.division_slug = n.division_slug AND os.uprns = ns.uprns THEN 'NO_CHANGE'
                    WHEN os.uprns = ns.uprns THEN 'NAME_CHANGED'
                    WHEN o.division_slug = n.division_slug THEN 'BOUNDARY_CHANGED'
                    ELSE 'BOTH_CHANGED'
                END AS change_scenario
            FROM hits AS o
            JOIN hits AS n
                ON n.generation = 'new'
               AND n.boundary_review_id = o.boundary_review_id AND n.division_type = o.division_type
               AND n.uprn = o.uprn AND n.longitude = o.longitude AND n.latitude = o.latitude
            JOIN uprn_sets AS os
                ON os.generation = 'old' AND os.boundary_review_id = o.boundary_review_id
               AND os.division_type = o.division_type AND os.division_slug = o.division_slug
            JOIN uprn_sets AS ns
                ON ns.generation = 'new' AND ns.boundary_review_id = n.boundary_review_id
               AND ns.division_type = n.division_type AND ns.division_slug = n.division_slug
            WHERE o.generation = 'old'
        ),
        organisation AS (
            SELECT DISTINCT boundary_review_id, uprn, longitude, latitude, first_letter
            FROM hits
            WHERE generation = 'organisation'
        ),
        review_rows AS (
            SELECT
                boundary_review_id, uprn, longitude, latitude, first_letter, division_type,
                old_division_slug, old_division_name, old_division_official_identifier, old_divisionset_pmtiles_url,
                new_division_slug, new_division_name, new_division_official_identifier, new_divisionset_pmtiles_url,
                change_scenario
            FROM changes
            UNION ALL
            SELECT
                boundary_review_id, uprn, longitude, latitude, first_letter, CAST(NULL AS varchar),
                CAST(NULL AS varchar), CAST(NULL AS varchar), CAST(NULL AS varchar), CAST(NULL AS varchar),
                CAST(NULL AS varchar), CAST(NULL AS varchar), CAST(NULL AS varchar), CAST(NULL AS varchar),
                CAST(NULL AS varchar)
            FROM organisation
        )
    SELECT
        c.uprn, c.longitude, c.latitude,
        r.boundary_review_id, r.slug, r.status,
        r.consultation_url, r.legislation_title, r.effective_date,
        r.organisation_name, r.organisation_official_name, r.organisation_gss,
        c.division_type,
        c.old_division_slug, c.old_division_name, c.old_division_official_identifier, c.old_divisionset_pmtiles_url,
        c.new_division_slug, c.new_division_name, c.new_division_official_identifier, c.new_divisionset_pmtiles_url,
        c.change_scenario,
        c.first_letter
    FROM review_rows AS c
    JOIN reviews AS r ON r.boundary_review_id = c.boundary_review_id
)
TO '{{.runs_location}}{run}/'
WITH (format = 'PARQUET', compression = 'SNAPPY', partitioned_by = ARRAY['first_letter'])
