import { createWriteStream } from 'node:fs';
import { once } from 'node:events';

/**
 * Deterministic WordPress-shaped posts (the shape of `GET /wp/v2/posts`), from a fixed seed, so
 * every run and every machine converts the same bytes.
 */

/** mulberry32: small, fast, good enough for test data. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = [
  'the', 'data', 'lake', 'house', 'bronze', 'raw', 'pipeline', 'daily', 'report', 'news', 'update', 'release',
  'café', 'naïve', 'Zürich', 'São', 'Paulo', 'façade', 'résumé', 'Ελληνικά', 'русский', 'العربية',
  '日本語', 'の', 'テスト', '中文', '数据', '湖', '한국어', '😀', '🚀', '👍🏽', '&amp;', '&#8217;s', '&#8220;quoted&#8221;', '&hellip;',
];

export interface PostOptions {
  /** Fields missing in some rows, int -> string changes, `meta` {} vs [], a field that appears late. */
  drift?: boolean;
  /** Smallest and largest `content.rendered`, log-uniformly distributed. @default [200, 20000] */
  contentBytes?: [number, number];
}

/** HTML of about `bytes` UTF-8 bytes. */
function html(random: () => number, bytes: number): string {
  const parts: string[] = [];
  let size = 0;
  while (size < bytes) {
    const words: string[] = [];
    const n = 8 + Math.floor(random() * 30);
    for (let i = 0; i < n; i++) words.push(WORDS[Math.floor(random() * WORDS.length)]);
    const tag = random() < 0.15 ? 'h2' : 'p';
    const text = random() < 0.2 ? `<${tag}>${words.join(' ')} <a href="https://example.com/${Math.floor(random() * 1e6)}/">link</a></${tag}>\n` : `<${tag}>${words.join(' ')}.</${tag}>\n`;
    parts.push(text);
    size += Buffer.byteLength(text);
  }
  return parts.join('');
}

/** WordPress' date form: ISO 8601 to the second, without a zone. */
export function iso(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19);
}

/** The post with id `id`; the same (seed, id) always gives the same post. */
export function post(random: () => number, id: number, options: PostOptions = {}): Record<string, unknown> {
  const [lo, hi] = options.contentBytes ?? [200, 20000];
  const contentSize = Math.round(lo * Math.pow(hi / lo, random()));
  const published = Date.UTC(2015, 0, 1) + Math.floor(random() * 10 * 365 * 86400) * 1000;
  const modified = published + Math.floor(random() * 90 * 86400) * 1000;
  const offset = 3600_000;
  const site = 'https://example.com';
  const slug = `post-${id}`;
  const categories = Array.from({ length: 1 + Math.floor(random() * 3) }, () => 1 + Math.floor(random() * 40));
  const tags = Array.from({ length: Math.floor(random() * 8) }, () => 100 + Math.floor(random() * 400));
  const author = 1 + Math.floor(random() * 25);
  const drift = options.drift ? random() : 1;
  const row: Record<string, unknown> = {
    id,
    date: iso(published + offset),
    date_gmt: iso(published),
    guid: { rendered: `${site}/?p=${id}` },
    modified: iso(modified + offset),
    modified_gmt: iso(modified),
    slug,
    status: 'publish',
    type: 'post',
    link: `${site}/${slug}/`,
    title: { rendered: html(random, 20 + Math.floor(random() * 80)).replace(/<[^>]+>|\n/g, '') },
    content: { rendered: html(random, contentSize), protected: false },
    excerpt: { rendered: `<p>${html(random, 120).replace(/<[^>]+>|\n/g, '')} [&hellip;]</p>\n`, protected: false },
    author,
    featured_media: random() < 0.6 ? Math.floor(random() * 5000) : 0,
    comment_status: random() < 0.8 ? 'open' : 'closed',
    ping_status: 'open',
    sticky: random() < 0.02,
    template: '',
    format: random() < 0.9 ? 'standard' : 'gallery',
    meta: { footnotes: random() < 0.1 ? '[{"content":"note","id":"1"}]' : '' },
    categories,
    tags,
    class_list: [`post-${id}`, 'post', 'type-post', 'status-publish', ...categories.map((c) => `category-${c}`)],
    _links: {
      self: [{ href: `${site}/wp-json/wp/v2/posts/${id}`, targetHints: { allow: ['GET'] } }],
      collection: [{ href: `${site}/wp-json/wp/v2/posts` }],
      about: [{ href: `${site}/wp-json/wp/v2/types/post` }],
      author: [{ embeddable: true, href: `${site}/wp-json/wp/v2/users/${author}` }],
      replies: [{ embeddable: true, href: `${site}/wp-json/wp/v2/comments?post=${id}` }],
      'version-history': [{ count: Math.floor(random() * 10), href: `${site}/wp-json/wp/v2/posts/${id}/revisions` }],
      'wp:attachment': [{ href: `${site}/wp-json/wp/v2/media?parent=${id}` }],
      'wp:term': [
        { taxonomy: 'category', embeddable: true, href: `${site}/wp-json/wp/v2/categories?post=${id}` },
        { taxonomy: 'post_tag', embeddable: true, href: `${site}/wp-json/wp/v2/tags?post=${id}` },
      ],
      curies: [{ name: 'wp', href: 'https://api.w.org/{rel}', templated: true }],
    },
  };
  if (options.drift) {
    // Each kind of drift WordPress plugins and upgrades really produce, in a few percent of rows.
    if (drift < 0.05) delete row.excerpt;
    else if (drift < 0.1) delete row.featured_media;
    else if (drift < 0.15) row.author = String(author);
    else if (drift < 0.2) row.featured_media = String(row.featured_media);
    if (random() < 0.3) row.meta = [];
    if (random() < 0.05) delete row.tags;
    if (id % 997 === 0) row.acf = { subtitle: `Sub ${id}`, rating: Math.floor(random() * 5) };
  }
  return row;
}

/** `count` posts with ids 1..count. */
export function* posts(count: number, seed: number, options: PostOptions = {}): Generator<Record<string, unknown>> {
  const random = prng(seed);
  for (let id = 1; id <= count; id++) yield post(random, id, options);
}

/** Writes `count` posts as one JSON array (the raw layer's file format); returns its size. */
export async function writePostsFile(path: string, count: number, seed: number, options: PostOptions = {}): Promise<number> {
  const out = createWriteStream(path);
  let bytes = 0;
  const write = async (text: string) => {
    bytes += Buffer.byteLength(text);
    if (!out.write(text)) await once(out, 'drain');
  };
  await write('[');
  let first = true;
  for (const row of posts(count, seed, options)) {
    await write(`${first ? '' : ',\n'}${JSON.stringify(row)}`);
    first = false;
  }
  await write(']\n');
  out.end();
  await once(out, 'finish');
  return bytes;
}
