import test from 'ava';
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = resolve(__dirname, '../..');

/**
 * A Node process with semi-spaces of `semiMiB` (51: what the Lambda runtime gives 1024 MB) allocates objects that survive a few scavenges, the way parsed rows do until their page is
 * written, calling the bound (or nothing) after each batch; it prints the new space's size at the 90th percentile of its batches.
 *
 * Not the largest: V8 stretches the space by a few pages for a batch or several while it marks, with the flag as much as with
 * the bound, and by more on a loaded machine. A space that doubles past the bound and stays there moves the percentile.
 */
async function newSpaceHeld(semiMiB: number, bounded: boolean): Promise<number> {
  const script = `
    const v8 = require('node:v8');
    const check = ${bounded} ? require('./handlers/parquet/young-generation.ts').youngGenerationBound() : () => {};
    const newSpace = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size;
    let kept = [];
    const sizes = [];
    for (let batch = 0; batch < 300; batch++) {
      for (let i = 0; i < 20000; i++) kept.push({ batch, i, text: 'row ' + i });
      if (kept.length > 200000) kept = [];
      check();
      sizes.push(newSpace());
    }
    sizes.sort((a, b) => a - b);
    process.stdout.write(String(sizes[Math.floor(sizes.length * 0.9)]));
  `;
  const { stdout } = await run(process.execPath, [`--max-semi-space-size=${semiMiB}`, '--require', 'tsx/cjs', '-e', script], { cwd: ROOT });
  return Number(stdout);
}

test('the bound holds the new space where --max-semi-space-size=8 would, in a process that allows it more', async (t) => {
  const [free, bounded, flagged] = await Promise.all([newSpaceHeld(51, false), newSpaceHeld(51, true), newSpaceHeld(8, false)]);
  const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
  t.true(free >= 2 * flagged, `without the bound the new space reached ${mib(free)}, with the flag ${mib(flagged)}: this process does not show the growth the bound is for`);
  t.true(bounded <= 1.25 * flagged, `with the bound it reached ${mib(bounded)}, with the flag ${mib(flagged)}`);
});
