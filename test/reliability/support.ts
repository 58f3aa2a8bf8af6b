import type { ExecutionContext } from 'ava';
import { appendFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { zstdDecompressSync } from 'node:zlib';
import { parquetReadObjects } from 'hyparquet';
import { type LocalRunResult, type LocalTestingHooks, runLocal } from '../../local/run';
import { startServer } from '../helpers/loopback-server';
import { type FaultHook, type FaultResponse, type FixtureCollection, type FixtureRequest, type WordPressFixture, generateItems, startWordPressFixture } from '../helpers/wordpress-fixture';

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
  /** Whether the failing endpoint's previous raw and bronze files were byte-identical afterwards. */
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
  rawOptions: { retryBaseDelayMs: 1, maxRetryDelayMs: 5, maxRetryAfterMs: 150, requestTimeoutMs: 5000, perPage: 10 },
  retryIntervalMs: 1,
};

export function merge(a: LocalTestingHooks, b: LocalTestingHooks = {}): LocalTestingHooks {
  return { ...a, ...b, rawOptions: { ...a.rawOptions, ...b.rawOptions }, stateMachine: { ...a.stateMachine, ...b.stateMachine } as LocalTestingHooks['stateMachine'] };
}

export type Layer = 'raw' | 'bronze';
export const ENDPOINTS = ['posts', 'comments'] as const;

export interface Scenario {
  site: WordPressFixture;
  collections: Record<string, FixtureCollection>;
  dir: string;
  out: string;
  file(layer: Layer, name: string): string;
  /** Writes `Pulumi.test.yaml`; `posts` may point elsewhere (another server) for one run. */
  writeStack(options?: { postsUrl?: string; extra?: string[] }): Promise<void>;
  run(testing?: LocalTestingHooks): Promise<LocalRunResult>;
  /** Current bytes of an endpoint's raw and bronze files. */
  files(name: string): Promise<Record<Layer, Buffer>>;
  alerts(runId: string): Promise<Array<{ topic: string; subject: string; message: string }>>;
  logs(runId: string): Promise<Array<Record<string, unknown>>>;
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
  const file = (layer: Layer, name: string) => join(out, layer, 'wordpress_api', name, `${name}.${layer === 'raw' ? 'json' : 'parquet'}`);
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
      return { raw: await readFile(file('raw', name)), bronze: await readFile(file('bronze', name)) };
    },
    async alerts(runId) {
      return (await readLines(join(out, 'alerts.jsonl'))).filter((a) => a.runId === runId);
    },
    async logs(runId) {
      return readLines(join(out, 'runs', `${runId}.log.jsonl`));
    },
  };
}

export const isPage = (request: FixtureRequest, route: string, page?: number) =>
  request.route === route && (page === undefined || Number(request.url.searchParams.get('page') ?? '1') === page);

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
  before: Awaited<ReturnType<Scenario['files']>>;
}

/** Fixture, project and a good first run; then the site grows, so a successful second run is visible. */
export async function prepare(t: ExecutionContext): Promise<Prepared> {
  const s = await scenario(t);
  const first = await s.run();
  t.is(first.status, 'SUCCEEDED', first.error);
  const before = await s.files('posts');
  s.collections.posts = { items: generateItems(35, 1) };
  return { s, before };
}
