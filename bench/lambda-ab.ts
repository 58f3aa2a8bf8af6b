/**
 * The bronze Lambda's converter at two checkouts, A/B: each side's Lambda form (bench/lambda-form.ts,
 * built from that checkout) converts the same posts file in alternating runs, with the Lambda's heap
 * flags and environment, and the CPU time (user + system, from /usr/bin/time) is compared as well as
 * the wall time: on a loaded machine the CPU a conversion needs moves far less than its duration.
 * The two sides' files must be equal byte for byte.
 *
 *   npx tsx bench/lambda-ab.ts --a /path/to/checkout-before --b /path/to/checkout-after [--rows 10000] [--runs 7] [--drift]
 *
 * Each checkout needs its node_modules (a symlink to this one's will do) and must typecheck (the
 * Lambda form is built with tsc, as `pulumi up` builds it).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { writePostsFile } from '../local/demo-site/posts';
import { lambdaHeapFlags } from './lambda-form';

interface Run {
  cpuS: number;
  netMs: number;
  rssMiB: number;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { a: { type: 'string' }, b: { type: 'string' }, rows: { type: 'string', default: '10000' }, runs: { type: 'string', default: '7' }, drift: { type: 'boolean', default: false } },
  });
  if (!values.a || !values.b) throw new Error('--a and --b name the two checkouts to compare');
  const sides = { a: resolve(values.a), b: resolve(values.b) };
  const tmp = mkdtempSync(join(tmpdir(), 'wordpress-lakehouse-lambda-ab-'));
  try {
    const input = join(tmp, 'posts.json');
    await writePostsFile(input, Number(values.rows), 20240601, { drift: values.drift });
    const forms = Object.fromEntries(Object.entries(sides).map(([side, root]) => {
      const build = `process.stdout.write(require('./bench/lambda-form.ts').lambdaForm(${JSON.stringify(join(tmp, side))}, 'handlers/parquet/convert.js', 'convertJsonFile'))`;
      return [side, execFileSync(process.execPath, ['--require', 'tsx/cjs', '-e', build], { cwd: root, encoding: 'utf8' })];
    })) as Record<'a' | 'b', string>;
    const runs: Record<'a' | 'b', Run[]> = { a: [], b: [] };
    const run = (side: 'a' | 'b'): Run => {
      const args = ['-f', '%U %S %M', process.execPath, ...lambdaHeapFlags(1024), join(sides[side], 'bench/lambda-convert.cjs'), forms[side], input, join(tmp, `${side}.parquet`), 'zstd'];
      // The bronze function's environment (BRONZE_PROCESS_ENVIRONMENT): glibc's mmap threshold.
      const child = spawnSync('/usr/bin/time', args, { env: { ...process.env, MALLOC_MMAP_THRESHOLD_: '131072' }, encoding: 'utf8' });
      if (child.status !== 0) throw new Error(`side ${side}: ${child.stderr}`);
      const report = JSON.parse(child.stdout.trim().split('\n').pop()!) as { ms: number };
      const [user, system, rssKb] = child.stderr.trim().split('\n').pop()!.split(' ').map(Number);
      return { cpuS: user + system, netMs: report.ms, rssMiB: rssKb / 1024 };
    };
    for (let i = 0; i < Number(values.runs); i++) {
      for (const side of (i % 2 === 0 ? ['a', 'b'] : ['b', 'a']) as Array<'a' | 'b'>) runs[side].push(run(side));
    }
    if (!readFileSync(join(tmp, 'a.parquet')).equals(readFileSync(join(tmp, 'b.parquet')))) throw new Error('the two checkouts wrote different files');
    for (const side of ['a', 'b'] as const) {
      const r = runs[side];
      console.log(`${side} ${sides[side]}: CPU ${median(r.map((x) => x.cpuS)).toFixed(2)} s, net ${median(r.map((x) => x.netMs)).toFixed(0)} ms, peak RSS ${median(r.map((x) => x.rssMiB)).toFixed(0)} MiB (medians of ${r.length}; CPU s ${r.map((x) => x.cpuS.toFixed(2)).join(' ')})`);
    }
    console.log('files: identical');
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
