import type { ExecutionContext } from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/**
 * A second, disposable site on the fixture's WordPress for tests that change content: Debian's
 * wp-config.php picks `/etc/wordpress/config-<host>.php` by the Host header, so `localhost:8080`
 * gets its own table prefix in the same database while `127.0.0.1:8080`, which the other test
 * files read at the same time, stays as seeded. Needs root and test/wordpress/setup.sh run.
 */
export const SECOND_SITE = 'http://localhost:8080';
const FIXTURE = resolve(__dirname, '../wordpress');
const CONFIG = '/etc/wordpress/config-localhost.php';
const PREFIX = 'wpincr_';

export interface SecondSite {
  url: string;
  /** The seed's ground truth (public counts per endpoint). */
  expected: Record<string, unknown>;
  /** Runs test/fixtures/wordpress-edits.php on the site (with `books`, only adds the custom post type's content); returns what it changed. */
  edit(mode?: 'books'): Record<string, number[]>;
}

function mysql(sql: string): string {
  return execFileSync('mysql', ['--protocol=socket', '-u', 'root', '-N', '-B', '-e', sql], { encoding: 'utf8' });
}

function dropTables(database: string): void {
  const tables = mysql(`SELECT table_name FROM information_schema.tables WHERE table_schema = '${database}' AND table_name LIKE '${PREFIX.replace('_', '\\_')}%'`).split('\n').filter(Boolean);
  if (tables.length > 0) mysql(`DROP TABLE ${tables.map((name) => `\`${database}\`.\`${name}\``).join(', ')}`);
}

export function startSecondSite(t: ExecutionContext, seedArgs: string[]): SecondSite {
  const base = readFileSync('/etc/wordpress/config-default.php', 'utf8');
  const database = /define\('DB_NAME', '([A-Za-z0-9_]+)'\)/.exec(base)?.[1];
  if (!database) throw new Error('/etc/wordpress/config-default.php names no DB_NAME: run test/wordpress/setup.sh first');
  const config = base
    .replaceAll('http://127.0.0.1:8080', SECOND_SITE)
    .replace(/^\$table_prefix = 'wp_';$/m, `$table_prefix = '${PREFIX}';`)
    .replace(/^\/\/ managed by.*$/m, '// the second site of wordpress-lakehouse test/helpers/second-site.ts; removed after the test');
  if (!config.includes(PREFIX)) throw new Error(`could not set the table prefix in a copy of /etc/wordpress/config-default.php`);
  writeFileSync(CONFIG, config, { mode: 0o644 });
  t.teardown(() => {
    rmSync(CONFIG, { force: true });
    dropTables(database);
  });
  const out = join(mkdtempSync(join(tmpdir(), 'second-site-')), 'expected.json');
  execFileSync('php', ['install-site.php', SECOND_SITE, 'second-site-admin'], { cwd: FIXTURE, stdio: 'pipe' });
  execFileSync('php', ['seed.php', ...seedArgs, `--out=${out}`], { cwd: FIXTURE, stdio: 'pipe', env: { ...process.env, WP_BENCH_URL: SECOND_SITE } });
  return {
    url: SECOND_SITE,
    expected: JSON.parse(readFileSync(out, 'utf8')) as Record<string, unknown>,
    edit: (mode) => JSON.parse(execFileSync('php', [resolve(__dirname, '../fixtures/wordpress-edits.php'), SECOND_SITE, ...(mode ? [mode] : [])], { encoding: 'utf8' })) as Record<string, number[]>,
  };
}
