// The floor the local bake is measured against (issue #14): DuckDB reads the
// AddressBase cleaned CSV and writes the product's per-outcode parquet files
// with no spatial join (every ballot_ids is []), in one COPY, then renames
// each partition file to <out>/<OUTCODE>.parquet.
//
//   node floor.mjs <addressbase_cleaned.csv> <out folder> [threads=2] [addressbase_source]
//
// out must not exist or be empty. It prints {"files":N,"rows":N,"outcodes":N,
// "split":[...]} on stdout: "split" lists the outcodes DuckDB wrote as more
// than one file; those are named <OUTCODE>.parquet, <OUTCODE>-1.parquet, ...
//
// The COPY's options are the issue's, with DuckDB's default compression
// (Snappy; the product is zstd, which costs more), plus
// WRITE_PARTITION_COLUMNS so that the files have the product's outcode
// column. DuckDB refuses PRESERVE_ORDER with
// PARTITION_BY, so a file's rows are not guaranteed to be in postcode, uprn
// order, although the ORDER BY is paid for.
import { DuckDBInstance } from '@duckdb/node-api';
import fs from 'node:fs';
import path from 'node:path';

function usage(msg) {
  process.stderr.write(`floor: ${msg}\nusage: node floor.mjs <addressbase_cleaned.csv> <out folder> [threads=2] [addressbase_source]\n`);
  process.exit(2);
}

const [csvPath, outDir, threadsArg = '2', sourceArg] = process.argv.slice(2);
if (!csvPath || !outDir) usage('need a CSV and an output folder');
const threads = Number(threadsArg);
if (!Number.isInteger(threads) || threads < 1) usage(`threads ${JSON.stringify(threadsArg)}: want a positive integer`);
if (!fs.statSync(csvPath, { throwIfNoEntry: false })?.isFile()) usage(`${csvPath}: no such file`);
if (fs.existsSync(outDir) && fs.readdirSync(outDir).length > 0) usage(`${outDir}: exists and is not empty`);
const source = sourceArg ?? new URL(`file://${path.resolve(csvPath)}`).href;

const lit = (s) => `'${String(s).replaceAll("'", "''")}'`;

// Python's csv defaults, no header, every column a string; force_not_null
// keeps an empty (unquoted) address as '' as the bake does, not NULL.
const sql = `COPY (
  SELECT uprn, address, postcode, ${lit(source)} AS addressbase_source, []::VARCHAR[] AS ballot_ids,
         split_part(postcode, ' ', 1) AS outcode
  FROM read_csv(${lit(csvPath)}, header = false, auto_detect = false, delim = ',', quote = '"', escape = '"',
    columns = {'uprn': 'VARCHAR', 'address': 'VARCHAR', 'postcode': 'VARCHAR', 'location': 'VARCHAR', 'address_type': 'VARCHAR'},
    force_not_null = ['uprn', 'address', 'postcode', 'location', 'address_type'])
  ORDER BY postcode, uprn
) TO ${lit(outDir)} (FORMAT parquet, PARTITION_BY (outcode), WRITE_PARTITION_COLUMNS true)`;

const instance = await DuckDBInstance.create(':memory:', { threads: String(threads) });
const conn = await instance.connect();
let rows;
try {
  const res = await conn.run(sql);
  rows = Number((await res.getRows())[0][0]);
} catch (err) {
  process.stderr.write(`floor: ${csvPath}: ${err.message}\n`);
  process.exit(1);
} finally {
  conn.closeSync();
  instance.closeSync();
}

// DuckDB writes <out>/outcode=<OUTCODE>/data_<n>.parquet (the value
// URL-escaped); an outcode is [A-Z0-9]+, so none needs unescaping.
let files = 0;
let outcodes = 0;
const split = [];
for (const ent of fs.readdirSync(outDir, { withFileTypes: true })) {
  const m = /^outcode=([A-Z0-9]+)$/.exec(ent.name);
  if (!ent.isDirectory() || !m) {
    process.stderr.write(`floor: unexpected ${path.join(outDir, ent.name)} in DuckDB's output\n`);
    process.exit(1);
  }
  const part = path.join(outDir, ent.name);
  const names = fs.readdirSync(part).filter((n) => n.endsWith('.parquet')).sort();
  if (names.length > 1) split.push(m[1]);
  names.forEach((n, i) => {
    fs.renameSync(path.join(part, n), path.join(outDir, i === 0 ? `${m[1]}.parquet` : `${m[1]}-${i}.parquet`));
    files++;
  });
  fs.rmdirSync(part);
  outcodes++;
}
process.stdout.write(JSON.stringify({ files, rows, outcodes, split }) + '\n');
