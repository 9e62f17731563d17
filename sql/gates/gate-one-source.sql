-- Quality gate: every row of {{.table}} has the same addressbase_source.
-- fail() makes the query FAILED, so the state machine stops before publishing.
SELECT
    CASE
        WHEN count(DISTINCT addressbase_source) = 1 THEN 'ok'
        ELSE fail(format('{{.table}} has %d distinct addressbase_source values, want exactly 1',
                         count(DISTINCT addressbase_source)))
    END AS gate
FROM "{{.database}}"."{{.table}}"
