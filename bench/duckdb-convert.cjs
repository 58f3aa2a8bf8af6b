'use strict';
// The reference converter, in its own process: node bench/duckdb-convert.cjs <in.json> <out.parquet> <zstd|snappy>
// Prints one JSON line { rows, ms (the COPY), totalMs, maxRssKb } (maxRssKb from process.resourceUsage, a fallback only).
const started = performance.now();
const [input, output, codec = 'zstd'] = process.argv.slice(2);
const quote = (s) => `'${String(s).replace(/'/g, "''")}'`;

(async () => {
  const { DuckDBInstance } = require('@duckdb/node-api');
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  // COPY answers the number of rows written, so no second read is needed. copyMs is the
  // statement alone, comparable to the ms our converter reports for convertJsonFile.
  const copyStarted = performance.now();
  const reader = await connection.runAndReadAll(`COPY (SELECT * FROM read_json_auto(${quote(input)})) TO ${quote(output)} (FORMAT parquet, COMPRESSION ${codec})`);
  const rows = Number(reader.getRows()[0]?.[0] ?? 0);
  const copyMs = performance.now() - copyStarted;
  connection.closeSync?.();
  process.stdout.write(`${JSON.stringify({ rows, ms: copyMs, totalMs: performance.now() - started, maxRssKb: process.resourceUsage().maxRSS })}\n`);
})().catch((error) => {
  process.stderr.write(`duckdb-convert: ${error.stack ?? error}\n`);
  process.exit(1);
});
