import test, { type ExecutionContext } from 'ava';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { zstdDecompressSync } from 'node:zlib';
import { parquetReadObjects } from 'hyparquet';
import { type LocalRunResult, runLocal } from '../../local/run';
import { type FixtureCollection, generateItems, startWordPressFixture } from '../../local/demo-site/rest-server';

/**
 * Full crawls split into parts (lake/fan-out.ts) through the deployed state machine, run locally:
 * every id lands exactly once, a site that changes during the crawl loses and doubles nothing, a
 * failed part keeps yesterday's table, and an incremental run of a split endpoint is one task.
 */

async function project(siteUrl: string, endpoints: string[]): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'lakehouse-fanout-'));
  await writeFile(
    join(dir, 'Pulumi.test.yaml'),
    ['config:', '  aws:region: eu-west-2', `  wordpress-lakehouse:siteUrl: ${siteUrl}`, '  wordpress-lakehouse:endpoints:', ...endpoints.map((e) => `    - ${e}`), '  wordpress-lakehouse:maxRetries: 1', ''].join('\n'),
  );
  return dir;
}

async function tableIds(out: string, name: string): Promise<number[]> {
  const bytes = await readFile(join(out, 'bronze', 'wordpress_api', name, `${name}.parquet`));
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  const rows = (await parquetReadObjects({ file: buffer, columns: ['id'], compressors: { ZSTD: (input: Uint8Array) => new Uint8Array(zstdDecompressSync(input)) } })) as Array<{ id: bigint }>;
  return rows.map((row) => Number(row.id));
}

async function rawFiles(out: string, name: string): Promise<string[]> {
  const root = join(out, 'raw', 'wordpress_api', name);
  return (await readdir(root, { recursive: true })).filter((f) => f.endsWith('.json')).sort();
}

/** A loopback site of `collections` and a project crawling `endpoints` of it, both removed after the test. */
async function setUp(t: ExecutionContext, collections: Record<string, FixtureCollection>, endpoints: string[]) {
  const site = await startWordPressFixture({ collections });
  t.teardown(() => site.close());
  const dir = await project(site.origin, endpoints);
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return { site, dir, out: join(dir, '.lakehouse') };
}

const ids = (items: Array<Record<string, unknown>>) => items.map((item) => Number(item.id)).sort((a, b) => a - b);
const endpoint = (result: LocalRunResult, name: string) => result.endpoints.find((e) => e.endpoint === name)!;

/** Posts with a modification time, so a second run can be incremental. */
function posts(count: number, firstId: number, modified = '2026-11-01T10:00:00'): Array<Record<string, unknown>> {
  return generateItems(count, firstId).map((item) => ({ ...item, modified_gmt: modified }));
}

test('a full crawl of more pages than pagesPerTask lands in parts of id slices, every id exactly once', async (t) => {
  const collections: Record<string, FixtureCollection> = {
    posts: { items: posts(1234, 1) },
    comments: { items: generateItems(2345, 10_000), kind: 'terms', hidden: 7 },
  };
  const { site, dir, out } = await setUp(t, collections, ['posts', 'comments']);

  const result = await runLocal({ projectDir: dir, stack: 'test', out, pagesPerTask: 3 });
  t.is(result.status, 'SUCCEEDED', result.error);
  // 1234 posts are 13 pages: 5 parts of 3 pages; 2345 comments 24 pages: 8 parts.
  t.like(endpoint(result, 'posts'), { ok: true, parts: 5, items: 1234, rows: 1234 });
  t.like(endpoint(result, 'comments'), { ok: true, parts: 8, items: 2345, rows: 2345 });
  t.deepEqual(await tableIds(out, 'posts'), ids(collections.posts.items), 'the table holds every post once, in id order');
  t.deepEqual(await tableIds(out, 'comments'), ids(collections.comments.items));

  const parts = await rawFiles(out, 'comments');
  t.is(parts.length, 8);
  t.true(parts.every((f) => /comments-.+\.part-0000\d\.json$/.test(f)), parts.join(', '));
  const partIds = (await Promise.all(parts.map(async (f) => JSON.parse(await readFile(join(out, 'raw', 'wordpress_api', 'comments', f), 'utf8')).map((c: { id: number }) => c.id)))).flat();
  t.deepEqual(partIds, ids(collections.comments.items), 'the parts, in order, hold every comment once, in id order');
  const listing = await readdir(join(out, 'raw', 'wordpress_api', '_parts', 'comments'), { recursive: true });
  t.is(listing.filter((f) => f.endsWith('.json')).length, 1, 'the parts list is stored outside the endpoint folder');

  const items = site.requests.filter((r) => r.route === '/wp/v2/comments' && r.url.searchParams.has('include'));
  t.is(items.length, 24, 'one include= request per 100 listed comments');
  t.true(items.every((r) => r.url.searchParams.get('include')!.split(',').length <= 100));
  const listingPages = site.requests.filter((r) => r.route === '/wp/v2/comments' && r.url.searchParams.get('_fields') === 'id');
  // The probe, then the listing's pages (hidden comments count in the totals, so 24 pages).
  t.is(listingPages.length, 1 + 24);
});

test('a site that changes while a split crawl runs loses and doubles nothing, and the next run catches what was added', async (t) => {
  const original = posts(1000, 1);
  const collections: Record<string, FixtureCollection> = { posts: { items: original } };
  const { site, dir, out } = await setUp(t, collections, ['posts']);
  const first = await runLocal({ projectDir: dir, stack: 'test', out, pagesPerTask: 2 });
  t.is(first.status, 'SUCCEEDED', first.error);

  // Once the listing is taken, two posts are deleted and one is published: page numbers shift
  // under the crawl, which a page-range split would turn into a lost or doubled post.
  const deleted = new Set([150, 777]);
  let changed = false;
  site.setFault((request) => {
    if (!changed && request.url.searchParams.has('include')) {
      changed = true;
      collections.posts = { items: [...original.filter((p) => !deleted.has(Number(p.id))), ...posts(1, 5000, '2026-12-01T10:00:00')] };
    }
  });
  const second = await runLocal({ projectDir: dir, stack: 'test', out, pagesPerTask: 2, fullRefresh: true });
  t.is(second.status, 'SUCCEEDED', second.error);
  t.true(changed);
  t.like(endpoint(second, 'posts'), { parts: 5, items: 998, rows: 998, deleted: 2 });
  t.deepEqual(await tableIds(out, 'posts'), ids(original).filter((id) => !deleted.has(id)));

  const third = await runLocal({ projectDir: dir, stack: 'test', out, pagesPerTask: 2 });
  t.is(third.status, 'SUCCEEDED', third.error);
  t.like(endpoint(third, 'posts'), { mode: 'incremental', parts: undefined, rows: 999 });
  t.deepEqual((await tableIds(out, 'posts')).slice(-1), [5000], 'the post published during the split crawl arrives with the next run');
});

test('a part that fails fails its endpoint, and yesterday\'s table and state stay as they were', async (t) => {
  const collections: Record<string, FixtureCollection> = { posts: { items: posts(900, 1) } };
  const { site, dir, out } = await setUp(t, collections, ['posts']);
  const first = await runLocal({ projectDir: dir, stack: 'test', out, pagesPerTask: 3 });
  t.is(first.status, 'SUCCEEDED', first.error);
  const table = join(out, 'bronze', 'wordpress_api', 'posts', 'posts.parquet');
  const state = join(out, 'bronze', 'wordpress_api', '_state', 'posts.json');
  const before = { table: await readFile(table), state: await readFile(state) };

  collections.posts = { items: posts(900, 1, '2026-12-02T10:00:00') };
  site.setFault((request) =>
    request.url.searchParams.get('include')?.startsWith('401,') ? { status: 403, body: { code: 'rest_forbidden', message: 'Sorry, you are not allowed to do that.' } } : undefined,
  );
  const second = await runLocal({ projectDir: dir, stack: 'test', out, pagesPerTask: 3, fullRefresh: true });
  t.is(second.status, 'FAILED');
  const posts2 = endpoint(second, 'posts');
  t.false(posts2.ok);
  t.regex(posts2.error ?? '', /403.*rest_forbidden/);
  t.deepEqual(await readFile(table), before.table, 'the table is untouched');
  t.deepEqual(await readFile(state), before.state, 'and so is the state, so the next run starts from it');
});

test('a plan that would need more parts than a run can carry fails its endpoint, naming the pagesPerTask to set', async (t) => {
  const { site, dir, out } = await setUp(t, { posts: { items: posts(620, 1) } }, ['posts']);
  // One post a page: 620 pages, so 620 parts of one page, over the cap of 500.
  const result = await runLocal({ projectDir: dir, stack: 'test', out, pagesPerTask: 1, testing: { rawOptions: { perPage: 1 } } });
  t.is(result.status, 'FAILED');
  const failed = endpoint(result, 'posts');
  t.false(failed.ok);
  t.regex(failed.error ?? '', /620 ids at pagesPerTask 1 need 620 parts, more than the 500 .*set pagesPerTask to at least 2/);
  t.false(site.requests.some((r) => r.url.searchParams.has('include')), 'no part was fetched');
});
