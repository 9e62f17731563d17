-- Quality gate: no UPRN has two different rows in {{.table}}. Identical
-- duplicates pass (the outcode Lambda drops and reports them); a UPRN with
-- two postcodes, addresses or {{.list_column}} lists fails the run before anything is
-- published, even when the rows fall under different first letters.
WITH
    conflicts AS (
        SELECT uprn
        FROM "{{.database}}"."{{.table}}"
        GROUP BY uprn
        HAVING count(DISTINCT concat_ws(chr(31),
                   coalesce(postcode, ''), coalesce(address, ''),
                   array_join({{.list_column}}, chr(30)), coalesce(addressbase_source, ''))) > 1
    )
SELECT
    CASE
        WHEN count(*) = 0 THEN 'ok'
        ELSE fail(format('%d uprns in {{.table}} have conflicting duplicate rows, e.g. %s',
                         count(*), array_join(slice(array_sort(array_agg(uprn)), 1, 5), ', ')))
    END AS gate
FROM conflicts
