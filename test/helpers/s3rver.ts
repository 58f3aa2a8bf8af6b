import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type EmbeddedS3, startEmbeddedS3 } from '../../local/embedded-s3';

export { type EmbeddedS3, s3ClientFor } from '../../local/embedded-s3';

/** The local runner's embedded S3 in a fresh folder (or `directory`), removed on stop when it was fresh. */
export async function startS3(buckets: string[], directory?: string): Promise<EmbeddedS3> {
  const dir = directory ?? (await mkdtemp(join(tmpdir(), 's3rver-')));
  const s3 = await startEmbeddedS3(dir, buckets);
  return {
    ...s3,
    async stop() {
      await s3.stop();
      if (!directory) await rm(dir, { recursive: true, force: true });
    },
  };
}
