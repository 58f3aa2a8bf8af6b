import test from 'ava';
import type { Lookups, Parents } from '../../handlers/silver/derive';
import { silverDerivations } from '../../handlers/silver/derive';
import { builtInTaxonomies, postColumns } from '../../handlers/silver/tables';

function lookups(): Lookups {
  return {
    authors: new Map([[2, 'Zoë & Co']]),
    terms: new Map([
      [5, { taxonomy: 'category', name: 'Tech & Science', slug: 'tech', parentId: null }],
      [9, { taxonomy: 'post_tag', name: 'news', slug: 'news', parentId: null }],
      [40, { taxonomy: 'genre', name: 'Jazz', slug: 'jazz', parentId: null }],
    ]),
    mediaUrls: new Map([[77, 'https://example.com/a.png']]),
    commentCounts: new Map([[10, 3]]),
  };
}

/** A post as bronze gives it back: nested objects rebuilt, `*_gmt` without a zone. */
const post = {
  id: 10,
  slug: '%e6%97%a5%e6%9c%ac',
  status: 'publish',
  link: 'https://example.com/?p=10',
  date: '2024-03-01T10:30:00',
  date_gmt: '2024-03-01T09:30:00',
  modified_gmt: '2024-03-02T08:00:00',
  title: { rendered: 'Caf&eacute; &#8220;Ol&eacute;&#8221;' },
  excerpt: { rendered: '<p>Short &amp; sweet</p>\n' },
  content: { rendered: '<p>日本語のテキストです</p><p>two words 🎉</p>', protected: false },
  author: 2,
  categories: [5],
  tags: [9, 404],
  featured_media: 77,
  sticky: true,
  format: 'standard',
};

test('a post: plain text, UTC instants from *_gmt, names by join, comments counted, slug decoded', (t) => {
  const derive = silverDerivations(lookups());
  const { row, assignments } = derive.post(post, builtInTaxonomies());
  t.like(row, {
    id: 10,
    slug: '日本',
    title: 'Café \u201cOlé\u201d',
    excerpt: 'Short & sweet',
    content_html: post.content.rendered,
    content_text: '日本語のテキストです\ntwo words 🎉',
    word_count: 6,
    published_at: '2024-03-01T09:30:00Z',
    modified_at: '2024-03-02T08:00:00Z',
    author_id: 2,
    author_name: 'Zoë & Co',
    featured_media_id: 77,
    featured_image_url: 'https://example.com/a.png',
    comment_count: 3,
    sticky: true,
    format: 'standard',
    is_protected: false,
  });
  t.deepEqual(row.category_ids, [5]);
  t.deepEqual(row.category_names, ['Tech & Science']);
  t.deepEqual(row.tag_ids, [9, 404]);
  t.deepEqual(row.tag_names, ['news', null], 'a term the lake does not hold has no name, not a wrong one');
  t.deepEqual(assignments, [{ term_id: 5, taxonomy: 'category' }, { term_id: 9, taxonomy: 'post_tag' }, { term_id: 404, taxonomy: 'post_tag' }]);
  t.deepEqual(Object.keys(row), postColumns(builtInTaxonomies()).map((c) => c.name), 'the row has exactly the table\'s columns, in order');
});

test('WordPress\' 0 for none becomes null, and a protected post has no words', (t) => {
  const derive = silverDerivations(lookups());
  const { row } = derive.post({ ...post, id: 11, author: 0, featured_media: 0, content: { rendered: '', protected: true }, categories: [], tags: '[]' }, builtInTaxonomies());
  t.like(row, { author_id: null, author_name: null, featured_media_id: null, featured_image_url: null, comment_count: 0, word_count: 0, content_text: '', is_protected: true });
  t.deepEqual(row.tag_ids, [], 'a list bronze kept as the JSON text of an always-empty list');
});

test('a custom post type gets its custom taxonomy as ids and names beside the built-in ones', (t) => {
  const derive = silverDerivations(lookups());
  const genre = { endpoint: 'genres', taxonomy: 'genre', prefix: 'genre' };
  const { row, assignments } = derive.post({ id: 50, type: 'album', title: { rendered: 'Blue' }, genres: [40] }, [...builtInTaxonomies(), genre]);
  t.deepEqual(row.genre_ids, [40]);
  t.deepEqual(row.genre_names, ['Jazz']);
  t.deepEqual(row.category_ids, []);
  t.deepEqual(assignments, [{ term_id: 40, taxonomy: 'genre' }]);
});

test('a page path is the slugs from the root, and unknown when an ancestor is not public', (t) => {
  const derive = silverDerivations(lookups());
  const pages = [{ id: 1, parent: 0, slug: 'about' }, { id: 2, parent: 1, slug: 'team' }, { id: 3, parent: 2, menu_order: 4, slug: 'j%c3%bcrgen' }, { id: 4, parent: 99, slug: 'orphan' }];
  const parents: Parents = new Map();
  const slugs = new Map<number, string | null>();
  for (const node of pages.map(derive.node)) {
    parents.set(node.id!, node.parent);
    slugs.set(node.id!, node.slug);
  }
  t.like(derive.page(pages[2], parents, slugs), { parent_id: 2, menu_order: 4, path: 'about/team/jürgen' });
  t.like(derive.page({ id: 1, parent: 0, menu_order: 0 }, parents, slugs), { parent_id: null, path: 'about' });
  t.like(derive.page({ id: 4, parent: 99 }, parents, slugs), { parent_id: 99, path: null });
});

test('a cycle of parents gives no path rather than a loop', (t) => {
  const derive = silverDerivations(lookups());
  const parents: Parents = new Map([[1, 2], [2, 1]]);
  t.like(derive.page({ id: 1, parent: 2 }, parents, new Map([[1, 'a'], [2, 'b']])), { path: null });
});

test('comment depth counts from 1 at the top of the thread; a reply to a hidden comment has none', (t) => {
  const derive = silverDerivations(lookups());
  const parents: Parents = new Map([[100, null], [101, 100], [102, 101], [103, 555]]);
  const comment = (id: number, parent: number) => derive.comment({ id, post: 10, parent, author_name: 'Ann &amp; Bob', content: { rendered: '<p>Hi &lt;there&gt;</p>' }, date_gmt: '2024-01-01T00:00:00' }, parents);
  t.like(comment(100, 0), { id: 100, post_id: 10, parent_id: null, depth: 1, author_name: 'Ann & Bob', content_text: 'Hi <there>', published_at: '2024-01-01T00:00:00Z' });
  t.like(comment(102, 101), { parent_id: 101, depth: 3 });
  t.like(comment(103, 555), { parent_id: 555, depth: null });
});

test('a term: plain-text name, decoded slug, path within its taxonomy, its post count', (t) => {
  const derive = silverDerivations(lookups());
  const europe = derive.term({ id: 3, taxonomy: 'category', name: 'Europe', slug: 'europe', parent: 0 });
  const germany = derive.term({ id: 4, taxonomy: 'category', name: 'Deutschland &amp; Co', slug: 'deutschland', parent: 3 });
  t.deepEqual(germany, { id: 4, taxonomy: 'category', name: 'Deutschland & Co', slug: 'deutschland', parentId: 3 });
  const parents: Parents = new Map([[3, europe.parentId], [4, germany.parentId]]);
  const slugs = new Map<number, string | null>([[3, 'europe'], [4, 'deutschland']]);
  t.deepEqual(derive.termRow(4, germany, parents, slugs, 7), { term_id: 4, taxonomy: 'category', name: 'Deutschland & Co', slug: 'deutschland', parent_id: 3, path: 'europe/deutschland', post_count: 7 });
});

test('media: size from media_details (nested or JSON text), the attached post, plain-text title', (t) => {
  const derive = silverDerivations(lookups());
  const base = { id: 77, post: 10, mime_type: 'image/png', source_url: 'https://example.com/a.png', alt_text: 'A &amp; B', title: { rendered: 'Logo &#8211; big' } };
  t.deepEqual(derive.media({ ...base, media_details: { width: 640, height: 480 } }), {
    id: 77, post_id: 10, mime_type: 'image/png', width: 640, height: 480, url: 'https://example.com/a.png', alt_text: 'A & B', title: 'Logo \u2013 big',
  });
  t.like(derive.media({ ...base, post: null, media_details: '{"width":1,"height":2,"sizes":{}}' }), { post_id: null, width: 1, height: 2 });
});

test('an author: plain-text name and the posts counted for them', (t) => {
  const derive = silverDerivations(lookups());
  t.deepEqual(derive.author({ id: 2, name: 'Zo&euml;', slug: 'zoe' }, 12), { id: 2, name: 'Zoë', slug: 'zoe', post_count: 12 });
});
