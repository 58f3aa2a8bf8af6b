import type { ExecutionContext } from 'ava';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { catalogColumns } from '../../handlers/lake/catalog';
import { tableName } from '../../handlers/lake/layout';
import { openTable } from '../../handlers/lake/table';
import { openLakehouse, query } from '../../local/lakehouse-sql';
import { runLocal } from '../../local/run';
import { NAMED_QUERIES } from '../../pipeline/named-queries';
import { ENDPOINTS, SITE, wordpressTest } from '../helpers/real-wordpress';

/**
 * The catalog's two promises, on the real WordPress: the Athena type Glue gets for every column
 * reads what is in the file (checked against DuckDB's own reading of it), and every named query
 * the stack deploys runs on the local lakehouse with the result the raw data implies.
 */

/** The references WordPress' escaping produces: the five named ones and numeric ones (the test's own, not silver's decoder). */
function decodeEntities(text: string): string {
  const named: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
  return text.replace(/&(?:#(\d+)|#x([0-9a-f]+)|([a-z]+));/gi, (whole, dec, hex, name) =>
    dec ? String.fromCodePoint(Number(dec)) : hex ? String.fromCodePoint(parseInt(hex, 16)) : (named[name] ?? whole),
  );
}

/** DuckDB's type of a Parquet column, as Athena spells the same type. */
function asAthena(duckdb: string): string {
  const list = /^(.*)\[\]$/.exec(duckdb);
  if (list) return `array<${asAthena(list[1])}>`;
  const types: Record<string, string> = { BIGINT: 'bigint', DOUBLE: 'double', BOOLEAN: 'boolean', VARCHAR: 'string', JSON: 'string', TIMESTAMP: 'timestamp', 'TIMESTAMP WITH TIME ZONE': 'timestamp' };
  return types[duckdb] ?? `unmapped DuckDB type ${duckdb}`;
}

async function lakehouse(t: ExecutionContext) {
  const dir = await mkdtemp(join(tmpdir(), 'catalog-e2e-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'Pulumi.test.yaml'), ['config:', '  aws:region: eu-west-2', `  wordpress-lakehouse:siteUrl: ${SITE}`, ''].join('\n'));
  const result = await runLocal({ projectDir: dir, stack: 'test', out: join(dir, 'out') });
  t.is(result.status, 'SUCCEEDED', result.error);
  return { out: join(dir, 'out'), result };
}

wordpressTest('every column of every endpoint gets the Athena type of what DuckDB reads from the file, and the named queries give what the raw data implies', async (t) => {
  t.timeout(5 * 60_000);
  const { out, result } = await lakehouse(t);
  const { connection, tables } = await openLakehouse(out, 'wordpress_api');
  t.deepEqual(tables.map((table) => table.name), [...ENDPOINTS].map(tableName).sort());

  for (const endpoint of ENDPOINTS) {
    const file = join(out, 'bronze', 'wordpress_api', endpoint, `${endpoint}.parquet`);
    const glue = catalogColumns((await openTable(file)).columns);
    const duckdb = (await query(connection, tables, `DESCRIBE SELECT * FROM read_parquet('${file}')`)).rows.map((r) => ({ Name: String(r[0]), Type: asAthena(String(r[1])) }));
    t.deepEqual(glue.map((c) => `${c.Name} ${c.Type}`), duckdb.map((c) => `${c.Name} ${c.Type}`), endpoint);
  }

  // What each named query should answer, computed from this run's raw objects.
  const rawOf = async (endpoint: string) => {
    const key = (result.manifest as { endpoints: Array<{ endpoint: string; rawKey: string }> }).endpoints.find((e) => e.endpoint === endpoint)!.rawKey;
    return JSON.parse(await readFile(join(out, 'raw', ...key.split('/')), 'utf8')) as Array<Record<string, any>>;
  };
  const posts = await rawOf('posts');
  const comments = await rawOf('comments');
  const categories = await rawOf('categories');
  const users = await rawOf('users');
  // A silver query names its tables unqualified, as in its Athena database: locally, the schema silver.
  const run = async (name: string) => {
    const named = NAMED_QUERIES.find((q) => q.name === name)!;
    await connection.run(`SET search_path = '${named.layer === 'silver' ? 'silver' : 'main'}'`);
    return query(connection, tables, named.sql);
  };
  t.is(NAMED_QUERIES.length, 5);

  const latest = await run('latest-posts');
  const newest = [...posts].sort((a, b) => (a.date_gmt === b.date_gmt ? b.id - a.id : a.date_gmt < b.date_gmt ? 1 : -1)).slice(0, 20);
  t.deepEqual(latest.rows.map((r) => Number(r[0])), newest.map((p) => p.id));
  t.deepEqual(latest.rows.map((r) => r[2]), newest.map((p) => decodeEntities(p.title.rendered).trim()), 'plain-text titles');

  const perCategory = await run('posts-per-category-per-month');
  const name = new Map(categories.map((c) => [c.id, decodeEntities(c.name)]));
  const expected = new Map<string, number>();
  for (const p of posts) for (const c of p.categories as number[]) {
    const key = `${name.get(c)}|${String(p.date_gmt).slice(0, 7)}`;
    expected.set(key, (expected.get(key) ?? 0) + 1);
  }
  const got = new Map<string, number>();
  for (const [category, month, count] of perCategory.rows) {
    const key = `${category}|${String(month).slice(0, 7)}`;
    got.set(key, (got.get(key) ?? 0) + Number(count));
  }
  const sorted = (m: Map<string, number>) => [...m.entries()].sort(([a], [b]) => a.localeCompare(b));
  t.deepEqual(sorted(got), sorted(expected), 'two categories named alike count together, as their names do');

  const perPost = await run('comments-per-post');
  const count = new Map<number, number>();
  for (const c of comments) count.set(c.post, (count.get(c.post) ?? 0) + 1);
  const top = posts.map((p) => [p.id, count.get(p.id) ?? 0] as const).sort((a, b) => b[1] - a[1] || a[0] - b[0]).slice(0, 20);
  t.deepEqual(perPost.rows.map((r) => [Number(r[0]), Number(r[2])]), top);

  const perAuthor = await run('posts-per-author-per-month');
  const author = new Map(users.map((u) => [u.id, decodeEntities(u.name)]));
  const byAuthor = new Map<string, [number, number]>();
  for (const p of posts) {
    const key = `${author.get(p.author) ?? null}|${String(p.date_gmt).slice(0, 7)}`;
    const [n, c] = byAuthor.get(key) ?? [0, 0];
    byAuthor.set(key, [n + 1, c + (count.get(p.id) ?? 0)]);
  }
  const gotAuthor = perAuthor.rows.map((r) => [`${r[0]}|${String(r[1]).slice(0, 7)}`, [Number(r[2]), Number(r[3])]] as const);
  t.deepEqual([...gotAuthor].sort(([a], [b]) => a.localeCompare(b)), [...byAuthor.entries()].sort(([a], [b]) => a.localeCompare(b)), 'posts and their comments per author and UTC month');
  t.is(gotAuthor.length, byAuthor.size);

  const changed = await run('posts-changed-in-last-run');
  t.is(changed.rows.length, posts.length, 'a first run delivered every post');
  t.true(changed.rows.every((r) => r[2] === result.runId));
});
