import test from 'ava';
import { DuckDBInstance } from '@duckdb/node-api';
import { runSeed } from './differential';
import { duckdbReader, readHyparquet, readPolars } from './readers';
import regressions from './regressions.json';

/**
 * The differential fuzz test (issue 31): random inputs converted by convertJsonFile and read back
 * by hyparquet, DuckDB and Polars, compared value by value with what the converter promises. A
 * fixed count of seeds here, so the suite's work does not depend on the machine's speed; many more
 * with `npm run fuzz -- --seeds 2000`. Every seed that once failed is in regressions.json.
 */
const SEEDS = 40;

const seeds = [...new Set([...regressions.map((r: { seed: number }) => r.seed), ...Array.from({ length: SEEDS }, (_, i) => i + 1)])];

test(`seeds 1-${SEEDS} and every kept regression: hyparquet, DuckDB and Polars read back what the converter promises`, async (t) => {
  const db = await DuckDBInstance.create(':memory:');
  const connection = await db.connect();
  t.teardown(() => {
    connection.closeSync();
    db.closeSync();
  });
  const readers = { hyparquet: readHyparquet, duckdb: duckdbReader(connection), polars: readPolars };
  const findings = [];
  for (const seed of seeds) findings.push(...(await runSeed(seed, readers)));
  t.deepEqual(findings.map((f) => `seed ${f.seed}: ${f.what}`), []);
});
