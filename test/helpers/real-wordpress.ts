import test, { type ImplementationFn } from 'ava';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

/**
 * The real WordPress of test/wordpress (see its README) and its ground truth. End-to-end
 * tests are declared through `wordpressTest`: skipped with the reason when the site is down,
 * failed instead when REQUIRE_WORDPRESS=1 (as in CI, which starts the site).
 */
export const SITE = process.env.WORDPRESS_URL ?? 'http://127.0.0.1:8080';
export const EXPECTED_FILE = process.env.WORDPRESS_EXPECTED ?? resolve(__dirname, '../wordpress/expected-counts.json');
export const ENDPOINTS = ['posts', 'pages', 'media', 'categories', 'tags', 'users', 'comments'] as const;

export interface Expected {
  x_wp_total: Record<string, number>;
  id_fingerprints: Record<string, { min: number; max: number; sha256: string }>;
  [endpoint: string]: unknown;
}

export function loadExpected(): Expected {
  return JSON.parse(readFileSync(EXPECTED_FILE, 'utf8')) as Expected;
}

/** Same as seed.php: sha256 of the ascending ids joined by commas. */
export function fingerprint(ids: Iterable<number>): string {
  return createHash('sha256').update([...ids].sort((a, b) => a - b).join(',')).digest('hex');
}

/**
 * ava declares tests synchronously while the file loads, so the probe runs as a synchronous
 * child process. Returns why the site cannot be used, or undefined when it can.
 */
function siteProblem(): string | undefined {
  try {
    readFileSync(EXPECTED_FILE);
  } catch (error) {
    return `${EXPECTED_FILE} is not readable: ${(error as Error).message}`;
  }
  // Generous deadlines: a site that is down refuses at once, and a loaded machine can take seconds
  // to start a process (a 5 s spawn timeout failed the suite under load).
  const probe = `fetch(process.argv[1], { signal: AbortSignal.timeout(30000) }).then((r) => { if (!r.ok) { console.log('HTTP ' + r.status); process.exit(1); } }, (e) => { console.log(e.cause?.code ?? e.message); process.exit(1); })`;
  try {
    execFileSync(process.execPath, ['-e', probe, `${SITE}/wp-json/wp/v2/users?per_page=1`], { timeout: 60_000, encoding: 'utf8' });
    return undefined;
  } catch (error) {
    return `${SITE}/wp-json/ is not reachable (${String((error as { stdout?: string }).stdout ?? '').trim() || (error as Error).message})`;
  }
}

let cached: { problem: string | undefined } | undefined;

export function wordpressTest(title: string, implementation: ImplementationFn<[]>): void {
  cached ??= { problem: siteProblem() };
  const { problem } = cached;
  if (!problem) {
    test(title, implementation);
  } else if (process.env.REQUIRE_WORDPRESS === '1') {
    test(title, (t) => t.fail(`REQUIRE_WORDPRESS=1 but ${problem}`));
  } else {
    test.skip(`${title} (skipped: ${problem}; start it with sudo test/wordpress/setup.sh, or set REQUIRE_WORDPRESS=1 to fail instead)`, () => undefined);
  }
}
