import test from 'ava';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runLocal } from '../../local/run';
import type { LocalEvent } from '../../local/run';
import { type FixtureCollection, generateItems, startWordPressFixture } from '../../local/demo-site/rest-server';
import { startServer } from '../helpers/loopback-server';

/**
 * End to end, through the local runner: a page cache in front of WordPress that starts ignoring
 * the `page` parameter fails posts with the likely cause, keeps its table and state as they were,
 * and lets the other endpoints land. The same runs check the figures the handlers log for
 * CloudWatch (embedded metric format) against what the run reports.
 */

interface Proxy {
  origin: string;
  /** When set, requests for posts lose their `page` parameter, so every page answers page 1. */
  ignorePage: boolean;
}

/** A loopback proxy in front of `target`, standing in for a page cache or CDN. */
async function startProxy(t: import('ava').ExecutionContext, target: string): Promise<Proxy> {
  const proxy = { origin: '', ignorePage: false };
  const server = await startServer((req, res) => {
    const url = new URL(req.url ?? '/', target);
    if (proxy.ignorePage && url.pathname.endsWith('/wp/v2/posts')) url.searchParams.delete('page');
    const forwarded = async () => {
      const answer = await fetch(url, { method: req.method, headers: { accept: 'application/json', 'user-agent': String(req.headers['user-agent'] ?? '') } });
      const headers: Record<string, string> = {};
      answer.headers.forEach((value, name) => {
        if (!['content-length', 'content-encoding', 'transfer-encoding', 'connection', 'keep-alive'].includes(name)) headers[name] = value;
      });
      res.writeHead(answer.status, headers).end(Buffer.from(await answer.arrayBuffer()));
    };
    forwarded().catch((error: unknown) => res.writeHead(502).end(String(error)));
  });
  t.teardown(() => server.close());
  proxy.origin = server.origin;
  return proxy;
}

test('a cache that starts ignoring ?page= fails posts naming the cause, keeps its table and state, and lands the other endpoints', async (t) => {
  t.timeout(5 * 60_000);
  const collections: Record<string, FixtureCollection> = { posts: { items: generateItems(300) }, users: { items: generateItems(5), kind: 'terms' } };
  const site = await startWordPressFixture({ collections });
  const dir = await mkdtemp(join(tmpdir(), 'pagination-sanity-run-'));
  t.teardown(async () => {
    await site.close();
    await rm(dir, { recursive: true, force: true });
  });
  const proxy = await startProxy(t, site.origin);
  await writeFile(join(dir, 'Pulumi.test.yaml'), ['config:', '  aws:region: eu-west-2', `  wordpress-lakehouse:siteUrl: ${proxy.origin}`, '  wordpress-lakehouse:endpoints: [posts, users]', ''].join('\n'));
  const out = join(dir, 'lake');
  const run = (events: LocalEvent[]) => runLocal({ projectDir: dir, stack: 'test', out, onEvent: (event) => events.push(event) });

  const firstEvents: LocalEvent[] = [];
  const first = await run(firstEvents);
  t.is(first.status, 'SUCCEEDED', first.error);
  const table = join(out, 'bronze', 'wordpress_api', 'posts', 'posts.parquet');
  const state = join(out, 'bronze', 'wordpress_api', '_state', 'posts.json');
  const [tableBefore, stateBefore] = await Promise.all([readFile(table), readFile(state, 'utf8')]);

  proxy.ignorePage = true;
  const second = await run([]);
  t.is(second.status, 'FAILED');
  const posts = second.endpoints.find((e) => e.endpoint === 'posts')!;
  t.false(posts.ok);
  t.regex(posts.error!, /page 2 repeats 100 of its 100 items from earlier pages.*cache or CDN in front of WordPress that ignores the query string/);
  t.like(second.endpoints.find((e) => e.endpoint === 'users'), { ok: true });
  t.deepEqual(await readFile(table), tableBefore, 'the posts table is byte-identical');
  t.is(await readFile(state, 'utf8'), stateBefore, 'and so is its state');

  // The first run's figures, as CloudWatch would extract them from its log lines.
  const lines = firstEvents.flatMap((event) => (event.kind === 'log' ? [event.line as Record<string, any>] : []));
  for (const report of first.endpoints) {
    const raw = lines.find((line) => line.message === `${report.endpoint}: raw figures`);
    const bronze = lines.find((line) => line.message === `${report.endpoint}: bronze figures`);
    if (!raw || !bronze) {
      t.fail(`${report.endpoint}: no raw or bronze figures line`);
      continue;
    }
    t.like(raw, { endpoint: report.endpoint, items: report.items }, report.endpoint);
    t.like(bronze, { endpoint: report.endpoint, upserted: report.upserted, deleted: report.deleted, rows: report.rows }, report.endpoint);
    for (const line of [raw, bronze]) {
      const declared = line._aws.CloudWatchMetrics[0];
      t.deepEqual(declared.Dimensions, [['function', 'endpoint']]);
      t.true(declared.Metrics.every((m: { Name: string }) => typeof line[m.Name] === 'number'), `${line.message}: every declared metric is a number field`);
      t.is(typeof line.function, 'string');
    }
  }
});
