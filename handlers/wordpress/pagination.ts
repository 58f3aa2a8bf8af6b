import type { JsonResponse } from './transport';
import { isRequestError } from './transport';
import { pageUrl, parseLinkHeader } from './url';

/** What one page said about its collection. */
export interface PageOutcome {
  items: unknown[];
  /** The answer means "past the last page": nothing more to read. */
  end: boolean;
  /** `X-WP-TotalPages`, when sent. */
  totalPages?: number;
  /** `X-WP-Total`, when sent. */
  total?: number;
  /** A `Link rel="next"` was sent. Only its presence counts; its URL is never followed. */
  hasNext: boolean;
}

/**
 * A pagination strategy, kept apart from transport as dlt's rest_api does: it builds page URLs
 * and reads answers, while the crawler decides scheduling, concurrency and output.
 */
export interface Paginator {
  /** URL of page `page` (1-based). */
  url(page: number): string;
  /** Reads a successful answer to page `page`. Throws when its body is not a page (e.g. an object). */
  read(page: number, response: JsonResponse): PageOutcome;
  /** The pages a successful answer's headers announce, when they do. */
  totalPages(headers: Headers): number | undefined;
  /** Reads a failed request: an end-of-collection signal becomes an outcome, anything else is rethrown. */
  readError(error: unknown): PageOutcome;
  /** Whether to ask for the page after `outcome`'s, once every page announced so far is read. */
  hasMore(outcome: PageOutcome): boolean;
}

export interface WordPressPaginationOptions {
  /**
   * Items per page; WordPress refuses more than 100.
   * @default 100
   */
  perPage: number;
  /**
   * Ask for `orderby=id&order=asc`: the default order (date) is not stable between pages when
   * posts share a date, so items could be skipped or repeated.
   * @default true
   */
  orderById: boolean;
}

/**
 * WordPress REST collections: `page`/`per_page`, `X-WP-Total`/`X-WP-TotalPages`, `Link`.
 * Past the end, posts/pages/media answer 400 `rest_post_invalid_page_number` while
 * comments/terms/users answer 200 `[]`; both mean "done". Short pages are not the end: comments'
 * totals count items on private posts that pages omit, so pages of 99 or 98 occur mid-collection.
 */
export function wordpressPagination(endpointUrl: string, options: WordPressPaginationOptions): Paginator {
  const totalPagesOf = (headers: Headers) => headerNumber(headers, 'x-wp-totalpages');
  return {
    url: (page) => pageUrl(endpointUrl, { page, perPage: options.perPage, orderById: options.orderById }),
    read(page, response) {
      if (!Array.isArray(response.body)) {
        throw new Error(`GET ${response.url} -> HTTP ${response.status}: expected a JSON array of items, got ${describe(response.body)}`);
      }
      const totalPages = totalPagesOf(response.headers);
      return {
        items: response.body,
        // An empty page before the announced last one is not the end: a whole page of items the
        // total counts but the pages omit (comments on private posts) comes back empty.
        end: response.body.length === 0 && (totalPages === undefined || page >= totalPages),
        totalPages,
        total: headerNumber(response.headers, 'x-wp-total'),
        hasNext: 'next' in parseLinkHeader(response.headers.get('link')),
      };
    },
    totalPages: totalPagesOf,
    readError(error) {
      if (isRequestError(error, 400, 'rest_post_invalid_page_number')) return { items: [], end: true, hasNext: false };
      throw error;
    },
    hasMore(outcome) {
      if (outcome.hasNext) return true;
      // Without totals or links (a proxy stripped them) the only end markers left are the empty
      // page and the invalid-page error, so keep asking until one arrives.
      return outcome.totalPages === undefined && outcome.items.length > 0;
    },
  };
}

/** Whether `error` is WordPress refusing `orderby` (a custom collection that does not know it). */
export function isOrderByRejected(error: unknown): boolean {
  if (!isRequestError(error, 400, 'rest_invalid_param')) return false;
  const params = (error.data as { params?: Record<string, unknown> } | undefined)?.params;
  return params ? 'orderby' in params || 'order' in params : /orderby|order\b/.test(error.message);
}

function headerNumber(headers: Headers, name: string): number | undefined {
  const value = headers.get(name);
  if (value === null || !/^\s*\d+\s*$/.test(value)) return undefined;
  return Number(value);
}

/** A short description of an unexpected JSON value, for error messages. */
function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (typeof value === 'object') {
    const { code, message } = value as Record<string, unknown>;
    if (typeof code === 'string') return `an object with code ${JSON.stringify(code)}: ${String(message ?? '')}`;
    return `an object with keys ${JSON.stringify(Object.keys(value).slice(0, 8))}`;
  }
  return `a ${typeof value}`;
}
