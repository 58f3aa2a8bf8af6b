import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';
import { runLocal } from '../../local/run';
import { type FixtureCollection, generateItems, startWordPressFixture } from '../helpers/wordpress-fixture';

const exec = promisify(execFile);
const ROOT = resolve(__dirname, '../..');

async function project(siteUrl: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'lakehouse-project-'));
  await writeFile(
    join(dir, 'Pulumi.test.yaml'),
    [
      'config:',
      '  aws:region: eu-west-2',
      `  wordpress-lakehouse:siteUrl: ${siteUrl}`,
      '  wordpress-lakehouse:endpoints:',
      '    - posts',
      '    - comments',
      `    - { name: stats, url: "${siteUrl}/wp-json/custom/v1/stats" }`,
      '  wordpress-lakehouse:maxRetries: 1',
      '',
    ].join('\n'),
  );
  return dir;
}

async function rowCount(file: string): Promise<number> {
  const db = await (await DuckDBInstance.create(':memory:')).connect();
  const reader = await db.runAndReadAll(`SELECT count(*)::INTEGER AS n FROM read_parquet('${file}')`);
  return Number(reader.getRowObjects()[0].n);
}

test('a local run lands every endpoint, and a failing endpoint on the next run keeps its files while the others are replaced', async (t) => {
  const collections: Record<string, FixtureCollection> = {
    posts: { items: generateItems(250, 1) },
    comments: { items: generateItems(120, 1000), kind: 'terms', hidden: 3 },
  };
  const site = await startWordPressFixture({
    collections,
    documents: { '/custom/v1/stats': { visits: 42, top: [{ path: '/', hits: 40 }] } },
  });
  t.teardown(() => site.close());
  const dir = await project(site.origin);
  const out = join(dir, '.lakehouse');
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = (layer: string, name: string) => join(out, layer, 'wordpress_api', name, `${name}.${layer === 'raw' ? 'json' : 'parquet'}`);

  const first = await runLocal({ projectDir: dir, stack: 'test', out });
  t.is(first.status, 'SUCCEEDED', first.error);
  t.deepEqual(first.endpoints.map((e) => [e.endpoint, e.ok, e.items]), [['posts', true, 250], ['comments', true, 120], ['stats', true, 1]]);
  t.is(JSON.parse(await readFile(file('raw', 'posts'), 'utf8')).length, 250);
  t.is(await rowCount(file('bronze', 'posts')), 250);
  t.is(await rowCount(file('bronze', 'comments')), 120);
  const summary = JSON.parse(await readFile(first.summaryPath, 'utf8'));
  t.like(summary.endpoints[0], { endpoint: 'posts', ok: true, items: 250, rows: 250 });
  t.true(summary.endpoints[0].columns > 2);

  const commentsRaw = await readFile(file('raw', 'comments'));
  const commentsBronze = await readFile(file('bronze', 'comments'));
  collections.posts = { items: [...generateItems(250, 1), ...generateItems(30, 5000)] };
  site.setFault((request) => (request.route === '/wp/v2/comments' ? { status: 403, body: { code: 'rest_forbidden', message: 'Sorry, you are not allowed to do that.' } } : undefined));

  const second = await runLocal({ projectDir: dir, stack: 'test', out });
  t.is(second.status, 'FAILED');
  const comments = second.endpoints.find((e) => e.endpoint === 'comments')!;
  t.false(comments.ok);
  t.regex(comments.error ?? '', /403.*rest_forbidden/);
  t.deepEqual(await readFile(file('raw', 'comments')), commentsRaw, 'yesterday\'s raw comments are untouched');
  t.deepEqual(await readFile(file('bronze', 'comments')), commentsBronze, 'yesterday\'s bronze comments are untouched');
  t.is(JSON.parse(await readFile(file('raw', 'posts'), 'utf8')).length, 280, 'posts, which succeeded, were replaced');
  t.is(await rowCount(file('bronze', 'posts')), 280);

  const alerts = (await readFile(join(out, 'alerts.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
  const failure = alerts.find((a) => a.runId === second.runId && a.subject === 'WordPress_Raw_To_Bronze: Failed');
  t.truthy(failure, 'the failure-stepfunction alert was sent');
  t.regex(failure.message, /comments/);
  t.regex(failure.message, /403/);
  t.true(alerts.some((a) => a.runId === second.runId && /Ran With Failures/.test(a.subject)));
});

test('a handler that throws fails its endpoint through the state machine Catch, and the run ends FAILED', async (t) => {
  const site = await startWordPressFixture({ collections: { posts: { items: generateItems(10) }, comments: { items: generateItems(5, 100), kind: 'terms' } }, documents: { '/custom/v1/stats': {} } });
  t.teardown(() => site.close());
  const dir = await project(site.origin);
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const result = await runLocal({
    projectDir: dir,
    stack: 'test',
    out: join(dir, 'out'),
    endpoints: ['posts'],
    testing: {
      wrapTasks: {
        data_wordpressapi_bronze: async () => {
          throw new Error('disk full');
        },
      },
    },
  });
  t.is(result.status, 'FAILED');
  const alerts = await readFile(join(dir, 'out', 'alerts.jsonl'), 'utf8');
  t.regex(alerts, /"stage\\":\\"bronze\\"/);
  t.regex(alerts, /disk full/);
});

test('npm start explains bad options, naming the option and the fix, with exit code 2', async (t) => {
  const fail = async (args: string[]) => {
    const error = await t.throwsAsync(exec('npm', ['start', '--silent', '--', ...args], { cwd: ROOT }));
    return error as Error & { code: number; stderr: string };
  };
  const concurrency = await fail(['--concurrency', '0']);
  t.is(concurrency.code, 2);
  t.regex(concurrency.stderr, /--concurrency must be a whole number from 1 to 40.*Fix/);
  const stack = await fail(['--stack', 'nosuchstack']);
  t.is(stack.code, 2);
  t.regex(stack.stderr, /--stack has no stack file .*Pulumi\.nosuchstack\.yaml.*Fix/);
  const site = await fail(['--site', 'ftp://example.com']);
  t.regex(site.stderr, /siteUrl must use http or https/);
  const unknown = await fail(['--bogus']);
  t.regex(unknown.stderr, /--bogus/);
  const { stdout } = await exec('npm', ['start', '--silent', '--', '--help'], { cwd: ROOT });
  t.regex(stdout, /--endpoints a,b,c/);
});
