import test from 'ava';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EndpointSpec } from '../../handlers/contracts';
import type { CrawlOptions } from '../../handlers/wordpress/crawl';
import { crawlEndpoint } from '../../handlers/wordpress/crawl';
import { defaultTransportOptions } from '../../handlers/wordpress/transport';
import type { FixtureCollection, WordPressFixtureOptions } from '../../local/demo-site/rest-server';
import { generateItems, startWordPressFixture } from '../../local/demo-site/rest-server';

const options: CrawlOptions = { ...defaultTransportOptions, maxRetries: 2, sleep: async () => undefined, perPage: 100, pageConcurrency: 4 };

async function crawl(t: import('ava').ExecutionContext, fixture: WordPressFixtureOptions, name: string, overrides: Partial<CrawlOptions> = {}, specUrl?: (api: string) => string) {
  const wp = await startWordPressFixture(fixture);
  const dir = await mkdtemp(join(tmpdir(), 'crawl-test-'));
  t.teardown(async () => {
    await wp.close();
    await rm(dir, { recursive: true, force: true });
  });
  const spec: EndpointSpec = { name, url: specUrl ? specUrl(wp.origin) : `${wp.api}/wp/v2/${name}`, paginate: true };
  const result = await crawlEndpoint(spec, join(dir, `${name}.json`), { ...options, ...overrides });
  const text = await readFile(result.path, 'utf8');
  return { wp, result, text, items: JSON.parse(text) as Array<{ id: number }> };
}

const ids = (items: Array<{ id: number }>) => items.map((i) => i.id);
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

test('a posts-like collection is read to the end marked by 400 rest_post_invalid_page_number, in id order', async (t) => {
  const { wp, result, items } = await crawl(t, { collections: { posts: { items: generateItems(1171, 65) } } }, 'posts');
  t.deepEqual(ids(items), range(65, 1235));
  t.like(result, { items: 1171, pages: 12, total: 1171, duplicates: 0, orderedById: true });
  t.true(wp.requests.every((r) => r.url.searchParams.get('orderby') === 'id' && r.url.searchParams.get('order') === 'asc' && r.url.searchParams.get('per_page') === '100'));
});

test('a terms-like collection ending with 200 [] is read whole', async (t) => {
  const { items, result } = await crawl(t, { collections: { tags: { items: generateItems(250, 17), kind: 'terms' } } }, 'tags');
  t.is(items.length, 250);
  t.is(result.pages, 3);
});

test('short pages in the middle (X-WP-Total counting hidden items) do not stop the crawl', async (t) => {
  const comments: FixtureCollection = { items: generateItems(3000), kind: 'terms', hidden: 7 };
  const { items, result, wp } = await crawl(t, { collections: { comments } }, 'comments');
  t.is(items.length, 3000);
  t.deepEqual(ids(items), range(1, 3000));
  t.is(result.total, 3007);
  const sizes = new Set<number>();
  for (const r of wp.requests) sizes.add(Number(r.url.searchParams.get('page')));
  t.true(sizes.has(31), 'the last announced page is asked for');
});

test('a page emptied entirely by hidden items before the last page is skipped, not taken as the end', async (t) => {
  const items = generateItems(20);
  const slots: FixtureCollection = { items, kind: 'terms', hidden: 0 };
  // 10 items per page; page 2 answers [] while the headers announce 3 pages.
  const fault = (req: { url: URL }) => {
    const page = Number(req.url.searchParams.get('page'));
    const body = page === 1 ? items.slice(0, 10) : page === 2 ? [] : page === 3 ? items.slice(10, 20) : [];
    return { body, headers: { 'x-wp-total': '30', 'x-wp-totalpages': '3' } };
  };
  const { result, items: got } = await crawl(t, { collections: { comments: slots }, fault }, 'comments', { perPage: 10 });
  t.deepEqual(ids(got), range(1, 20));
  t.is(result.items, 20);
});

test('pages fetched concurrently are written in page order', async (t) => {
  // Early pages answer slowest, so completion order is the reverse of page order.
  const fault = (req: { url: URL }) => ({ delayMs: Math.max(0, 60 - 10 * Number(req.url.searchParams.get('page'))), passThrough: true });
  const { items, wp } = await crawl(t, { collections: { posts: { items: generateItems(600) } }, fault }, 'posts', { pageConcurrency: 6 });
  t.deepEqual(ids(items), range(1, 600));
  t.is(wp.requests.length, 6, 'X-WP-TotalPages and the absent next link make a probe past the end unnecessary');
});

test('items repeated on a later page are written once', async (t) => {
  const all = generateItems(150);
  const fault = (req: { url: URL }) => {
    const page = Number(req.url.searchParams.get('page'));
    if (page === 2) return { body: [...all.slice(95, 100), ...all.slice(100, 150)], headers: { 'x-wp-total': '150', 'x-wp-totalpages': '2' } };
    return undefined;
  };
  const { items, result } = await crawl(t, { collections: { posts: { items: all } }, fault }, 'posts');
  t.deepEqual(ids(items), range(1, 150));
  t.is(result.duplicates, 5);
});

test('without paging headers the crawl continues until an empty page', async (t) => {
  const all = generateItems(250);
  const fault = (req: { url: URL }) => {
    const page = Number(req.url.searchParams.get('page'));
    return { body: all.slice((page - 1) * 100, page * 100) };
  };
  const { items, wp } = await crawl(t, { collections: { posts: { items: all } }, fault }, 'posts');
  t.is(items.length, 250);
  t.deepEqual(wp.requests.map((r) => r.url.searchParams.get('page')), ['1', '2', '3', '4']);
});

test('a Link rel=next to another host is never requested; page URLs are built from the endpoint', async (t) => {
  const all = generateItems(150);
  const fault = (req: { url: URL }) => {
    const page = Number(req.url.searchParams.get('page'));
    const body = all.slice((page - 1) * 100, page * 100);
    const headers: Record<string, string> = page === 1 ? { link: '<http://evil.example/wp-json/wp/v2/posts?page=2>; rel="next"' } : {};
    return { body, headers };
  };
  const { items, wp } = await crawl(t, { collections: { posts: { items: all } }, fault }, 'posts');
  t.is(items.length, 150);
  t.true(wp.requests.every((r) => r.headers.host === new URL(wp.origin).host));
});

test('a server that refuses orderby is crawled again without it', async (t) => {
  const { items, result, wp } = await crawl(t, { collections: { stores: { items: generateItems(120), orderby: false } } }, 'stores');
  t.is(items.length, 120);
  t.false(result.orderedById);
  t.is(wp.requests[0].url.searchParams.get('orderby'), 'id');
  t.true(wp.requests.slice(1).every((r) => !r.url.searchParams.has('orderby')));
});

test('?rest_route= endpoints keep their route in every page URL', async (t) => {
  const { items, wp } = await crawl(t, { collections: { posts: { items: generateItems(130) } } }, 'posts', {}, (origin) => `${origin}/?rest_route=/wp/v2/posts`);
  t.is(items.length, 130);
  t.true(wp.requests.every((r) => r.url.pathname === '/' && r.url.searchParams.get('rest_route') === '/wp/v2/posts'));
});

test('an object where a page should be fails the endpoint with what was received', async (t) => {
  const fault = () => ({ body: { code: 'nope', message: 'not a list' } });
  await t.throwsAsync(crawl(t, { collections: { posts: { items: generateItems(5) } }, fault }, 'posts'), { message: /expected a JSON array of items, got an object with code "nope"/ });
});

test('a page that keeps failing fails the whole endpoint, naming the page URL', async (t) => {
  const fault = (req: { url: URL }) => (req.url.searchParams.get('page') === '3' ? { status: 502, body: '<html>Bad gateway</html>', headers: { 'content-type': 'text/html' } } : undefined);
  await t.throwsAsync(crawl(t, { collections: { posts: { items: generateItems(500) } }, fault }, 'posts'), { message: /page=3.* -> HTTP 502 .*Bad gateway.*after 3 attempts/ });
});

test('an unpaginated endpoint is stored as-is: a document as a one-element array, an array unchanged', async (t) => {
  const wp = await startWordPressFixture({ documents: { '/acme/v1/settings': { title: 'Site', n: 1 }, '/acme/v1/stores': [{ id: 1 }, { id: 1 }] } });
  const dir = await mkdtemp(join(tmpdir(), 'crawl-test-'));
  t.teardown(async () => {
    await wp.close();
    await rm(dir, { recursive: true, force: true });
  });
  const doc = await crawlEndpoint({ name: 'settings', url: `${wp.api}/acme/v1/settings`, paginate: false }, join(dir, 's.json'), options);
  t.deepEqual(JSON.parse(await readFile(doc.path, 'utf8')), [{ title: 'Site', n: 1 }]);
  const list = await crawlEndpoint({ name: 'stores', url: `${wp.api}/acme/v1/stores`, paginate: false }, join(dir, 'l.json'), options);
  t.deepEqual(JSON.parse(await readFile(list.path, 'utf8')), [{ id: 1 }, { id: 1 }]);
  t.is(wp.requests.length, 2);
  t.false(wp.requests.some((r) => r.url.searchParams.has('page')));
});

test('the reported byte count and SHA-256 are those of the written file', async (t) => {
  const { result, text } = await crawl(t, { collections: { posts: { items: generateItems(205) } } }, 'posts');
  t.is(result.bytes, Buffer.byteLength(text));
  t.is(result.sha256, createHash('sha256').update(text).digest('hex'));
});

test('an empty collection gives an empty array', async (t) => {
  const { items, result } = await crawl(t, { collections: { posts: { items: [] } } }, 'posts');
  t.deepEqual(items, []);
  t.is(result.pages, 0);
});
