import type { ExecutionContext } from 'ava';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FixtureCollection, WordPressFixture } from '../../local/demo-site/rest-server';
import { startWordPressFixture } from '../../local/demo-site/rest-server';

export interface FixtureProject {
  site: WordPressFixture;
  /** A project folder whose `Pulumi.test.yaml` points at the site (or `siteUrl`) with these endpoints. */
  dir: string;
  /** `<dir>/lake`, for runLocal's `out`. */
  out: string;
}

/**
 * A loopback WordPress serving `collections` (replace one to change the site) and a project that
 * runs the pipeline on it with `runLocal({ projectDir: dir, stack: 'test', out })`; both removed
 * when the test ends.
 */
export async function fixtureProject(t: ExecutionContext, collections: Record<string, FixtureCollection>, options: { siteUrl?: (site: WordPressFixture) => string | Promise<string> } = {}): Promise<FixtureProject> {
  const site = await startWordPressFixture({ collections });
  const dir = await mkdtemp(join(tmpdir(), 'lakehouse-project-'));
  t.teardown(async () => {
    await site.close();
    await rm(dir, { recursive: true, force: true });
  });
  const siteUrl = options.siteUrl ? await options.siteUrl(site) : site.origin;
  await writeFile(join(dir, 'Pulumi.test.yaml'), ['config:', '  aws:region: eu-west-2', `  wordpress-lakehouse:siteUrl: ${siteUrl}`, `  wordpress-lakehouse:endpoints: [${Object.keys(collections).join(', ')}]`, ''].join('\n'));
  return { site, dir, out: join(dir, 'lake') };
}
