// Checks SQL syntax with dt-sql-parser. It is bundled by esbuild before it
// runs (dt-sql-parser's ESM build uses directory imports that plain node
// rejects); internal/sqlcheck does that.
//
// stdin:  [{"name": "...", "dialect": "trino" | "hive", "sql": "..."}]
// stdout: [{"name": "...", "errors": [{"line", "column", "message"}]}]
import { readFileSync } from 'node:fs';
import { TrinoSQL, HiveSQL } from 'dt-sql-parser';

const parsers = { trino: new TrinoSQL(), hive: new HiveSQL() };
const items = JSON.parse(readFileSync(0, 'utf8'));
const out = items.map(({ name, dialect, sql }) => {
  const parser = parsers[dialect];
  if (!parser) {
    return { name, errors: [{ line: 0, column: 0, message: `unknown dialect ${dialect}` }] };
  }
  const errors = parser.validate(sql).map((e) => ({
    line: e.startLine,
    column: e.startColumn,
    message: e.message,
  }));
  return { name, errors };
});
process.stdout.write(JSON.stringify(out));
