import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { deflateRawSync } from 'node:zlib';
import * as pulumi from '@pulumi/pulumi';
import { bronzeCallbackFactory } from '../handlers/bronze';
import { rawCallbackFactory } from '../handlers/raw';
import { catalogDatabaseName } from '../pipeline/catalog';
import { parameterNamesFor, parseConfig } from '../pipeline/config';
import { BRONZE_PROCESS_ENVIRONMENT, EXCLUDED_PACKAGES, bronzeHandlerOptions, rawHandlerOptions } from '../pipeline/handler-options';
import { SDK_PACKAGES } from '../pipeline/pipeline-function';
import { startWordPressFixture } from '../local/demo-site/rest-server';
import { lambdaHeapFlags } from './lambda-form';
import { posts } from '../local/demo-site/posts';
import { median, runNode } from './proc';
import { startAwsStandIn } from './stand-in';

/**
 * Deployment artifacts: the archive aws.lambda.CallbackFunction would upload for each function,
 * rebuilt the way it builds it (pulumi.runtime.serializeFunction of the same callback factory with
 * the same options the components pass, then pulumi.runtime.computeCodePaths with the same
 * exclusions), written to a folder and zipped; then a fresh Node process loads it and runs the
 * handler once (a cold-start proxy).
 */

const ROOT = resolve(__dirname, '..');

export const ZIP_METHOD = existsSync('/usr/bin/zip')
  ? 'zip -r -X (deflate, default level 6), as Pulumi deflates the archive it uploads'
  : 'estimate: sum of node:zlib deflateRaw per file + 100 B zip overhead per file (no zip binary on this machine)';

export interface ArtifactResult {
  name: 'raw' | 'bronze';
  excludePackages: string[];
  /** Files and folders of the archive besides __index.js. */
  codePaths: string[];
  indexBytes: number;
  unzippedBytes: number;
  files: number;
  zippedBytes: number;
  serializeMs: number;
  coldStart: {
    runs: number;
    bootMs: number;
    importMs: number;
    invokeMs: number;
    /** importMs + invokeMs, median of the sums. */
    importAndInvokeMs: number;
    processWallMs: number;
    peakRss: number;
    what: string;
    /** Set when the handler did not succeed (the timings then cover a shorter path). */
    error?: string;
  };
  /** bronze only: the handler, in its own Node process, landing a raw file the size of the fixture site's posts. */
  site?: {
    posts: number;
    rawBytes: number;
    peakRss: number;
    invokeMs: number;
    error?: string;
    /** The same landing with the heap flags of the default bronzeMemoryMb, as deployed. */
    atDefault: { memoryMb: number; peakRss: number; invokeMs: number; error?: string };
    /** Sites of several sizes landed day 1 and day 2 with the default bronzeMemoryMb's heap flags, the largest also with half that memory's. */
    landings: Landing[];
  };
}

/** One landing of the bronze handler in its own Node process. */
export interface LandingRun {
  /** The merge and conversion as the handler timed them (its `ms`). */
  landMs: number;
  /** Wall time of the process: import, the SSM, S3 and Glue calls, the landing. */
  processMs: number;
  peakRss: number;
  /** Most bytes its temp folder held at once (sampled every 20 ms): what the function's /tmp must hold. */
  peakTmpBytes: number;
  rows: number;
  error?: string;
}

export interface Landing {
  posts: number;
  /** The function memory whose heap flags the process ran with. */
  memoryMb: number;
  rawBytes: number;
  /** A full crawl into an empty lake. */
  day1: LandingRun;
  /** The next day's incremental run: 1% of the posts edited, 0.1% deleted, the table read back. */
  day2: LandingRun & { edited: number; deleted: number };
}

/** Public posts of the WordPress fixture (test/wordpress: 1171 posts, bodies 212 B-20 KB). */
export const SITE_POSTS = 1171;

/** The heap limits a 128 MB function gets (lambda-form.ts). */
export const SITE_NODE_OPTIONS = lambdaHeapFlags(128).join(' ');

/** The `excludePackages` a layer file passes to PipelineFunction, read from its source so the two never drift apart. */
function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]));
}

function zipDir(dir: string, out: string): number {
  if (existsSync('/usr/bin/zip')) {
    execFileSync('/usr/bin/zip', ['-q', '-r', '-X', out, '.'], { cwd: dir });
    return statSync(out).size;
  }
  return walk(dir).reduce((n, f) => n + deflateRawSync(readFileSync(f)).length + 100, 22);
}

/**
 * NODE_PATH for the cold-start process: every package of the project's node_modules except those
 * the archive is supposed to carry (ky, hyparquet-writer, hyparquet), so that the SDK resolves as
 * it does from the Lambda runtime's own node_modules while a package missing from the archive
 * still fails to load.
 */
function runtimeModules(tmp: string): string {
  const dir = join(tmp, 'runtime', 'node_modules');
  if (existsSync(dir)) return dir;
  mkdirSync(dir, { recursive: true });
  const carried = new Set(['ky', 'hyparquet-writer', 'hyparquet']);
  for (const entry of readdirSync(join(ROOT, 'node_modules'))) {
    if (carried.has(entry) || entry.startsWith('.')) continue;
    symlinkSync(join(ROOT, 'node_modules', entry), join(dir, entry));
  }
  return dir;
}

/**
 * Bytes of the files under `dir` now, or 0 when a file or folder went away while they were
 * counted (the handler removes its temp folder as it ends): a sample to skip, not an error.
 */
function bytesUnder(dir: string): number {
  try {
    return walk(dir).reduce((n, f) => n + statSync(f).size, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    return 0;
  }
}

/** The raw layer's layout (json-array-file.ts: one item per line), as bytes. */
function rawLayout(items: Iterable<unknown>): Buffer {
  const lines: Buffer[] = [];
  for (const item of items) lines.push(Buffer.from(`${lines.length === 0 ? '[\n' : ',\n'}${JSON.stringify(item)}`));
  lines.push(Buffer.from(lines.length === 0 ? '[]\n' : '\n]\n'));
  return Buffer.concat(lines);
}

export async function benchArtifacts(options: { tmp: string; runs: number; landingPosts: number[]; log: (line: string) => void }): Promise<ArtifactResult[]> {
  const { tmp, log } = options;
  // The same options the components derive from a stack's config (defaults, one site).
  const config = parseConfig({ siteUrl: 'http://127.0.0.1' });
  const names = parameterNamesFor('bench', config.siteUrl);
  const rawFunctionName = 'data_wordpressapi_raw-bench';
  const bronzeFunctionName = 'data_wordpressapi_bronze-bench';
  const factories = {
    raw: rawCallbackFactory(rawHandlerOptions(config, rawFunctionName, { ...names, credentials: undefined })),
    // With a catalog database, as bronze-layer.ts passes it: the deployed function writes Glue after each merge.
    bronze: bronzeCallbackFactory({ ...bronzeHandlerOptions(config, bronzeFunctionName, { ...names, credentials: undefined }), catalogDatabase: catalogDatabaseName('bench') }),
  };
  const excludes = EXCLUDED_PACKAGES;

  // What the handlers will meet at run time: a small site and the AWS stand-in.
  const fixture = await startWordPressFixture({ collections: { posts: { items: [...posts(20, 3, { contentBytes: [200, 2000] })] } } });
  // Not the key the raw run writes: its PutObject must not replace the bronze run's input.
  const rawKey = `${config.dataSource}/posts/bench-input.json`;
  // The fixture site's posts: as many, with bodies of the same range (local/demo-site/posts.ts, 200 B-20 KB).
  const siteKey = `${config.dataSource}/posts/bench-site.json`;
  // The raw layer's layout, which the bronze reader parses in batches; one minified line would
  // take the character scanner, the path for foreign files.
  const siteRaw = rawLayout(posts(SITE_POSTS, 11));
  const aws = await startAwsStandIn({
    parameters: {
      [names.rawBucket]: 'raw',
      [names.bronzeBucket]: 'bronze',
      [names.rawTopicArn]: 'arn:aws:sns:us-east-1:000000000000:raw',
      [names.bronzeTopicArn]: 'arn:aws:sns:us-east-1:000000000000:bronze',
      [names.endpoints]: JSON.stringify([{ name: 'posts', url: `${fixture.api}/wp/v2/posts`, paginate: true }]),
    },
    objects: { [`raw/${rawKey}`]: rawLayout(posts(100, 5)), [`raw/${siteKey}`]: siteRaw },
  });
  const events = {
    raw: { endpoint: 'posts' },
    bronze: { objects: [{ endpoint: 'posts', key: rawKey }] },
  };
  const what = {
    raw: 'require __index.js (runs the callback factory: SDK clients), then handler({endpoint:"posts"}): GetParameters from the SSM stand-in, crawl 1 page of 20 posts from the loopback fixture, PutObject to the S3 stand-in',
    bronze: 'require __index.js (runs the callback factory: SDK clients), then handler({objects:[posts]}): GetParameters, GetObject of a 100-post raw file from the S3 stand-in, convert to Parquet, PutObject',
  };
  const env = {
    ...process.env,
    NODE_PATH: runtimeModules(tmp),
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'bench',
    AWS_SECRET_ACCESS_KEY: 'bench',
    AWS_ENDPOINT_URL: aws.endpoint,
    AWS_LAMBDA_FUNCTION_NAME: 'bench',
    NODE_OPTIONS: '',
  };
  // Each function's cold start with the heap flags its configured memory gets from the runtime.
  const memoryMb = { raw: config.rawMemoryMb, bronze: config.bronzeMemoryMb };

  const results: ArtifactResult[] = [];
  try {
    for (const name of ['raw', 'bronze'] as const) {
      const started = performance.now();
      const closure = await pulumi.runtime.serializeFunction(factories[name] as () => unknown, { isFactoryFunction: true, exportName: 'handler', serialize: () => true, allowSecrets: true });
      const serializeMs = performance.now() - started;
      // CallbackFunction adds aws-sdk (v2) to the exclusions itself.
      const codePaths = await pulumi.runtime.computeCodePaths({ extraExcludePackages: [...SDK_PACKAGES, ...excludes[name], 'aws-sdk'] });
      const dir = join(tmp, `archive-${name}`);
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, '__index.js'), closure.text);
      for (const [path, asset] of codePaths) {
        const source = resolve(ROOT, ((asset as unknown as { path?: Promise<string> | string }).path ? await (asset as unknown as { path: Promise<string> | string }).path : path) as string);
        mkdirSync(dirname(join(dir, path)), { recursive: true });
        cpSync(source, join(dir, path), { recursive: true, dereference: true });
      }
      const files = walk(dir);
      const zippedBytes = zipDir(dir, join(tmp, `${name}.zip`));
      let error: string | undefined;
      const runs: Array<{ bootMs: number; importMs: number; invokeMs: number; wall: number; rss: number }> = [];
      for (let i = 0; i < options.runs; i++) {
        const r = await runNode([join(ROOT, 'bench/cold-start.cjs'), dir, JSON.stringify(events[name])], {
          tmp,
          cwd: dir,
          env: { ...env, ...(name === 'bronze' && BRONZE_PROCESS_ENVIRONMENT), NODE_OPTIONS: lambdaHeapFlags(memoryMb[name]).join(' ') },
          selfReportedRssKb: (out) => JSON.parse(out.trim().split('\n').pop()!).maxRssKb,
        });
        const line = JSON.parse(r.stdout.trim().split('\n').pop()!);
        // A failed run is reported, not hidden: its timings then measure a shorter path.
        if (line.result?.failed?.length || !line.result?.succeeded?.length) error = `handler answered ${JSON.stringify(line.result?.failed ?? line.result)}`;
        runs.push({ bootMs: line.bootMs, importMs: line.importMs, invokeMs: line.invokeMs, wall: r.ms, rss: r.peakRss });
      }
      let site: ArtifactResult['site'];
      if (name === 'bronze') {
        const land = async (nodeOptions: string, object: Record<string, unknown> = { endpoint: 'posts', key: siteKey }) => {
          // The handler's temp folders go to a folder of their own, whose size is sampled while it runs.
          const tmpDir = mkdtempSync(join(tmp, 'land-tmp-'));
          let peakTmpBytes = 0;
          const sampler = setInterval(() => (peakTmpBytes = Math.max(peakTmpBytes, bytesUnder(tmpDir))), 20);
          let r: Awaited<ReturnType<typeof runNode>>;
          try {
            r = await runNode([join(ROOT, 'bench/cold-start.cjs'), dir, JSON.stringify({ objects: [object] })], {
              tmp,
              cwd: dir,
              env: { ...env, ...BRONZE_PROCESS_ENVIRONMENT, NODE_OPTIONS: nodeOptions, TMPDIR: tmpDir },
              selfReportedRssKb: (out) => JSON.parse(out.trim().split('\n').pop()!).maxRssKb,
            });
          } finally {
            clearInterval(sampler);
            rmSync(tmpDir, { recursive: true, force: true });
          }
          const line = JSON.parse(r.stdout.trim().split('\n').pop()!);
          const failed = line.result?.failed?.length || !line.result?.succeeded?.length;
          const landed = line.result?.objects?.[0];
          return {
            peakRss: r.peakRss,
            peakTmpBytes,
            invokeMs: line.invokeMs as number,
            landMs: Number(landed?.ms ?? Number.NaN),
            processMs: r.ms,
            rows: Number(landed?.rows ?? 0),
            ...(failed && { error: `handler answered ${JSON.stringify(line.result?.failed ?? line.result)}` }),
          };
        };
        const defaultFlags = lambdaHeapFlags(config.bronzeMemoryMb).join(' ');
        const { peakRss, invokeMs, error } = await land(SITE_NODE_OPTIONS);
        const atDefault = await land(defaultFlags);
        const landings: Landing[] = [];
        // Every size at the default memory's heap flags, and the largest also at half that memory,
        // which tells whether the default is the smallest power of two the landings fit in.
        const largest = Math.max(...options.landingPosts);
        const plan = [...options.landingPosts.map((count) => ({ count, memoryMb: config.bronzeMemoryMb })), ...(options.landingPosts.length > 0 ? [{ count: largest, memoryMb: config.bronzeMemoryMb / 2 }] : [])];
        for (const { count, memoryMb } of plan) {
          const flags = lambdaHeapFlags(memoryMb).join(' ');
          // An endpoint of its own per landing, so that none reads another's table.
          const endpoint = `posts_${count}_${memoryMb}`;
          const at = (name: string) => `${config.dataSource}/${endpoint}/${name}`;
          // The next day: 1% edited and 0.1% deleted, spread over the ids; the incremental crawl
          // fetched the edited posts and listed every id still there. The edits are taken from
          // day 1's posts as they are generated (in id order), so the site is generated once.
          const edited = Math.max(1, Math.round(count * 0.01));
          const deleted = Math.max(1, Math.round(count * 0.001));
          const gone = new Set(Array.from({ length: deleted }, (_, i) => 2 + Math.floor((i * count) / deleted)));
          const changed = new Set(Array.from({ length: edited }, (_, i) => 1 + Math.floor((i * count) / edited)).filter((id) => !gone.has(id)));
          const edits: Array<Record<string, unknown>> = [];
          const day1Raw = rawLayout(
            (function* () {
              for (const item of posts(count, 11)) {
                if (changed.has(item.id as number)) edits.push({ ...item, modified_gmt: '2026-12-01T12:00:00', title: { rendered: `Edited ${item.id}` } });
                yield item;
              }
            })(),
          );
          aws.stored.set(`raw/${at('day1.json')}`, day1Raw);
          const day1 = await land(flags, { endpoint, key: at('day1.json'), mode: 'full', runId: 'day-1', fetchedAt: '2026-12-01T07:00:00.000Z' });
          aws.stored.delete(`raw/${at('day1.json')}`);
          aws.stored.set(`raw/${at('day2.json')}`, rawLayout(edits));
          aws.stored.set(`raw/${at('ids.json')}`, rawLayout(Array.from({ length: count }, (_, i) => i + 1).filter((id) => !gone.has(id)).map((id) => ({ id }))));
          const day2 = await land(flags, { endpoint, key: at('day2.json'), mode: 'incremental', idsKey: at('ids.json'), runId: 'day-2', fetchedAt: '2026-12-02T07:00:00.000Z' });
          for (const key of [...aws.stored.keys()]) if (key.includes(`/${endpoint}/`)) aws.stored.delete(key);
          const run = ({ landMs, processMs, peakRss, peakTmpBytes, rows, error }: Awaited<ReturnType<typeof land>>): LandingRun => ({ landMs, processMs, peakRss, peakTmpBytes, rows, ...(error && { error }) });
          landings.push({ posts: count, memoryMb, rawBytes: day1Raw.length, day1: run(day1), day2: { ...run(day2), edited: edits.length, deleted } });
          log(`bronze landing ${count} posts at ${memoryMb} MB's flags: day 1 ${day1.landMs.toFixed(0)} ms, ${(day1.peakRss / 2 ** 20).toFixed(0)} MiB; day 2 ${day2.landMs.toFixed(0)} ms, ${(day2.peakRss / 2 ** 20).toFixed(0)} MiB${day1.error || day2.error ? ` (FAILED: ${day1.error ?? day2.error})` : ''}`);
        }
        site = { posts: SITE_POSTS, rawBytes: siteRaw.length, peakRss, invokeMs, ...(error && { error }), atDefault: { memoryMb: config.bronzeMemoryMb, peakRss: atDefault.peakRss, invokeMs: atDefault.invokeMs, ...(atDefault.error && { error: atDefault.error }) }, landings };
      }
      const result: ArtifactResult = {
        name,
        ...(site && { site }),
        excludePackages: [...SDK_PACKAGES, ...excludes[name]],
        codePaths: [...codePaths.keys()],
        indexBytes: Buffer.byteLength(closure.text),
        unzippedBytes: files.reduce((n, f) => n + statSync(f).size, 0),
        files: files.length,
        zippedBytes,
        serializeMs,
        coldStart: {
          runs: runs.length,
          bootMs: median(runs.map((r) => r.bootMs)),
          importMs: median(runs.map((r) => r.importMs)),
          invokeMs: median(runs.map((r) => r.invokeMs)),
          importAndInvokeMs: median(runs.map((r) => r.importMs + r.invokeMs)),
          processWallMs: median(runs.map((r) => r.wall)),
          peakRss: median(runs.map((r) => r.rss)),
          what: what[name],
          ...(error !== undefined && { error }),
        },
      };
      results.push(result);
      log(
        `artifact ${name}: ${result.zippedBytes} B zipped (${result.files} files, __index.js ${result.indexBytes} B, ${result.codePaths.join(', ') || 'no packages'}); ` +
          `cold start import ${result.coldStart.importMs.toFixed(0)} ms + first invocation ${result.coldStart.invokeMs.toFixed(0)} ms${error ? ` (FAILED: ${error})` : ''}`,
      );
    }
  } finally {
    await aws.close();
    await fixture.close();
  }
  return results;
}
