import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { EndpointReport } from '../local/run';
import { startBigSite } from './big-site';
import { runNode } from './proc';

/**
 * Sites of any size: `npm start`'s pipeline (runLocal: embedded S3, the deployed ASL with its
 * plan / part / join states) against a generated stand-in of N posts and M comments, with a
 * small pagesPerTask so both endpoints fan out. Endpoints and parts run one at a time, so each
 * task's sampled peak RSS is its own; the whole child's peak RSS comes from /usr/bin/time.
 */

export interface FanOutTask {
  state: string;
  endpoint: string;
  ms: number;
  peakRss: number;
}

export interface FanOutResults {
  posts: number;
  comments: number;
  pagesPerTask: number;
  ms: number;
  peakRss: number;
  requests: { pages: number; ids: number; include: number };
  endpoints: EndpointReport[];
  tasks: FanOutTask[];
  tables: Record<string, { rows: number; distinct: number; min: number; max: number; sum: number; rowGroups: number; bytes: number }>;
  /** Every id 1..n exactly once in each table. */
  exact: Record<string, boolean>;
}

const ROOT = resolve(__dirname, '..');

export async function benchFanOut(options: { posts: number; comments: number; pagesPerTask: number; tmp: string; log: (line: string) => void }): Promise<FanOutResults> {
  const site = await startBigSite({ posts: options.posts, comments: options.comments });
  try {
    const project = join(options.tmp, 'fanout-project');
    mkdirSync(project, { recursive: true });
    writeFileSync(
      join(project, 'Pulumi.bench.yaml'),
      [
        'config:',
        '  aws:region: eu-west-2',
        `  wordpress-lakehouse:siteUrl: ${site.origin}`,
        '  wordpress-lakehouse:endpoints:',
        '    - posts',
        '    - comments',
        '  wordpress-lakehouse:mapConcurrency: 1',
        '  wordpress-lakehouse:fanOutConcurrency: 1',
        // One invocation merges a whole endpoint: a million comments took 109 s at load 1-2, and
        // more than 900 s at load 8 with the converter before issue 13; the bench must not time out.
        '  wordpress-lakehouse:bronzeTimeoutSeconds: 900',
        '',
      ].join('\n'),
    );
    options.log(`fan-out: ${options.posts} posts and ${options.comments} comments, pagesPerTask ${options.pagesPerTask}`);
    const run = await runNode(['--openssl-legacy-provider', '--require', 'tsx/cjs', join(ROOT, 'bench/fan-out-run.ts'), project, join(options.tmp, 'fanout-lake'), String(options.pagesPerTask)], {
      tmp: options.tmp,
      cwd: ROOT,
      selfReportedRssKb: (stdout) => JSON.parse(stdout).maxRssKb,
    });
    const child = JSON.parse(run.stdout) as Pick<FanOutResults, 'endpoints' | 'tasks' | 'tables'>;
    const sizes: Record<string, number> = { posts: options.posts, comments: options.comments };
    const exact = Object.fromEntries(
      Object.entries(child.tables).map(([name, f]) => [name, f.rows === sizes[name] && f.distinct === sizes[name] && f.min === 1 && f.max === sizes[name] && f.sum === (sizes[name] * (sizes[name] + 1)) / 2]),
    );
    return { posts: options.posts, comments: options.comments, pagesPerTask: options.pagesPerTask, ms: run.ms, peakRss: run.peakRss, requests: { ...site.requests }, ...child, exact };
  } finally {
    await site.close();
  }
}
