import test from 'ava';
import { cp, readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { runLocal } from '../../local/run';
import { type FixtureCollection, generateItems } from '../../local/demo-site/rest-server';
import { fixtureProject } from '../helpers/fixture-project';

/** Posts with a modification time (so runs after the first are incremental) and term lists. */
const posts = (count: number): Array<Record<string, unknown>> => generateItems(count).map((item, i) => ({ ...item, modified_gmt: `2026-11-0${1 + (i % 5)}T10:00:00`, categories: [1 + (i % 3)] }));

test('a replay rebuilds every bronze table, its deletions and state from raw alone; from the first fetch, lineage included', async (t) => {
  t.timeout(5 * 60_000);
  const collections: Record<string, FixtureCollection> = { posts: { items: posts(250) }, users: { items: generateItems(6), kind: 'terms' } };
  const { site, dir, out } = await fixtureProject(t, collections);
  const run = async (options: { replay?: boolean | 'all'; fullRefresh?: boolean; pagesPerTask?: number } = {}) => {
    const result = await runLocal({ projectDir: dir, stack: 'test', out, ...options });
    t.is(result.status, 'SUCCEEDED', result.error);
    return result;
  };
  await run();
  // Day 2: an edit, a deletion, a post re-categorised without a new modification time, a user gone.
  const day2 = posts(250).filter((p) => p.id !== 7).map((p) => (p.id === 3 ? { ...p, title: { rendered: 'Edited' }, modified_gmt: '2026-12-01T10:00:00' } : p.id === 9 ? { ...p, categories: [1, 2] } : p));
  collections.posts = { items: day2 };
  collections.users = { items: generateItems(5), kind: 'terms' };
  t.is((await run()).endpoints.find((e) => e.endpoint === 'posts')?.mode, 'incremental');
  // Day 3: a full refresh split into parts (3 pages at one page a part); day 4: an edit after it.
  collections.posts = { items: [...day2, ...posts(260).slice(250)] };
  const day3 = await run({ fullRefresh: true, pagesPerTask: 1 });
  t.true((day3.endpoints.find((e) => e.endpoint === 'posts')?.parts ?? 0) > 1, 'posts crawled in parts');
  collections.posts = { items: collections.posts.items.map((p) => (p.id === 11 ? { ...p, title: { rendered: 'Edited on day 4' }, modified_gmt: '2026-12-04T10:00:00' } : p)) };
  const day4 = await run();
  // From here on the site is unreachable: every request is answered with a reset connection.
  site.setFault(() => ({ reset: true }));
  const requests = site.requests.length;

  const bronze = join(out, 'bronze', 'wordpress_api');
  const built = join(dir, 'built');
  await cp(bronze, built, { recursive: true });
  const replayed = await run({ replay: true });
  t.like(replayed.endpoints.find((e) => e.endpoint === 'posts'), { ok: true, rows: 259 });
  t.is(site.requests.length, requests, 'the replay asked the site nothing');

  const db = await (await DuckDBInstance.create(':memory:')).connect();
  const rows = async (sql: string) => (await db.runAndReadAll(sql)).getRowObjectsJson();
  const same = async (a: string, b: string, columns: string) => rows(`(SELECT ${columns} FROM '${a}' EXCEPT ALL SELECT ${columns} FROM '${b}') UNION ALL (SELECT ${columns} FROM '${b}' EXCEPT ALL SELECT ${columns} FROM '${a}')`);
  for (const name of ['posts', 'users']) {
    const a = join(built, name, `${name}.parquet`);
    const b = join(bronze, name, `${name}.parquet`);
    t.deepEqual(await same(a, b, '* EXCLUDE (_ingested_at, _run_id)'), [], `${name}: every value and row hash`);
    t.deepEqual(await rows(`SELECT count(*)::INT AS n FROM '${b}'`), await rows(`SELECT count(*)::INT AS n FROM '${a}'`));
    const deletions = async (root: string) => rows(`SELECT * EXCLUDE (detected_at) FROM read_parquet('${join(root, `${name}_deletions`)}/*.parquet') ORDER BY ALL`);
    t.deepEqual(await deletions(bronze), await deletions(built), `${name}_deletions`);
    const state = async (root: string) => {
      const { updatedAt: _u, ...rest } = JSON.parse(await readFile(join(root, '_state', `${name}.json`), 'utf8'));
      return rest;
    };
    t.deepEqual(await state(bronze), await state(built), `${name} state`);
  }
  t.deepEqual(await readdir(join(bronze, 'posts_deletions')), await readdir(join(built, 'posts_deletions')));
  // posts' last full fetch is day 3's (split), so its rows unchanged since before it say day 3; users
  // are fetched in full every run, so theirs say day 4.
  const table = (root: string, name: string) => join(root, name, `${name}.parquet`);
  t.deepEqual(await rows(`SELECT DISTINCT _run_id FROM '${table(bronze, 'posts')}' ORDER BY 1`), [{ _run_id: day3.runId }, { _run_id: day4.runId }].sort((a, b) => a._run_id.localeCompare(b._run_id)));
  t.deepEqual(await rows(`SELECT DISTINCT _run_id FROM '${table(bronze, 'users')}'`), [{ _run_id: day4.runId }]);

  // Bronze deleted (the embedded S3's objects and their mirror), then rebuilt from the first fetch
  // raw keeps: every row keeps the lineage the runs gave it.
  await rm(join(out, '.s3', 'bronze', 'wordpress_api'), { recursive: true, force: true });
  await rm(join(out, 'bronze'), { recursive: true, force: true });
  await run({ replay: 'all' });
  t.is(site.requests.length, requests);
  for (const name of ['posts', 'users']) {
    t.deepEqual(await same(table(built, name), table(bronze, name), '*'), [], `${name}: everything, lineage included`);
    t.deepEqual(await rows(`SELECT * FROM read_parquet('${join(bronze, `${name}_deletions`)}/*.parquet') ORDER BY ALL`), await rows(`SELECT * FROM read_parquet('${join(built, `${name}_deletions`)}/*.parquet') ORDER BY ALL`), `${name}_deletions, detection times included`);
  }
});
