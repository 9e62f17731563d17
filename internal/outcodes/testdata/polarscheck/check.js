// Reads each parquet file named on the command line with polars, the
// reader WDIV and aggregator-api use, and prints one JSON line per file:
// its schema (polars dtypes) and rows. The Go test compares them.
const pl = require("nodejs-polars");

for (const path of process.argv.slice(2)) {
  const df = pl.readParquet(path);
  const schema = df.getColumns().map((s) => [s.name, String(s.dtype)]);
  console.log(JSON.stringify({ path, schema, rows: df.toRecords() }));
}
