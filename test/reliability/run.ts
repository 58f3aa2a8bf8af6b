/**
 * `npm run test:reliability`: runs the fault-injection suites with ava, each test appending one
 * row to a results file, then prints the table (case, expected, observed, data preserved). The
 * exit code is ava's.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { CaseRow } from './support';

const root = resolve(__dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'reliability-results-'));
const results = join(dir, 'rows.jsonl');
const ava = spawnSync(join(root, 'node_modules', '.bin', 'ava'), ['test/reliability/**/*.test.ts', ...process.argv.slice(2)], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, RELIABILITY_RESULTS: results },
});

let rows: CaseRow[] = [];
try {
  rows = readFileSync(results, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line));
} catch {
  // No test recorded anything (e.g. ava failed to start); ava's output says why.
}
rmSync(dir, { recursive: true, force: true });
rows.sort((a, b) => a.case.localeCompare(b.case));

const header: CaseRow = { case: 'case', expected: 'expected outcome', observed: 'observed outcome', preserved: 'n/a' };
const cells = (r: CaseRow) => [r.case, r.expected, r.observed, r === header ? 'data preserved' : r.preserved];
const widths = [0, 1, 2, 3].map((i) => Math.max(...[header, ...rows].map((r) => cells(r)[i].length)));
const line = (r: CaseRow) => `| ${cells(r).map((c, i) => c.replace(/\|/g, '\\|').padEnd(widths[i])).join(' | ')} |`;
process.stdout.write(
  `\n${[line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n')}\n\n${rows.length} cases; ` +
    `${rows.filter((r) => r.preserved === 'yes').length} failing cases kept their data, ${rows.filter((r) => r.preserved === 'no').length} did not\n`,
);
process.exitCode = ava.status ?? 1;
