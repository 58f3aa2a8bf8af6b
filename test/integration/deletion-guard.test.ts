import test from 'ava';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { runLocal } from '../../local/run';
import { deletionGuardError } from '../../handlers/lake/land';
import { type FixtureCollection, generateItems } from '../../local/demo-site/rest-server';
import { fixtureProject } from '../helpers/fixture-project';

test('the guard needs both bounds passed: a small table may lose a few rows, a big one a few percent', (t) => {
  const guard = { maxPercent: 10, maxRows: 50 };
  t.is(deletionGuardError('posts', 50, 60, guard), undefined, '83% but only 50 rows');
  t.is(deletionGuardError('posts', 100, 1000, guard), undefined, '100 rows but only 10%');
  t.regex(deletionGuardError('posts', 101, 1000, guard)!, /^posts: this run would delete 101 of 1000 rows \(10\.1%\), more than maxDeletePercent 10% and maxDeleteRows 50/);
  t.is(deletionGuardError('posts', 5, 0, guard), undefined, 'no table yet');
  t.is(deletionGuardError('posts', 1000, 1000, undefined), undefined);
});

test('a site that suddenly answers 200 [] fails the endpoint with the counts, keeps the table, and deletes only once accepted', async (t) => {
  t.timeout(5 * 60_000);
  const collections: Record<string, FixtureCollection> = { posts: { items: generateItems(300) }, users: { items: generateItems(5), kind: 'terms' } };
  const { dir, out } = await fixtureProject(t, collections);
  const run = (acceptDeletions?: string[]) => runLocal({ projectDir: dir, stack: 'test', out, ...(acceptDeletions && { acceptDeletions }) });
  const day1 = await run();
  t.is(day1.status, 'SUCCEEDED', day1.error);
  const table = join(out, 'bronze', 'wordpress_api', 'posts', 'posts.parquet');
  const state = join(out, 'bronze', 'wordpress_api', '_state', 'posts.json');
  const [tableBefore, stateBefore] = await Promise.all([readFile(table), readFile(state, 'utf8')]);

  // A membership plugin hides posts from anonymous readers: a valid, empty collection.
  collections.posts = { items: [] };
  const hidden = await run();
  t.is(hidden.status, 'FAILED');
  const posts = hidden.endpoints.find((e) => e.endpoint === 'posts')!;
  t.false(posts.ok);
  t.regex(posts.error!, /would delete 300 of 300 rows \(100\.0%\).*npm start -- --accept-deletions posts.*\{"acceptDeletions": \["posts"\]\}/);
  t.like(hidden.endpoints.find((e) => e.endpoint === 'users'), { ok: true }, 'the other endpoints land');
  t.deepEqual(await readFile(table), tableBefore, 'the table is kept');
  t.is(await readFile(state, 'utf8'), stateBefore, 'and its state');

  // Accepted for posts, in this run only: the deletions land and are recorded.
  const accepted = await run(['posts']);
  t.is(accepted.status, 'SUCCEEDED', accepted.error);
  t.like(accepted.endpoints.find((e) => e.endpoint === 'posts'), { ok: true, deleted: 300, rows: 0 });
  const db = await (await DuckDBInstance.create(':memory:')).connect();
  const recorded = await db.runAndReadAll(`SELECT count(*)::INT AS n FROM read_parquet('${join(out, 'bronze', 'wordpress_api', 'posts_deletions')}/*.parquet')`);
  t.is(recorded.getRowObjects()[0].n, 300);

  const misspelt = await run(['post']);
  t.is(misspelt.status, 'FAILED');
  t.regex(misspelt.endpoints.map((e) => e.error).join(' '), /acceptDeletions must list endpoint names of this stack \(posts, users\)/);
});
