import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import type { HandlerDeps } from '../handlers/aws/ports';
import type { RawSummary } from '../handlers/contracts';
import { runRaw } from '../handlers/raw';
import type { FixtureCollection } from '../local/demo-site/rest-server';
import type { ExtractServer, ServerConfig } from './extract-server';
import { nowEpochMs, serveHere, serveOnWorker } from './extract-server';
import { lambdaForm } from './lambda-form';
import { runNode } from './proc';

/**
 * Extraction: the real raw handler core (`runRaw`, the code the Lambda runs, with its crawler,
 * limiter and JSON array files) in-process against the loopback WordPress fixture of
 * test/helpers, which holds every response for a fixed latency; S3 is the loopback stand-in.
 * Both run on a worker thread, as a remote site and S3 run on machines of their own; one run
 * puts them back on the crawler's thread, for comparison with earlier figures.
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
  /** Connections the fixture accepted: `concurrency` when every request after the first reuses one. */
  connections: number;
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
  /** The configured concurrency with the fixture and the stand-in on the crawler's own thread (median). */
  sharedThread?: ExtractRun;
  /** The configured concurrency with runRaw as the raw Lambda carries it (median). */
  serialized?: ExtractRun;
}

type Measure = (concurrency: number, endpoint?: string) => Promise<ExtractRun>;

export interface ExtractOptions {
  pages: number;
  latencyMs: number;
  concurrency: number;
  /** Runs at the configured concurrency; the median is reported. */
  runs: number;
  /** Also run once at concurrency 1. */
  sequential: boolean;
  /** Also run `runs` times with the servers on the crawler's thread, as before they had one of their own. */
  sharedThread: boolean;
  /** Also run `runs` times with runRaw as the raw Lambda carries it (lambda-form.ts). */
  serialized: boolean;
  /** Where the Lambda form is built. */
  tmp: string;
  log: (line: string) => void;
}

export async function benchExtract(options: ExtractOptions): Promise<ExtractResults> {
  const { latencyMs } = options;
  const pagesPerEndpoint: Record<string, number> = {};
  let left = options.pages;
  SHARES.forEach(([name], i) => {
    const share = i === SHARES.length - 1 ? left : Math.max(1, Math.round(options.pages * SHARES[i][2]));
    pagesPerEndpoint[name] = Math.max(1, Math.min(share, left - (SHARES.length - 1 - i)));
    left -= pagesPerEndpoint[name];
  });
  const pages = Object.values(pagesPerEndpoint).reduce((a, b) => a + b, 0);
  // Full pages but the last, which is half full, as real collections are.
  const itemsPerEndpoint = Object.fromEntries(SHARES.map(([name]) => [name, (pagesPerEndpoint[name] - 1) * PER_PAGE + PER_PAGE / 2]));
  const items = Object.values(itemsPerEndpoint).reduce((a, b) => a + b, 0);
  const names = { rawBucket: '/bench/raw-bucket', bronzeBucket: '/bench/bronze-bucket', rawTopicArn: '/bench/raw-topic', bronzeTopicArn: '/bench/bronze-topic', endpoints: '/bench/endpoints' };
  const [single] = SHARES[0];
  const stateKey = `bronze/wordpress_api/_state/${single}.json`;
  const stateBody = JSON.stringify({
    version: 1,
    endpoint: single,
    tracksModified: true,
    lastFullAt: '2026-01-01T00:00:00Z',
    lastRunId: 'bench',
    updatedAt: '2026-01-01T00:00:00Z',
    rows: itemsPerEndpoint[single],
  });
  const serverConfig: ServerConfig = { endpoints: SHARES.map(([name, kind]) => [name, kind, itemsPerEndpoint[name]]), latencyMs };
  const median = (runs: ExtractRun[]) => [...runs].sort((a, b) => a.ms - b.ms)[Math.floor((runs.length - 1) / 2)];

  /** Runs `body` against `server` with a fresh S3 client; `measure` times one `runRaw`. */
  const session = async <T>(server: ExtractServer, body: (measure: Measure) => Promise<T>, run: typeof runRaw = runRaw): Promise<T> => {
    const parameters: Record<string, string> = {
      [names.rawBucket]: 'raw',
      [names.bronzeBucket]: 'bronze',
      [names.rawTopicArn]: 'arn:aws:sns:us-east-1:000000000000:raw',
      [names.endpoints]: JSON.stringify(SHARES.map(([name]) => ({ name, url: `${server.api}/wp/v2/${name}`, paginate: true }))),
    };
    const s3 = new S3Client({
      endpoint: server.s3Endpoint,
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
      await server.reset();
      const started = nowEpochMs();
      const cpuBefore = process.cpuUsage();
      const summary: RawSummary = await run(deps, { functionName: 'bench-raw', layer: 'raw', parameterNames: names, concurrency, perPage: PER_PAGE }, endpoint ? { endpoint, execution: { fullRefresh: true } } : {});
      const ms = nowEpochMs() - started;
      const cpu = process.cpuUsage(cpuBefore);
      if (summary.failed.length > 0 || alerts.length > 0) throw new Error(`extraction failed: ${JSON.stringify(summary.failed)} ${alerts.join('; ')}`);
      const got = summary.objects.reduce((n, o) => n + o.items, 0);
      const want = endpoint ? itemsPerEndpoint[endpoint] : items;
      if (got !== want) throw new Error(`extraction returned ${got} items, the fixture holds ${want}`);
      const crawled = endpoint ? pagesPerEndpoint[endpoint] : pages;
      const idealMs = Math.ceil(crawled / concurrency) * latencyMs;
      const { requests, maxInFlight, connections } = await server.stats();
      const meanInFlight = requests.reduce((sum, r) => sum + (r.answeredAt ?? started + ms) - r.receivedAt, 0) / ms;
      const cpuMsPerPage = (cpu.user + cpu.system) / 1000 / crawled;
      const page1 = Math.min(...requests.filter((r) => r.page === '1').map((r) => r.answeredAt ?? Infinity));
      const beforePage1 = requests.filter((r) => r.receivedAt < page1).length;
      options.log(
        `extract ${endpoint ?? 'all'} c=${concurrency}${server.onWorker ? '' : ' (server on this thread)'}${run === runRaw ? '' : ' (serialized)'}: ${ms.toFixed(0)} ms for ${crawled} pages (${requests.length} requests on ${connections} connections, at most ${maxInFlight} at once, ${meanInFlight.toFixed(2)} on average, ${beforePage1} before page 1 answered; CPU ${cpuMsPerPage.toFixed(1)} ms/page), ideal ${idealMs} ms`,
      );
      return { concurrency, ms, requests: requests.length, connections, idealMs, pagesPerSec: crawled / (ms / 1000), maxInFlight, meanInFlight, cpuMsPerPage, beforePage1 };
    };
    try {
      await measure(options.concurrency); // warm-up: JIT, sockets, the fixture's slot cache
      return await body(measure);
    } finally {
      s3.destroy();
      await server.close();
    }
  };
  const repeat = async (measure: Measure) => {
    const runs: ExtractRun[] = [];
    for (let i = 0; i < Math.max(1, options.runs); i++) runs.push(await measure(options.concurrency));
    return runs;
  };

  const worker = await serveOnWorker(serverConfig);
  const main = await session(worker, async (measure) => {
    const runs = await repeat(measure);
    const sequential = options.sequential ? await measure(1) : undefined;
    const cold = await measure(options.concurrency, single);
    await worker.setObject(stateKey, stateBody);
    const sized = await measure(options.concurrency, single);
    return { runs, sequential, cold, sized };
  });
  const sharedThread = options.sharedThread ? median(await session(await serveHere(serverConfig), repeat)) : undefined;
  let serialized: ExtractRun | undefined;
  if (options.serialized) {
    const { runRaw: lambdaRunRaw } = require(join(lambdaForm(options.tmp, 'handlers/raw.js', 'runRaw'), '__index.js')) as { runRaw: typeof runRaw };
    serialized = median(await session(await serveOnWorker(serverConfig), repeat, lambdaRunRaw));
  }
  return {
    pages,
    items,
    latencyMs,
    pagesPerEndpoint,
    configured: median(main.runs),
    runs: main.runs,
    sequential: main.sequential,
    single: { endpoint: single, pages: pagesPerEndpoint[single], cold: main.cold, sized: main.sized },
    sharedThread,
    serialized,
  };
}

/**
 * benchExtract in a Node process of its own (this one's binary and TypeScript loader), its log
 * lines relayed to `log` as they come. The raw Lambda crawls in a process that holds the handler
 * alone; run in the bench's process after the artifacts section, the same crawl took 14-16 ms of
 * CPU per page instead of 10-12 and 1.10x the ideal time instead of 1.08x (a larger heap to collect).
 */
export async function benchExtractInChild(options: ExtractOptions): Promise<ExtractResults> {
  const { log, ...rest } = options;
  let partial = '';
  const run = await runNode([...process.execArgv, __filename, JSON.stringify(rest)], {
    tmp: options.tmp,
    onStderr: (chunk) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) if (line.startsWith(LOG_PREFIX)) log(line.slice(LOG_PREFIX.length));
    },
  });
  return JSON.parse(run.stdout) as ExtractResults;
}

/** Marks the child's log lines among whatever else it writes to stderr. */
const LOG_PREFIX = 'extract-log: ';

if (require.main === module) {
  const options = JSON.parse(process.argv[2] ?? '') as Omit<ExtractOptions, 'log'>;
  benchExtract({ ...options, log: (line) => process.stderr.write(`${LOG_PREFIX}${line}\n`) }).then(
    (results) => process.stdout.write(JSON.stringify(results)),
    (error: unknown) => {
      process.stderr.write(`${(error as Error)?.stack ?? String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
