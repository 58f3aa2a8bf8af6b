import { S3Client } from '@aws-sdk/client-s3';
import type { HandlerDeps } from '../handlers/aws/ports';
import type { RawSummary } from '../handlers/contracts';
import { runRaw } from '../handlers/raw';
import type { FixtureCollection } from '../test/helpers/wordpress-fixture';
import { startWordPressFixture } from '../test/helpers/wordpress-fixture';
import { post, prng } from './posts';
import { startAwsStandIn } from './stand-in';

/**
 * Extraction: the real raw handler core (`runRaw`, the code the Lambda runs, with its crawler,
 * limiter and JSON array files) in-process against the loopback WordPress fixture of
 * test/helpers, which holds every response for a fixed latency; S3 is the loopback stand-in.
 * One invocation extracts all 7 endpoints, as `runRaw` does when the event names none.
 */

const PER_PAGE = 100;
/** Share of the pages per endpoint: a blog with many posts and comments, fewer of the rest. */
const SHARES: Array<[string, FixtureCollection['kind'], number]> = [
  ['posts', 'posts', 0.4],
  ['comments', 'terms', 0.25],
  ['media', 'posts', 0.15],
  ['tags', 'terms', 0.08],
  ['pages', 'posts', 0.05],
  ['categories', 'terms', 0.04],
  ['users', 'terms', 0.03],
];

export interface ExtractRun {
  concurrency: number;
  ms: number;
  requests: number;
  idealMs: number;
  pagesPerSec: number;
}

export interface ExtractResults {
  pages: number;
  items: number;
  latencyMs: number;
  pagesPerEndpoint: Record<string, number>;
  configured: ExtractRun;
  sequential: ExtractRun;
}

export async function benchExtract(options: { pages: number; latencyMs: number; concurrency: number; log: (line: string) => void }): Promise<ExtractResults> {
  const { latencyMs } = options;
  const random = prng(7);
  const pagesPerEndpoint: Record<string, number> = {};
  let left = options.pages;
  SHARES.forEach(([name], i) => {
    const share = i === SHARES.length - 1 ? left : Math.max(1, Math.round(options.pages * SHARES[i][2]));
    pagesPerEndpoint[name] = Math.max(1, Math.min(share, left - (SHARES.length - 1 - i)));
    left -= pagesPerEndpoint[name];
  });
  const pages = Object.values(pagesPerEndpoint).reduce((a, b) => a + b, 0);
  const collections: Record<string, FixtureCollection> = {};
  let id = 1;
  for (const [name, kind] of SHARES) {
    // Full pages but the last, which is half full, as real collections are.
    const count = (pagesPerEndpoint[name] - 1) * PER_PAGE + PER_PAGE / 2;
    collections[name] = { kind, items: Array.from({ length: count }, () => post(random, id++, { contentBytes: [200, 2000] })) };
  }
  const items = id - 1;

  const fixture = await startWordPressFixture({ collections, fault: () => ({ delayMs: latencyMs, passThrough: true }) });
  const names = { rawBucket: '/bench/raw-bucket', bronzeBucket: '/bench/bronze-bucket', rawTopicArn: '/bench/raw-topic', bronzeTopicArn: '/bench/bronze-topic', endpoints: '/bench/endpoints' };
  const parameters = {
    [names.rawBucket]: 'raw',
    [names.rawTopicArn]: 'arn:aws:sns:us-east-1:000000000000:raw',
    [names.endpoints]: JSON.stringify(SHARES.map(([name]) => ({ name, url: `${fixture.api}/wp/v2/${name}`, paginate: true }))),
  };
  const s3stub = await startAwsStandIn({ parameters, keepBodies: false });
  const s3 = new S3Client({
    endpoint: s3stub.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
  });
  const alerts: string[] = [];
  const deps: HandlerDeps = {
    s3,
    parameters: { get: async (wanted) => new Map(wanted.filter((n) => n in parameters).map((n) => [n, parameters[n]])) },
    notifier: { publish: async (_topic, subject, message) => void alerts.push(`${subject}: ${message}`) },
    log: { info: () => undefined, warn: () => undefined, error: () => undefined },
    functionName: 'bench-raw',
  };

  const measure = async (concurrency: number): Promise<ExtractRun> => {
    fixture.requests.length = 0;
    const started = performance.now();
    const summary: RawSummary = await runRaw(deps, { functionName: 'bench-raw', layer: 'raw', parameterNames: names, concurrency, perPage: PER_PAGE }, {});
    const ms = performance.now() - started;
    if (summary.failed.length > 0 || alerts.length > 0) throw new Error(`extraction failed: ${JSON.stringify(summary.failed)} ${alerts.join('; ')}`);
    const got = summary.objects.reduce((n, o) => n + o.items, 0);
    if (got !== items) throw new Error(`extraction returned ${got} items, the fixture holds ${items}`);
    const idealMs = Math.ceil(pages / concurrency) * latencyMs;
    options.log(`extract c=${concurrency}: ${ms.toFixed(0)} ms for ${pages} pages (${fixture.requests.length} requests), ideal ${idealMs} ms`);
    return { concurrency, ms, requests: fixture.requests.length, idealMs, pagesPerSec: pages / (ms / 1000) };
  };

  try {
    await measure(options.concurrency); // warm-up: JIT, sockets, the fixture's slot cache
    const configured = await measure(options.concurrency);
    const sequential = await measure(1);
    return { pages, items, latencyMs, pagesPerEndpoint, configured, sequential };
  } finally {
    s3.destroy();
    await s3stub.close();
    await fixture.close();
  }
}
