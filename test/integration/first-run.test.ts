import test from 'ava';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DEMO_SIZES } from '../../local/demo-site';

/**
 * A newcomer's first minutes: the committed repository (HEAD) cloned into an empty folder, run
 * with no network but loopback, so nothing beside the clone (a fixture WordPress on 8080, the
 * internet) can make it pass. Each command runs in a network namespace of its own (`unshare -n`)
 * whose loopback is brought up and is empty.
 */

const ROOT = resolve(__dirname, '../..');

/** The command prefix that runs a command in a fresh network namespace, or why there is none. */
function isolation(): { prefix: string[] } | { missing: string } {
  const up = ['sh', '-c', 'ip link set lo up && exec "$@"', 'sh'];
  for (const unshare of [['unshare', '-n'], ['unshare', '-rn']]) {
    try {
      execFileSync(unshare[0], [...unshare.slice(1), ...up, 'true'], { stdio: 'ignore' });
      return { prefix: [...unshare, ...up] };
    } catch {
      // Not root, no user namespaces, or no `ip`: try the next form, then skip.
    }
  }
  return { missing: 'unshare -n (root, or user namespaces for unshare -rn) and ip (iproute2) are needed for a network namespace with loopback only' };
}

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

function isolated(prefix: string[], cwd: string, command: string[]): Promise<Ran> {
  const started = Date.now();
  // npm's update check would ask the registry, which the namespace cannot reach.
  const env = { ...process.env, npm_config_update_notifier: 'false' };
  return new Promise((done) => {
    const child = execFile(prefix[0], [...prefix.slice(1), ...command], { cwd, env, maxBuffer: 16 * 1024 * 1024 }, (_error, stdout, stderr) =>
      done({ code: child.exitCode, stdout, stderr, ms: Date.now() - started }),
    );
  });
}

/** What the program printed, without npm's `> package@version script` banner. */
function programLines(stdout: string): string[] {
  return stdout.split('\n').filter((line) => line.trim() !== '' && !line.startsWith('> '));
}

const how = isolation();
const title = 'a fresh clone runs npm start offline on its demo site, answers a query, and stops at once on an unreachable site';
(('prefix' in how) ? test : test.skip)(`${title}${'missing' in how ? ` (skipped: ${how.missing})` : ''}`, async (t) => {
  const { prefix } = how as { prefix: string[] };
  const dir = await mkdtemp(join(tmpdir(), 'first-run-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const clone = join(dir, 'wordpress-lakehouse');
  execFileSync('git', ['clone', '--quiet', ROOT, clone]);
  // npm ci needs the registry and minutes; the installed tree of this checkout stands in for it.
  await symlink(join(ROOT, 'node_modules'), join(clone, 'node_modules'));

  const first = await isolated(prefix, clone, ['npm', 'start']);
  t.log(`first npm start from a fresh clone: ${first.ms} ms\n${first.stdout}`);
  t.is(first.code, 0, first.stderr);
  const lines = programLines(first.stdout);
  t.regex(lines[0], /^Serving a demo WordPress site at http:\/\/127\.0\.0\.1:\d+ /);
  const summary = JSON.parse(await readFile(/summary (\S+\.json)/.exec(first.stdout)![1], 'utf8')) as { status: string; endpoints: Array<{ endpoint: string; ok: boolean; rows: number }> };
  t.is(summary.status, 'SUCCEEDED');
  const defaults = ['posts', 'pages', 'categories', 'tags', 'users', 'comments', 'media'] as const;
  t.deepEqual(summary.endpoints.map((e) => e.endpoint), [...defaults]);
  for (const e of summary.endpoints) {
    t.true(e.ok, `${e.endpoint} ok`);
    t.is(e.rows, DEMO_SIZES[e.endpoint as (typeof defaults)[number]], `${e.endpoint} rows`);
    t.true((await stat(join(clone, '.lakehouse', 'bronze', 'wordpress_api', e.endpoint, `${e.endpoint}.parquet`))).size > 0);
  }
  t.regex(lines.at(-2)!, /^Query it: {2}npm run query -- "SELECT count\(\*\) FROM posts"/);
  t.regex(lines.at(-1)!, /^Your site: npm start -- --site /);

  const query = await isolated(prefix, clone, ['npm', 'run', 'query', '--', 'SELECT count(*) FROM posts']);
  t.is(query.code, 0, query.stderr);
  t.deepEqual(programLines(query.stdout), ['count_star()', '------------', String(DEMO_SIZES.posts), '(1 row)']);

  const unreachable = await isolated(prefix, clone, ['npm', 'start', '--', '--site', 'http://127.0.0.1:9']);
  t.log(`npm start -- --site http://127.0.0.1:9: exit ${unreachable.code} after ${unreachable.ms} ms\n${unreachable.stderr}`);
  t.is(unreachable.code, 2);
  t.deepEqual(programLines(unreachable.stdout), []);
  t.regex(unreachable.stderr, /^error: http:\/\/127\.0\.0\.1:9\/wp-json\/: [^\n]+\n$/);
  // Six attempts with backoff took 20 s before the probe: a stop well before that is no retry.
  t.true(unreachable.ms < 20_000, `${unreachable.ms} ms`);
});
