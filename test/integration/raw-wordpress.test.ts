import type { ParameterReader } from '../../handlers/aws/ports';
import { getStream } from '../../handlers/aws/s3';
import { createLogger } from '../../handlers/log';
import { runRaw } from '../../handlers/raw';
import { ENDPOINTS, SITE, fingerprint, loadExpected, wordpressTest } from '../helpers/real-wordpress';
import { startS3 } from '../helpers/s3rver';

/**
 * End to end against the real WordPress of test/wordpress (README there): a full raw run
 * must return exactly the public items seed.php recorded, by count and by id fingerprint.
 */
wordpressTest('a full raw run of the real WordPress returns every public item of every endpoint exactly once', async (t) => {
  const expected = loadExpected();
  // The raw handler reads each endpoint's state from bronze first (none here: a full crawl).
  const s3 = await startS3(['raw', 'bronze']);
  t.teardown(() => s3.stop());
  const names = { rawBucket: 'b', bronzeBucket: 'bb', rawTopicArn: 't', bronzeTopicArn: 'bt', endpoints: 'e' };
  const values = new Map([
    ['b', 'raw'],
    ['bb', 'bronze'],
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
    t.is(object.mode, 'full', `${endpoint} crawled in full`);
    const chunks: Buffer[] = [];
    for await (const chunk of await getStream(s3.client, 'raw', object.key)) chunks.push(chunk as Buffer);
    const items = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Array<{ id: number }>;
    const ids = items.map((i) => i.id);
    t.is(items.length, expected[endpoint] as number, `${endpoint} items`);
    t.is(new Set(ids).size, ids.length, `${endpoint} ids are unique`);
    t.is(fingerprint(ids), expected.id_fingerprints[endpoint].sha256, `${endpoint} id fingerprint`);
    t.is(object.total, expected.x_wp_total[endpoint], `${endpoint} X-WP-Total`);
    report.push(`${endpoint} ${items.length}/${expected[endpoint]} in ${object.pages} pages, ${object.ms} ms`);
  }
  t.log(`full extraction of ${SITE} in ${ms} ms: ${report.join('; ')}`);
});
