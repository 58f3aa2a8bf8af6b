/**
 * URL helpers. Page URLs are always built from the endpoint's own URL, never taken from a
 * `Link` header, so a compromised or misconfigured server cannot steer the crawler (and the
 * credentials) to another host.
 */

/** Query parameters that select a page of a WordPress collection. */
export interface PageQuery {
  page: number;
  perPage: number;
  /** Adds `orderby=id&order=asc` unless the endpoint URL already chooses an order. */
  orderById: boolean;
}

/**
 * The endpoint URL with the page parameters set, keeping its query string (sites without pretty
 * permalinks are reached as `/?rest_route=/wp/v2/posts`).
 */
export function pageUrl(endpointUrl: string, query: PageQuery): string {
  const url = new URL(endpointUrl);
  url.searchParams.set('per_page', String(query.perPage));
  url.searchParams.set('page', String(query.page));
  if (query.orderById && !url.searchParams.has('orderby')) {
    url.searchParams.set('orderby', 'id');
    url.searchParams.set('order', 'asc');
  }
  return url.href;
}

/** Relations of an RFC 8288 `Link` header, e.g. `{ next: 'https://...', prev: '...' }`. */
export function parseLinkHeader(header: string | null): Record<string, string> {
  const links: Record<string, string> = {};
  if (!header) return links;
  for (const part of header.split(/,(?=\s*<)/)) {
    const match = /<([^>]*)>(.*)/.exec(part.trim());
    if (!match) continue;
    const rel = /;\s*rel="?([^";]+)"?/i.exec(match[2]);
    if (!rel) continue;
    for (const name of rel[1].trim().toLowerCase().split(/\s+/)) links[name] ??= match[1];
  }
  return links;
}

/** Same host name (ports may differ, e.g. http -> https on the same site). */
export function sameHost(a: string, b: string): boolean {
  return new URL(a).hostname.toLowerCase() === new URL(b).hostname.toLowerCase();
}
