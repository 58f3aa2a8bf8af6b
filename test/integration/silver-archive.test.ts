import test from 'ava';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GlueClient } from '@aws-sdk/client-glue';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { type Simulation, runSimulation } from '@cloud-copilot/iam-simulate';
import type { HandlerDeps } from '../../handlers/aws/ports';
import { listKeys } from '../../handlers/aws/s3';
import { sdkGlueCalls } from '../../handlers/lake/catalog';
import { tableKey } from '../../handlers/lake/layout';
import { createLogger } from '../../handlers/log';
import { convertJsonFile } from '../../handlers/parquet/convert';
import { type SilverSummary, runSilver, silverCallbackFactory } from '../../handlers/silver';
import { catalogDatabaseName } from '../../pipeline/catalog';
import { parameterNamesFor, parseConfig } from '../../pipeline/config';
import { EXCLUDED_PACKAGES, silverBucketParameterName, silverDatabaseName, silverHandlerOptions } from '../../pipeline/handler-options';
import { SDK_PACKAGES } from '../../pipeline/pipeline-function';
import { silverFunctionPolicy } from '../../pipeline/policies';
import { type AwsCall, normalizeCalls, parameterArn, startGlueEmulator, startS3Proxy, startSsmEmulator } from '../helpers/aws-emulators';
import { buildLambdaArchive, invokeArchive, lambdaRuntimeModules } from '../helpers/lambda-archive';
import { startS3 } from '../helpers/s3rver';

/**
 * The archive `pulumi up` would upload for the silver function, run in its own Node process with
 * a Lambda-like environment against loopback S3, SSM and Glue: it must write the same silver
 * tables as the handler in-process, carry the packages it requires (htmlparser2 among them) and
 * nothing it does not, and every AWS call it makes must be allowed by the policy SilverLayer
 * gives it (the IAM simulation), while the calls outside its job are not.
 */

const REGION = 'eu-west-2';
const ACCOUNT = '123456789012';
const BUCKETS = { bronze: 'bronze-bucket-a1b2c3d', silver: 'silver-bucket-a1b2c3d' };
const FUNCTION = 'data_wordpressapi_silver-dev';
const config = parseConfig({ 'wordpress-lakehouse:siteUrl': 'https://blog.example.com' });
const names = { bronzeBucket: parameterNamesFor('dev', config.siteUrl).bronzeBucket, silverBucket: silverBucketParameterName('dev') };
const DATABASE = silverDatabaseName(catalogDatabaseName('dev'));
const options = { ...silverHandlerOptions(config, FUNCTION, names), catalogDatabase: DATABASE };

/** A small site's bronze tables (no tags, no media: those silver tables are skipped). */
const BRONZE: Record<string, Array<Record<string, unknown>>> = {
  posts: [
    { id: 10, slug: 'caf%c3%a9', date_gmt: '2026-01-01T09:00:00', modified_gmt: '2026-01-02T09:00:00', title: { rendered: 'Caf&eacute; &amp; more' }, content: { rendered: '<p>日本語のテキストです 🎉</p>', protected: false }, excerpt: { rendered: '' }, author: 1, categories: [3], tags: [], featured_media: 0, sticky: false, format: 'standard' },
    { id: 11, slug: 'second', date_gmt: '2026-01-03T09:00:00', modified_gmt: '2026-01-03T09:00:00', title: { rendered: 'Second' }, content: { rendered: '<p>one two</p>', protected: false }, excerpt: { rendered: '' }, author: 2, categories: [2, 3], tags: [], featured_media: 0, sticky: true, format: 'aside' },
  ],
  pages: [
    { id: 1, slug: 'about', parent: 0, menu_order: 0, date_gmt: '2026-01-01T00:00:00', title: { rendered: 'About' }, content: { rendered: '<p>x</p>', protected: false }, author: 1 },
    { id: 2, slug: 'team', parent: 1, menu_order: 1, date_gmt: '2026-01-01T00:00:00', title: { rendered: 'Team' }, content: { rendered: '<p>y</p>', protected: false }, author: 1 },
  ],
  comments: [
    { id: 100, post: 10, parent: 0, author_name: 'Ann', date_gmt: '2026-01-04T00:00:00', content: { rendered: '<p>Hi</p>' } },
    { id: 101, post: 10, parent: 100, author_name: 'Bob', date_gmt: '2026-01-04T01:00:00', content: { rendered: '<p>Hello</p>' } },
  ],
  categories: [
    { id: 2, name: 'Travel', slug: 'travel', taxonomy: 'category', parent: 0, count: 1 },
    { id: 3, name: 'Tech &amp; Science', slug: 'tech', taxonomy: 'category', parent: 2, count: 2 },
  ],
  users: [
    { id: 1, name: 'Zo&euml;', slug: 'zoe' },
    { id: 2, name: 'Sam', slug: 'sam' },
  ],
};

async function loadBronze(put: (key: string, body: Buffer) => Promise<unknown>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'silver-bronze-'));
  try {
    for (const [name, rows] of Object.entries(BRONZE)) {
      await writeFile(join(dir, `${name}.json`), JSON.stringify(rows));
      await convertJsonFile(join(dir, `${name}.json`), join(dir, `${name}.parquet`));
      await put(tableKey(config.dataSource, name), await readFile(join(dir, `${name}.parquet`)));
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('the silver archive carries what it requires, writes what the handler writes in-process, and calls only what its policy allows', async (t) => {
  const archive = await buildLambdaArchive(silverCallbackFactory(options), [...SDK_PACKAGES, ...EXCLUDED_PACKAGES.silver]);
  const runtime = await lambdaRuntimeModules(process.cwd());
  t.teardown(() => archive.remove());
  t.teardown(() => runtime.remove());
  t.true(archive.packages.includes('htmlparser2') && archive.packages.includes('hyparquet-writer') && archive.packages.includes('hyparquet'), archive.packages.join(', '));
  t.false(archive.packages.some((p) => p === 'ky' || p.startsWith('@pulumi/') || p.startsWith('@aws-sdk/')), archive.packages.join(', '));
  t.log(`silver archive: ${archive.files.length} files, ${(archive.totalBytes / 1024).toFixed(0)} KiB unpacked, __index.js ${(archive.indexBytes / 1024).toFixed(0)} KiB; packages ${archive.packages.join(', ')}`);

  const [reference, lambda] = await Promise.all([startS3(Object.values(BUCKETS)), startS3(Object.values(BUCKETS))]);
  t.teardown(() => reference.stop());
  t.teardown(() => lambda.stop());
  for (const s3 of [reference, lambda]) await loadBronze((key, body) => s3.client.send(new PutObjectCommand({ Bucket: BUCKETS.bronze, Key: key, Body: body })));
  const proxy = await startS3Proxy(lambda.endpoint);
  const ssm = await startSsmEmulator({ [names.bronzeBucket]: BUCKETS.bronze, [names.silverBucket]: BUCKETS.silver }, { region: REGION, account: ACCOUNT });
  const [glue, referenceGlue] = await Promise.all([0, 1].map(() => startGlueEmulator([DATABASE], { region: REGION, account: ACCOUNT })));
  t.teardown(() => Promise.all([proxy.close(), ssm.close(), glue.close(), referenceGlue.close()]));

  const event = { runId: 'silver-archive', endpoints: ['posts', 'pages', 'comments', 'categories', 'tags', 'users', 'media'] };
  const glueClient = new GlueClient({ endpoint: referenceGlue.endpoint, region: REGION, credentials: { accessKeyId: 'reference', secretAccessKey: 'reference' } });
  t.teardown(() => glueClient.destroy());
  const deps: HandlerDeps = {
    s3: reference.client,
    parameters: { get: async (wanted) => new Map(wanted.map((n) => [n, n === names.bronzeBucket ? BUCKETS.bronze : BUCKETS.silver])) },
    notifier: { publish: async () => t.fail('the silver handler publishes nothing itself') },
    log: createLogger({ function: FUNCTION, layer: 'silver' }, () => {}),
    functionName: FUNCTION,
    glue: sdkGlueCalls(() => glueClient),
  };
  const inProcess = await runSilver(deps, options, event);

  const started = performance.now();
  const { results, logs } = await invokeArchive<SilverSummary>(archive, [event], {
    env: {
      AWS_LAMBDA_FUNCTION_NAME: FUNCTION,
      AWS_REGION: REGION,
      AWS_DEFAULT_REGION: REGION,
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
      AWS_SESSION_TOKEN: 'lambda-session-token',
      AWS_ENDPOINT_URL_S3: proxy.endpoint,
      AWS_ENDPOINT_URL_SSM: ssm.endpoint,
      AWS_ENDPOINT_URL_GLUE: glue.endpoint,
      // s3rver stores aws-chunked bodies with their framing (see local/embedded-s3.ts); real S3 needs neither.
      AWS_REQUEST_CHECKSUM_CALCULATION: 'WHEN_REQUIRED',
      AWS_RESPONSE_CHECKSUM_VALIDATION: 'WHEN_REQUIRED',
    },
    nodePath: [runtime.nodePath],
  });
  t.log(`cold start and one invocation in a fresh process: ${(performance.now() - started).toFixed(0)} ms`);
  const [result] = results;
  if (!result.ok) return t.fail(`${result.errorType}: ${result.errorMessage}`);
  t.deepEqual(result.result, inProcess, 'the same summary as in-process');
  t.deepEqual(result.result.tables.map((x) => [x.table, x.rows]), [['comments', 2], ['pages', 2], ['posts', 2], ['post_terms', 3], ['terms', 2], ['authors', 2]]);
  t.deepEqual(result.result.skipped.map((s) => s.table), ['terms (tags)', 'media']);
  t.true(logs.some((line) => line.level === 'WARN' && line.message === 'media: skipped, no bronze media table'));

  // Byte for byte the same tables on both sides, and the same catalog.
  const silverKeys = await listKeys(reference.client, BUCKETS.silver, '');
  t.deepEqual(await listKeys(lambda.client, BUCKETS.silver, ''), silverKeys);
  for (const key of silverKeys) {
    const bytes = async (s3: typeof reference) => Buffer.from(await (await s3.client.send(new GetObjectCommand({ Bucket: BUCKETS.silver, Key: key }))).Body!.transformToByteArray());
    t.true((await bytes(reference)).equals(await bytes(lambda)), key);
  }
  t.deepEqual([...glue.tables.keys()].sort(), [...referenceGlue.tables.keys()].sort());
  t.is(glue.tables.size, 6);

  // Every call the archive made is allowed by the policy SilverLayer builds, with the ARNs it would get.
  const calls = normalizeCalls([...proxy.calls, ...ssm.calls, ...glue.calls]);
  t.deepEqual([...new Set(calls.map((c) => c.action))].sort(), ['glue:CreateTable', 'glue:GetTable', 's3:GetObject', 's3:PutObject', 'ssm:GetParameters']);
  const glueArn = (path: string) => `arn:aws:glue:${REGION}:${ACCOUNT}:${path}`;
  const policy = silverFunctionPolicy({
    logGroupArn: `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:/aws/lambda/${FUNCTION}`,
    bronzeBucketArn: `arn:aws:s3:::${BUCKETS.bronze}`,
    silverBucketArn: `arn:aws:s3:::${BUCKETS.silver}`,
    dataSource: config.dataSource,
    failureTopicArn: `arn:aws:sns:${REGION}:${ACCOUNT}:alerts-failure-lambda-a1b2c3d`,
    parameterArns: [parameterArn(names.bronzeBucket, { region: REGION, account: ACCOUNT }), parameterArn(names.silverBucket, { region: REGION, account: ACCOUNT })],
    glue: { catalog: glueArn('catalog'), database: glueArn(`database/${DATABASE}`), tables: glueArn(`table/${DATABASE}/*`) },
  });
  const simulate = async (call: AwsCall) => {
    const result = await runSimulation({
      identityPolicies: [{ name: 'silver-function', policy }],
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      request: { action: call.action, principal: `arn:aws:iam::${ACCOUNT}:role/silver-function`, resource: { resource: call.resource, accountId: ACCOUNT }, contextVariables: { 'aws:SecureTransport': 'true', ...call.context } },
    } as unknown as Simulation, {});
    return result.resultType === 'error' ? JSON.stringify(result.errors) : result.overallResult;
  };
  for (const call of calls) t.is(await simulate(call), 'Allowed', `${call.action} ${call.resource}`);
  // A missing bronze table was a 404 because ListBucket on the prefix is allowed; the run's own key shapes otherwise denied.
  t.is(await simulate({ service: 's3', action: 's3:ListBucket', resource: `arn:aws:s3:::${BUCKETS.bronze}`, context: { 's3:prefix': 'wordpress_api/media/media.parquet' } }), 'Allowed');
  for (const call of calls.filter((c) => c.service === 's3')) {
    const other = call.resource.replace(`${BUCKETS.bronze}/`, `${BUCKETS.silver}/`).replace(/^(arn:aws:s3:::[^/]+\/)wordpress_api\//, '$1other_source/');
    t.not(await simulate({ ...call, resource: other }), 'Allowed', `${call.action} ${other}`);
  }
  t.not(await simulate({ service: 's3', action: 's3:PutObject', resource: `arn:aws:s3:::${BUCKETS.bronze}/wordpress_api/posts/posts.parquet` }), 'Allowed', 'writing bronze');
});
