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
   * Pages of one endpoint in flight once `X-WP-TotalPages` is known. Also the number of pages held
   * in memory while waiting to be written in order.
   * @default 4
   */
  pageConcurrency: number;
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
  const controller = new AbortController();
  const transport: TransportOptions = { ...options, signal: options.signal ? AbortSignal.any([options.signal, controller.signal]) : controller.signal };
  let orderedById = true;
  let paginator = wordpressPagination(spec.url, { perPage: options.perPage, orderById: orderedById });
  let first: PageOutcome;
  try {
    first = await fetchPage(paginator, 1, transport);
  } catch (error) {
    if (!isOrderByRejected(error)) throw error;
    orderedById = false;
    paginator = wordpressPagination(spec.url, { perPage: options.perPage, orderById: orderedById });
    first = await fetchPage(paginator, 1, transport);
  }

  const seen = new Set<unknown>();
  let duplicates = 0;
  let pages = 0;
  let emptyRun = 0;
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

  // Page n+1 is asked for while n <= the largest X-WP-TotalPages seen (later pages may announce
  // more if the site grows during the crawl), or right after the last read page when the
  // paginator says there may be more (a `Link rel="next"`, or no totals at all).
  let announced = first.totalPages ?? 1;
  let written = 1;
  let beyond = !first.end && paginator.hasMore(first);
  let scheduled = 1;
  if (await write(first)) {
    try {
      await forEachOrdered(
        () => {
          const page = scheduled + 1;
          if (page <= announced || (beyond && page === written + 1)) return ++scheduled;
          return undefined;
        },
        options.pageConcurrency,
        (page) => fetchPage(paginator, page, transport),
        async (outcome, page) => {
          written = page;
          if (!(await write(outcome))) return false;
          announced = Math.max(announced, outcome.totalPages ?? 0);
          beyond = paginator.hasMore(outcome);
          return true;
        },
      );
    } finally {
      // Stop requests still in flight after an error or once the end showed up early.
      controller.abort();
    }
  }
  return { pages, total: first.total, duplicates, orderedById };
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
