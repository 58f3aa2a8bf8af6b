import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { tableKey } from '../handlers/lake/layout';
import { createLogger } from '../handlers/log';
import { convertJsonFile } from '../handlers/parquet/convert';
import { runSilver } from '../handlers/silver';
import { prng, writePostsFile } from '../local/demo-site/posts';
import { startEmbeddedS3 } from '../local/embedded-s3';

/**
 * The silver rebuild at scale: `npx tsx bench/silver.ts [posts] [comments]` (default 50 000 posts
 * and 1 000 000 comments, the bench's large site and its million-comment stand-in). Bronze
 * tables are generated (the bench's posts, comments with threads and HTML, 25 authors, 40
 * categories, 400 tags), converted by the bronze converter, and served by the embedded S3; the
 * silver handler then runs in a child Node process of its own, whose wall time and peak RSS are
 * reported (the embedded S3 runs in that process too, so the RSS is an upper bound).
 */

const SOURCE = 'wordpress_api';
const BUCKETS = { bronze: 'bronze', silver: 'silver' };

async function writeArray(path: string, count: number, item: (i: number) => unknown): Promise<void> {
  const out = createWriteStream(path);
  const write = async (text: string) => {
    if (!out.write(text)) await once(out, 'drain');
  };
  await write('[');
  for (let i = 0; i < count; i++) await write(`${i === 0 ? '' : ',\n'}${JSON.stringify(item(i))}`);
  await write(']\n');
  out.end();
  await once(out, 'close');
}

/** Bronze tables of a site with `posts` posts and `comments` comments, as Parquet files in `dir`. */
async function prepare(dir: string, posts: number, comments: number): Promise<Record<string, string>> {
  const random = prng(7);
  const json = (name: string) => join(dir, `${name}.json`);
  await writePostsFile(json('posts'), posts, 11);
  await writeArray(json('users'), 25, (i) => ({ id: i + 1, name: `Author &amp; ${i + 1}`, slug: `author-${i + 1}` }));
  await writeArray(json('categories'), 40, (i) => ({ id: i + 1, name: `Category &#8220;${i + 1}&#8221;`, slug: `category-${i + 1}`, taxonomy: 'category', parent: i < 8 ? 0 : 1 + (i % 8), count: 0 }));
  await writeArray(json('tags'), 400, (i) => ({ id: 100 + i, name: `tag ${i}`, slug: `tag-${i}`, taxonomy: 'post_tag', parent: 0, count: 0 }));
  // One comment in four answers an earlier one of the same post's neighbourhood: threads a few deep.
  await writeArray(json('comments'), comments, (i) => {
    const id = i + 1;
    const reply = i > 0 && random() < 0.25;
    return {
      id,
      post: 1 + Math.floor(random() * posts),
      parent: reply ? Math.max(1, id - 1 - Math.floor(random() * 50)) : 0,
      author_name: `Reader &amp; ${id % 997}`,
      date_gmt: new Date(Date.UTC(2020, 0, 1) + i * 60_000).toISOString().slice(0, 19),
      content: { rendered: `<p>Comment ${id}: thanks &mdash; this <em>helped</em> a lot.</p>\n<p>日本語のコメント 🎉</p>` },
    };
  });
  const files: Record<string, string> = {};
  for (const name of ['posts', 'users', 'categories', 'tags', 'comments']) {
    files[name] = join(dir, `${name}.parquet`);
    await convertJsonFile(json(name), files[name]);
    await rm(json(name));
  }
  return files;
}

/** The child: the embedded S3 over the prepared lake, then one silver rebuild, measured. */
async function child(lake: string): Promise<void> {
  const s3 = await startEmbeddedS3(lake, Object.values(BUCKETS));
  try {
    const started = performance.now();
    const cpu = process.cpuUsage();
    const summary = await runSilver(
      {
        s3: s3.client,
        parameters: { get: async (names) => new Map(names.map((n) => [n, n])) },
        notifier: { publish: async () => undefined },
        log: createLogger({ layer: 'silver' }, () => {}),
        functionName: 'bench-silver',
      },
      { functionName: 'bench-silver', layer: 'silver', parameterNames: { bronzeBucket: BUCKETS.bronze, silverBucket: BUCKETS.silver } },
      { runId: 'bench' },
    );
    const ms = performance.now() - started;
    const { user, system } = process.cpuUsage(cpu);
    process.stdout.write(`${JSON.stringify({ ms, cpuMs: (user + system) / 1000, maxRssMb: process.resourceUsage().maxRSS / 1024, tables: summary.tables.map((t) => [t.table, t.rows, t.bytes]) })}\n`);
  } finally {
    await s3.stop();
  }
}

async function main(): Promise<void> {
  if (process.argv[2] === '--child') return child(process.argv[3]);
  const posts = Number(process.argv[2] ?? 50_000);
  const comments = Number(process.argv[3] ?? 1_000_000);
  const work = await mkdtemp(join(tmpdir(), 'bench-silver-'));
  try {
    const lake = join(work, 'lake');
    await mkdir(lake);
    const s3 = await startEmbeddedS3(lake, Object.values(BUCKETS));
    const sizes: Record<string, number> = {};
    try {
      for (const [name, file] of Object.entries(await prepare(work, posts, comments))) {
        sizes[name] = (await stat(file)).size;
        await s3.client.send(new PutObjectCommand({ Bucket: BUCKETS.bronze, Key: tableKey(SOURCE, name), Body: await readFile(file) }));
      }
    } finally {
      await s3.stop();
    }
    process.stdout.write(`bronze: ${posts} posts, ${comments} comments; Parquet MB ${Object.entries(sizes).map(([n, b]) => `${n} ${(b / 1e6).toFixed(1)}`).join(', ')}\n`);
    const proc = spawn(process.execPath, ['--require', 'tsx/cjs', '--openssl-legacy-provider', __filename, '--child', lake], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    proc.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    const [code] = (await once(proc, 'close')) as [number];
    if (code !== 0) throw new Error(`the silver run exited with ${code}`);
    const result = JSON.parse(out.trim().split('\n').at(-1)!) as { ms: number; cpuMs: number; maxRssMb: number; tables: Array<[string, number, number]> };
    // CPU time as well as wall time: on a shared machine the wall time mostly measures the others.
    process.stdout.write(`silver rebuild: ${(result.ms / 1000).toFixed(1)} s wall, ${(result.cpuMs / 1000).toFixed(1)} s CPU, peak RSS ${result.maxRssMb.toFixed(0)} MB (embedded S3 included)\n`);
    for (const [table, rows, bytes] of result.tables) process.stdout.write(`  ${table.padEnd(11)} ${String(rows).padStart(9)} rows  ${(bytes / 1e6).toFixed(1)} MB\n`);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

main().catch((error) => {
  process.stderr.write(`${(error as Error).stack ?? error}\n`);
  process.exitCode = 1;
});
