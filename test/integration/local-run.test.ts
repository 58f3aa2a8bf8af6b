import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, resolve, sep } from 'node:path';
import { promisify } from 'node:util';
import { zstdDecompressSync } from 'node:zlib';
import { DuckDBInstance } from '@duckdb/node-api';
import { parquetReadObjects } from 'hyparquet';
import { type LocalRunResult, runLocal } from '../../local/run';
import { type FixtureCollection, generateItems, startWordPressFixture } from '../../local/demo-site/rest-server';

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

async function tableRows(file: string): Promise<Array<Record<string, unknown>>> {
  const bytes = await readFile(file);
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  return (await parquetReadObjects({ file: buffer, compressors: { ZSTD: (input: Uint8Array) => new Uint8Array(zstdDecompressSync(input)) } })) as Array<Record<string, unknown>>;
}

/** Every raw object of an endpoint (raw is history: one per run that fetched it), by path under its folder. */
async function rawObjects(out: string, name: string): Promise<Map<string, Buffer>> {
  const root = join(out, 'raw', 'wordpress_api', name);
  const objects = new Map<string, Buffer>();
  for (const entry of await readdir(root, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) objects.set(relative(root, join(entry.parentPath, entry.name)).split(sep).join('/'), await readFile(join(entry.parentPath, entry.name)));
  }
  return objects;
}

/** The raw object this run wrote for an endpoint, as its run manifest names it. */
function rawFileOf(result: LocalRunResult, name: string): string {
  const entries = (result.manifest?.endpoints ?? []) as Array<{ endpoint: string; rawKey?: string }>;
  const key = entries.find((e) => e.endpoint === name)?.rawKey;
  if (!key) throw new Error(`the manifest of ${result.runId} names no raw object of ${name}`);
  return join(result.out, 'raw', ...key.split('/'));
}

const byName = (result: LocalRunResult) => Object.fromEntries(result.endpoints.map((e) => [e.endpoint, e]));

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
  const table = (name: string) => join(out, 'bronze', 'wordpress_api', name, `${name}.parquet`);
  const state = (name: string) => join(out, 'bronze', 'wordpress_api', '_state', `${name}.json`);

  const first = await runLocal({ projectDir: dir, stack: 'test', out });
  t.is(first.status, 'SUCCEEDED', first.error);
  t.deepEqual(first.endpoints.map((e) => [e.endpoint, e.ok, e.items]), [['posts', true, 250], ['comments', true, 120], ['stats', true, 1]]);
  t.is(JSON.parse(await readFile(rawFileOf(first, 'posts'), 'utf8')).length, 250);
  t.is(await rowCount(table('posts')), 250);
  t.is(await rowCount(table('comments')), 120);
  const summary = JSON.parse(await readFile(first.summaryPath, 'utf8'));
  t.like(summary.endpoints[0], { endpoint: 'posts', ok: true, items: 250, rows: 250 });
  t.true(summary.endpoints[0].columns > 2);

  const commentsRaw = await rawObjects(out, 'comments');
  t.is(commentsRaw.size, 1);
  const commentsBronze = await readFile(table('comments'));
  const commentsState = await readFile(state('comments'));
  collections.posts = { items: [...generateItems(250, 1), ...generateItems(30, 5000)] };
  site.setFault((request) => (request.route === '/wp/v2/comments' ? { status: 403, body: { code: 'rest_forbidden', message: 'Sorry, you are not allowed to do that.' } } : undefined));

  const second = await runLocal({ projectDir: dir, stack: 'test', out });
  t.is(second.status, 'FAILED');
  const comments = second.endpoints.find((e) => e.endpoint === 'comments')!;
  t.false(comments.ok);
  t.regex(comments.error ?? '', /403.*rest_forbidden/);
  t.deepEqual(await rawObjects(out, 'comments'), commentsRaw, 'no raw comments object was added, and yesterday\'s is untouched');
  t.deepEqual(await readFile(table('comments')), commentsBronze, 'yesterday\'s bronze comments are untouched');
  t.deepEqual(await readFile(state('comments')), commentsState, 'and so is their state, so the next run starts from it');
  t.is((await rawObjects(out, 'posts')).size, 2, 'posts, which succeeded, got this run\'s raw object beside yesterday\'s');
  t.is(JSON.parse(await readFile(rawFileOf(second, 'posts'), 'utf8')).length, 280);
  t.is(await rowCount(table('posts')), 280, 'and their table was replaced');

  const alerts = (await readFile(join(out, 'alerts.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
  const failure = alerts.find((a) => a.runId === second.runId && a.subject === 'WordPress_Raw_To_Bronze: Failed');
  t.truthy(failure, 'the failure-stepfunction alert was sent');
  t.regex(failure.message, /comments/);
  t.regex(failure.message, /403/);
  t.true(alerts.some((a) => a.runId === second.runId && /Ran With Failures/.test(a.subject)));
});

test('a second run of an unchanged site fetches posts by delta and comments in full, and changes no bronze row', async (t) => {
  // One hour apart, so the default 60-minute overlap reaches back to exactly the previous item
  // and, modified_after being exclusive, the delta is the newest post alone.
  const modified = (i: number) => new Date(Date.UTC(2026, 0, 1) + i * 3_600_000).toISOString().slice(0, 19);
  const posts = generateItems(250, 1).map((item, i) => ({ ...item, modified_gmt: modified(i) }));
  // The fixture answers modified_after, _fields=id and include= as WordPress does.
  const site = await startWordPressFixture({ collections: { posts: { items: posts }, comments: { items: generateItems(120, 1000), kind: 'terms' } } });
  t.teardown(() => site.close());
  const dir = await project(site.origin);
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const out = join(dir, 'out');
  const table = (name: string) => join(out, 'bronze', 'wordpress_api', name, `${name}.parquet`);
  const run = () => runLocal({ projectDir: dir, stack: 'test', out, endpoints: ['posts', 'comments'] });

  const first = await run();
  t.is(first.status, 'SUCCEEDED', first.error);
  t.like(byName(first), { posts: { ok: true, mode: 'full', pages: 3, rows: 250 }, comments: { ok: true, mode: 'full', rows: 120 } });
  const before = { posts: await tableRows(table('posts')), comments: await tableRows(table('comments')) };
  t.true(before.posts.every((row) => row._run_id === first.runId), 'the first run delivered every row');

  const requestsBefore = site.requests.length;
  const second = await run();
  t.is(second.status, 'SUCCEEDED', second.error);
  const d2 = byName(second);
  t.like(d2.posts, { ok: true, mode: 'incremental', pages: 1, items: 1, idPages: 3, upserted: 0, deleted: 0, rows: 250 });
  t.true(d2.posts.pages! < byName(first).posts.pages!, 'the delta took fewer pages than the full crawl');
  t.like(d2.comments, { ok: true, mode: 'full', items: 120, upserted: 0, deleted: 0, rows: 120 }, 'comments carry no modified_gmt: crawled in full, merged');
  const deltas = site.requests.slice(requestsBefore).map((r) => r.url.searchParams.get('modified_after')).filter((v) => v !== null);
  t.deepEqual(deltas, [`${modified(248)}Z`], 'one delta request, from the mark minus the overlap, with an explicit Z');
  t.like(second.manifest, { runId: second.runId, status: 'SUCCEEDED' });

  t.deepEqual(await tableRows(table('posts')), before.posts, 'posts rows, lineage included, are the first run\'s');
  t.deepEqual(await tableRows(table('comments')), before.comments, 'comments rows, lineage included, are the first run\'s');
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
