-- Quality gate: {{.source_table}} and {{.target_table}} hold the same UPRNs:
-- the same row count, distinct count and order-insensitive checksum (the sum
-- of CRC-32s, which cannot overflow a bigint for 30 million rows).
WITH
    source AS (
        SELECT count(*) AS n, count(DISTINCT uprn) AS d, coalesce(sum(crc32(to_utf8(uprn))), 0) AS c
        FROM "{{.database}}"."{{.source_table}}"
    ),
    target AS (
        SELECT count(*) AS n, count(DISTINCT uprn) AS d, coalesce(sum(crc32(to_utf8(uprn))), 0) AS c
        FROM "{{.database}}"."{{.target_table}}"
    )
SELECT
    CASE
        WHEN source.n = target.n AND source.d = target.d AND source.c = target.c THEN 'ok'
        ELSE fail(format('UPRN gate: {{.source_table}} rows=%d distinct=%d checksum=%d; {{.target_table}} rows=%d distinct=%d checksum=%d',
                         source.n, source.d, source.c, target.n, target.d, target.c))
    END AS gate
FROM source CROSS JOIN target
