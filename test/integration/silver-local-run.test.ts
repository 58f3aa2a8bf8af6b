import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { DEMO_SIZES, startDemoSite } from '../../local/demo-site';
import { openLakehouse, query } from '../../local/lakehouse-sql';
import { runLocal } from '../../local/run';

/** A local run (`npm start`'s runner) of the demo blog: the state machine runs silver after bronze. */

const exec = promisify(execFile);
const ROOT = resolve(__dirname, '../..');

async function project(siteUrl: string, endpoints?: string[]): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'silver-local-'));
  const list = endpoints ? ['  wordpress-lakehouse:endpoints:', ...endpoints.map((e) => `    - ${e}`)] : [];
  await writeFile(join(dir, 'Pulumi.test.yaml'), ['config:', '  aws:region: eu-west-2', `  wordpress-lakehouse:siteUrl: ${siteUrl}`, ...list, ''].join('\n'));
  return dir;
}

test('a local run builds the silver tables after bronze, and npm run query shows them as schema silver beside bronze', async (t) => {
  const site = await startDemoSite();
  t.teardown(() => site.close());
  const dir = await project(site.origin);
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const out = join(dir, 'out');
  const result = await runLocal({ projectDir: dir, stack: 'test', out });
  t.is(result.status, 'SUCCEEDED', result.error);
  if (!result.silver || 'error' in result.silver) return t.fail(JSON.stringify(result.silver));
  t.deepEqual(result.silver.skipped, []);
  t.deepEqual(result.silver.tables.map((x) => x.table).sort(), ['authors', 'comments', 'media', 'pages', 'post_terms', 'posts', 'terms']);
  t.like(JSON.parse(await readFile(result.summaryPath, 'utf8')).silver, { runId: result.runId });

  const { connection, tables } = await openLakehouse(out, 'wordpress_api');
  const one = async (sql: string) => (await query(connection, tables, sql)).rows[0];
  t.deepEqual(await one('SELECT count(*)::INTEGER, (SELECT count(*)::INTEGER FROM posts) FROM silver.posts'), [DEMO_SIZES.posts, DEMO_SIZES.posts], 'bronze posts are still `posts`');
  t.deepEqual(await one('SELECT count(*)::INTEGER FROM silver.terms'), [DEMO_SIZES.categories + DEMO_SIZES.tags]);
  t.deepEqual(await one("SELECT count(*)::INTEGER FROM silver.terms WHERE name = 'Tech & Science'"), [1], 'names decoded');
  t.true(Number((await one('SELECT max(depth) FROM silver.comments'))[0]) > 1, 'threaded comments have depths');
  t.true(Number((await one("SELECT count(*) FROM silver.pages WHERE path LIKE '%/%'"))[0]) > 0, 'nested pages have paths');
  t.deepEqual(await one('SELECT count(*)::INTEGER FROM silver.posts p JOIN silver.authors a ON a.id = p.author_id WHERE a.name <> p.author_name'), [0]);

  const { stdout } = await exec('npm', ['run', '--silent', 'query', '--', '--out', out, '--tables'], { cwd: ROOT });
  t.regex(stdout, new RegExp(`^silver\\.posts \\(${DEMO_SIZES.posts} rows\\)\\n  id BIGINT, slug VARCHAR`, 'm'), 'npm run query -- --tables lists silver');
  t.regex(stdout, new RegExp(`^posts \\(${DEMO_SIZES.posts} rows\\)`, 'm'));
});

test('a missing bronze endpoint skips its silver table with a line, and the run still succeeds', async (t) => {
  const site = await startDemoSite();
  t.teardown(() => site.close());
  const dir = await project(site.origin, ['posts', 'users']);
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const lines: string[] = [];
  const result = await runLocal({ projectDir: dir, stack: 'test', out: join(dir, 'out'), onEvent: (e) => e.kind === 'log' && e.layer === 'silver' && lines.push(String(e.line.message)) });
  t.is(result.status, 'SUCCEEDED', result.error);
  if (!result.silver || 'error' in result.silver) return t.fail(JSON.stringify(result.silver));
  t.deepEqual(result.silver.tables.map((x) => x.table), ['posts', 'post_terms', 'authors']);
  t.deepEqual(result.silver.skipped.map((s) => s.table), ['terms (categories)', 'terms (tags)', 'media', 'comments', 'pages']);
  t.true(lines.includes('comments: skipped, no bronze comments table'), lines.join('\n'));
});

test('a silver failure fails the run with the alert on the silver topic, and bronze stays as it landed', async (t) => {
  const site = await startDemoSite();
  t.teardown(() => site.close());
  const dir = await project(site.origin, ['posts', 'users']);
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const out = join(dir, 'out');
  const result = await runLocal({
    projectDir: dir,
    stack: 'test',
    out,
    testing: {
      wrapTasks: {
        data_wordpressapi_silver: async () => {
          throw new Error('no space left on device');
        },
      },
    },
  });
  t.is(result.status, 'FAILED');
  t.regex(result.error ?? '', /silver tables could not be built/, 'the SilverLayerFailed state ended the run');
  t.true(result.endpoints.every((e) => e.ok), 'every endpoint landed');
  const alerts = (await readFile(join(out, 'alerts.jsonl'), 'utf8')).trim().split('\n').map((line) => JSON.parse(line));
  t.deepEqual(alerts.map((a) => [a.topic, a.subject]), [['arn:aws:sns:local:000000000000:data-lakehouse-silver', 'WordPress_Raw_To_Bronze: Silver Failed']], 'one alert, on the silver topic');
  t.regex(alerts[0].message, /no space left on device/);
  const { connection, tables } = await openLakehouse(out, 'wordpress_api');
  t.deepEqual((await query(connection, tables, 'SELECT count(*)::INTEGER FROM posts')).rows[0], [DEMO_SIZES.posts], 'bronze posts landed');
});
