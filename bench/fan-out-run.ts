import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { zstdDecompressSync } from 'node:zlib';
import { parquetMetadata, parquetReadObjects } from 'hyparquet';
import { runLocal } from '../local/run';
import { STATES } from '../pipeline/state-machine';

/**
 * Child process of bench/fan-out.ts: one `runLocal` with a small pagesPerTask against the big
 * stand-in, tasks run one at a time, so each task's peak RSS (sampled every 20 ms) is its own.
 * Then the fingerprint of each table: row count, distinct ids, min, max and sum of the ids.
 * usage: node --require tsx/cjs bench/fan-out-run.ts <project dir> <out dir> <pagesPerTask>
 */

interface TaskRun {
  state: string;
  endpoint: string;
  ms: number;
  peakRss: number;
}

async function fingerprint(file: string) {
  const bytes = readFileSync(file);
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  const metadata = parquetMetadata(buffer);
  const compressors = { ZSTD: (input: Uint8Array) => new Uint8Array(zstdDecompressSync(input)) };
  const ids = new Set<number>();
  let rows = 0;
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  // One row group at a time: the check must not need what the pipeline was built to avoid.
  let start = 0;
  for (const group of metadata.row_groups) {
    const end = start + Number(group.num_rows);
    for (const row of (await parquetReadObjects({ file: buffer, metadata, columns: ['id'], rowStart: start, rowEnd: end, compressors })) as Array<{ id: bigint }>) {
      const id = Number(row.id);
      ids.add(id);
      rows++;
      sum += id;
      if (id < min) min = id;
      if (id > max) max = id;
    }
    start = end;
  }
  return { rows, distinct: ids.size, min, max, sum, rowGroups: metadata.row_groups.length, bytes: bytes.length };
}

async function main(): Promise<void> {
  const [projectDir, out, pagesPerTask] = process.argv.slice(2);
  const tasks: TaskRun[] = [];
  const measured = (state: string) => async (input: any, real: (input: any) => Promise<any>) => {
    const started = performance.now();
    let peak = process.memoryUsage.rss();
    const timer = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage.rss());
    }, 20);
    try {
      return await real(input);
    } finally {
      clearInterval(timer);
      const payload = input?.Payload ?? {};
      tasks.push({ state, endpoint: String(payload.endpoint ?? payload.objects?.[0]?.endpoint ?? ''), ms: performance.now() - started, peakRss: Math.max(peak, process.memoryUsage.rss()) });
    }
  };
  const wrapTasks = Object.fromEntries([STATES.plan, STATES.fetchPart, STATES.joinParts, STATES.raw, STATES.bronze].map((state) => [state, measured(state)]));
  const started = performance.now();
  const result = await runLocal({ projectDir, stack: 'bench', out, pagesPerTask: Number(pagesPerTask), testing: { wrapTasks } });
  const ms = performance.now() - started;
  if (result.status !== 'SUCCEEDED') throw new Error(`run ${result.runId} ${result.status}: ${result.error ?? JSON.stringify(result.endpoints)}`);
  const tables: Record<string, Awaited<ReturnType<typeof fingerprint>>> = {};
  for (const e of result.endpoints) tables[e.endpoint] = await fingerprint(join(out, 'bronze', 'wordpress_api', e.endpoint, `${e.endpoint}.parquet`));
  process.stdout.write(`${JSON.stringify({ ms, endpoints: result.endpoints, tasks, tables, maxRssKb: process.resourceUsage().maxRSS })}\n`);
}

main().catch((error: Error) => {
  process.stderr.write(`${error.stack ?? error.message}\n`);
  process.exit(1);
});
