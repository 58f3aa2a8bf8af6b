import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { EndpointReport } from '../local/run';
import type { FixtureCollection } from '../local/demo-site/rest-server';
import { startWordPressFixture } from '../local/demo-site/rest-server';
import { posts } from '../local/demo-site/posts';
import { runNode } from './proc';

/**
 * Day 2 of a big blog: N posts landed yesterday; since then 1% were edited (new modified_gmt),
 * 0.1% got another category without a new modified_gmt (as wp_set_object_terms does) and 0.1%
 * were deleted. The same pipeline (runLocal, embedded S3 and the deployed state machine) runs
 * incrementally and, side by side on a copy of the same lake, as a full refresh. The WordPress
 * stand-in (test/helpers' loopback fixture, which answers modified_after, _fields and include)
 * lives in this process and counts the requests; each run is a child whose peak RSS is measured.
 */

export interface Day2Side {
  ms: number;
  peakRss: number;
  requests: number;
  /** Requests for pages of full items (delta and include=, or the whole crawl). */
  itemRequests: number;
  /** Listing requests (`_fields=`). */
  idRequests: number;
  /** The stored listing (the projected fields of every post), and what ids alone would have been. */
  listingBytes?: number;
  idListingBytes?: number;
  posts: EndpointReport;
}

export interface Day2Results {
  posts: number;
  changed: number;
  /** Posts whose categories changed without a new modified_gmt (wp_set_object_terms). */
  restated: number;
  deleted: number;
  incremental: Day2Side;
  full: Day2Side;
  /** `npm start -- --replay` on the incremental side's lake afterwards: bronze rebuilt from day 1's and day 2's raw. */
  replay: { ms: number; peakRss: number; posts: EndpointReport };
}

const ROOT = resolve(__dirname, '..');

export async function benchDay2(options: { posts: number; tmp: string; log: (line: string) => void }): Promise<Day2Results> {
  const count = options.posts;
  const day1 = [...posts(count, 20261203, { contentBytes: [200, 4000] })];
  // The fixture reads its collections at every request, so replacing one changes the site.
  const collections: Record<string, FixtureCollection> = { posts: { items: day1 } };
  const site = await startWordPressFixture({ collections });
  try {
    const project = join(options.tmp, 'day2-project');
    mkdirSync(project, { recursive: true });
    writeFileSync(join(project, 'Pulumi.bench.yaml'), ['config:', '  aws:region: eu-west-2', `  wordpress-lakehouse:siteUrl: ${site.origin}`, '  wordpress-lakehouse:endpoints:', '    - posts', ''].join('\n'));
    const node = (out: string, extra: string[] = []) => runNode(['--openssl-legacy-provider', '--require', 'tsx/cjs', join(ROOT, 'bench/day2-run.ts'), project, out, ...extra], { tmp: options.tmp, cwd: ROOT, selfReportedRssKb: (stdout) => JSON.parse(stdout).maxRssKb });
    const lake = join(options.tmp, 'day2-lake');
    options.log(`day 2: day 1 full run of ${count} posts`);
    await node(lake);

    // 1% edited (a later modified_gmt and a new title), 0.1% deleted, spread over the id range.
    const changed = Math.round(count * 0.01);
    const deleted = Math.round(count * 0.001);
    const now = new Date(Date.UTC(2026, 0, 1)).toISOString().slice(0, 19);
    const edited = new Set(Array.from({ length: changed }, (_, i) => 1 + Math.floor((i * count) / changed)));
    const gone = new Set(Array.from({ length: deleted }, (_, i) => 2 + Math.floor((i * count) / deleted)));
    const restated = new Set(Array.from({ length: deleted }, (_, i) => 3 + Math.floor((i * count) / deleted)));
    const day2 = day1
      .filter((p) => !gone.has(p.id as number))
      .map((p) => (edited.has(p.id as number) ? { ...p, modified_gmt: now, title: { rendered: `Edited ${p.id}` } } : p))
      .map((p) => (restated.has(p.id as number) ? { ...p, categories: [...(p.categories as number[]), 999] } : p));
    collections.posts = { items: day2 };

    const side = async (name: 'incremental' | 'full'): Promise<Day2Side> => {
      const out = join(options.tmp, `day2-${name}`);
      cpSync(lake, out, { recursive: true });
      const listingsBefore = listings(out);
      const before = site.requests.length;
      options.log(`day 2: ${name} run`);
      const run = await node(out, name === 'full' ? ['--full-refresh'] : []);
      const requests = site.requests.slice(before);
      const report = (JSON.parse(run.stdout) as { endpoints: EndpointReport[] }).endpoints.find((e) => e.endpoint === 'posts')!;
      const ids = requests.filter((r) => r.url.searchParams.has('_fields')).length;
      return { ms: run.ms, peakRss: run.peakRss, requests: requests.length, itemRequests: requests.length - ids, idRequests: ids, ...listingSizes(listings(out).filter((path) => !listingsBefore.includes(path))), posts: report };
    };
    const incremental = await side('incremental');
    const full = await side('full');
    // The replay starts from day 1's raw (the incremental side's copy holds day 2's too): one full
    // landing and one incremental, the repair a converter fix needs at this size.
    options.log('day 2: replay of raw history (day 1 full, day 2 incremental)');
    const replayOut = join(options.tmp, 'day2-incremental');
    const replayRun = await node(replayOut, ['--replay']);
    const replay = { ms: replayRun.ms, peakRss: replayRun.peakRss, posts: (JSON.parse(replayRun.stdout) as { endpoints: EndpointReport[] }).endpoints.find((e) => e.endpoint === 'posts')! };
    return { posts: count, changed, restated: restated.size, deleted, incremental, full, replay };
  } finally {
    await site.close();
  }
}

/** The listings stored in raw (`_ids`): a split full crawl's ids, or an incremental run's projected fields. */
function listings(out: string): string[] {
  const folder = join(out, 'raw', 'wordpress_api', '_ids', 'posts');
  if (!existsSync(folder)) return [];
  return readdirSync(folder, { recursive: true, withFileTypes: true }).filter((f) => f.isFile() && f.name.endsWith('.json')).map((f) => join(f.parentPath, f.name));
}

/** The listing a run stored, and the `[{"id":...}]` text of its ids alone (the listing before projections). */
function listingSizes(written: string[]): Pick<Day2Side, 'listingBytes' | 'idListingBytes'> {
  if (written.length !== 1) return {};
  const text = readFileSync(written[0], 'utf8');
  const ids = (JSON.parse(text) as Array<{ id: unknown }>).map(({ id }) => ({ id }));
  return { listingBytes: Buffer.byteLength(text), idListingBytes: Buffer.byteLength(JSON.stringify(ids)) };
}
