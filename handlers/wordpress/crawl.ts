import type { EndpointSpec } from '../contracts';
import { forEachOrdered } from '../concurrency';
import type { JsonArrayFile } from './json-array-file';
import { writeJsonArrayFile } from './json-array-file';
import type { PageOutcome, Paginator } from './pagination';
import { isOrderByRejected, wordpressPagination } from './pagination';
import type { TransportOptions } from './transport';
import { getJson } from './transport';

export interface CrawlOptions extends TransportOptions {
  /**
   * Items per page of a paginated collection (WordPress' maximum).
   * @default 100
   */
  perPage: number;
  /**
   * Pages of one endpoint asked for at once (in flight or waiting for a slot of `limiter`), once
   * their number is known or guessed. Also the number of pages held in memory while waiting to be
   * written in order. The raw handler asks for one more than its request slots: with as many, a
   * slot sat idle while the oldest page was parsed and written whenever one endpoint had the
   * slots to itself (in the bench, one slot: 1.12x the ideal time against 1.06-1.08x).
   * @default requestConcurrency + 1 (5)
   */
  pageConcurrency: number;
  /**
   * Pages the collection had last time (from the bronze state's row count). Pages 2 to this are
   * asked for together with page 1 instead of once it has answered; those past the true end
   * answer "no such page" (or `[]`) and are dropped, at a cost of a few wasted requests.
   * @default undefined (page 1 first)
   */
  expectedPages?: number;
}

export interface CrawlResult {
  /** The JSON array file, complete. */
  path: string;
  items: number;
  bytes: number;
  sha256: string;
  /** Pages that returned items (1 for an unpaginated endpoint). */
  pages: number;
  /** `X-WP-Total` of the first page, when sent. */
  total?: number;
  /** Items dropped because their `id` was already written in this run. */
  duplicates: number;
  /** False when the server refused `orderby=id` and the crawl ran in its default order. */
  orderedById: boolean;
}

/**
 * Reads a whole endpoint into a JSON array file at `path`. Throws on the first failure; the
 * partial file is the caller's to delete, and nothing is uploaded from it.
 */
export async function crawlEndpoint(spec: EndpointSpec, path: string, options: CrawlOptions): Promise<CrawlResult> {
  const { summary, result } = await writeJsonArrayFile(path, (file) => (spec.paginate ? crawlPages(spec, file, options) : fetchDocument(spec, file, options)));
  return { ...summary, ...result };
}

/**
 * Empty pages in a row, before the announced last page, after which a crawl stops and fails. In
 * WordPress an empty page inside the announced range is legitimate: the posts, media and comments
 * controllers drop unreadable rows from each page after the SQL LIMIT, while `X-WP-Total` is the
 * query's row count (comments on private posts, media attached to drafts), so every announced page
 * answers, short or empty. Ten in a row is a thousand hidden items in id order at `per_page=100`;
 * a server announcing pages it does not have would otherwise be crawled to the timeout.
 */
const MAX_EMPTY_PAGES_IN_A_ROW = 10;

/**
 * Ids from earlier pages on one page that make it a copy rather than a shifted page. An item
 * published (or made public) during the crawl with an id below the page being read pushes one item
 * of every later page onto the next: one repeated id per such item, a handful at most in the
 * minutes a crawl takes. A page cache that ignores the query string repeats a whole page.
 */
const REPEATS_OF_A_COPIED_PAGE = 10;

type CrawlStats = Omit<CrawlResult, 'path' | 'items' | 'bytes' | 'sha256'>;

/** Custom endpoints: one JSON document (stored as a one-element array) or one unpaginated array. */
async function fetchDocument(spec: EndpointSpec, file: JsonArrayFile, options: TransportOptions): Promise<CrawlStats> {
  const response = await getJson(spec.url, options);
  await file.append(Array.isArray(response.body) ? response.body : [response.body]);
  return { pages: 1, duplicates: 0, orderedById: false };
}

async function crawlPages(spec: EndpointSpec, file: JsonArrayFile, options: CrawlOptions): Promise<CrawlStats> {
  const ordered = await crawlInOrder(spec, file, options, true);
  if (ordered !== 'orderby rejected') return ordered;
  // Without orderby in the URL there is nothing left to refuse.
  return (await crawlInOrder(spec, file, options, false)) as CrawlStats;
}

/**
 * Where a page waits for a request slot shared with other endpoints. Page 1 goes first: until it
 * answers, nothing else of its endpoint is known. Then the larger collection goes first, so the
 * run ends on small endpoints, whose last page, file and upload are quick, and a big endpoint's
 * upload overlaps the requests of the others.
 */
function pagePriority(page: number, knownPages: number): number {
  return page === 1 ? -Infinity : -knownPages;
}

/**
 * One ordered crawl; 'orderby rejected' when page 1 refused `orderby` (a custom collection that
 * does not know it): nothing was written, and the caller starts over in the default order.
 */
async function crawlInOrder(spec: EndpointSpec, file: JsonArrayFile, options: CrawlOptions, orderById: boolean): Promise<CrawlStats | 'orderby rejected'> {
  const controller = new AbortController();
  const transport: TransportOptions = { ...options, signal: options.signal ? AbortSignal.any([options.signal, controller.signal]) : controller.signal };
  const paginator = wordpressPagination(spec.url, { perPage: options.perPage, orderById });
  const expected = Math.max(1, options.expectedPages ?? 1);

  const seen = new Set<unknown>();
  let duplicates = 0;
  let pages = 0;
  let emptyRun = 0;
  let total: number | undefined;
  // The most pages any page read so far announced. Declared before `write`, which reads it:
  // Pulumi's closure serializer cannot capture a variable declared after the closure using it.
  let announced = 0;
  const write = async (outcome: PageOutcome, page: number) => {
    if (outcome.end) return false;
    emptyRun = outcome.items.length === 0 ? emptyRun + 1 : 0;
    if (emptyRun >= MAX_EMPTY_PAGES_IN_A_ROW) throw emptyRunError(paginator.url(page), { page, empty: emptyRun, announced, total, read: seen.size, perPage: options.perPage });
    pages++;
    const { fresh, repeated } = freshItems(outcome.items, seen);
    if (isCopiedPage(repeated, outcome.items.length, options.perPage)) throw copiedPageError(paginator.url(page), { page, repeated, items: outcome.items.length });
    duplicates += outcome.items.length - fresh.length;
    await file.append(fresh);
    return true;
  };

  // Until page 1 is read, pages up to the expected count are asked for; from then on, page n+1
  // while n <= the largest X-WP-TotalPages seen (later pages may announce more if the site grows
  // during the crawl), or right after the last read page when the paginator says there may be
  // more (a `Link rel="next"`, or no totals at all). Page 1's X-WP-TotalPages is heard with its
  // headers: the pages it announces are asked for then, not once its body has been read, parsed
  // and written (the bench: each endpoint's slots waited 20-50 ms for that).
  let heard = 0;
  let written = 0;
  let beyond = false;
  let scheduled = 0;
  try {
    await forEachOrdered(
      () => {
        const page = scheduled + 1;
        // Page 1's headers, once heard, replace the guess.
        if (page <= (written === 0 ? heard || expected : Math.max(announced, heard)) || (beyond && page === written + 1)) return ++scheduled;
        return undefined;
      },
      options.pageConcurrency,
      (page, more): Promise<PageOutcome | { failed: unknown }> => {
        const onHeaders = page !== 1 ? undefined : (headers: Headers) => {
          heard = Math.max(heard, paginator.totalPages(headers) ?? 0);
          more();
        };
        const fetching = fetchPage(paginator, page, { ...transport, onHeaders, priority: pagePriority(page, Math.max(announced, expected, heard)) });
        // A guessed page's failure counts only if the page turns out to exist.
        return page > 1 && written === 0 ? fetching.catch((failed: unknown) => ({ failed })) : fetching;
      },
      async (answer, page) => {
        // A page guessed before page 1 answered, beyond what the pages read so far announce, is
        // past the true end: whatever it holds (a repeat, an error page) is not the collection's.
        if (page > 1 && page > announced && !beyond) return false;
        if ('failed' in answer) throw answer.failed;
        const outcome = answer;
        written = page;
        if (page === 1) total = outcome.total;
        if (!(await write(outcome, page))) return false;
        announced = Math.max(announced, outcome.totalPages ?? 1);
        beyond = paginator.hasMore(outcome);
        return true;
      },
    );
  } catch (error) {
    if (written === 0 && orderById && isOrderByRejected(error)) return 'orderby rejected';
    throw error;
  } finally {
    // Stop requests still in flight after an error, once the end showed up early, or for pages
    // guessed past the true end.
    controller.abort();
  }
  return { pages, total, duplicates, orderedById: orderById };
}

/**
 * The items of a page whose id was not read before (items without an id are all kept), adding
 * their ids to `seen`; `repeated` counts the items whose id an earlier page held.
 */
function freshItems(items: unknown[], seen: Set<unknown>): { fresh: unknown[]; repeated: number } {
  const onThisPage = new Set<unknown>();
  let repeated = 0;
  const fresh = items.filter((item) => {
    const id = (item as { id?: unknown } | null)?.id;
    if (id === undefined || id === null) return true;
    if (!seen.has(id)) {
      seen.add(id);
      onThisPage.add(id);
      return true;
    }
    if (!onThisPage.has(id)) repeated++;
    return false;
  });
  return { fresh, repeated };
}

/** Whether a page repeats so much of earlier pages that it is a copy of one (see REPEATS_OF_A_COPIED_PAGE). */
export function isCopiedPage(repeated: number, items: number, perPage: number): boolean {
  return repeated * 2 > items && repeated >= Math.min(REPEATS_OF_A_COPIED_PAGE, perPage);
}

function copiedPageError(url: string, seen: { page: number; repeated: number; items: number }): Error {
  return new Error(
    `GET ${url}: page ${seen.page} repeats ${seen.repeated} of its ${seen.items} items from earlier pages, so the crawl cannot be the collection. ` +
      'Likely cause: a page cache or CDN in front of WordPress that ignores the query string and serves page 1 for every page. ' +
      'Fix: exclude /wp-json/ (and ?rest_route=) from that cache, or add the query string to its cache key.',
  );
}

function emptyRunError(url: string, seen: { page: number; empty: number; announced: number; total?: number; read: number; perPage: number }): Error {
  return new Error(
    `GET ${url}: ${seen.empty} pages in a row up to page ${seen.page} came back empty although X-WP-TotalPages announced ${seen.announced}` +
      `${seen.total === undefined ? '' : ` and X-WP-Total ${seen.total}`}, with ${seen.read} items read and no end signal from the site. ` +
      'Likely cause: a cache, proxy or plugin answering [] for pages WordPress would serve, or a server announcing pages it does not have ' +
      `(WordPress itself leaves a page empty only for items hidden from this reader, and ${seen.empty * seen.perPage} of those in a row is not plausible). ` +
      'Fix: open the URL in a browser, and exclude /wp-json/ from the cache or plugin that answers it.',
  );
}

async function fetchPage(paginator: Paginator, page: number, transport: TransportOptions): Promise<PageOutcome> {
  let response;
  try {
    response = await getJson(paginator.url(page), transport);
  } catch (error) {
    return paginator.readError(error);
  }
  return paginator.read(page, response);
}
