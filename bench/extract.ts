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
  /** Most requests the fixture held at once. */
  maxInFlight: number;
  /** Requests pending at the fixture, averaged over the run's wall time: `concurrency` is every slot busy throughout. */
  meanInFlight: number;
  /** CPU time of the whole process (crawler, fixture, S3 stand-in; user + system) per page. */
  cpuMsPerPage: number;
  /** Requests that reached the fixture before the first page 1 had been answered. */
  beforePage1: number;
}

export interface ExtractResults {
  pages: number;
  items: number;
  latencyMs: number;
  pagesPerEndpoint: Record<string, number>;
  /** The median run at the configured concurrency. */
  configured: ExtractRun;
  /** Every run at the configured concurrency, in order. */
  runs: ExtractRun[];
  sequential?: ExtractRun;
  /**
   * The largest endpoint alone, as one task of the Step Functions Map runs it: without state (pages
   * wait for page 1's X-WP-TotalPages) and with yesterday's state (its row count sizes the crawl).
   */
  single: { endpoint: string; pages: number; cold: ExtractRun; sized: ExtractRun };
}

export async function benchExtract(options: {
  pages: number;
  latencyMs: number;
  concurrency: number;
  /** Runs at the configured concurrency; the median is reported. */
  runs: number;
  /** Also run once at concurrency 1. */
  sequential: boolean;
  log: (line: string) => void;
}): Promise<ExtractResults> {
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

  const fixture = await startWordPressFixture({
    collections,
    fault: () => ({ delayMs: latencyMs, passThrough: true }),
    // Apache's default KeepAliveTimeout: a crawler reuses its connections on a real site.
    keepAliveMs: 5000,
    // The site's JSON encoding is its own CPU, not the crawler's (the warm-up run fills it).
    reuseAnswers: true,
  });
  const names = { rawBucket: '/bench/raw-bucket', bronzeBucket: '/bench/bronze-bucket', rawTopicArn: '/bench/raw-topic', bronzeTopicArn: '/bench/bronze-topic', endpoints: '/bench/endpoints' };
  const parameters = {
    [names.rawBucket]: 'raw',
    [names.bronzeBucket]: 'bronze',
    [names.rawTopicArn]: 'arn:aws:sns:us-east-1:000000000000:raw',
    [names.endpoints]: JSON.stringify(SHARES.map(([name]) => ({ name, url: `${fixture.api}/wp/v2/${name}`, paginate: true }))),
  };
  const [single] = SHARES[0];
  const stateBody = JSON.stringify({
    version: 1,
    endpoint: single,
    tracksModified: true,
    lastFullAt: '2026-01-01T00:00:00Z',
    lastRunId: 'bench',
    updatedAt: '2026-01-01T00:00:00Z',
    rows: collections[single].items.length,
  });
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

  const measure = async (concurrency: number, endpoint?: string): Promise<ExtractRun> => {
    fixture.resetCounts();
    const started = performance.now();
    const cpuBefore = process.cpuUsage();
    const summary: RawSummary = await runRaw(deps, { functionName: 'bench-raw', layer: 'raw', parameterNames: names, concurrency, perPage: PER_PAGE }, endpoint ? { endpoint, execution: { fullRefresh: true } } : {});
    const ms = performance.now() - started;
    const cpu = process.cpuUsage(cpuBefore);
    if (summary.failed.length > 0 || alerts.length > 0) throw new Error(`extraction failed: ${JSON.stringify(summary.failed)} ${alerts.join('; ')}`);
    const got = summary.objects.reduce((n, o) => n + o.items, 0);
    const want = endpoint ? collections[endpoint].items.length : items;
    if (got !== want) throw new Error(`extraction returned ${got} items, the fixture holds ${want}`);
    const crawled = endpoint ? pagesPerEndpoint[endpoint] : pages;
    const idealMs = Math.ceil(crawled / concurrency) * latencyMs;
    const meanInFlight = fixture.requests.reduce((sum, r) => sum + (r.answeredAt ?? started + ms) - r.receivedAt, 0) / ms;
    const cpuMsPerPage = (cpu.user + cpu.system) / 1000 / crawled;
    const page1 = Math.min(...fixture.requests.filter((r) => r.url.searchParams.get('page') === '1').map((r) => r.answeredAt ?? Infinity));
    const beforePage1 = fixture.requests.filter((r) => r.receivedAt < page1).length;
    options.log(
      `extract ${endpoint ?? 'all'} c=${concurrency}: ${ms.toFixed(0)} ms for ${crawled} pages (${fixture.requests.length} requests, at most ${fixture.maxInFlight} at once, ${meanInFlight.toFixed(2)} on average, ${beforePage1} before page 1 answered; CPU ${cpuMsPerPage.toFixed(1)} ms/page), ideal ${idealMs} ms`,
    );
    return { concurrency, ms, requests: fixture.requests.length, idealMs, pagesPerSec: crawled / (ms / 1000), maxInFlight: fixture.maxInFlight, meanInFlight, cpuMsPerPage, beforePage1 };
  };

  try {
    await measure(options.concurrency); // warm-up: JIT, sockets, the fixture's slot cache
    const runs: ExtractRun[] = [];
    for (let i = 0; i < Math.max(1, options.runs); i++) runs.push(await measure(options.concurrency));
    const configured = [...runs].sort((a, b) => a.ms - b.ms)[Math.floor((runs.length - 1) / 2)];
    const sequential = options.sequential ? await measure(1) : undefined;
    const stateKey = `bronze/wordpress_api/_state/${single}.json`;
    const cold = await measure(options.concurrency, single);
    s3stub.stored.set(stateKey, Buffer.from(stateBody));
    const sized = await measure(options.concurrency, single);
    s3stub.stored.delete(stateKey);
    return { pages, items, latencyMs, pagesPerEndpoint, configured, runs, sequential, single: { endpoint: single, pages: pagesPerEndpoint[single], cold, sized } };
  } finally {
    s3.destroy();
    await s3stub.close();
    await fixture.close();
  }
}
