import test from 'ava';
import type { ExecutionContext } from 'ava';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CrawlOptions, CrawlResult } from '../../handlers/wordpress/crawl';
import { crawlEndpoint, isCopiedPage } from '../../handlers/wordpress/crawl';
import { defaultTransportOptions } from '../../handlers/wordpress/transport';
import { startServer } from '../helpers/loopback-server';

/**
 * Crawls that cannot be the collection (a page cache that ignores the query string, a server
 * announcing pages it does not have) fail the endpoint, while what WordPress really answers, totals
 * counting items this reader may not see, still passes.
 */

const options: CrawlOptions = { ...defaultTransportOptions, maxRetries: 0, sleep: async () => undefined, perPage: 100, pageConcurrency: 4 };

/** One slot per row WordPress' SQL query finds: an id the reader may see, or null for one it may not. */
type Slot = number | null;

interface Site {
  slots: Slot[];
  /** How the collection answers past its last page: posts/pages/media 400, comments/terms/users 200 []. */
  end: 'posts' | 'comments';
  /** Answers page 1 to every page, as a cache keyed without the query string does. */
  ignoresPage?: boolean;
  /** Rewrites a page before it is sent. */
  override?: (page: number, body: Array<{ id: number }>) => Array<{ id: number }>;
}

/**
 * WordPress' get_items as the posts and comments controllers write it: the SQL query pages the rows
 * (LIMIT/OFFSET), the rows the reader may not see are dropped from the page afterwards, and
 * X-WP-Total / X-WP-TotalPages are the query's row count, hidden rows included.
 */
function answer(site: Site, req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://loopback');
  const perPage = Number(url.searchParams.get('per_page') ?? 10);
  const page = site.ignoresPage ? 1 : Number(url.searchParams.get('page') ?? 1);
  const total = site.slots.length;
  const totalPages = Math.ceil(total / perPage);
  const headers = { 'content-type': 'application/json; charset=UTF-8', 'x-wp-total': String(total), 'x-wp-totalpages': String(totalPages) };
  if (page > totalPages && site.end === 'posts' && total > 0) {
    res.writeHead(400, headers).end(JSON.stringify({ code: 'rest_post_invalid_page_number', message: 'The page number requested is larger than the number of pages available.', data: { status: 400 } }));
    return;
  }
  const visible = site.slots.slice((page - 1) * perPage, page * perPage).filter((slot): slot is number => slot !== null);
  const body = visible.map((id) => ({ id }));
  res.writeHead(200, headers).end(JSON.stringify(site.override ? site.override(page, body) : body));
}

async function crawlSite(t: ExecutionContext, site: Site, overrides: Partial<CrawlOptions> = {}, pagesAsked: number[] = []): Promise<{ result: CrawlResult; ids: number[]; pagesAsked: number[] }> {
  const server = await startServer((req, res) => {
    pagesAsked.push(Number(new URL(req.url ?? '/', 'http://loopback').searchParams.get('page')));
    answer(site, req, res);
  });
  const dir = await mkdtemp(join(tmpdir(), 'pagination-sanity-'));
  t.teardown(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });
  const result = await crawlEndpoint({ name: 'items', url: `${server.origin}/wp-json/wp/v2/items`, paginate: true }, join(dir, 'items.json'), { ...options, ...overrides });
  const ids = (JSON.parse(await readFile(result.path, 'utf8')) as Array<{ id: number }>).map((item) => item.id);
  return { result, ids, pagesAsked };
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);
/** `count` slots of ids from `first`, every one visible. */
const visible = (first: number, count: number): Slot[] => range(first, first + count - 1);
const hidden = (count: number): Slot[] => Array.from({ length: count }, () => null);

test('a page cache that serves page 1 for every page fails the crawl, naming the cache and the fix', async (t) => {
  const error = await t.throwsAsync(crawlSite(t, { slots: visible(1, 450), end: 'posts', ignoresPage: true }));
  t.regex(error.message, /page=2\b.*page 2 repeats 100 of its 100 items from earlier pages/);
  t.regex(error.message, /cache or CDN .* ignores the query string/);
  t.regex(error.message, /Fix: exclude \/wp-json\//);
});

test('a page cache is caught even when the page count was guessed from the last run', async (t) => {
  await t.throwsAsync(crawlSite(t, { slots: visible(1, 450), end: 'posts', ignoresPage: true }, { expectedPages: 5 }), { message: /repeats 100 of its 100 items/ });
});

test('a later page copied from another later page fails as well', async (t) => {
  // A cache that got page 2 first and keys by something else than the page: page 3 is page 2 again.
  const site: Site = { slots: visible(1, 400), end: 'posts', override: (page, body) => (page === 3 ? range(101, 200).map((id) => ({ id })) : body) };
  await t.throwsAsync(crawlSite(t, site), { message: /page=3\b.*page 3 repeats 100 of its 100 items/ });
});

test('comments on private posts: X-WP-Total counts 900 comments the pages never return, nine empty pages in a row, and the crawl still reads every visible comment', async (t) => {
  const site: Site = { slots: [...visible(1, 200), ...hidden(900), ...visible(1101, 370)], end: 'comments' };
  const { result, ids, pagesAsked } = await crawlSite(t, site);
  t.deepEqual(ids, [...range(1, 200), ...range(1101, 1470)]);
  t.like(result, { items: 570, total: 1470, duplicates: 0 });
  t.true(pagesAsked.includes(15), 'the last announced page is read');
});

test('media attached to drafts: a third of X-WP-Total hidden on every page, ending with 400 past the last page, passes', async (t) => {
  const slots = range(1, 3000).map((id) => (id % 3 === 0 ? null : id));
  const { result, ids } = await crawlSite(t, { slots, end: 'posts' });
  t.is(ids.length, 2000);
  t.like(result, { items: 2000, total: 3000, pages: 30 });
});

test('a site that announces far more pages than it serves (X-WP-Total 1 000 000, then [] for every page) fails after ten empty pages, not at the timeout', async (t) => {
  const site: Site = { slots: [...visible(1, 100), ...hidden(999_900)], end: 'comments', override: (page, body) => (page === 1 ? body : []) };
  const pagesAsked: number[] = [];
  const error = await t.throwsAsync(crawlSite(t, site, { pageConcurrency: 1 }, pagesAsked));
  t.deepEqual(pagesAsked, range(1, 11), 'one request per page, and none after the tenth empty one');
  t.regex(error.message, /page=11\b.*10 pages in a row up to page 11 came back empty although X-WP-TotalPages announced 10000 and X-WP-Total 1000000, with 100 items read and no end signal/);
  t.regex(error.message, /Likely cause: a cache, proxy or plugin answering \[\]/);
});

test('an item published during the crawl shifts later pages by one: the repeated id is dropped, counted and no error', async (t) => {
  // Page 3 was asked after an id below it became visible, so it starts with page 2's last item.
  const site: Site = { slots: visible(1, 250), end: 'posts', override: (page, body) => (page === 3 ? [{ id: 200 }, ...body] : body) };
  const { result, ids } = await crawlSite(t, site, { pageConcurrency: 1 });
  t.deepEqual(ids, range(1, 250));
  t.is(result.duplicates, 1);
});

test('a copied page is one whose repeats are more than half of it and at least ten (or a whole page when pages are smaller)', (t) => {
  t.true(isCopiedPage(100, 100, 100));
  t.true(isCopiedPage(10, 19, 100));
  t.false(isCopiedPage(10, 20, 100), 'half a page repeated is a shift, not a copy');
  t.false(isCopiedPage(9, 9, 100), 'nine repeats are items published during the crawl');
  t.true(isCopiedPage(5, 5, 5), 'pages of five: a whole repeated page is a copy');
  t.false(isCopiedPage(1, 2, 100), "a last page's single repeat is a shift");
});
