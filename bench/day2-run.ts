import { runLocal } from '../local/run';

/**
 * Child process of bench/day2.ts: one `runLocal` (the pipeline as `npm start` runs it) on a
 * project folder, printing its outcome as JSON, so the parent measures the whole process' peak RSS.
 * usage: node --require tsx/cjs bench/day2-run.ts <project dir> <out dir> [--full-refresh | --replay]
 */
async function main(): Promise<void> {
  const [projectDir, out, flag] = process.argv.slice(2);
  const started = performance.now();
  const result = await runLocal({ projectDir, stack: 'bench', out, fullRefresh: flag === '--full-refresh', replay: flag === '--replay' });
  const ms = performance.now() - started;
  if (result.status !== 'SUCCEEDED') throw new Error(`run ${result.runId} ${result.status}: ${result.error ?? JSON.stringify(result.endpoints)}`);
  process.stdout.write(`${JSON.stringify({ ms, endpoints: result.endpoints, maxRssKb: process.resourceUsage().maxRSS })}\n`);
}

main().catch((error: Error) => {
  process.stderr.write(`${error.stack ?? error.message}\n`);
  process.exit(1);
});
