import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { openLakehouse } from '../../local/lakehouse-sql';
import { runLocal } from '../../local/run';
import { SITE, wordpressTest } from '../helpers/real-wordpress';

/**
 * Every silver row of the real WordPress fixture against a computation of its own from the bronze
 * tables: SQL joins, recursive CTEs and group-bys in DuckDB over bronze, a small entity decoder of
 * its own, and Intl.Segmenter over the stored text, none of it the silver builder's code.
 */

/** The references WordPress' escaping produces (esc_html, wptexturize): the five named ones and numeric ones. */
function decodeEntities(text: string): string {
  const named: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
  return text.replace(/&(?:#(\d+)|#x([0-9a-f]+)|([a-z]+));/gi, (whole, dec, hex, name) =>
    dec ? String.fromCodePoint(Number(dec)) : hex ? String.fromCodePoint(parseInt(hex, 16)) : (named[name] ?? whole),
  );
}

async function rows(db: DuckDBConnection, sql: string): Promise<Array<Record<string, unknown>>> {
  return (await db.runAndReadAll(sql)).getRowObjectsJson() as Array<Record<string, unknown>>;
}

async function count(db: DuckDBConnection, sql: string): Promise<number> {
  return Number((await rows(db, `SELECT count(*) AS n FROM (${sql})`))[0].n);
}

/** Rows of `a` not in `b` and of `b` not in `a`, as multisets. */
async function difference(db: DuckDBConnection, a: string, b: string): Promise<number> {
  return (await count(db, `(${a}) EXCEPT ALL (${b})`)) + (await count(db, `(${b}) EXCEPT ALL (${a})`));
}

wordpressTest('every silver row of the real WordPress matches an independent computation from bronze', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'silver-e2e-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'Pulumi.test.yaml'), `config:\n  aws:region: eu-west-2\n  wordpress-lakehouse:siteUrl: ${SITE}\n`);
  const result = await runLocal({ projectDir: dir, stack: 'test', out: join(dir, 'out') });
  t.is(result.status, 'SUCCEEDED', result.error);
  t.false(!result.silver || 'error' in result.silver, JSON.stringify(result.silver));
  const { connection: db } = await openLakehouse(join(dir, 'out'), 'wordpress_api');
  await db.run("SET TimeZone = 'UTC'");

  // Counts per table.
  for (const [silver, bronze] of [['posts', 'posts'], ['pages', 'pages'], ['comments', 'comments'], ['media', 'media'], ['authors', 'users']]) {
    t.is(await count(db, `SELECT * FROM silver.${silver}`), await count(db, `SELECT * FROM ${bronze}`), `${silver} rows`);
  }
  t.is(await count(db, 'SELECT * FROM silver.terms'), (await count(db, 'SELECT * FROM categories')) + (await count(db, 'SELECT * FROM tags')), 'terms rows');

  // post_terms are exactly the bronze id lists.
  const assigned = "SELECT id AS post_id, unnest(categories) AS term_id, 'category' AS taxonomy FROM posts UNION ALL SELECT id, unnest(tags), 'post_tag' FROM posts";
  t.true((await count(db, assigned)) > 1000);
  t.is(await difference(db, 'SELECT post_id, term_id, taxonomy FROM silver.post_terms', assigned), 0, 'post_terms = bronze categories and tags');
  t.is(await difference(db, 'SELECT id, unnest(category_ids) FROM silver.posts', 'SELECT id, unnest(categories) FROM posts'), 0, 'category_ids');

  // Names by join: each list position's name is its term's, the author's is the user's.
  const namesByJoin = `SELECT p.id, u.i, t.name FROM silver.posts p, LATERAL (SELECT unnest(p.tag_ids) AS term_id, generate_subscripts(p.tag_ids, 1) AS i) u JOIN silver.terms t ON t.term_id = u.term_id`;
  t.is(await difference(db, namesByJoin, 'SELECT id, generate_subscripts(tag_names, 1), unnest(tag_names) FROM silver.posts'), 0, 'tag_names by join');
  t.is(await difference(db, 'SELECT s.id, u.name FROM posts p JOIN silver.posts s ON s.id = p.id JOIN silver.authors u ON u.id = p.author', 'SELECT id, author_name FROM silver.posts WHERE author_name IS NOT NULL'), 0, 'author_name by join');
  const expectedName = (text: string) => decodeEntities(text).replace(/\s+/g, ' ').trim();
  for (const [silver, bronze, key] of [['terms', 'categories', 'term_id'], ['terms', 'tags', 'term_id'], ['authors', 'users', 'id']]) {
    const pairs = await rows(db, `SELECT b.name AS raw, s.name AS name FROM ${bronze} b JOIN silver.${silver} s ON s.${key} = b.id`);
    t.deepEqual(pairs.map((p) => p.name), pairs.map((p) => expectedName(String(p.raw))), `${silver} names of ${bronze}`);
  }
  t.true((await rows(db, "SELECT name FROM categories WHERE name LIKE '%&amp;%'")).length > 0, 'the fixture has escaped names to decode');

  // Paths: slugs from the root by a recursive walk of bronze.
  const pagePaths = `WITH RECURSIVE walk(id, node, path) AS (
      SELECT id, parent, url_decode(slug) FROM pages
      UNION ALL SELECT w.id, p.parent, url_decode(p.slug) || '/' || w.path FROM walk w JOIN pages p ON p.id = w.node)
    SELECT id, path FROM walk WHERE node = 0`;
  t.is(await difference(db, pagePaths, 'SELECT id, path FROM silver.pages'), 0, 'page paths');
  t.true((await count(db, "SELECT * FROM silver.pages WHERE path LIKE '%/%/%'")) > 0, 'the fixture nests pages three deep');
  const termPaths = `WITH RECURSIVE walk(id, node, path) AS (
      SELECT id, parent, url_decode(slug) FROM categories
      UNION ALL SELECT w.id, c.parent, url_decode(c.slug) || '/' || w.path FROM walk w JOIN categories c ON c.id = w.node)
    SELECT id, path FROM walk WHERE node = 0`;
  t.is(await difference(db, termPaths, "SELECT term_id, path FROM silver.terms WHERE taxonomy = 'category'"), 0, 'category paths');

  // Comment depth by a recursive walk, comment_count by a group-by.
  const depths = `WITH RECURSIVE walk(id, node, depth) AS (
      SELECT id, parent, 1 FROM comments
      UNION ALL SELECT w.id, c.parent, w.depth + 1 FROM walk w JOIN comments c ON c.id = w.node)
    SELECT id, depth FROM walk WHERE node = 0`;
  t.is(await difference(db, depths, 'SELECT id, depth FROM silver.comments'), 0, 'comment depths');
  t.true((await count(db, 'SELECT * FROM silver.comments WHERE depth > 1')) > 0, 'the fixture has threaded replies');
  const counts = 'SELECT p.id, count(c.id) FROM posts p LEFT JOIN comments c ON c.post = p.id GROUP BY p.id';
  t.is(await difference(db, counts, 'SELECT id, comment_count FROM silver.posts'), 0, 'comment_count');

  // Timestamps are the *_gmt fields as instants.
  t.is(await difference(db, 'SELECT id, date_gmt, modified_gmt FROM posts', 'SELECT id, published_at::TIMESTAMP, modified_at::TIMESTAMP FROM silver.posts'), 0, 'posts timestamps');
  t.is(await difference(db, 'SELECT id, date_gmt FROM comments', 'SELECT id, published_at::TIMESTAMP FROM silver.comments'), 0, 'comments timestamps');

  // No markup and no entity left in any text column.
  const markup = "'<[A-Za-z/!]|&(#[0-9]+|#x[0-9A-Fa-f]+|[A-Za-z]+);'";
  const textColumns: Record<string, string[]> = {
    posts: ['title', 'excerpt', 'content_text', 'author_name', "array_to_string(category_names, ' ')", "array_to_string(tag_names, ' ')"],
    pages: ['title', 'excerpt', 'content_text', 'author_name'],
    comments: ['author_name', 'content_text'],
    terms: ['name'],
    authors: ['name'],
    media: ['alt_text', 'title'],
  };
  for (const [table, columns] of Object.entries(textColumns)) {
    for (const column of columns) t.is(await count(db, `SELECT 1 FROM silver.${table} WHERE regexp_matches(${column}, ${markup})`), 0, `${table}.${column} has no markup or entity`);
  }
  t.true((await count(db, `SELECT 1 FROM silver.posts WHERE regexp_matches(content_html, ${markup})`)) > 0, 'while content_html keeps it');

  // word_count is the segmenter's count of content_text.
  const segmenter = new Intl.Segmenter('und', { granularity: 'word' });
  const words = (text: string) => [...segmenter.segment(text)].filter((s) => s.isWordLike).length;
  for (const table of ['posts', 'pages']) {
    const texts = await rows(db, `SELECT content_text, word_count FROM silver.${table}`);
    t.deepEqual(texts.map((r) => Number(r.word_count)), texts.map((r) => words(String(r.content_text ?? ''))), `${table} word counts`);
  }
  t.true((await count(db, "SELECT 1 FROM silver.posts WHERE regexp_matches(content_text, '[\\x{4E00}-\\x{9FFF}]')")) > 0, 'the fixture has CJK text to count');
});
