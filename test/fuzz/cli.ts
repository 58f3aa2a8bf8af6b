import { parseArgs } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';
import { runSeed } from './differential';
import { duckdbReader, readHyparquet, readParquetWasm } from './readers';

/**
 * npm run fuzz -- --seeds 2000 [--from 1]: the differential fuzz test over many seeds, printing each
 * finding with its seed (add a failing seed to regressions.json, with what it found, once fixed).
 * Exits 1 if any seed found something.
 */
async function main(): Promise<void> {
  const { values } = parseArgs({ options: { seeds: { type: 'string', default: '500' }, from: { type: 'string', default: '1' } } });
  const count = Number(values.seeds);
  const from = Number(values.from);
  const db = await DuckDBInstance.create(':memory:');
  const connection = await db.connect();
  const readers = { hyparquet: readHyparquet, duckdb: duckdbReader(connection), parquetWasm: readParquetWasm };
  const failing = new Set<number>();
  const started = performance.now();
  for (let seed = from; seed < from + count; seed++) {
    for (const finding of await runSeed(seed, readers)) {
      failing.add(finding.seed);
      console.log(`seed ${finding.seed}: ${finding.what}`);
    }
    if ((seed - from + 1) % 100 === 0) console.error(`${seed - from + 1} seeds, ${failing.size} failing, ${((performance.now() - started) / 1000).toFixed(0)} s`);
  }
  connection.closeSync();
  db.closeSync();
  console.log(`seeds ${from}-${from + count - 1}: ${failing.size} failing${failing.size ? ` (${[...failing].join(', ')})` : ''}`);
  if (failing.size > 0) process.exitCode = 1;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
