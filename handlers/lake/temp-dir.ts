/**
 * Runs `work` in a new folder under the OS temp folder (/tmp on Lambda, the only writable place)
 * and removes the folder after, whether `work` succeeded or not, so a warm container does not
 * fill its /tmp with earlier invocations' files.
 */
export async function inTempDir<T>(prefix: string, work: (dir: string) => Promise<T>): Promise<T> {
  const { mkdtemp, rm } = require('node:fs/promises') as typeof import('node:fs/promises');
  const { tmpdir } = require('node:os') as typeof import('node:os');
  const { join } = require('node:path') as typeof import('node:path');
  const dir = await mkdtemp(join(tmpdir(), prefix));
  try {
    return await work(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
