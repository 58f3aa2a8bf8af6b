/**
 * The bytes the converter writes for the convert bench's inputs, as sha256 digests: run at two
 * commits, equal digests prove a refactor of handlers/parquet/ changed no file (issue 31). The bench
 * itself only checks that the Lambda form equals the bundle within one commit.
 *
 *   npx tsx bench/identity.ts --rows 10000,50000 [--codecs zstd,snappy] [--group-sizes 10000,1000]
 *
 * The inputs are the bench's (`writePostsFile`, seed 20240601, plain and drift posts); a few row
 * group sizes are converted too, since the bench's default writes one group per 10k rows only.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Codec } from '../handlers/parquet/codecs';
import { convertJsonFile } from '../handlers/parquet/convert';
import { writePostsFile } from '../local/demo-site/posts';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rows: { type: 'string', default: '10000,50000' },
      codecs: { type: 'string', default: 'zstd,snappy' },
      'group-sizes': { type: 'string', default: '10000,1000' },
    },
  });
  const list = (text: string) => text.split(',').map((item) => item.trim());
  const tmp = mkdtempSync(join(tmpdir(), 'wordpress-lakehouse-identity-'));
  try {
    for (const variant of ['wordpress', 'drift'] as const) {
      for (const rows of list(values.rows).map(Number)) {
        const input = join(tmp, `posts-${variant}-${rows}.json`);
        await writePostsFile(input, rows, 20240601, { drift: variant === 'drift' });
        for (const codec of list(values.codecs) as Codec[]) {
          for (const rowGroupSize of list(values['group-sizes']).map(Number)) {
            const output = join(tmp, 'out.parquet');
            const report = await convertJsonFile(input, output, { codec, rowGroupSize });
            const digest = createHash('sha256').update(readFileSync(output)).digest('hex');
            console.log(`${variant} ${rows} ${codec} group ${rowGroupSize}: ${report.bytes} bytes sha256 ${digest}`);
          }
        }
        rmSync(input);
      }
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
