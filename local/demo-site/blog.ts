import type { FixtureCollection } from './rest-server';
import { iso, post, prng } from './posts';

/**
 * The demo blog `npm start` serves when no site is configured: the seven default collections of a
 * small multilingual blog, generated from fixed seeds so that every machine and every run gets the
 * same bytes. Posts come from ./posts.ts (the bench's generator); the rest is built around them so
 * that ids refer to each other as on a real site (a post's author, categories, tags and featured
 * image exist; comments answer posts and each other; pages and categories nest).
 */

const SITE = 'https://demo.example';

/** How big the demo blog is: a first run takes seconds, and every page boundary still occurs. */
export const DEMO_SIZES = { posts: 600, pages: 24, media: 60, categories: 14, tags: 48, users: 6, comments: 1500 } as const;

/** Comments on non-public posts: counted by X-WP-Total, never returned, as on WordPress. */
const HIDDEN_COMMENTS = 7;

const AUTHORS = ['Ana Souza', 'Jürgen Weiß', 'Chloé Martin', '山田 花子', 'Olu Adeyemi', 'Sam O&#8217;Brien'];

/** Parent first; names as the API sends them, HTML-escaped, one name used twice (as real sites do). */
const CATEGORIES: Array<[name: string, parent: number]> = [
  ['Uncategorized', 0], ['Travel', 0], ['Europe', 2], ['Asia', 2], ['Tech &amp; Science', 0], ['Data', 5],
  ['Open source', 5], ['Food', 0], ['Café culture', 8], ['Recipes', 8], ['Europe', 8], ['Notes', 0], ['Ελληνικά', 12], ['日本語', 12],
];

/** Headlines as a travel-and-data blog writes them, HTML-escaped as WordPress serves titles. */
const HEADLINES = ['Notes from {place}, part {n}', 'Day {n} in {place}: trains, coffee &amp; code', 'How to build a data lake in {place} &#8212; lesson {n}', '{place} to {other}: {hours} hours by night train', '{n} things I learned in {place}', '{place}: what&#8217;s next for open data? ({n}/10)'];
const PLACES = ['Kyoto', 'Zürich', 'São Paulo', 'Lisbon', 'Athens', 'Montréal', '東京', 'Αθήνα', 'Reykjavík', 'Kraków'];

/** The title of post number `i` (0-599): place, headline and number together differ for every post. */
function headline(i: number): string {
  const n = 1 + Math.floor(i / (PLACES.length * HEADLINES.length));
  return HEADLINES[Math.floor(i / PLACES.length) % HEADLINES.length]
    .replace('{place}', PLACES[i % PLACES.length])
    .replace('{other}', PLACES[(i + n) % PLACES.length])
    .replace('{hours}', String(5 + n))
    .replace('{n}', String(n));
}

const TAG_WORDS = ['parquet', 'duckdb', 'lakehouse', 'aws', 's3', 'lambda', 'step-functions', 'pulumi', 'wordpress', 'rest', 'json', 'zürich', 'são-paulo', 'kyoto', 'athens', 'lisbon'];

function slugOf(name: string): string {
  return encodeURIComponent(name.toLowerCase().replace(/&[a-z#0-9]+;/g, '').replace(/\s+/g, '-'));
}

function links(route: string, id: number): Record<string, unknown> {
  return { self: [{ href: `${SITE}/wp-json/wp/v2/${route}/${id}` }], collection: [{ href: `${SITE}/wp-json/wp/v2/${route}` }] };
}

function avatars(seed: number): Record<string, string> {
  return Object.fromEntries([24, 48, 96].map((size) => [size, `https://secure.gravatar.com/avatar/${seed.toString(16).padStart(8, '0')}?s=${size}&d=mm&r=g`]));
}

function users(): Array<Record<string, unknown>> {
  return AUTHORS.map((name, i) => ({
    id: i + 1,
    name,
    url: i % 2 === 0 ? `https://author${i + 1}.demo.example` : '',
    description: i % 3 === 0 ? `Writes about data &amp; travel (${name}).` : '',
    link: `${SITE}/author/author-${i + 1}/`,
    slug: `author-${i + 1}`,
    avatar_urls: avatars(i + 1),
    meta: [],
    _links: links('users', i + 1),
  }));
}

function terms(taxonomy: 'category' | 'post_tag', names: Array<[string, number]>, firstId: number, counts: Map<number, number>): Array<Record<string, unknown>> {
  return names.map(([name, parent], i) => {
    const id = firstId + i;
    const slug = `${slugOf(name)}${names.findIndex(([n]) => n === name) === i ? '' : `-${id}`}`;
    return {
      id,
      count: counts.get(id) ?? 0,
      description: i % 4 === 0 ? `Everything about ${name}.` : '',
      link: `${SITE}/${taxonomy === 'category' ? 'category' : 'tag'}/${slug}/`,
      name,
      slug,
      taxonomy,
      ...(taxonomy === 'category' && { parent: parent === 0 ? 0 : firstId + parent - 1 }),
      meta: [],
      _links: links(taxonomy === 'category' ? 'categories' : 'tags', id),
    };
  });
}

/**
 * Every other post is a block-editor post: WordPress renders blocks to HTML with their classes
 * (the block comments stay in `content.raw`, which anonymous readers never get).
 */
function gutenberg(html: string, id: number, media: number): string {
  const blocks = html.replace(/<h2>/g, '<h2 class="wp-block-heading">');
  const image = `<figure class="wp-block-image size-large"><img src="${SITE}/wp-content/uploads/2024/05/photo-${media}.jpg" alt="" class="wp-image-${media}"/></figure>\n`;
  return id % 4 === 0 ? `${image}${blocks}` : blocks;
}

function blogPosts(mediaIds: number[], categoryIds: number[], tagIds: number[]): Array<Record<string, unknown>> {
  const random = prng(20240601);
  return Array.from({ length: DEMO_SIZES.posts }, (_, i) => {
    const row = post(random, 1000 + i);
    const pick = (ids: number[], n: number) => ids[n % ids.length];
    const author = pick([1, 2, 3, 4, 5, 6], Number(row.author));
    const featured = Number(row.featured_media) === 0 ? 0 : pick(mediaIds, Number(row.featured_media));
    const content = row.content as { rendered: string; protected: boolean };
    return {
      ...row,
      title: { rendered: headline(i) },
      author,
      featured_media: featured,
      content: { ...content, rendered: i % 2 === 0 ? gutenberg(content.rendered, i, featured || mediaIds[0]) : content.rendered },
      categories: [...new Set((row.categories as number[]).map((c) => pick(categoryIds, c)))],
      tags: [...new Set(((row.tags as number[] | undefined) ?? []).map((t) => pick(tagIds, t)))],
    };
  });
}

function pages(): Array<Record<string, unknown>> {
  const random = prng(7);
  return Array.from({ length: DEMO_SIZES.pages }, (_, i) => {
    const id = 10 + i;
    const { categories: _c, tags: _t, sticky: _s, format: _f, class_list: _l, ...row } = post(random, id, { contentBytes: [400, 6000] });
    // Three levels: 10-13 top, 14-19 under them, the rest one level deeper.
    const parent = i < 4 ? 0 : i < 10 ? 10 + (i % 4) : 14 + (i % 6);
    return { ...row, type: 'page', link: `${SITE}/page-${id}/`, slug: `page-${id}`, parent, menu_order: i % 5, meta: [], _links: links('pages', id) };
  });
}

function media(postIds: number[]): Array<Record<string, unknown>> {
  const random = prng(11);
  return Array.from({ length: DEMO_SIZES.media }, (_, i) => {
    const id = 2000 + i;
    const uploaded = Date.UTC(2016, 0, 1) + Math.floor(random() * 9 * 365 * 86400) * 1000;
    const [width, height] = random() < 0.5 ? [1600, 1067] : [1200, 1600];
    const file = `${2016 + (i % 9)}/${String(1 + (i % 12)).padStart(2, '0')}/photo-${id}.jpg`;
    return {
      id, date: iso(uploaded), date_gmt: iso(uploaded), guid: { rendered: `${SITE}/wp-content/uploads/${file}` },
      modified: iso(uploaded), modified_gmt: iso(uploaded), slug: `photo-${id}`, status: 'inherit', type: 'attachment',
      link: `${SITE}/photo-${id}/`, title: { rendered: `Photo ${id}` }, author: 1 + (i % 6), comment_status: 'open', ping_status: 'closed',
      template: '', meta: [], description: { rendered: `<p class="attachment"><a href="${SITE}/wp-content/uploads/${file}">photo-${id}</a></p>\n` },
      caption: { rendered: i % 3 === 0 ? `<p>Caf\u00e9 &amp; street, shot ${i + 1}</p>\n` : '' }, alt_text: i % 2 === 0 ? `Photo ${id}` : '',
      media_type: 'image', mime_type: 'image/jpeg', post: i % 5 === 0 ? 0 : postIds[(i * 7) % postIds.length],
      media_details: { width, height, file, filesize: 90_000 + Math.floor(random() * 400_000), sizes: { thumbnail: { file: `photo-${id}-150x150.jpg`, width: 150, height: 150, mime_type: 'image/jpeg', source_url: `${SITE}/wp-content/uploads/${file.replace('.jpg', '-150x150.jpg')}` } }, image_meta: { aperture: '2.8', camera: i % 2 === 0 ? 'X-T4' : '', keywords: [] } },
      source_url: `${SITE}/wp-content/uploads/${file}`,
      _links: links('media', id),
    };
  });
}

function comments(postRows: Array<Record<string, unknown>>): Array<Record<string, unknown>> {
  const random = prng(13);
  const rows: Array<Record<string, unknown>> = [];
  for (let i = 0; i < DEMO_SIZES.comments; i++) {
    const id = 5000 + i;
    // A third answer an earlier comment of the same post: threads two and more levels deep.
    const earlier = i > 0 && random() < 0.33 ? rows[Math.floor(random() * rows.length)] : undefined;
    const onPost = earlier ? Number(earlier.post) : Number(postRows[Math.floor(random() * postRows.length)].id);
    const of = postRows.find((p) => p.id === onPost)!;
    const at = Date.parse(`${String(of.date_gmt)}Z`) + Math.floor(random() * 60 * 86400) * 1000;
    const member = random() < 0.2 ? 1 + Math.floor(random() * 6) : 0;
    const name = member ? AUTHORS[member - 1] : `Reader ${1 + Math.floor(random() * 300)}`;
    rows.push({
      id, post: onPost, parent: earlier ? earlier.id : 0, author: member, author_name: name,
      author_url: member || random() < 0.3 ? `https://reader${id % 300}.demo.example` : '', date: iso(at + 3600_000), date_gmt: iso(at),
      content: { rendered: `<p>${random() < 0.5 ? 'Thanks &#8212; this helped!' : 'I&#8217;d add one thing:'} ${String((of.title as { rendered: string }).rendered).slice(0, 60)}</p>\n` },
      link: `${String(of.link)}#comment-${id}`, status: 'approved', type: 'comment', author_avatar_urls: avatars(member || id), meta: [],
      _links: links('comments', id),
    });
  }
  return rows;
}

/** Count of `ids` over every post that lists them. */
function countsOf(postRows: Array<Record<string, unknown>>, field: 'categories' | 'tags'): Map<number, number> {
  const counts = new Map<number, number>();
  for (const row of postRows) for (const id of row[field] as number[]) counts.set(id, (counts.get(id) ?? 0) + 1);
  return counts;
}

/** The demo blog's collections, ready for the REST server. */
export function demoBlog(): Record<string, FixtureCollection> {
  const mediaIds = Array.from({ length: DEMO_SIZES.media }, (_, i) => 2000 + i);
  const categoryIds = CATEGORIES.map((_, i) => 1 + i);
  const tagNames: Array<[string, number]> = Array.from({ length: DEMO_SIZES.tags }, (_, i) => [`${TAG_WORDS[i % TAG_WORDS.length]}${i < TAG_WORDS.length ? '' : ` ${Math.floor(i / TAG_WORDS.length) + 1}`}`, 0]);
  const tagIds = tagNames.map((_, i) => 100 + i);
  const postRows = blogPosts(mediaIds, categoryIds, tagIds);
  const mediaRows = media(postRows.map((p) => Number(p.id)));
  return {
    posts: { kind: 'posts', items: postRows },
    pages: { kind: 'posts', items: pages() },
    media: { kind: 'posts', items: mediaRows },
    categories: { kind: 'terms', items: terms('category', CATEGORIES, 1, countsOf(postRows, 'categories')) },
    tags: { kind: 'terms', items: terms('post_tag', tagNames, 100, countsOf(postRows, 'tags')) },
    users: { kind: 'terms', items: users() },
    comments: { kind: 'terms', items: comments(postRows), hidden: HIDDEN_COMMENTS },
  };
}
