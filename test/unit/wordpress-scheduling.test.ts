import test from 'ava';
import type { ExecutionContext } from 'ava';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLimiter } from '../../handlers/concurrency';
import type { CrawlOptions, CrawlResult } from '../../handlers/wordpress/crawl';
import { crawlEndpoint } from '../../handlers/wordpress/crawl';
import { defaultTransportOptions } from '../../handlers/wordpress/transport';
import type { FaultHook, FixtureCollection, WordPressFixture } from '../../local/demo-site/rest-server';
import { generateItems, startWordPressFixture } from '../../local/demo-site/rest-server';
import { recordUnhandledRejections } from '../helpers/unhandled-rejections';

/**
 * How the crawler uses its request slots: pages guessed from yesterday's size go out with page 1,
 * those past the true end are dropped cleanly, and one limiter shared by several endpoints keeps
 * all of its slots busy without ever exceeding them.
 */

const options: CrawlOptions = { ...defaultTransportOptions, maxRetries: 2, sleep: async () => undefined, perPage: 100, pageConcurrency: 4 };

/** A promise and the function that resolves it. */
function gate(): { opened: Promise<void>; open(): void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

async function site(t: ExecutionContext, collections: Record<string, FixtureCollection>, fault?: FaultHook, keepAliveMs?: number): Promise<{ wp: WordPressFixture; dir: string }> {
  const wp = await startWordPressFixture({ collections, fault, keepAliveMs });
  const dir = await mkdtemp(join(tmpdir(), 'scheduling-test-'));
  t.teardown(async () => {
    await wp.close();
    await rm(dir, { recursive: true, force: true });
  });
  return { wp, dir };
}

async function crawlOf(wp: WordPressFixture, dir: string, name: string, overrides: Partial<CrawlOptions>): Promise<{ result: CrawlResult; ids: number[] }> {
  const result = await crawlEndpoint({ name, url: `${wp.api}/wp/v2/${name}`, paginate: true }, join(dir, `${name}.json`), { ...options, ...overrides });
  const items = JSON.parse(await readFile(result.path, 'utf8')) as Array<{ id: number }>;
  return { result, ids: items.map((item) => item.id) };
}

const pageOf = (r: { url: URL }) => Number(r.url.searchParams.get('page'));
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

test('with the expected page count known, pages 2 to n are asked for before page 1 has answered', async (t) => {
  // Page 1 is held until page 3 has arrived: a crawler that waits for page 1's X-WP-TotalPages
  // would never send page 3, and the test would time out instead of passing.
  const third = gate();
  const { wp, dir } = await site(t, { posts: { items: generateItems(250) } }, (request) => {
    if (pageOf(request) === 3) third.open();
    return pageOf(request) === 1 ? { until: third.opened, passThrough: true } : undefined;
  });
  const { result, ids } = await crawlOf(wp, dir, 'posts', { expectedPages: 3 });
  t.deepEqual(ids, range(1, 250));
  t.like(result, { items: 250, pages: 3, total: 250, duplicates: 0, orderedById: true });
  t.deepEqual(wp.requests.map(pageOf).sort(), [1, 2, 3]);
});

test('without an expected count, the pages page 1 announces are asked for when its headers arrive, before its body', async (t) => {
  // Page 1's body is held until page 3 has arrived: a crawler that waits to read page 1 before
  // asking for more would never send page 3, and the test would time out instead of passing.
  const third = gate();
  const { wp, dir } = await site(t, { posts: { items: generateItems(250) } }, (request) => {
    if (pageOf(request) === 3) third.open();
    return pageOf(request) === 1 ? { bodyUntil: third.opened, passThrough: true } : undefined;
  });
  const { result, ids } = await crawlOf(wp, dir, 'posts', {});
  t.deepEqual(ids, range(1, 250));
  t.like(result, { items: 250, pages: 3, total: 250, duplicates: 0, orderedById: true });
  t.deepEqual(wp.requests.map(pageOf).sort(), [1, 2, 3]);
});

test('a page 1 whose body fails after its headers announced more pages fails the crawl, and the pages asked for early are stopped', async (t) => {
  const recorder = recordUnhandledRejections(t);
  const { wp, dir } = await site(t, { posts: { items: generateItems(950) } }, (request) =>
    pageOf(request) === 1 ? { status: 200, headers: { 'x-wp-total': '950', 'x-wp-totalpages': '10' }, body: '[{"id":1},', truncateAfter: 5 } : { delayMs: 50, passThrough: true },
  );
  const error = await t.throwsAsync(crawlOf(wp, dir, 'posts', {}));
  t.regex(error.message, /page=1/);
  t.true(wp.requests.some((r) => pageOf(r) > 1), 'pages 2 and on were asked for from the headers');
  t.true(wp.requests.length <= 1 + 3 * options.pageConcurrency, `at most the window, at every attempt of page 1: ${wp.requests.length} requests`);
  t.deepEqual(await recorder.drained(), []);
});

for (const kind of ['posts', 'terms'] as const) {
  test(`pages guessed past the true end of a ${kind}-like collection are dropped: no error, every id once, no unhandled rejection`, async (t) => {
    const recorder = recordUnhandledRejections(t);
    // Yesterday the collection had 8 pages; today it has 2 (and a half-full last page).
    const { wp, dir } = await site(t, { things: { items: generateItems(150), kind } });
    const { result, ids } = await crawlOf(wp, dir, 'things', { expectedPages: 8, pageConcurrency: 6 });
    t.deepEqual(ids, range(1, 150));
    t.like(result, { items: 150, pages: 2, total: 150, duplicates: 0 });
    t.true(wp.requests.some((r) => pageOf(r) > 2), 'pages past the end were asked for');
    t.true(wp.requests.length <= 6, 'no more than the window was guessed');
    t.deepEqual(await recorder.drained(), []);
  });
}

test('a guessed page that the announced total rules out is dropped, even when the server answers it with data', async (t) => {
  // A site (or proxy) that ignores ?page= answers every page with page 1 and X-WP-TotalPages 1.
  const items = generateItems(60);
  const { wp, dir } = await site(t, {}, () => ({ status: 200, body: items, headers: { 'x-wp-total': '60', 'x-wp-totalpages': '1' } }));
  const { result, ids } = await crawlOf(wp, dir, 'posts', { expectedPages: 3 });
  t.deepEqual(ids, range(1, 60));
  t.like(result, { items: 60, pages: 1, duplicates: 0 });
  t.is(wp.requests.length, 3);
});

test('a guessed page past the end that fails (a 404, a 500 after retries) does not fail the crawl', async (t) => {
  const recorder = recordUnhandledRejections(t);
  const { wp, dir } = await site(t, { posts: { items: generateItems(150) } }, (request) => {
    if (pageOf(request) === 3) return { status: 404, body: { code: 'rest_no_route', message: 'No route', data: { status: 404 } } };
    if (pageOf(request) >= 4) return { status: 500, body: 'boom' };
    return undefined;
  });
  const { result, ids } = await crawlOf(wp, dir, 'posts', { expectedPages: 5 });
  t.deepEqual(ids, range(1, 150));
  t.like(result, { items: 150, pages: 2 });
  t.deepEqual(await recorder.drained(), []);
});

test('a guessed page inside the announced total that fails still fails the crawl', async (t) => {
  const { wp, dir } = await site(t, { posts: { items: generateItems(350) } }, (request) => (pageOf(request) === 3 ? { status: 404, body: { code: 'rest_no_route', message: 'No route', data: { status: 404 } } } : undefined));
  const error = await t.throwsAsync(crawlOf(wp, dir, 'posts', { expectedPages: 4 }));
  t.regex(error.message, /page=3.*HTTP 404.*rest_no_route/);
});

test('a collection larger than expected is read to its announced end', async (t) => {
  const { wp, dir } = await site(t, { posts: { items: generateItems(730) } });
  const { result, ids } = await crawlOf(wp, dir, 'posts', { expectedPages: 3 });
  t.deepEqual(ids, range(1, 730));
  t.is(result.pages, 8);
  t.deepEqual(wp.requests.map(pageOf).sort((a, b) => a - b), range(1, 8));
});

test('an empty collection with a guessed size ends on page 1 and keeps nothing from the guessed pages', async (t) => {
  const recorder = recordUnhandledRejections(t);
  const { wp, dir } = await site(t, { comments: { items: [], kind: 'terms' } });
  const { result, ids } = await crawlOf(wp, dir, 'comments', { expectedPages: 4 });
  t.deepEqual(ids, []);
  t.like(result, { items: 0, pages: 0, total: 0 });
  t.deepEqual(await recorder.drained(), []);
});

test('a refused orderby on page 1 restarts the guessed pages in the default order, each id once', async (t) => {
  const recorder = recordUnhandledRejections(t);
  const { wp, dir } = await site(t, { custom: { items: generateItems(320), orderby: false } });
  const { result, ids } = await crawlOf(wp, dir, 'custom', { expectedPages: 4 });
  t.deepEqual([...ids].sort((a, b) => a - b), range(1, 320));
  t.like(result, { items: 320, pages: 4, duplicates: 0, orderedById: false });
  const unordered = wp.requests.filter((r) => !r.url.searchParams.has('orderby')).map(pageOf);
  t.deepEqual(unordered.sort(), [1, 2, 3, 4]);
  t.deepEqual(await recorder.drained(), []);
});

test('one limiter shared by several endpoints fills all its slots and never exceeds them', async (t) => {
  // Every answer is held until four requests are pending at once; a crawler that could not keep
  // four in flight across endpoints would never open the gate (and the test would time out).
  const full = gate();
  let wp!: WordPressFixture;
  const fault: FaultHook = () => {
    if (wp.inFlight >= 4) full.open();
    return { until: full.opened, passThrough: true };
  };
  const collections: Record<string, FixtureCollection> = {
    posts: { items: generateItems(420) },
    pages: { items: generateItems(30) },
    tags: { items: generateItems(190), kind: 'terms' },
    categories: { items: generateItems(5), kind: 'terms' },
    users: { items: generateItems(20), kind: 'terms' },
  };
  const started = await site(t, collections, fault);
  wp = started.wp;
  const limiter = createLimiter(4);
  const crawls = await Promise.all(Object.keys(collections).map((name) => crawlOf(wp, started.dir, name, { limiter })));
  t.deepEqual(
    crawls.map((c) => c.ids.length),
    [420, 30, 190, 5, 20],
  );
  t.is(wp.maxInFlight, 4);
});

test('a crawl under a limiter keeps one kept-alive connection per slot: a freed slot waits for its socket to be reusable', async (t) => {
  // undici returns a kept-alive socket to its pool a turn of the event loop after the response;
  // a slot handed on before that found every socket busy and opened one more connection.
  const { wp, dir } = await site(t, { posts: { items: generateItems(1200) } }, undefined, 5000);
  const { result, ids } = await crawlOf(wp, dir, 'posts', { limiter: createLimiter(2), pageConcurrency: 3, expectedPages: 12 });
  t.deepEqual(ids, range(1, 1200));
  t.is(result.pages, 12);
  t.is(wp.requests.length, 12);
  t.is(wp.connections, 2);
});

test('a limiter starts waiting tasks lowest priority first, in arrival order among equals, never more than its limit at once', async (t) => {
  const limiter = createLimiter(2);
  const order: string[] = [];
  let running = 0;
  let most = 0;
  const hold = gate();
  const task = (name: string, held?: Promise<void>) => async () => {
    running++;
    most = Math.max(most, running);
    order.push(name);
    await held;
    running--;
    return name;
  };
  const all = [
    limiter(task('a', hold.opened)),
    limiter(task('b', hold.opened)),
    limiter(task('late-1'), 5),
    limiter(task('late-2'), 5),
    limiter(task('first'), -Infinity),
    limiter(task('default')),
  ];
  hold.open();
  t.deepEqual(await Promise.all(all), ['a', 'b', 'late-1', 'late-2', 'first', 'default']);
  t.deepEqual(order, ['a', 'b', 'first', 'default', 'late-1', 'late-2']);
  t.is(most, 2);
});
