-- Quality gate: {{.source_table}} and {{.target_table}} hold the same UPRNs:
-- the same row count, distinct count and order-insensitive checksum (the sum
-- of CRC-32s, which cannot overflow a bigint for 30 million rows). A UPRN
-- is compared without a leading byte-order mark, which the partition query
-- drops from the first row of a CSV object.
WITH
    source AS (
        SELECT count(*) AS n, count(DISTINCT uprn) AS d, coalesce(sum(crc32(to_utf8(uprn))), 0) AS c
        FROM (SELECT CASE WHEN starts_with(uprn, U&'\FEFF') THEN substr(uprn, 2) ELSE uprn END AS uprn
              FROM "{{.database}}"."{{.source_table}}") AS t
    ),
    target AS (
        SELECT count(*) AS n, count(DISTINCT uprn) AS d, coalesce(sum(crc32(to_utf8(uprn))), 0) AS c
        FROM (SELECT CASE WHEN starts_with(uprn, U&'\FEFF') THEN substr(uprn, 2) ELSE uprn END AS uprn
              FROM "{{.database}}"."{{.target_table}}") AS t
    )
SELECT
    CASE
        WHEN source.n = target.n AND source.d = target.d AND source.c = target.c THEN 'ok'
        ELSE fail(format('UPRN gate: {{.source_table}} rows=%d distinct=%d checksum=%d; {{.target_table}} rows=%d distinct=%d checksum=%d',
                         source.n, source.d, source.c, target.n, target.d, target.c))
    END AS gate
FROM source CROSS JOIN target
