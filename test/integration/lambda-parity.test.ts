import test from 'ava';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { zstdDecompressSync } from 'node:zlib';
import { GlueClient } from '@aws-sdk/client-glue';
import { GetObjectCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import type { S3Client } from '@aws-sdk/client-s3';
import { parquetReadObjects } from 'hyparquet';
import type { HandlerDeps } from '../../handlers/aws/ports';
import { listKeys } from '../../handlers/aws/s3';
import { bronzeCallbackFactory, runBronze } from '../../handlers/bronze';
import { sdkGlueCalls } from '../../handlers/lake/catalog';
import type { BronzeEvent, BronzeSummary, PartResult, RawPlan, RawEvent, RawSummary } from '../../handlers/contracts';
import { createLogger } from '../../handlers/log';
import { rawCallbackFactory, runRaw } from '../../handlers/raw';
import { catalogDatabaseName } from '../../pipeline/catalog';
import { parameterNamesFor, parseConfig } from '../../pipeline/config';
import { EXCLUDED_PACKAGES, bronzeHandlerOptions, rawHandlerOptions } from '../../pipeline/handler-options';
import { SDK_PACKAGES } from '../../pipeline/pipeline-function';
import type { AwsCall, GlueTable, Publish } from '../helpers/aws-emulators';
import { normalizeCalls, startGlueEmulator, startS3Proxy, startSnsEmulator, startSsmEmulator } from '../helpers/aws-emulators';
import type { InvocationResult, LambdaArchive } from '../helpers/lambda-archive';
import { buildLambdaArchive, invokeArchive, lambdaRuntimeModules } from '../helpers/lambda-archive';
import { startS3 } from '../helpers/s3rver';
import type { FixtureCollection } from '../../local/demo-site/rest-server';
import { generateItems, startWordPressFixture } from '../../local/demo-site/rest-server';

/**
 * The archives `pulumi up` would upload, run in a separate Node 24 process with a Lambda-like
 * environment against loopback S3 (s3rver), SSM, SNS and WordPress, must do exactly what the
 * handlers do in-process (bronze registering its tables in a loopback Glue too); and the AWS calls
 * they make are recorded for the IAM tests. Two runs:
 * a first (full) one, then an incremental one of posts after the site changed, so every kind of
 * object of the lake's layout (raw history, id listing, table, deletions, state, manifest) is
 * written and read by the archives at least once.
 */

const REGION = 'eu-west-2';
const ACCOUNT = '123456789012';
const STACK = 'dev';
// Physical names as the Pulumi mocks (test/helpers/pulumi-mocks.ts) give the components' resources.
const BUCKETS = { raw: 'raw-bucket-a1b2c3d', bronze: 'bronze-bucket-a1b2c3d' };
const TOPICS = { raw: `arn:aws:sns:${REGION}:${ACCOUNT}:raw-topic-a1b2c3d`, bronze: `arn:aws:sns:${REGION}:${ACCOUNT}:bronze-topic-a1b2c3d` };
const FUNCTIONS = { raw: `data_wordpressapi_raw-${STACK}`, bronze: `data_wordpressapi_bronze-${STACK}` };
const CALLS_FILE = join(__dirname, '..', 'data', 'aws-calls.json');
const DATABASE = catalogDatabaseName(STACK);

// The options the components build (pipeline/raw-layer.ts, pipeline/bronze-layer.ts), from a stack
// config with every default; no WordPress credentials, as in Pulumi.dev.yaml.
const config = parseConfig({ 'wordpress-lakehouse:siteUrl': 'https://blog.example.com', 'wordpress-lakehouse:alertEmail': 'data-team@example.com' });
const names = { ...parameterNamesFor(STACK, config.siteUrl), credentials: undefined };
const rawOptions = rawHandlerOptions(config, FUNCTIONS.raw, names);
// BronzeLayer adds the database of the stack's Catalog.
const bronzeOptions = { ...bronzeHandlerOptions(config, FUNCTIONS.bronze, names), catalogDatabase: DATABASE };
// codePathOptions.extraExcludePackages of each component (PipelineFunction adds the SDK).
const EXCLUDES = { raw: [...SDK_PACKAGES, ...EXCLUDED_PACKAGES.raw], bronze: [...SDK_PACKAGES, ...EXCLUDED_PACKAGES.bronze] };

interface StoredObject {
  body: Buffer;
  contentType?: string;
  metadata: Record<string, string>;
}

interface Side {
  raw: Array<InvocationResult<RawSummary>>;
  bronze: Array<InvocationResult<BronzeSummary>>;
  publishes: Publish[];
  objects: Map<string, StoredObject>;
  /** The Glue tables the side's bronze runs left, by `<database>.<name>`. */
  tables: Map<string, GlueTable>;
}

/**
 * Raw keys carry the UTC date of the fetch, and the two sides run a few seconds apart: compared
 * (and recorded) without it, so a run that straddles midnight does not differ.
 */
const undated = (text: string) => text.replace(/ingest_date=\d{4}-\d{2}-\d{2}/g, 'ingest_date=YYYY-MM-DD');

interface Run {
  archives: { raw: LambdaArchive; bronze: LambdaArchive };
  inProcess: Side;
  lambda: Side & { logs: { raw: Array<Record<string, unknown>>; bronze: Array<Record<string, unknown>> }; calls: Array<AwsCall & { function: 'raw' | 'bronze' }> };
  endpoints: string;
  /** The raw archive built without ky, run once: proves the runtime stand-in lends nothing but the SDK. */
  withoutKy: Array<InvocationResult<RawSummary>>;
  /** The split crawl of comments through the archives (lake/fan-out.ts), and every object after it. */
  fanOut: { plan: RawPlan; parts: PartResult[]; joined: RawSummary; bronze: InvocationResult<BronzeSummary>; objects: Map<string, StoredObject>; comments: number[] };
  /** A replay of posts from raw history through the archives (lake/replay.ts), and the posts table before it. */
  replay: { raw: RawSummary; bronze: InvocationResult<BronzeSummary>; tableBefore: Buffer; tableAfter: Buffer };
}

let run: Run;
const cleanups: Array<() => Promise<unknown>> = [];

async function readBucket(s3: S3Client, bucket: string, into: Map<string, StoredObject>): Promise<void> {
  for (const key of await listKeys(s3, bucket, '')) {
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const metadata = Object.fromEntries(Object.entries(head.Metadata ?? {}).map(([name, value]) => [name, undated(value)]));
    into.set(undated(`${bucket}/${key}`), { body: Buffer.from(await out.Body!.transformToByteArray()), contentType: head.ContentType, metadata });
  }
}

/**
 * Posts carry modified_gmt (one minute apart, by id), so the second run of posts is incremental,
 * and category ids, so the catalog holds a list column.
 */
const postsAtFirstRun = (): Array<Record<string, unknown>> =>
  generateItems(230, 65).map((item, i) => ({ ...item, modified_gmt: new Date(Date.UTC(2026, 0, 1) + i * 60_000).toISOString().slice(0, 19), categories: [1 + (i % 3)] }));

/** The site between the runs: post 70 deleted, post 294 edited, post 400 published. */
const postsAtSecondRun = () => [
  ...postsAtFirstRun()
    .filter((item) => item.id !== 70)
    .map((item) => (item.id === 294 ? { ...item, title: { rendered: 'Edited' }, modified_gmt: '2026-01-02T09:00:00' } : item)),
  { id: 400, slug: 'new', title: { rendered: 'New' }, meta: [], modified_gmt: '2026-01-02T10:00:00', categories: [2, 3] },
];

/**
 * Bronze's lineage column `_ingested_at` is the raw object's fetch time, which differs between
 * the two sides by the seconds between their raw runs: each side's bronze runs on its own raw
 * summary (its own bucket's keys), with the in-process side's fetch times, so the Parquet files
 * can be compared byte for byte.
 */
function withFetchTimes(raw: InvocationResult<RawSummary>, reference: InvocationResult<RawSummary>): InvocationResult<RawSummary> {
  if (!raw.ok || !reference.ok) return raw;
  const times = new Map(reference.result.objects.map((o) => [o.endpoint, o.fetchedAt]));
  return { ok: true, result: { ...raw.result, objects: raw.result.objects.map((o) => ({ ...o, fetchedAt: times.get(o.endpoint) ?? o.fetchedAt })) } };
}

/** What the state machine's WriteRunManifest task sends: the Map's results, as its Pass states shape them. */
function manifestEvent(runId: string, raw: InvocationResult<RawSummary>): BronzeEvent {
  const summary = raw.ok ? raw.result : { objects: [], failed: [] };
  const results = [
    ...summary.objects.map((o) => ({ endpoint: o.endpoint, ok: true, raw: [o], bronze: [] })),
    ...summary.failed.map((f) => ({ endpoint: f.endpoint, ok: false, stage: 'raw', error: f.error })),
  ];
  return { manifest: { runId, startedAt: '2026-01-01T07:00:00.000Z', input: {}, results } };
}

async function settle<R>(work: () => Promise<R>): Promise<InvocationResult<R>> {
  try {
    return { ok: true, result: await work() };
  } catch (error) {
    return { ok: false, errorType: (error as Error).name, errorMessage: (error as Error).message };
  }
}

test.before(async () => {
  // The fixture reads `site.collections` on every request, so replacing posts changes the site.
  const site = {
    collections: {
      posts: { items: postsAtFirstRun() } as FixtureCollection,
      comments: { items: generateItems(450), kind: 'terms', hidden: 3 } as FixtureCollection,
      users: { items: generateItems(5), kind: 'terms' } as FixtureCollection,
    },
    documents: { '/acme/v1/settings': { name: 'Site', description: 'Caf\u00e9 &amp; more' } },
  };
  const wp = await startWordPressFixture(site);
  cleanups.push(() => wp.close());
  // `gone` answers 404 rest_no_route: an endpoint failure, alerted as "Ran With Failures".
  const endpoints = JSON.stringify([
    ...['posts', 'comments', 'users', 'gone'].map((name) => ({ name, url: `${wp.api}/wp/v2/${name}`, paginate: true })),
    { name: 'settings', url: `${wp.api}/acme/v1/settings`, paginate: false },
  ]);
  const parameters: Record<string, string> = {
    [names.rawBucket]: BUCKETS.raw,
    [names.bronzeBucket]: BUCKETS.bronze,
    [names.rawTopicArn]: TOPICS.raw,
    [names.bronzeTopicArn]: TOPICS.bronze,
    [names.endpoints]: endpoints,
  };

  // Both sides get their own s3rver, with the same bucket names, so keys and messages compare 1:1.
  const [referenceS3, lambdaS3] = await Promise.all([startS3([BUCKETS.raw, BUCKETS.bronze]), startS3([BUCKETS.raw, BUCKETS.bronze])]);
  cleanups.push(() => referenceS3.stop(), () => lambdaS3.stop());
  const s3 = await startS3Proxy(lambdaS3.endpoint);
  const ssm = await startSsmEmulator(parameters, { region: REGION, account: ACCOUNT });
  const sns = await startSnsEmulator(Object.values(TOPICS), { region: REGION, account: ACCOUNT });
  // Each side registers its tables in a Glue of its own; the in-process side through the SDK adapter.
  const [referenceGlue, glue] = await Promise.all([0, 1].map(() => startGlueEmulator([DATABASE], { region: REGION, account: ACCOUNT })));
  const referenceGlueClient = new GlueClient({ endpoint: referenceGlue.endpoint, region: REGION, credentials: { accessKeyId: 'reference', secretAccessKey: 'reference' } });
  cleanups.push(() => s3.close(), () => ssm.close(), () => sns.close(), () => glue.close(), () => referenceGlue.close(), async () => referenceGlueClient.destroy());

  const archives = {
    raw: await buildLambdaArchive(rawCallbackFactory(rawOptions), EXCLUDES.raw),
    bronze: await buildLambdaArchive(bronzeCallbackFactory(bronzeOptions), EXCLUDES.bronze),
  };
  const runtime = await lambdaRuntimeModules(process.cwd());
  cleanups.push(() => archives.raw.remove(), () => archives.bronze.remove(), () => runtime.remove());

  // In-process reference: the same cores with s3rver's client and in-memory SSM/SNS.
  const inProcess: Side = { raw: [], bronze: [], publishes: [], objects: new Map(), tables: referenceGlue.tables };
  const deps = (functionName: string, layer: string): HandlerDeps => ({
    s3: referenceS3.client,
    parameters: { get: async (wanted) => new Map(wanted.filter((n) => parameters[n]).map((n) => [n, parameters[n]])) },
    notifier: { publish: async (topicArn, subject, message) => void inProcess.publishes.push({ topicArn, subject, message }) },
    log: createLogger({ function: functionName, layer }, () => {}),
    functionName,
    ...(layer === 'bronze' && { glue: sdkGlueCalls(() => referenceGlueClient) }),
  });
  // First run: a cold start then warm invocations: everything, one endpoint (as the state
  // machine calls it), an unknown one. Run ids are fixed, so both sides write the same keys.
  const rawEvents: RawEvent[] = [{ runId: 'parity-1' }, { endpoint: 'posts', runId: 'parity-1b' }, { endpoint: 'nope', runId: 'parity-1c' }];
  // The raw summary (as Step Functions passes it), no objects (refused now that raw keeps history),
  // a key that is not there, and the run manifest.
  const bronzeEvents = (raw: InvocationResult<RawSummary>): BronzeEvent[] => [
    raw.ok ? (raw.result as unknown as BronzeEvent) : {},
    {},
    { objects: [{ endpoint: 'ghost', key: `${config.dataSource}/ghost/ingest_date=2026-01-01/ghost-parity-1.json`, runId: 'parity-1', mode: 'full', fetchedAt: '2026-01-01T07:00:00.000Z' }] } as unknown as BronzeEvent,
    manifestEvent('parity-1', raw),
  ];
  // Second run, after the site changed: posts only, incremental from the state bronze wrote.
  const rawEvents2: RawEvent[] = [{ endpoint: 'posts', runId: 'parity-2' }];
  const bronzeEvents2 = (raw: InvocationResult<RawSummary>): BronzeEvent[] => [raw.ok ? (raw.result as unknown as BronzeEvent) : {}];

  const rawDeps = deps(FUNCTIONS.raw, 'raw');
  const bronzeDeps = deps(FUNCTIONS.bronze, 'bronze');
  const inProcessRun = async (raws: RawEvent[], bronzes: (raw: InvocationResult<RawSummary>) => BronzeEvent[]) => {
    const first = inProcess.raw.length;
    for (const event of raws) inProcess.raw.push(await settle(() => runRaw(rawDeps, rawOptions, event)));
    for (const event of bronzes(inProcess.raw[first])) inProcess.bronze.push(await settle(() => runBronze(bronzeDeps, bronzeOptions, event)));
  };

  // The archives, each in its own Node process, as Lambda would run them.
  const env = (fn: 'raw' | 'bronze') => ({
    AWS_LAMBDA_FUNCTION_NAME: FUNCTIONS[fn],
    AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${FUNCTIONS[fn]}`,
    AWS_LAMBDA_LOG_STREAM_NAME: '2025/01/01/[$LATEST]0123456789abcdef',
    AWS_REGION: REGION,
    AWS_DEFAULT_REGION: REGION,
    // s3rver checks signatures against its fixed key pair; SSM and SNS emulators only check the scope.
    AWS_ACCESS_KEY_ID: 'S3RVER',
    AWS_SECRET_ACCESS_KEY: 'S3RVER',
    AWS_SESSION_TOKEN: 'lambda-session-token',
    AWS_ENDPOINT_URL_S3: s3.endpoint,
    AWS_ENDPOINT_URL_SSM: ssm.endpoint,
    AWS_ENDPOINT_URL_SNS: sns.endpoint,
    AWS_ENDPOINT_URL_GLUE: glue.endpoint,
    // s3rver stores aws-chunked bodies with their framing (see local/embedded-s3.ts); real S3 needs neither.
    AWS_REQUEST_CHECKSUM_CALCULATION: 'WHEN_REQUIRED',
    AWS_RESPONSE_CHECKSUM_VALIDATION: 'WHEN_REQUIRED',
  });
  const calls: Run['lambda']['calls'] = [];
  const collect = (fn: 'raw' | 'bronze', marks: number[]) =>
    [s3.calls, ssm.calls, sns.calls, glue.calls].forEach((list, i) => calls.push(...list.slice(marks[i]).map((call) => ({ function: fn, ...call }))));
  const mark = () => [s3.calls.length, ssm.calls.length, sns.calls.length, glue.calls.length];
  const lambdaSide = { raw: [] as Array<InvocationResult<RawSummary>>, bronze: [] as Array<InvocationResult<BronzeSummary>>, logs: { raw: [] as Array<Record<string, unknown>>, bronze: [] as Array<Record<string, unknown>> } };
  const lambdaRun = async (raws: RawEvent[], bronzes: (raw: InvocationResult<RawSummary>) => BronzeEvent[], reference: InvocationResult<RawSummary>) => {
    let before = mark();
    const raw = await invokeArchive<RawSummary>(archives.raw, raws, { env: env('raw'), nodePath: [runtime.nodePath] });
    collect('raw', before);
    before = mark();
    const bronze = await invokeArchive<BronzeSummary>(archives.bronze, bronzes(withFetchTimes(raw.results[0], reference)), { env: env('bronze'), nodePath: [runtime.nodePath] });
    collect('bronze', before);
    lambdaSide.raw.push(...raw.results);
    lambdaSide.bronze.push(...bronze.results);
    lambdaSide.logs.raw.push(...raw.logs);
    lambdaSide.logs.bronze.push(...bronze.logs);
  };

  await inProcessRun(rawEvents, bronzeEvents);
  await lambdaRun(rawEvents, bronzeEvents, inProcess.raw[0]);
  site.collections.posts = { items: postsAtSecondRun() };
  await inProcessRun(rawEvents2, bronzeEvents2);
  await lambdaRun(rawEvents2, bronzeEvents2, inProcess.raw[rawEvents.length]);

  for (const bucket of Object.values(BUCKETS)) await readBucket(referenceS3.client, bucket, inProcess.objects);
  const objects = new Map<string, StoredObject>();
  for (const bucket of Object.values(BUCKETS)) await readBucket(lambdaS3.client, bucket, objects);
  const publishes = [...sns.publishes];
  const tables = structuredClone(glue.tables);

  // Third run: a full crawl of comments split into parts (pagesPerTask 2: 5 pages, 3 parts), each
  // step a separate invocation of an archive built with that setting, as the state machine calls
  // them (FetchParts adds the listing's key and fetch time to each part), then bronze on the join.
  const fanArchive = await buildLambdaArchive(rawCallbackFactory({ ...rawOptions, pagesPerTask: 2 }), EXCLUDES.raw);
  cleanups.push(() => fanArchive.remove());
  const fanInvoke = async <R>(events: RawEvent[]): Promise<R[]> => {
    const before = mark();
    const out = await invokeArchive<R>(fanArchive, events, { env: env('raw'), nodePath: [runtime.nodePath] });
    collect('raw', before);
    return out.results.map((r) => {
      if (!r.ok) throw new Error(`fan-out step failed: ${r.errorType}: ${r.errorMessage}`);
      return r.result;
    });
  };
  const fanRun = { endpoint: 'comments', runId: 'parity-fan' };
  const [plan] = await fanInvoke<RawPlan>([{ ...fanRun, execution: { fullRefresh: true }, plan: true }]);
  const fanOut = plan.fanOut!;
  const parts = await fanInvoke<PartResult>(fanOut.parts.map((part) => ({ ...fanRun, part: { ...part, idsKey: fanOut.idsKey, fetchedAt: fanOut.fetchedAt } })));
  const [joined] = await fanInvoke<RawSummary>([{ ...fanRun, join: { plan: fanOut, parts } }]);
  let before = mark();
  const fanBronze = await invokeArchive<BronzeSummary>(archives.bronze, [joined as unknown as BronzeEvent], { env: env('bronze'), nodePath: [runtime.nodePath] });
  collect('bronze', before);

  const fanObjects = new Map<string, StoredObject>();
  for (const bucket of Object.values(BUCKETS)) await readBucket(lambdaS3.client, bucket, fanObjects);

  // Fourth: posts replayed from raw history (parity-1's and parity-1b's full fetches, parity-2's
  // increment), through the archives, without the site.
  const postsTable = async () => Buffer.from(await (await lambdaS3.client.send(new GetObjectCommand({ Bucket: BUCKETS.bronze, Key: `${config.dataSource}/posts/posts.parquet` }))).Body!.transformToByteArray());
  const tableBefore = await postsTable();
  const requestsBefore = wp.requests.length;
  const [replayRaw] = await fanInvoke<RawSummary>([{ endpoint: 'posts', runId: 'parity-replay', execution: { replay: true } }]);
  before = mark();
  const replayBronze = await invokeArchive<BronzeSummary>(archives.bronze, [replayRaw as unknown as BronzeEvent], { env: env('bronze'), nodePath: [runtime.nodePath] });
  collect('bronze', before);
  if (wp.requests.length !== requestsBefore) throw new Error('the replay sent requests to the site');
  const replay = { raw: replayRaw, bronze: replayBronze.results[0], tableBefore, tableAfter: await postsTable() };

  const withoutKy = await buildLambdaArchive(rawCallbackFactory(rawOptions), [...EXCLUDES.raw, 'ky']);
  cleanups.push(() => withoutKy.remove());
  const control = await invokeArchive<RawSummary>(withoutKy, [{ endpoint: 'users', runId: 'without-ky' }], { env: env('raw'), nodePath: [runtime.nodePath] });

  run = {
    archives,
    inProcess,
    lambda: { ...lambdaSide, publishes, objects, calls, tables },
    endpoints,
    fanOut: { plan, parts, joined, bronze: fanBronze.results[0], objects: fanObjects, comments: site.collections.comments.items.map((c) => Number(c.id)) },
    withoutKy: control.results,
    replay,
  };
});

test.after.always(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
});

/** Summaries without what differs from run to run (timings, fetch times, the fetch date in raw keys). */
function stable<T>(result: InvocationResult<T>): unknown {
  return JSON.parse(JSON.stringify(result), (key, value) => (key === 'ms' || key === 'fetchedAt' ? undefined : typeof value === 'string' ? undated(value) : value));
}

const requiresOf = (text: string) => [...new Set([...text.matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1]))].sort();

test('the raw archive holds the serialized handler and ky, and neither the AWS SDK, Pulumi nor the Parquet reader or writer', (t) => {
  const { raw } = run.archives;
  t.log(`raw archive: __index.js ${raw.indexBytes} bytes, ${raw.files.length} files, ${raw.totalBytes} bytes in all; packages ${raw.packages.join(', ')}`);
  t.deepEqual(raw.packages, ['ky']);
  t.true(raw.files.includes('__index.js'));
  t.false(raw.files.some((f) => /node_modules\/(@aws-sdk|@smithy|@pulumi|hyparquet)/.test(f)));
  t.true(raw.totalBytes < 2_000_000, `${raw.totalBytes} bytes`);
});

test('the bronze archive holds the serialized handler, hyparquet (to read the current table back) and hyparquet-writer, and neither the AWS SDK, Pulumi nor ky', (t) => {
  const { bronze } = run.archives;
  t.log(`bronze archive: __index.js ${bronze.indexBytes} bytes, ${bronze.files.length} files, ${bronze.totalBytes} bytes in all; packages ${bronze.packages.join(', ')}`);
  t.deepEqual(bronze.packages, ['hyparquet', 'hyparquet-writer']);
  t.true(bronze.files.includes('node_modules/hyparquet/package.json'));
  t.true(bronze.files.includes('node_modules/hyparquet-writer/package.json'));
  t.false(bronze.files.some((f) => /node_modules\/(@aws-sdk|@smithy|@pulumi|ky)\//.test(f)));
  t.true(bronze.totalBytes < 2_000_000, `${bronze.totalBytes} bytes`);
});

test('every module a serialized handler requires is a Node built-in, an AWS SDK v3 client of the runtime, or a package in its archive', (t) => {
  const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
  for (const [name, archive] of Object.entries(run.archives)) {
    const text = readFileSync(join(archive.dir, '__index.js'), 'utf8');
    // A module of a package (`hyparquet-writer/src/metadata.js`) is served by that package.
    const packageOf = (m: string) => m.split('/').slice(0, m.startsWith('@') ? 2 : 1).join('/');
    const outside = requiresOf(text).filter((m) => !builtins.has(m) && !SDK_PACKAGES.includes(m) && !archive.packages.includes(packageOf(m)));
    t.deepEqual(outside, [], name);
    t.false(/@pulumi\//.test(text), `${name} captures nothing of Pulumi`);
  }
  t.deepEqual(requiresOf(readFileSync(join(run.archives.raw.dir, '__index.js'), 'utf8')).filter((m) => !m.startsWith('node:')), [...SDK_PACKAGES, 'ky'].sort());
  t.deepEqual(requiresOf(readFileSync(join(run.archives.bronze.dir, '__index.js'), 'utf8')).filter((m) => !m.startsWith('node:')), [
    ...SDK_PACKAGES, 'hyparquet',
    // The converter's own column writer uses hyparquet-writer's encoders, page headers and footer.
    ...['bytewriter', 'datapage', 'encoding', 'indexes', 'metadata', 'snappy'].map((m) => `hyparquet-writer/src/${m}.js`),
  ].sort());
});

test('an archive missing a package it requires fails on the Lambda-like runtime: only the AWS SDK is lent by NODE_PATH', (t) => {
  const [result] = run.withoutKy;
  t.true(result.ok);
  if (!result.ok) return;
  t.deepEqual(result.result.succeeded, []);
  t.regex(result.result.failed[0]?.error ?? '', /Cannot find module 'ky'/);
});

test('no serialized handler captures a Set or Map by value (Pulumi writes it as a plain object whose borrowed methods throw)', (t) => {
  // e.g. `Object.defineProperty(__WS, "has", { ..., value: global.Set.prototype.has })`: calling
  // WS.has(c) on Lambda fails with "Method Set.prototype.has called on incompatible receiver".
  for (const [name, archive] of Object.entries(run.archives)) {
    const text = readFileSync(join(archive.dir, '__index.js'), 'utf8');
    const captured = [...text.matchAll(/defineProperty\((__[\w$]+), "(\w+)", \{[^}]*value: global\.((?:Weak)?(?:Set|Map))\.prototype\./g)].map(
      (m) => `${m[1].replace(/^__/, '')} (${m[3]}, uses .${m[2]})`,
    );
    t.deepEqual([...new Set(captured)], [], `${name}: module-level collections captured by the closure; create them inside a function instead`);
  }
});

test('the raw archive, run like Lambda in its own Node 24 process, returns the same summaries and errors as runRaw in-process', (t) => {
  t.deepEqual(run.lambda.raw.map(stable), run.inProcess.raw.map(stable));
  const [all, one, unknown, incremental] = run.lambda.raw;
  t.true(all.ok && one.ok && !unknown.ok && incremental.ok);
  if (!all.ok || !one.ok || unknown.ok || !incremental.ok) return;
  t.deepEqual(all.result.succeeded, ['posts', 'comments', 'users', 'settings']);
  t.deepEqual(all.result.failed.map((f) => f.endpoint), ['gone']);
  t.deepEqual(one.result.succeeded, ['posts']);
  t.regex(unknown.errorMessage, /unknown endpoint "nope"/);
  t.deepEqual(
    all.result.objects.map((o) => [o.endpoint, o.items, o.mode, o.runId]),
    [['posts', 230, 'full', 'parity-1'], ['comments', 450, 'full', 'parity-1'], ['users', 5, 'full', 'parity-1'], ['settings', 1, 'full', 'parity-1']],
  );
  // The second run starts from the state the bronze archive wrote: the mark is post 294's first
  // modified_gmt (minute 229), and the delta is the hour before it (posts 235..294, 294 edited)
  // plus post 400.
  t.like(incremental.result.objects[0], { endpoint: 'posts', mode: 'incremental', runId: 'parity-2', markBefore: '2026-01-01T03:49:00Z', modifiedAfter: '2026-01-01T02:49:00Z', items: 61, listed: 230, unseen: 0 });
});

test('the raw archive writes raw objects byte-identical to the in-process run, with the same metadata but the fetch time', (t) => {
  const rawKeys = (objects: Map<string, StoredObject>) => [...objects.keys()].filter((k) => k.startsWith(`${BUCKETS.raw}/`)).sort();
  const partition = (name: string, runId: string, root = name) => `${BUCKETS.raw}/wordpress_api/${root}/ingest_date=YYYY-MM-DD/${name}-${runId}.json`;
  t.deepEqual(rawKeys(run.lambda.objects), [
    ...['posts', 'comments', 'users', 'settings'].map((n) => partition(n, 'parity-1')),
    partition('posts', 'parity-1b'),
    partition('posts', 'parity-2'),
    partition('posts', 'parity-2', '_ids/posts'),
  ].sort());
  t.deepEqual(rawKeys(run.lambda.objects), rawKeys(run.inProcess.objects));
  for (const key of rawKeys(run.lambda.objects)) {
    const lambda = run.lambda.objects.get(key)!;
    const reference = run.inProcess.objects.get(key)!;
    t.true(lambda.body.equals(reference.body), key);
    t.is(lambda.contentType, reference.contentType, key);
    const { 'fetched-at': fetchedAt, ...metadata } = lambda.metadata;
    const { 'fetched-at': _, ...referenceMetadata } = reference.metadata;
    t.deepEqual(metadata, referenceMetadata, key);
    t.false(Number.isNaN(Date.parse(fetchedAt)), key);
  }
  t.like(run.lambda.objects.get(partition('posts', 'parity-2'))!.metadata, { mode: 'incremental', mark: '2026-01-01T03:49:00Z', 'modified-after': '2026-01-01T02:49:00Z', 'run-id': 'parity-2' });
});

/** A JSON object's document without the keys that hold the time it was written. */
function written(object: StoredObject, ...keys: string[]): Record<string, unknown> {
  const document = JSON.parse(object.body.toString('utf8'));
  for (const key of keys) delete document[key];
  return document;
}

test('the bronze archive, run on the raw summaries, writes Parquet files, state and manifest identical to the in-process run and returns the same summaries', async (t) => {
  t.deepEqual(run.lambda.bronze.map(stable), run.inProcess.bronze.map(stable));
  const [fromSummary, none, ghost, manifest, incremental] = run.lambda.bronze;
  t.true(fromSummary.ok && !none.ok && ghost.ok && manifest.ok && incremental.ok);
  if (!fromSummary.ok || none.ok || !ghost.ok || !manifest.ok || !incremental.ok) return;
  t.deepEqual(fromSummary.result.succeeded, ['posts', 'comments', 'users', 'settings']);
  t.regex(none.errorMessage, /The event names no raw objects/);
  t.deepEqual(ghost.result.failed.map((f) => f.endpoint), ['ghost']);
  t.deepEqual(manifest.result as unknown, { key: 'wordpress_api/_runs/parity-1.json' });
  t.like(incremental.result.objects[0], { endpoint: 'posts', mode: 'incremental', rows: 230, upserted: 2, inserted: 1, unchanged: 59, deleted: 1, deletionsKey: 'wordpress_api/posts_deletions/posts_deletions-parity-2.parquet' });

  const bronzeKeys = [...run.lambda.objects.keys()].filter((k) => k.startsWith(`${BUCKETS.bronze}/`)).sort();
  const tables = ['comments', 'posts', 'settings', 'users'].map((n) => `${BUCKETS.bronze}/wordpress_api/${n}/${n}.parquet`);
  const deletions = `${BUCKETS.bronze}/wordpress_api/posts_deletions/posts_deletions-parity-2.parquet`;
  const states = ['comments', 'posts', 'settings', 'users'].map((n) => `${BUCKETS.bronze}/wordpress_api/_state/${n}.json`);
  const manifestKey = `${BUCKETS.bronze}/wordpress_api/_runs/parity-1.json`;
  t.deepEqual(bronzeKeys, [...tables, deletions, ...states, manifestKey].sort());
  t.deepEqual(bronzeKeys, [...run.inProcess.objects.keys()].filter((k) => k.startsWith(`${BUCKETS.bronze}/`)).sort());
  const compressors = { ZSTD: (input: Uint8Array) => new Uint8Array(zstdDecompressSync(input)) };
  const rowsOf = (object: StoredObject) => parquetReadObjects({ file: new Uint8Array(object.body).buffer, compressors });
  for (const key of tables) {
    const lambda = run.lambda.objects.get(key)!;
    const reference = run.inProcess.objects.get(key)!;
    t.true(lambda.body.equals(reference.body), `${key} is byte-identical`);
    t.deepEqual(lambda.metadata, reference.metadata, key);
    t.is((await rowsOf(lambda)).length, Number(lambda.metadata.rows), key);
  }
  // The deletions file records when the deletion was seen: the same but for that time.
  const deleted = async (object: StoredObject) => (await rowsOf(object)).map(({ detected_at, ...row }) => row);
  t.deepEqual(await deleted(run.lambda.objects.get(deletions)!), [{ id: 70n, run_id: 'parity-2', mode: 'incremental' }]);
  t.deepEqual(await deleted(run.lambda.objects.get(deletions)!), await deleted(run.inProcess.objects.get(deletions)!));
  for (const key of states) t.deepEqual(written(run.lambda.objects.get(key)!, 'updatedAt'), written(run.inProcess.objects.get(key)!, 'updatedAt'), key);
  t.like(written(run.lambda.objects.get(`${BUCKETS.bronze}/wordpress_api/_state/posts.json`)!), { mark: '2026-01-02T10:00:00Z', lastRunId: 'parity-2', rows: 230, tracksModified: true });
  t.deepEqual(written(run.lambda.objects.get(manifestKey)!, 'writtenAt'), written(run.inProcess.objects.get(manifestKey)!, 'writtenAt'));
  t.like(written(run.lambda.objects.get(manifestKey)!), { runId: 'parity-1', status: 'FAILED' });
});

test('the bronze archive registers every table it wrote in the Glue emulator, typed for Athena, as the in-process run does', (t) => {
  const { tables } = run.lambda;
  const names = ['comments', 'posts', 'posts_deletions', 'settings', 'users'];
  t.deepEqual([...tables.keys()].sort(), names.map((n) => `${DATABASE}.${n}`));
  for (const name of names) {
    const table = tables.get(`${DATABASE}.${name}`)!;
    t.like(table, { TableType: 'EXTERNAL_TABLE', Parameters: { classification: 'parquet', 'parquet.compression': 'ZSTD' } }, name);
    // A table is every object under its folder: the folder of its own name, nothing beside it.
    t.is(table.StorageDescriptor?.Location, `s3://${BUCKETS.bronze}/wordpress_api/${name}/`, name);
    for (const column of table.StorageDescriptor?.Columns ?? []) t.regex(column.Type, /^(bigint|double|boolean|string|timestamp|array<(bigint|double|boolean|string)>)$/, `${name}.${column.Name}`);
  }
  const types = (name: string) => Object.fromEntries((tables.get(`${DATABASE}.${name}`)!.StorageDescriptor?.Columns ?? []).map((c) => [c.Name, c.Type]));
  t.like(types('posts'), { id: 'bigint', slug: 'string', title__rendered: 'string', meta: 'string', modified_gmt: 'timestamp', categories: 'array<bigint>', _run_id: 'string', _ingested_at: 'timestamp' });
  t.deepEqual(types('posts_deletions'), { detected_at: 'timestamp', id: 'bigint', run_id: 'string', mode: 'string' });
  // The incremental run changed the posts' rows, not their columns: updated in place, no new version.
  t.like(tables.get(`${DATABASE}.posts`), { VersionId: '0', Parameters: { numRows: '230', 'wordpress_lakehouse.run_id': 'parity-2' } });
  // A deletions table grows by a file a run, so its entry claims no row count.
  t.like(tables.get(`${DATABASE}.posts_deletions`), { Parameters: { 'wordpress_lakehouse.run_id': 'parity-2' } });
  t.false('numRows' in (tables.get(`${DATABASE}.posts_deletions`)?.Parameters ?? {}));
  t.like(tables.get(`${DATABASE}.users`), { Parameters: { numRows: '5', 'wordpress_lakehouse.run_id': 'parity-1' } });
  t.deepEqual(Object.fromEntries(tables), Object.fromEntries(run.inProcess.tables));
});

test('alerts published through the SNS emulator are the ones the in-process notifier receives: subject, topic and message', (t) => {
  t.deepEqual(run.lambda.publishes, run.inProcess.publishes);
  t.deepEqual(
    run.lambda.publishes.map((p) => [p.topicArn, p.subject]),
    [
      [TOPICS.raw, `${FUNCTIONS.raw}: Ran With Failures`],
      [TOPICS.raw, `${FUNCTIONS.raw}: Failed`],
      [TOPICS.bronze, `${FUNCTIONS.bronze}: Failed`],
      [TOPICS.bronze, `${FUNCTIONS.bronze}: Ran With Failures`],
    ],
  );
  t.regex(run.lambda.publishes[0].message, /1 failed endpoint\(s\) of 5 \(gone\)/);
  t.regex(run.lambda.publishes[0].message, /- gone: .*404/);
  t.regex(run.lambda.publishes[2].message, /names no raw objects/);
  t.regex(run.lambda.publishes[3].message, /- ghost: /);
});

test('the archives log JSON lines that carry the Lambda function name from the environment', (t) => {
  for (const fn of ['raw', 'bronze'] as const) {
    const logs = run.lambda.logs[fn];
    t.true(logs.length > 0, fn);
    t.deepEqual(logs.filter((l) => l.function !== FUNCTIONS[fn]), [], fn);
  }
});

test('the handlers make exactly the AWS calls recorded in test/data/aws-calls.json (UPDATE_AWS_CALLS=1 rewrites it)', (t) => {
  // Without the fetch date, so the recording holds on any day.
  const calls = normalizeCalls(run.lambda.calls.map((call) => ({ ...call, resource: undated(call.resource), ...(call.context && { context: Object.fromEntries(Object.entries(call.context).map(([k, v]) => [k, undated(v)])) }) })));
  const text = `${JSON.stringify(calls, null, 2)}\n`;
  if (process.env.UPDATE_AWS_CALLS === '1') {
    writeFileSync(CALLS_FILE, text);
    t.log(`wrote ${calls.length} calls to ${CALLS_FILE}`);
  }
  t.true(existsSync(CALLS_FILE), 'run once with UPDATE_AWS_CALLS=1 to record the calls');
  const recorded = JSON.parse(readFileSync(CALLS_FILE, 'utf8')) as unknown[];
  const key = (c: unknown) => JSON.stringify(c);
  const known = new Set(recorded.map(key));
  t.deepEqual(calls.filter((c) => !known.has(key(c))), [], 'calls the handlers now make that the recorded list (and so the IAM tests) does not know');
  const made = new Set(calls.map(key));
  t.deepEqual(recorded.filter((c) => !made.has(key(c))), [], 'recorded calls the handlers no longer make');
  t.false(calls.some((c) => c.action.includes('Unrecognized')));
});

test('a replay runs through the archives: raw lists the history from the last full fetch, bronze lands it in order to the same rows', async (t) => {
  const { raw, bronze, tableBefore, tableAfter } = run.replay;
  t.deepEqual(raw.objects.map((o) => [o.runId, o.mode, o.rebuild ?? false]), [['parity-1b', 'full', true], ['parity-2', 'incremental', false]]);
  t.true(bronze.ok);
  // Rows unchanged since parity-1 now say parity-1b, the fetch the replay starts from: lineage aside,
  // every row and its hash is the same.
  const rows = async (file: Buffer) => {
    const objects = (await parquetReadObjects({ file: file.buffer.slice(file.byteOffset, file.byteOffset + file.byteLength) as ArrayBuffer, compressors: { ZSTD: (input: Uint8Array) => new Uint8Array(zstdDecompressSync(input)) } })) as Array<Record<string, unknown>>;
    return objects.map(({ _ingested_at: _i, _run_id: _r, ...row }) => JSON.stringify(row, (_k, v) => (typeof v === 'bigint' ? String(v) : v)));
  };
  t.deepEqual(await rows(tableAfter), await rows(tableBefore));
  t.false(tableAfter.equals(tableBefore), 'the lineage of rows older than the last full fetch moved to it');
});

test('a split crawl runs through the archives: plan, parts and join in separate invocations, then bronze merges the parts into one table', (t) => {
  const { plan, parts, joined, bronze, objects, comments } = run.fanOut;
  t.is(plan.fanOut?.parts.length, 3, '450 comments (plus 3 hidden) are 5 pages: 3 parts of at most 2');
  t.deepEqual(parts.map((p) => p.index), [0, 1, 2]);
  const partIds = parts.flatMap((p) => (JSON.parse(objects.get(undated(`${BUCKETS.raw}/${p.key}`))!.body.toString('utf8')) as Array<{ id: number }>).map((c) => c.id));
  t.deepEqual(partIds, [...comments].sort((a, b) => a - b), 'the parts hold every comment once, in id order');
  t.like(joined.objects[0], { endpoint: 'comments', mode: 'full', items: comments.length, parts: 3 });
  t.true(objects.has(undated(`${BUCKETS.raw}/${joined.objects[0].partsKey}`)), 'the parts list is stored');
  t.true(bronze.ok);
  if (bronze.ok) t.like(bronze.result.objects[0], { endpoint: 'comments', rows: comments.length, items: comments.length, deleted: 0 });
});
