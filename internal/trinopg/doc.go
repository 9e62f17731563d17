// Package trinopg runs the project's Athena (Trino) SQL, as rendered for
// deployment and filled at run time, on PostgreSQL 15 + PostGIS, so that
// tests execute the real queries. It is test support: nothing the Pulumi
// program or a Lambda imports uses it.
//
// It translates syntax only, never a query's logic. Every translation:
//
//   - UNLOAD (q) TO 'loc' WITH (format = 'PARQUET', compression = 'SNAPPY'
//     [, partitioned_by = ARRAY['c', ...]]) runs q and hands its rows to the
//     caller (Warehouse writes them as parquet under loc, one file per
//     partition in c=value/ folders, as Athena does). As in Athena, the
//     partition columns must be the last columns of q, in order, and loc
//     must hold no objects.
//   - MSCK REPAIR TABLE t registers the partitions (c=value/ folders) that
//     exist under t's location; a partitioned table reads only registered
//     partitions, an unpartitioned one every object under its location.
//   - CAST(x AS array(varchar)) becomes CAST(x AS varchar[]).
//   - CAST(x AS double) becomes CAST(x AS double precision).
//   - CAST(x AS JSON) becomes to_json(x): Trino's cast makes a varchar a
//     JSON string (quoted and escaped), PostgreSQL's would parse it.
//   - format('...%d...', ...) becomes format('...%s...', ...): PostgreSQL's
//     format has no %d, and %s prints an integer the same way.
//   - "db"."table" is unchanged: Warehouse keeps each Glue table in a
//     schema named after the Glue database.
//
// Trino functions PostgreSQL lacks are defined, with Trino's semantics, in
// functions.sql (fail, to_utf8, crc32, regexp_like, regexp_extract,
// array_sort, array_join, slice, json_format, ST_GeometryFromText). A function call that
// is neither one of those nor on the list of PostgreSQL built-ins checked
// to behave as Trino's (Functions) is refused, as is any syntax the
// translation does not know: it fails loudly rather than guess. String
// comparison and sorting follow Trino's code-point order only under the C
// collation, so a database with another collation is refused.
package trinopg
