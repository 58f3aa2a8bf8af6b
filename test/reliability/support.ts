import type { ExecutionContext } from 'ava';
import { appendFileSync, readdirSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { zstdDecompressSync } from 'node:zlib';
import { parquetReadObjects } from 'hyparquet';
import { type LocalRunResult, type LocalTestingHooks, runLocal } from '../../local/run';
import { startServer } from '../helpers/loopback-server';
import { type FaultHook, type FaultResponse, type FixtureCollection, type FixtureRequest, type WordPressFixture, generateItems, startWordPressFixture } from '../../local/demo-site/rest-server';

/**
 * Shared pieces of the fault-injection suites: a two-endpoint project on the loopback WordPress
 * fixture, a good first run, then a faulty run, and the evidence the tests assert on (run result,
 * alerts, the stored files before and after).
 */

/** Where test/reliability/run.ts collects rows for its table; unset under plain `npm test`. */
const RESULTS = process.env.RELIABILITY_RESULTS;

export interface CaseRow {
  case: string;
  expected: string;
  observed: string;
  /**
   * Whether the failing endpoint's data was kept (see {@link kept}): no raw object added and the
   * earlier ones byte-identical, the bronze table and state byte-identical.
   */
  preserved: 'yes' | 'no' | 'n/a';
}

export function record(row: CaseRow): void {
  if (RESULTS) appendFileSync(RESULTS, `${JSON.stringify(row)}\n`);
}

/**
 * Milliseconds instead of seconds everywhere a real run would wait: request backoff, Retry-After
 * ceiling, ASL Retry intervals. 10 items per page so 30 posts are 3 pages and a fault can hit the
 * middle of a crawl. These change timing only, never which path a run takes.
 */
export const FAST: LocalTestingHooks = {
  rawOptions: { retryBaseDelayMs: 1, maxRetryDelayMs: 5, maxRetryAfterMs: 150, requestTimeoutMs: 30_000, perPage: 10 },
  retryIntervalMs: 1,
};

export function merge(a: LocalTestingHooks, b: LocalTestingHooks = {}): LocalTestingHooks {
  return { ...a, ...b, rawOptions: { ...a.rawOptions, ...b.rawOptions }, stateMachine: { ...a.stateMachine, ...b.stateMachine } as LocalTestingHooks['stateMachine'] };
}

export type Layer = 'raw' | 'bronze';
export const ENDPOINTS = ['posts', 'comments'] as const;

/** An endpoint's stored files at one moment, as mirrored under `<out>/<bucket>/`. */
export interface Files {
  /** The newest raw items object (the last run that fetched the endpoint). */
  raw: Buffer;
  /** Every raw items object of the endpoint, by path under its folder (`ingest_date=.../<name>-<run id>.json`). */
  rawObjects: Map<string, Buffer>;
  /** The current bronze table. */
  bronze: Buffer;
  /** `_state/<name>.json` in bronze, or undefined when there is none. */
  state?: Buffer;
}

export interface Scenario {
  site: WordPressFixture;
  collections: Record<string, FixtureCollection>;
  dir: string;
  out: string;
  /** Raw: the endpoint's newest raw items object; bronze: its current table. */
  file(layer: Layer, name: string): string;
  /** Writes `Pulumi.test.yaml`; `posts` may point elsewhere (another server) for one run. */
  writeStack(options?: { postsUrl?: string; extra?: string[] }): Promise<void>;
  run(testing?: LocalTestingHooks): Promise<LocalRunResult>;
  /** Current bytes of an endpoint's raw objects, bronze table and state. */
  files(name: string): Promise<Files>;
  alerts(runId: string): Promise<Array<{ topic: string; subject: string; message: string }>>;
  logs(runId: string): Promise<Array<Record<string, unknown>>>;
}

/**
 * Whether a run kept an endpoint's data as it was. Raw objects are immutable history, so for raw
 * "kept" means the run added no object and every earlier one is byte-identical; bronze is kept
 * when both the table and its state (the mark the next run starts from) are byte-identical.
 */
export function kept(before: Files, after: Files): Record<Layer, boolean> {
  const raw = before.rawObjects.size === after.rawObjects.size && [...before.rawObjects].every(([path, bytes]) => after.rawObjects.get(path)?.equals(bytes) === true);
  const sameState = before.state === undefined ? after.state === undefined : after.state?.equals(before.state) === true;
  return { raw, bronze: after.bronze.equals(before.bronze) && sameState };
}

/** A fixture with 30 posts (400 past the end) and 15 comments (200 [] past the end), and a project on it. */
export async function scenario(t: ExecutionContext, options: { posts?: Array<Record<string, unknown>>; comments?: Array<Record<string, unknown>> } = {}): Promise<Scenario> {
  const collections: Record<string, FixtureCollection> = {
    posts: { items: options.posts ?? generateItems(30, 1) },
    comments: { items: options.comments ?? generateItems(15, 1000), kind: 'terms' },
  };
  const site = await startWordPressFixture({ collections });
  const dir = await mkdtemp(join(tmpdir(), 'lakehouse-reliability-'));
  t.teardown(async () => {
    await site.close();
    await rm(dir, { recursive: true, force: true });
  });
  const out = join(dir, 'out');
  const endpointDir = (layer: Layer, name: string) => join(out, layer, 'wordpress_api', name);
  /** `ingest_date=.../<name>-<run id>.json` of every raw items object of the endpoint, oldest first. */
  const rawPaths = (name: string): string[] => {
    let folders: string[];
    try {
      folders = readdirSync(endpointDir('raw', name)).filter((f) => f.startsWith('ingest_date='));
    } catch {
      return [];
    }
    const paths = folders.flatMap((folder) => readdirSync(join(endpointDir('raw', name), folder)).filter((f) => f.startsWith(`${name}-`) && f.endsWith('.json')).map((f) => `${folder}/${f}`));
    // Run ids start with an ISO timestamp, so name order is run order. The extension is left out of
    // the comparison so that a retried task's `<name>-<run id>-2.json` sorts after its first attempt
    // ('-' sorts before '.').
    return paths.sort((a, b) => {
      const x = a.replace(/\.json$/, '');
      const y = b.replace(/\.json$/, '');
      return x < y ? -1 : x > y ? 1 : 0;
    });
  };
  const file = (layer: Layer, name: string) => {
    if (layer === 'bronze') return join(endpointDir('bronze', name), `${name}.parquet`);
    const newest = rawPaths(name).at(-1);
    if (!newest) throw new Error(`no raw object of ${name} under ${endpointDir('raw', name)}/ingest_date=*/`);
    return join(endpointDir('raw', name), newest);
  };
  const readOptional = async (path: string) => {
    try {
      return await readFile(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  };
  const writeStack = async (o: { postsUrl?: string; extra?: string[] } = {}) => {
    await writeFile(
      join(dir, 'Pulumi.test.yaml'),
      [
        'config:',
        '  aws:region: eu-west-2',
        `  wordpress-lakehouse:siteUrl: ${site.origin}`,
        '  wordpress-lakehouse:endpoints:',
        o.postsUrl ? `    - { name: posts, url: "${o.postsUrl}", paginate: true }` : '    - posts',
        '    - comments',
        '  wordpress-lakehouse:maxRetries: 3',
        '  wordpress-lakehouse:mapConcurrency: 2',
        // Every run a full crawl: these cases compare what a faulty run left with a whole endpoint
        // (35 items after the site grew, byte-identical files when it failed), and an incremental
        // second run would store only a delta and fetch different URLs than the faults target.
        '  wordpress-lakehouse:fullRefreshDays: 0',
        ...(o.extra ?? []),
        '',
      ].join('\n'),
    );
  };
  await writeStack();
  const readLines = async (path: string) => {
    try {
      return (await readFile(path, 'utf8')).split('\n').filter(Boolean).map((l) => JSON.parse(l));
    } catch {
      return [];
    }
  };
  return {
    site,
    collections,
    dir,
    out,
    file,
    writeStack,
    run: (testing = FAST) => runLocal({ projectDir: dir, stack: 'test', out, testing }),
    async files(name) {
      const rawObjects = new Map<string, Buffer>();
      for (const path of rawPaths(name)) rawObjects.set(path, await readFile(join(endpointDir('raw', name), path)));
      return {
        raw: await readFile(file('raw', name)),
        rawObjects,
        bronze: await readFile(file('bronze', name)),
        state: await readOptional(join(out, 'bronze', 'wordpress_api', '_state', `${name}.json`)),
      };
    },
    async alerts(runId) {
      return (await readLines(join(out, 'alerts.jsonl'))).filter((a) => a.runId === runId);
    },
    async logs(runId) {
      return readLines(join(out, 'runs', `${runId}.log.jsonl`));
    },
  };
}

/**
 * A request for page `page` of items of `route`: not a `_fields=` request (the plan's probe of a
 * first run, which asks page 1 of ids to decide whether to split the crawl, or an incremental
 * run's listing), nor the schema request (`_method=OPTIONS`) that gives the listing its fields.
 */
export const isPage = (request: FixtureRequest, route: string, page?: number) =>
  request.route === route && !request.url.searchParams.has('_fields') && !request.url.searchParams.has('_method') && (page === undefined || Number(request.url.searchParams.get('page') ?? '1') === page);

/** A fault hook that answers the matching requests with `faults` in turn, then normally. */
export function sequence(match: (request: FixtureRequest) => boolean, faults: FaultResponse[]): FaultHook {
  let next = 0;
  return (request) => (match(request) && next < faults.length ? faults[next++] : undefined);
}

/** A WordPress-shaped page answer (headers included) for a fault hook to return. */
export function page(items: unknown[], headers: Record<string, string> = {}): FaultResponse {
  return { status: 200, body: items, headers: { 'x-wp-total': String(items.length), 'x-wp-totalpages': '1', ...headers } };
}

export async function bronzeRows(path: string): Promise<Array<Record<string, unknown>>> {
  const bytes = await readFile(path);
  const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  return (await parquetReadObjects({ file, compressors: { ZSTD: (input: Uint8Array) => new Uint8Array(zstdDecompressSync(input)) } })) as Array<Record<string, unknown>>;
}

export interface Outcome {
  status: string;
  ok: Record<string, boolean>;
  error: Record<string, string | undefined>;
  summary: string;
}

export function outcome(result: LocalRunResult): Outcome {
  const ok = Object.fromEntries(result.endpoints.map((e) => [e.endpoint, e.ok]));
  const error = Object.fromEntries(result.endpoints.map((e) => [e.endpoint, e.error]));
  const parts = result.endpoints.map((e) => (e.ok ? `${e.endpoint} ok (${e.items ?? 0} items)` : `${e.endpoint} FAILED: ${shorten(e.error ?? '')}`));
  return { status: result.status, ok, error, summary: `${result.status}; ${parts.join('; ')}` };
}

/** Error text for the table: the part after the URL, which says what happened. */
export function shorten(text: string, max = 110): string {
  const tail = text.replace(/GET https?:\/\/127\.0\.0\.1:\d+\S*( ->)? /g, '').replace(/https?:\/\/127\.0\.0\.1:\d+\S*/g, '<url>').replace(/\s+/g, ' ');
  return tail.length > max ? `${tail.slice(0, max - 1)}…` : tail;
}

export { generateItems, startServer };

/**
 * An HTTP proxy in front of the embedded S3 whose `drop` decides, per request, to swallow part of
 * the body and then cut the connection: S3 unreachable in the middle of a write.
 */
export async function startS3FaultProxy(target: string, drop: (method: string, path: string) => boolean) {
  const { request } = require('node:http') as typeof import('node:http');
  const dropped: string[] = [];
  const proxy = await startServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    if (drop(req.method ?? 'GET', path)) {
      dropped.push(`${req.method} ${path}`);
      req.once('data', () => req.socket.destroy());
      req.once('end', () => req.socket.destroy());
      return;
    }
    const upstream = request(`${target}${req.url}`, { method: req.method, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  return { ...proxy, dropped, origin: proxy.origin };
}

/** A pattern as words for the table: `.*` becomes an ellipsis, escapes go. */
export function describePattern(pattern: RegExp): string {
  return pattern.source.replace(/\\d\+/g, 'N').replace(/\.\*/g, ' … ').replace(/\\(.)/g, '$1').replace(/\^|\$/g, '');
}

export interface Prepared {
  s: Scenario;
  /** The good first run. */
  first: LocalRunResult;
  before: Files;
}

/** Fixture, project and a good first run; then the site grows, so a successful second run is visible. */
export async function prepare(t: ExecutionContext): Promise<Prepared> {
  const s = await scenario(t);
  const first = await s.run();
  t.is(first.status, 'SUCCEEDED', first.error);
  const before = await s.files('posts');
  t.is(before.rawObjects.size, 1, 'the first run stored one raw posts object');
  s.collections.posts = { items: generateItems(35, 1) };
  return { s, first, before };
}
