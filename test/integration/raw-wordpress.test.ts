import test from 'ava';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { ParameterReader } from '../../handlers/aws/ports';
import { getStream } from '../../handlers/aws/s3';
import { createLogger } from '../../handlers/log';
import { runRaw } from '../../handlers/raw';
import { startS3 } from '../helpers/s3rver';

/**
 * End to end against the real WordPress of ../shared/wordpress (README there): a full raw run
 * must return exactly the public items seed.php recorded, by count and by id fingerprint.
 */
const SITE = process.env.WORDPRESS_URL ?? 'http://127.0.0.1:8080';
const EXPECTED = process.env.WORDPRESS_EXPECTED ?? '/work/shared/wordpress/expected-counts.json';
const ENDPOINTS = ['posts', 'pages', 'media', 'categories', 'tags', 'users', 'comments'] as const;

/**
 * ava needs its tests declared synchronously while the file loads, so the probe runs as a
 * synchronous child process; its answer decides between the test and a visible skip.
 */
function unreachable(): string | undefined {
  const { execFileSync } = require('node:child_process') as typeof import('node:child_process');
  try {
    readFileSync(EXPECTED);
  } catch (error) {
    return `${EXPECTED} is not readable: ${(error as Error).message}`;
  }
  const probe = `fetch(process.argv[1], { signal: AbortSignal.timeout(3000) }).then((r) => { if (!r.ok) { console.log('HTTP ' + r.status); process.exit(1); } }, (e) => { console.log(e.cause?.code ?? e.message); process.exit(1); })`;
  try {
    execFileSync(process.execPath, ['-e', probe, `${SITE}/wp-json/wp/v2/users?per_page=1`], { timeout: 5000, encoding: 'utf8' });
    return undefined;
  } catch (error) {
    return `${SITE}/wp-json/ is not reachable (${String((error as { stdout?: string }).stdout ?? '').trim() || (error as Error).message})`;
  }
}

/** Same as seed.php: sha256 of the ascending ids joined by commas. */
function fingerprint(ids: number[]): string {
  return createHash('sha256').update([...ids].sort((a, b) => a - b).join(',')).digest('hex');
}

const problem = unreachable();
if (problem && process.env.REQUIRE_WORDPRESS !== '1') {
  test.skip(`a full raw run of the real WordPress returns every public item of every endpoint exactly once (skipped: ${problem}; start it with /work/shared/wordpress/setup.sh start, or set REQUIRE_WORDPRESS=1 to fail instead)`, () => undefined);
} else {
  test('a full raw run of the real WordPress returns every public item of every endpoint exactly once', async (t) => {
    if (problem) {
      t.fail(`REQUIRE_WORDPRESS=1 but ${problem}`);
      return;
    }
    const expected = JSON.parse(readFileSync(EXPECTED, 'utf8')) as {
      x_wp_total: Record<string, number>;
      id_fingerprints: Record<string, { min: number; max: number; sha256: string }>;
    } & Record<string, number>;
    const s3 = await startS3(['raw']);
    t.teardown(() => s3.stop());
    const names = { rawBucket: 'b', bronzeBucket: 'bb', rawTopicArn: 't', bronzeTopicArn: 'bt', endpoints: 'e' };
    const values = new Map([
      ['b', 'raw'],
      ['t', 'arn:aws:sns:eu-west-1:123456789012:raw'],
      ['e', JSON.stringify(ENDPOINTS.map((name) => ({ name, url: `${SITE}/wp-json/wp/v2/${name}`, paginate: true })))],
    ]);
    const parameters: ParameterReader = { get: async (wanted) => new Map(wanted.filter((n) => values.has(n)).map((n) => [n, values.get(n)!])) };
    const sent: string[] = [];
    const started = Date.now();
    const summary = await runRaw(
      { s3: s3.client, parameters, notifier: { publish: async (_a, subject) => void sent.push(subject) }, log: createLogger({}, () => undefined), functionName: 'raw-e2e' },
      { functionName: 'raw-e2e', layer: 'raw', parameterNames: names, concurrency: 4 },
      {},
    );
    const ms = Date.now() - started;
    t.deepEqual(summary.failed, []);
    t.deepEqual(sent, []);
    const report: string[] = [];
    for (const endpoint of ENDPOINTS) {
      const object = summary.objects.find((o) => o.endpoint === endpoint)!;
      const chunks: Buffer[] = [];
      for await (const chunk of await getStream(s3.client, 'raw', object.key)) chunks.push(chunk as Buffer);
      const items = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Array<{ id: number }>;
      const ids = items.map((i) => i.id);
      t.is(items.length, expected[endpoint], `${endpoint} items`);
      t.is(new Set(ids).size, ids.length, `${endpoint} ids are unique`);
      t.is(fingerprint(ids), expected.id_fingerprints[endpoint].sha256, `${endpoint} id fingerprint`);
      t.is(object.total, expected.x_wp_total[endpoint], `${endpoint} X-WP-Total`);
      report.push(`${endpoint} ${items.length}/${expected[endpoint]} in ${object.pages} pages, ${object.ms} ms`);
    }
    t.log(`full extraction of ${SITE} in ${ms} ms: ${report.join('; ')}`);
  });
}
