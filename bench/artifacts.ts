import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { deflateRawSync } from 'node:zlib';
import * as pulumi from '@pulumi/pulumi';
import { bronzeCallbackFactory } from '../handlers/bronze';
import { rawCallbackFactory } from '../handlers/raw';
import { catalogDatabaseName } from '../pipeline/catalog';
import { parameterNamesFor, parseConfig } from '../pipeline/config';
import { EXCLUDED_PACKAGES, bronzeHandlerOptions, rawHandlerOptions } from '../pipeline/handler-options';
import { SDK_PACKAGES } from '../pipeline/pipeline-function';
import { startWordPressFixture } from '../test/helpers/wordpress-fixture';
import { lambdaHeapFlags } from './lambda-form';
import { posts } from './posts';
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
  };
}

/** Public posts of the WordPress fixture (../shared/wordpress: 1171 posts, bodies 212 B-20 KB). */
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

export async function benchArtifacts(options: { tmp: string; runs: number; log: (line: string) => void }): Promise<ArtifactResult[]> {
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
  // Not the key the raw run writes: its PutObject (aws-chunked framing, which the stand-in keeps
  // as is) must not replace the bronze run's input.
  const rawKey = `${config.dataSource}/posts/bench-input.json`;
  // The fixture site's posts: as many, with bodies of the same range (bench/posts.ts, 200 B-20 KB).
  const siteKey = `${config.dataSource}/posts/bench-site.json`;
  // The raw layer's layout (json-array-file.ts: one item per line), which the bronze reader parses
  // in batches; one minified line would take the character scanner, the path for foreign files.
  const rawLayout = (items: Iterable<unknown>) => `[\n${[...items].map((item) => JSON.stringify(item)).join(',\n')}\n]\n`;
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
          env: { ...env, NODE_OPTIONS: lambdaHeapFlags(memoryMb[name]).join(' ') },
          selfReportedRssKb: (out) => JSON.parse(out.trim().split('\n').pop()!).maxRssKb,
        });
        const line = JSON.parse(r.stdout.trim().split('\n').pop()!);
        // A failed run is reported, not hidden: its timings then measure a shorter path.
        if (line.result?.failed?.length || !line.result?.succeeded?.length) error = `handler answered ${JSON.stringify(line.result?.failed ?? line.result)}`;
        runs.push({ bootMs: line.bootMs, importMs: line.importMs, invokeMs: line.invokeMs, wall: r.ms, rss: r.peakRss });
      }
      let site: ArtifactResult['site'];
      if (name === 'bronze') {
        const land = async (nodeOptions: string) => {
          const r = await runNode([join(ROOT, 'bench/cold-start.cjs'), dir, JSON.stringify({ objects: [{ endpoint: 'posts', key: siteKey }] })], {
            tmp,
            cwd: dir,
            env: { ...env, NODE_OPTIONS: nodeOptions },
            selfReportedRssKb: (out) => JSON.parse(out.trim().split('\n').pop()!).maxRssKb,
          });
          const line = JSON.parse(r.stdout.trim().split('\n').pop()!);
          const failed = line.result?.failed?.length || !line.result?.succeeded?.length;
          return { peakRss: r.peakRss, invokeMs: line.invokeMs as number, ...(failed && { error: `handler answered ${JSON.stringify(line.result?.failed ?? line.result)}` }) };
        };
        const small = await land(SITE_NODE_OPTIONS);
        const atDefault = { memoryMb: config.bronzeMemoryMb, ...(await land(lambdaHeapFlags(config.bronzeMemoryMb).join(' '))) };
        site = { posts: SITE_POSTS, rawBytes: Buffer.byteLength(siteRaw), ...small, atDefault };
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
