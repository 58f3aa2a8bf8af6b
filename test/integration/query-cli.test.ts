import test from 'ava';
import type { ExecutionContext } from 'ava';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { runLocal } from '../../local/run';
import { generateItems, startWordPressFixture } from '../../local/demo-site/rest-server';

/** `npm run query` as a user runs it, over a lakehouse that two local runs wrote. */

const ROOT = resolve(__dirname, '../..');
const exec = promisify(execFile);

async function lakehouse(t: ExecutionContext) {
  const posts = generateItems(30, 1).map((p, i) => ({ ...p, modified_gmt: `2026-01-01T${String(i % 24).padStart(2, '0')}:00:00` }));
  const collections = { posts: { items: posts }, comments: { items: generateItems(12, 500).map((c, i) => ({ ...c, post: 1 + (i % 3) })), kind: 'terms' as const } };
  const site = await startWordPressFixture({ collections });
  const dir = await mkdtemp(join(tmpdir(), 'query-cli-'));
  t.teardown(async () => {
    await site.close();
    await rm(dir, { recursive: true, force: true });
  });
  await writeFile(join(dir, 'Pulumi.test.yaml'), ['config:', '  aws:region: eu-west-2', `  wordpress-lakehouse:siteUrl: ${site.origin}`, '  wordpress-lakehouse:endpoints: [posts, comments]', ''].join('\n'));
  const out = join(dir, 'out');
  t.is((await runLocal({ projectDir: dir, stack: 'test', out })).status, 'SUCCEEDED');
  // Day 2: one post gone, so a deletions table exists too.
  collections.posts = { items: posts.slice(1) };
  t.is((await runLocal({ projectDir: dir, stack: 'test', out })).status, 'SUCCEEDED');
  const query = async (...args: string[]) => {
    try {
      const { stdout, stderr } = await exec(process.execPath, ['--require', require.resolve('tsx/cjs'), join(ROOT, 'local/query-cli.ts'), '--stack', 'test', '--out', out, ...args], { cwd: dir });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const e = error as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  };
  return { query, out, dir };
}

test('tables are views named as in Glue: each endpoint and its deletions, with row counts and columns', async (t) => {
  const { query } = await lakehouse(t);
  const listed = await query('--tables');
  t.is(listed.code, 0, listed.stderr);
  t.regex(listed.stdout, /^comments \(12 rows\)\n  id BIGINT, .*_run_id VARCHAR, _row_hash VARCHAR$/m);
  t.regex(listed.stdout, /^posts \(29 rows\)\n  id BIGINT, /m);
  t.regex(listed.stdout, /^posts_deletions \(1 rows\)\n  detected_at TIMESTAMP WITH TIME ZONE, run_id VARCHAR, mode VARCHAR, id BIGINT$/m);
  const json = JSON.parse((await query('--tables', '--format', 'json')).stdout) as Array<{ table: string; rows: number }>;
  t.deepEqual(json.filter((r) => !r.table.startsWith('silver.')).map((r) => [r.table, r.rows]), [['comments', 12], ['posts', 29], ['posts_deletions', 1]]);
  // The run built silver from posts and comments too (no users or terms configured: those are skipped).
  t.deepEqual(json.filter((r) => r.table.startsWith('silver.')).map((r) => r.table), ['silver.comments', 'silver.post_terms', 'silver.posts']);
});

test('a query prints as an aligned table, CSV or JSON', async (t) => {
  const { query } = await lakehouse(t);
  const sql = 'SELECT post, count(*) AS comments FROM comments GROUP BY post ORDER BY post';
  const table = await query(sql);
  t.is(table.code, 0, table.stderr);
  t.is(table.stdout, 'post  comments\n----  --------\n1     4\n2     4\n3     4\n(3 rows)\n');
  t.is((await query('--format', 'csv', sql)).stdout, 'post,comments\r\n1,4\r\n2,4\r\n3,4\r\n');
  t.deepEqual(JSON.parse((await query('--format', 'json', `SELECT id, title__rendered AS "title, quoted" FROM posts WHERE id = 8`)).stdout), [{ id: '8', 'title, quoted': 'Café &amp; 😀 8' }]);
  t.is((await query('--format', 'csv', `SELECT 'a,"b"' AS x, NULL AS y`)).stdout, 'x,y\r\n"a,""b""",\r\n');
});

test('pipeline_runs has a row per endpoint of each run, from the run manifests', async (t) => {
  const { query } = await lakehouse(t);
  const runs = JSON.parse((await query('--format', 'json', 'SELECT endpoint, ok, mode, upserted, deleted, "rows" FROM pipeline_runs ORDER BY run_id, endpoint')).stdout);
  t.deepEqual(runs, [
    { endpoint: 'comments', ok: true, mode: 'full', upserted: '12', deleted: '0', rows: '12' },
    { endpoint: 'posts', ok: true, mode: 'full', upserted: '30', deleted: '0', rows: '30' },
    { endpoint: 'comments', ok: true, mode: 'full', upserted: '0', deleted: '0', rows: '12' },
    { endpoint: 'posts', ok: true, mode: 'incremental', upserted: '0', deleted: '1', rows: '29' },
  ]);
  t.is((await query('SELECT * FROM pipeline_runs')).code, 0);
});

test('an unknown table lists the known ones; an SQL error, a missing lakehouse and bad options say what to do', async (t) => {
  const { query, dir } = await lakehouse(t);
  const unknown = await query('SELECT * FROM postz');
  t.is(unknown.code, 1);
  t.regex(unknown.stderr, /Table with name postz does not exist! .*Known tables: comments, posts, posts_deletions, silver\.comments, silver\.post_terms, silver\.posts\./);
  const syntax = await query('SELEC 1');
  t.is(syntax.code, 1);
  t.regex(syntax.stderr, /^SQL error: Parser Error: syntax error at or near "SELEC"/);
  const missing = await query('--out', join(dir, 'nowhere'), 'SELECT 1');
  t.is(missing.code, 1);
  t.regex(missing.stderr, /no lakehouse at .*nowhere\/bronze\/wordpress_api: run npm start first/);
  t.is((await query('--format', 'xml', 'SELECT 1')).code, 2);
  const none = await query();
  t.is(none.code, 2);
  t.regex(none.stderr, /give one SQL statement \(quoted\), or --tables/);
});
