import test from 'ava';
import { readFile } from 'node:fs/promises';
import { bronzeRows, outcome, record, scenario } from './support';

/**
 * Awkward but valid data, through the whole local pipeline (10 items per page, so shapes can
 * change between pages): every item must land once, and bronze must hold the values.
 */

/** Columns bronze adds to every row (handlers/lake/merge.ts), beside the item's own. */
const LINEAGE = ['_ingested_at', '_run_id', '_row_hash'];

const POSTS_RAW = (s: { file(layer: 'raw', name: string): string }) => readFile(s.file('raw', 'posts'), 'utf8');

test('items that change shape across pages: missing fields are null, int -> string widens, meta {} and [] both load', async (t) => {
  const posts = Array.from({ length: 30 }, (_, i) => {
    const id = i + 1;
    const item: Record<string, unknown> = { id, title: { rendered: `Post ${id}` } };
    if (id <= 10) Object.assign(item, { author: id, sticky: true, meta: {}, tags: [1, 2] });
    else if (id <= 20) Object.assign(item, { author: String(id), meta: [] });
    else Object.assign(item, { author: id, sticky: false, meta: { footnotes: `note ${id}` }, tags: [] });
    return item;
  });
  const s = await scenario(t, { posts });
  const result = await s.run();
  t.is(result.status, 'SUCCEEDED', result.error);
  t.like(result.endpoints[0], { endpoint: 'posts', ok: true, items: 30, pages: 3, rows: 30 });
  const rows = await bronzeRows(s.file('bronze', 'posts'));
  t.deepEqual(Object.keys(rows[0]).filter((k) => !LINEAGE.includes(k)).sort(), ['author', 'id', 'meta__footnotes', 'sticky', 'tags', 'title__rendered']);
  t.true(rows.every((r) => r._run_id === result.runId && typeof r._row_hash === 'string' && r._ingested_at instanceof Date), 'every row carries the lineage of the run that delivered it');
  t.deepEqual(rows.map((r) => r.author), posts.map((p) => String(p.author)), 'author widened to string for every row, values kept');
  t.deepEqual([rows[0].sticky, rows[10].sticky, rows[20].sticky], [true, null, false]);
  t.deepEqual([rows[0].meta__footnotes, rows[10].meta__footnotes, rows[20].meta__footnotes], [null, null, 'note 21']);
  t.deepEqual([rows[0].tags, rows[10].tags, rows[20].tags], [[1n, 2n], null, []]);
  record({ case: 'shape drift across pages', expected: 'SUCCEEDED; 30 rows; author string; missing -> null', observed: `${outcome(result).summary}; author ${typeof rows[0].author}`, preserved: 'n/a' });
});

test('duplicate ids across pages: each id lands once, the first copy wins', async (t) => {
  const posts = [
    ...Array.from({ length: 10 }, (_, i) => ({ id: i + 1, title: { rendered: `Post ${i + 1}` } })),
    // Sorted by id this copy opens page 2, as when a post is re-dated between two page requests.
    { id: 10, title: { rendered: 'Post 10 again' } },
    ...Array.from({ length: 19 }, (_, i) => ({ id: i + 11, title: { rendered: `Post ${i + 11}` } })),
  ];
  const s = await scenario(t, { posts });
  const result = await s.run();
  t.is(result.status, 'SUCCEEDED', result.error);
  t.like(result.endpoints[0], { endpoint: 'posts', ok: true, items: 29, pages: 3, rows: 29 });
  const rows = await bronzeRows(s.file('bronze', 'posts'));
  t.deepEqual(rows.map((r) => Number(r.id)), Array.from({ length: 29 }, (_, i) => i + 1));
  t.is(rows[9].title__rendered, 'Post 10');
  const extracted = (await s.logs(result.runId)).find((l) => l.message === 'endpoint extracted' && l.endpoint === 'posts');
  t.like(extracted, { items: 29, total: 30, duplicates: 1 });
  record({ case: 'duplicate id across pages', expected: 'SUCCEEDED; 29 unique rows, first copy kept', observed: `${outcome(result).summary}; duplicates logged ${extracted?.duplicates}`, preserved: 'n/a' });
});

test('unicode: emoji, RTL, combining marks survive; a lone surrogate stays escaped in raw and becomes U+FFFD in Parquet', async (t) => {
  const texts = [
    'emoji \u{1F600}\u{1F469}\u200D\u{1F4BB} flags \u{1F1EC}\u{1F1E7}',
    'RTL \u05E9\u05DC\u05D5\u05DD \u0645\u0631\u062D\u0628\u0627 \u202Bembedded\u202C',
    'combining e\u0301 a\u0308 \u0915\u094D\u0937',
    'zero width \u200B and BOM \uFEFF inside',
  ];
  const lone = 'lone \ud800 high and \udc00 low surrogate';
  const posts = [...texts, lone].map((text, i) => ({ id: i + 1, title: { rendered: text }, slug: `s-${i}` }));
  const s = await scenario(t, { posts });
  const result = await s.run();
  t.is(result.status, 'SUCCEEDED', result.error);
  const raw = await POSTS_RAW(s);
  t.true(raw.includes('lone \\ud800 high and \\udc00 low'), 'raw keeps the escapes as WordPress sent them');
  t.deepEqual(JSON.parse(raw).map((p: { title: { rendered: string } }) => p.title.rendered), [...texts, lone]);
  const rows = await bronzeRows(s.file('bronze', 'posts'));
  t.deepEqual(rows.slice(0, 4).map((r) => r.title__rendered), texts, 'bronze holds the exact strings');
  // Parquet strings are UTF-8, which cannot encode a lone surrogate: it becomes U+FFFD.
  t.is(rows[4].title__rendered, 'lone \uFFFD high and \uFFFD low surrogate');
  record({ case: 'unicode (emoji, RTL, combining, lone surrogates)', expected: 'SUCCEEDED; exact strings; lone surrogate -> U+FFFD in bronze', observed: `${outcome(result).summary}; bronze lone surrogate ${JSON.stringify(rows[4].title__rendered)}`, preserved: 'n/a' });
});

test('20 KB HTML bodies land whole in raw and bronze', async (t) => {
  const paragraph = '<p class="wp-block">Caf&eacute; &amp; &#8220;quotes&#8221; \u2014 <a href="https://example.com/?a=1&b=2">link</a> \u{1F600}</p>\n';
  const html = (id: number) => `<!-- wp:paragraph id=${id} -->\n${paragraph.repeat(Math.ceil(20_000 / paragraph.length))}<script>var s = "</p>";</script>`;
  const posts = Array.from({ length: 25 }, (_, i) => ({ id: i + 1, content: { rendered: html(i + 1), protected: false } }));
  const s = await scenario(t, { posts });
  const result = await s.run();
  t.is(result.status, 'SUCCEEDED', result.error);
  const rows = await bronzeRows(s.file('bronze', 'posts'));
  t.is(rows.length, 25);
  t.true((rows[0].content__rendered as string).length > 20_000);
  t.deepEqual(rows.map((r) => r.content__rendered), posts.map((p) => p.content.rendered));
  record({ case: '20 KB HTML bodies', expected: 'SUCCEEDED; 25 rows, HTML byte-exact', observed: outcome(result).summary, preserved: 'n/a' });
});
