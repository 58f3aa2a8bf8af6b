import type { EndpointSpec } from '../contracts';
import { forEachOrdered } from '../concurrency';
import type { JsonArrayFile } from './json-array-file';
import { openJsonArrayFile } from './json-array-file';
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
  const file = openJsonArrayFile(path);
  try {
    const crawl = spec.paginate ? await crawlPages(spec, file, options) : await fetchDocument(spec, file, options);
    return { ...(await file.close()), ...crawl };
  } catch (error) {
    file.abort();
    throw error;
  }
}

const MAX_EMPTY_PAGES_IN_A_ROW = 3;

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
  const write = async (outcome: PageOutcome) => {
    if (outcome.end) return false;
    // One empty page before the announced last is a page of hidden items; a run of them is a
    // server announcing pages it does not have, which would otherwise be crawled to the timeout.
    emptyRun = outcome.items.length === 0 ? emptyRun + 1 : 0;
    if (emptyRun >= MAX_EMPTY_PAGES_IN_A_ROW) return false;
    pages++;
    const fresh = outcome.items.filter((item) => {
      const id = (item as { id?: unknown } | null)?.id;
      if (id === undefined || id === null) return true;
      if (seen.has(id)) return false;
      seen.add(id);
      return true;
    });
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
  let announced = 0;
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
        if (!(await write(outcome))) return false;
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

async function fetchPage(paginator: Paginator, page: number, transport: TransportOptions): Promise<PageOutcome> {
  let response;
  try {
    response = await getJson(paginator.url(page), transport);
  } catch (error) {
    return paginator.readError(error);
  }
  return paginator.read(page, response);
}
