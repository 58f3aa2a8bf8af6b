import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseConfig } from '../pipeline/config';
import { BRONZE_PROCESS_ENVIRONMENT } from '../pipeline/handler-options';
import { lambdaForm, lambdaHeapFlags } from './lambda-form';
import { writePostsFile } from '../local/demo-site/posts';
import { median, runNode } from './proc';

/**
 * Bronze conversion: our converter as `npm run convert` runs it (`node <its flags> scripts/convert.cjs`,
 * which runs the esbuild bundle of handlers/parquet/cli.ts, built once into dist/) against DuckDB, each
 * in its own Node process, alternating A/B on the same input file, same codec. Startup (a whole
 * 1-row conversion) is measured separately for each, and for the TypeScript loader the command
 * used before (`node --require tsx/cjs handlers/parquet/cli.ts`). Throughput is computed from
 * `netMs`, the conversion time each child reports for the work alone (ours: convertJsonFile's
 * `ms`; DuckDB: its COPY statement), which leaves process start, module load and DuckDB's
 * instance creation out.
 *
 * A third side runs the same converter as the bronze Lambda carries it (lambda-form.ts), with the
 * heap flags the Lambda runtime gives the default bronzeMemoryMb; that form was once 4x slower.
 */

const ROOT = resolve(__dirname, '..');

/**
 * package.json's `convert` script (`[NAME=value ...] node <flags> scripts/convert.cjs`): the
 * environment and Node flags it runs with, so ours runs as `npm run convert` does.
 */
export function convertCommand(): { env: Record<string, string>; flags: string[] } {
  const script = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts.convert;
  const words = script.trim().split(/\s+/);
  const node = words.indexOf('node');
  const at = words.indexOf('scripts/convert.cjs');
  const assignments = words.slice(0, Math.max(node, 0));
  if (node < 0 || at < node || !assignments.every((word) => /^[A-Za-z_][A-Za-z0-9_]*=\S*$/.test(word))) {
    throw new Error(`package.json's convert script is not "[NAME=value ...] node [flags] scripts/convert.cjs": ${script}`);
  }
  const env = Object.fromEntries(assignments.map((word) => [word.slice(0, word.indexOf('=')), word.slice(word.indexOf('=') + 1)]));
  return { env, flags: words.slice(node + 1, at) };
}

/** Environment variables as a shell prefix spells them: `NAME=value NAME=value`. */
export function envText(env: Readonly<Record<string, string>>): string {
  return Object.entries(env).map(([name, value]) => `${name}=${value}`).join(' ');
}

/** The convert script as the bench's text shows it. */
export function convertCommandText(): string {
  const { env, flags } = convertCommand();
  return [envText(env), 'node', ...flags, 'scripts/convert.cjs'].filter(Boolean).join(' ');
}

export interface ConvertCase {
  variant: 'wordpress' | 'drift';
  rows: number;
  inputBytes: number;
  runs: number;
  ours: SideResult;
  duckdb: SideResult;
  /** The serialized converter of the bronze Lambda. */
  lambda: SideResult;
}

export interface SideResult {
  /** Median wall time of the whole process. */
  wallMs: number;
  /** Median conversion time reported by the child for the work alone (no process start, no module load). */
  netMs: number;
  rowsPerSec: number;
  /** Median peak RSS of the process. */
  peakRss: number;
  /** Largest peak RSS of the runs. */
  peakRssMax: number;
  outputBytes: number;
  allMs: number[];
}

export interface ConvertResults {
  codec: string;
  /** The default bronzeMemoryMb, whose heap flags the Lambda form runs with. */
  lambdaMemoryMb: number;
  startup: { oursMs: number; duckdbMs: number; oursTsxMs: number; oursRss: number; duckdbRss: number };
  cases: ConvertCase[];
}

export async function benchConvert(options: { rows: number[]; runs: number; codec: 'zstd' | 'snappy'; drift: boolean; tmp: string; log: (line: string) => void }): Promise<ConvertResults> {
  const { tmp, codec, log } = options;
  // Built before the first timed run, so no run pays the build.
  (require('../scripts/convert.cjs') as { buildConverter: () => string }).buildConverter();
  const ours = join(ROOT, 'scripts/convert.cjs');
  const duck = join(ROOT, 'bench/duckdb-convert.cjs');
  const serialized = lambdaForm(tmp, 'handlers/parquet/convert.js', 'convertJsonFile');
  // The flags the deployed function gets, not npm run convert's: the runtime sets them from its memory.
  const lambdaMemoryMb = parseConfig({ siteUrl: 'http://127.0.0.1' }).bronzeMemoryMb;
  const lambdaArgs = (input: string, output: string) => [...lambdaHeapFlags(lambdaMemoryMb), join(ROOT, 'bench/lambda-convert.cjs'), serialized, input, output, codec];
  const command = convertCommand();
  const oursArgs = (input: string, output: string) => [...command.flags, ours, input, output, '--codec', codec, '--json'];
  const duckArgs = (input: string, output: string) => [duck, input, output, codec];
  const run = (args: string[], env: Readonly<Record<string, string>> = {}) =>
    runNode(args, { tmp, cwd: ROOT, env: { ...process.env, ...env }, selfReportedRssKb: (out) => JSON.parse(out.trim().split('\n').pop() ?? '{}').maxRssKb });

  // Startup: a 1-row file, 3 runs each, alternating.
  const one = join(tmp, 'one.json');
  writeFileSync(one, JSON.stringify([{ id: 1, title: { rendered: 'x' } }]));
  const start = { ours: [] as number[], duck: [] as number[], tsx: [] as number[], oursRss: [] as number[], duckRss: [] as number[] };
  for (let i = 0; i < 3; i++) {
    const a = await run(oursArgs(one, join(tmp, 'one-ours.parquet')), command.env);
    const b = await run(duckArgs(one, join(tmp, 'one-duck.parquet')));
    const c = await run(['--require', require.resolve('tsx/cjs'), join(ROOT, 'handlers/parquet/cli.ts'), one, join(tmp, 'one-tsx.parquet'), '--codec', codec]);
    start.ours.push(a.ms);
    start.duck.push(b.ms);
    start.tsx.push(c.ms);
    start.oursRss.push(a.peakRss);
    start.duckRss.push(b.peakRss);
  }
  const startup = { oursMs: median(start.ours), duckdbMs: median(start.duck), oursTsxMs: median(start.tsx), oursRss: median(start.oursRss), duckdbRss: median(start.duckRss) };
  log(`startup: ours ${startup.oursMs.toFixed(0)} ms (via tsx ${startup.oursTsxMs.toFixed(0)} ms), duckdb ${startup.duckdbMs.toFixed(0)} ms`);

  const cases: ConvertCase[] = [];
  const variants: Array<ConvertCase['variant']> = options.drift ? ['wordpress', 'drift'] : ['wordpress'];
  for (const variant of variants) {
    for (const rows of options.rows) {
      const input = join(tmp, `posts-${variant}-${rows}.json`);
      const inputBytes = await writePostsFile(input, rows, 20240601, { drift: variant === 'drift' });
      const sides = { ours: [] as Awaited<ReturnType<typeof run>>[], duckdb: [] as Awaited<ReturnType<typeof run>>[], lambda: [] as Awaited<ReturnType<typeof run>>[] };
      const outOurs = join(tmp, `ours-${variant}-${rows}.parquet`);
      const outDuck = join(tmp, `duck-${variant}-${rows}.parquet`);
      const outLambda = join(tmp, `lambda-${variant}-${rows}.parquet`);
      // Ours with the convert script's environment, the Lambda form with the bronze function's.
      const runOf = {
        ours: () => run(oursArgs(input, outOurs), command.env),
        duckdb: () => run(duckArgs(input, outDuck)),
        lambda: () => run(lambdaArgs(input, outLambda), BRONZE_PROCESS_ENVIRONMENT),
      };
      for (let i = 0; i < options.runs; i++) {
        // Alternate which side goes first so that neither always gets the warmer page cache.
        const order: Array<'ours' | 'duckdb' | 'lambda'> = i % 2 === 0 ? ['ours', 'duckdb', 'lambda'] : ['lambda', 'duckdb', 'ours'];
        for (const side of order) sides[side].push(await runOf[side]());
      }
      const oursRows = JSON.parse(sides.ours[0].stdout.trim().split('\n').pop()!).rows;
      const duckRows = JSON.parse(sides.duckdb[0].stdout.trim().split('\n').pop()!).rows;
      const lambdaRows = JSON.parse(sides.lambda[0].stdout.trim().split('\n').pop()!).rows;
      if (oursRows !== rows || duckRows !== rows || lambdaRows !== rows) throw new Error(`${variant} ${rows}: ours wrote ${oursRows} rows, duckdb ${duckRows}, the serialized converter ${lambdaRows}`);
      if (!readFileSync(outOurs).equals(readFileSync(outLambda))) throw new Error(`${variant} ${rows}: the serialized converter wrote another file than npm run convert`);
      const side = (runs: typeof sides.ours, output: string): SideResult => {
        const wallMs = median(runs.map((r) => r.ms));
        const netMs = median(runs.map((r) => JSON.parse(r.stdout.trim().split('\n').pop()!).ms as number));
        return {
          wallMs,
          netMs,
          rowsPerSec: rows / (netMs / 1000),
          peakRss: median(runs.map((r) => r.peakRss)),
          peakRssMax: Math.max(...runs.map((r) => r.peakRss)),
          outputBytes: statSync(output).size,
          allMs: runs.map((r) => Math.round(r.ms)),
        };
      };
      const result: ConvertCase = {
        variant,
        rows,
        inputBytes,
        runs: options.runs,
        ours: side(sides.ours, outOurs),
        duckdb: side(sides.duckdb, outDuck),
        lambda: side(sides.lambda, outLambda),
      };
      cases.push(result);
      log(
        `convert ${variant} ${rows} rows (${(inputBytes / 1e6).toFixed(1)} MB): ours ${result.ours.wallMs.toFixed(0)} ms (net ${result.ours.netMs.toFixed(0)}) ${(result.ours.peakRss / 2 ** 20).toFixed(0)} MiB ${result.ours.outputBytes} B | ` +
          `duckdb ${result.duckdb.wallMs.toFixed(0)} ms (net ${result.duckdb.netMs.toFixed(0)}) ${(result.duckdb.peakRss / 2 ** 20).toFixed(0)} MiB ${result.duckdb.outputBytes} B | ` +
          `serialized ${result.lambda.wallMs.toFixed(0)} ms (net ${result.lambda.netMs.toFixed(0)}) ${(result.lambda.peakRss / 2 ** 20).toFixed(0)} MiB`,
      );
      for (const path of [input, outOurs, outDuck, outLambda]) rmSync(path, { force: true });
    }
  }
  return { codec, lambdaMemoryMb, startup, cases };
}
