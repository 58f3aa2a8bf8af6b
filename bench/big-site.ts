import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A loopback WordPress stand-in of any size, generated on the fly: item n is computed from its id
 * when asked for, so a million comments cost no memory. It answers what a split crawl asks:
 * `page`/`per_page` (with X-WP-Total/X-WP-TotalPages), `orderby=id&order=asc`, `_fields=id` and
 * `include=`. Sizes are a blog's: a post about 4 KB of JSON, a comment about 1 KB.
 */

export interface BigSite {
  origin: string;
  /** Requests answered, by kind. */
  requests: { pages: number; ids: number; include: number };
  close(): Promise<void>;
}

const WORDS = 'lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore et dolore magna aliqua'.split(' ');

function text(seed: number, words: number): string {
  const out: string[] = [];
  let x = seed;
  for (let i = 0; i < words; i++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    out.push(WORDS[x % WORDS.length]);
  }
  return out.join(' ');
}

function instant(id: number): string {
  return new Date(Date.UTC(2020, 0, 1) + id * 60_000).toISOString().slice(0, 19);
}

function post(id: number): Record<string, unknown> {
  return {
    id,
    date: instant(id),
    date_gmt: instant(id),
    modified: instant(id + 7),
    modified_gmt: instant(id + 7),
    slug: `post-${id}`,
    status: 'publish',
    type: 'post',
    link: `https://blog.example.org/${id}/`,
    title: { rendered: text(id, 8) },
    content: { rendered: `<p>${text(id * 3, 520)}</p>`, protected: false },
    excerpt: { rendered: `<p>${text(id * 5, 40)}</p>`, protected: false },
    author: (id % 17) + 1,
    featured_media: id % 3 === 0 ? id + 1 : 0,
    comment_status: 'open',
    sticky: id % 101 === 0,
    categories: [(id % 9) + 1, (id % 4) + 20],
    tags: id % 2 === 0 ? [(id % 30) + 100] : [],
    meta: id % 5 === 0 ? { footnotes: '' } : [],
  };
}

function comment(id: number): Record<string, unknown> {
  return {
    id,
    post: (id % 100_000) + 1,
    parent: id % 4 === 0 ? id - 1 : 0,
    author: 0,
    author_name: `Reader ${id % 997}`,
    author_url: id % 3 === 0 ? `https://reader${id % 997}.example.net` : '',
    date: instant(id),
    date_gmt: instant(id),
    content: { rendered: `<p>${text(id * 7, 90)}</p>` },
    link: `https://blog.example.org/${(id % 100_000) + 1}/#comment-${id}`,
    status: 'approved',
    type: 'comment',
    author_avatar_urls: { 24: `https://secure.gravatar.com/avatar/${id % 997}?s=24`, 48: `https://secure.gravatar.com/avatar/${id % 997}?s=48`, 96: `https://secure.gravatar.com/avatar/${id % 997}?s=96` },
    meta: [],
  };
}

/** A site of `posts` posts and `comments` comments, ids 1..n each. */
export async function startBigSite(sizes: { posts: number; comments: number }): Promise<BigSite> {
  const requests = { pages: 0, ids: 0, include: 0 };
  const collections: Record<string, { total: number; make: (id: number) => Record<string, unknown>; pastEnd: 'error' | 'empty' }> = {
    posts: { total: sizes.posts, make: post, pastEnd: 'error' },
    comments: { total: sizes.comments, make: comment, pastEnd: 'empty' },
  };
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const collection = collections[/^\/wp-json\/wp\/v2\/([a-z]+)\/?$/.exec(url.pathname)?.[1] ?? ''];
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8', ...headers });
      res.end(JSON.stringify(body));
    };
    if (!collection) return send(404, { code: 'rest_no_route', message: 'No route was found matching the URL and request method.', data: { status: 404 } });
    const q = url.searchParams;
    const perPage = Number(q.get('per_page') ?? 10);
    const page = Number(q.get('page') ?? 1);
    const idsOnly = q.get('_fields') === 'id';
    const include = q.get('include')?.split(',').map(Number).filter((id) => Number.isSafeInteger(id) && id >= 1 && id <= collection.total);
    let ids: number[];
    let total: number;
    if (include) {
      requests.include++;
      ids = [...new Set(include)].sort((a, b) => a - b);
      total = ids.length;
      ids = ids.slice((page - 1) * perPage, page * perPage);
    } else {
      if (idsOnly) requests.ids++;
      else requests.pages++;
      total = collection.total;
      const ascending = q.get('orderby') === 'id' && q.get('order') === 'asc';
      const from = (page - 1) * perPage;
      ids = Array.from({ length: Math.max(0, Math.min(perPage, total - from)) }, (_, i) => (ascending ? from + i + 1 : total - from - i));
    }
    const totalPages = Math.ceil(total / perPage);
    if (page > totalPages && total > 0 && collection.pastEnd === 'error') {
      return send(400, { code: 'rest_post_invalid_page_number', message: 'The page number requested is larger than the number of pages available.', data: { status: 400 } });
    }
    send(200, ids.map((id) => (idsOnly ? { id } : collection.make(id))), { 'x-wp-total': String(total), 'x-wp-totalpages': String(totalPages) });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
