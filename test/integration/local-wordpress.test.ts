import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';
import { ENDPOINTS, SITE, fingerprint, loadExpected, wordpressTest } from '../helpers/real-wordpress';

const run = promisify(execFile);
const ROOT = resolve(__dirname, '../..');

wordpressTest('npm start against the real WordPress lands every endpoint in raw and bronze with the expected rows and ids', async (t) => {
  const out = await mkdtemp(join(tmpdir(), 'lakehouse-e2e-'));
  t.teardown(() => rm(out, { recursive: true, force: true }));
  const started = Date.now();
  const { stdout } = await run('npm', ['start', '--silent', '--', '--site', SITE, '--out', out], { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 });
  t.log(`npm start took ${Date.now() - started} ms\n${stdout.trim()}`);
  t.regex(stdout, /: SUCCEEDED;/);

  const runs = JSON.parse(await readFile(stdout.match(/summary (\S+\.json)/)![1], 'utf8'));
  t.is(runs.status, 'SUCCEEDED');
  t.deepEqual(runs.endpoints.map((e: { endpoint: string }) => e.endpoint).sort(), [...ENDPOINTS].sort());
  t.true(runs.endpoints.every((e: { mode?: string }) => e.mode === 'full'), 'a first run crawls every endpoint in full');
  // Raw keys carry the ingest date and the run id: the run manifest says which object this run wrote.
  const rawKeys = new Map<string, string>((runs.manifest?.endpoints ?? []).map((e: { endpoint: string; rawKey: string }) => [e.endpoint, e.rawKey]));

  const expected = loadExpected();
  const db = await (await DuckDBInstance.create(':memory:')).connect();
  for (const endpoint of ENDPOINTS) {
    const parquet = join(out, 'bronze', 'wordpress_api', endpoint, `${endpoint}.parquet`);
    const rawKey = rawKeys.get(endpoint) ?? '';
    t.regex(rawKey, new RegExp(`^wordpress_api/${endpoint}/ingest_date=\\d{4}-\\d{2}-\\d{2}/${endpoint}-${runs.runId}\\.json$`), `${endpoint} raw key`);
    const raw = join(out, 'raw', ...rawKey.split('/'));
    t.true((await stat(raw)).size > 0, `${endpoint} raw file`);
    t.is((JSON.parse(await readFile(raw, 'utf8')) as unknown[]).length, expected[endpoint] as number, `${endpoint} raw items`);
    const reader = await db.runAndReadAll(`SELECT CAST(id AS BIGINT) AS id FROM read_parquet('${parquet}')`);
    const ids = reader.getRowObjects().map((r) => Number(r.id));
    t.is(ids.length, expected[endpoint] as number, `${endpoint} rows`);
    t.is(fingerprint(ids), expected.id_fingerprints[endpoint].sha256, `${endpoint} id set`);
  }
});
