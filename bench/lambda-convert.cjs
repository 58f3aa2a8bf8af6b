'use strict';
// node bench/lambda-convert.cjs <dir of a serialized converter> <in.json> <out.parquet> <codec>
// Runs convertJsonFile as the bronze Lambda carries it (bench/lambda-form.ts: __index.js)
// and prints one JSON line as `npm run convert -- --json` does: rows, ms (the conversion alone).
const { join } = require('node:path');
const [dir, input, output, codec] = process.argv.slice(2);
const { convertJsonFile } = require(join(dir, '__index.js'));
convertJsonFile(input, output, { codec }).then(
  (report) => process.stdout.write(`${JSON.stringify({ rows: report.rows, ms: report.ms, bytes: report.bytes, maxRssKb: process.resourceUsage().maxRSS })}\n`),
  (error) => {
    process.stderr.write(`lambda-convert: ${error.stack ?? error}\n`);
    process.exit(1);
  },
);
