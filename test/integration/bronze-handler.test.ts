import test from 'ava';
import { mkdtempSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { listKeys } from '../../handlers/aws/s3';
import { parquetReadObjects } from 'hyparquet';
import { startS3, type EmbeddedS3 } from '../helpers/s3rver';
import { runBronze, type BronzeOptions } from '../../handlers/bronze';
import type { HandlerDeps } from '../../handlers/aws/ports';
import type { BronzeEvent, ParameterNames, RawObject } from '../../handlers/contracts';

const names: ParameterNames = {
  rawBucket: '/test/raw-bucket',
  bronzeBucket: '/test/bronze-bucket',
  rawTopicArn: '/test/raw-topic',
  bronzeTopicArn: '/test/bronze-topic',
  endpoints: '/test/endpoints',
};
const TOPIC = 'arn:aws:sns:us-east-1:000000000000:bronze';

// The handlers' temporary folders of this file land in a folder of its own: other test files
// convert at the same time, and their folders in the shared tmpdir are not this file's to count.
process.env.TMPDIR = mkdtempSync(join(tmpdir(), 'bronze-handler-test-'));
const options: BronzeOptions = { functionName: 'data_wordpressapi_bronze', layer: 'bronze', parameterNames: names, codec: 'snappy' };

interface Fakes {
  deps: HandlerDeps;
  alerts: Array<{ topicArn: string; subject: string; message: string }>;
  logs: Array<{ level: string; message: string; fields?: Record<string, unknown> }>;
}

function fakes(s3: EmbeddedS3, parameters: Record<string, string>, publish?: () => Promise<void>): Fakes {
  const alerts: Fakes['alerts'] = [];
  const logs: Fakes['logs'] = [];
  const log = (level: string) => (message: string, fields?: Record<string, unknown>) => logs.push({ level, message, fields });
  return {
    alerts,
    logs,
    deps: {
      s3: s3.client,
      functionName: 'data_wordpressapi_bronze',
      parameters: { get: async (wanted) => new Map(wanted.filter((n) => parameters[n]).map((n) => [n, parameters[n]])) },
      notifier: {
        async publish(topicArn, subject, message) {
          alerts.push({ topicArn, subject, message });
          await publish?.();
        },
      },
      log: { info: log('INFO'), warn: log('WARN'), error: log('ERROR') },
    },
  };
}

const allParameters = { [names.rawBucket]: 'raw', [names.bronzeBucket]: 'bronze', [names.bronzeTopicArn]: TOPIC };

let s3: EmbeddedS3;
test.before(async () => {
  s3 = await startS3(['raw', 'bronze']);
});
test.after.always(async () => {
  await s3?.stop();
});

async function putRaw(key: string, body: string): Promise<void> {
  await s3.client.send(new PutObjectCommand({ Bucket: 'raw', Key: key, Body: body, ContentType: 'application/json' }));
}

async function getBytes(bucket: string, key: string): Promise<Uint8Array> {
  const out = await s3.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return out.Body!.transformToByteArray();
}

async function readParquet(key: string): Promise<Record<string, unknown>[]> {
  const bytes = await getBytes('bronze', key);
  return parquetReadObjects({ file: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer });
}

/** The table's rows without the lineage columns, which the tests that need them read on their own. */
async function readRows(key: string): Promise<Record<string, unknown>[]> {
  return (await readParquet(key)).map(({ _ingested_at, _run_id, _row_hash, ...row }) => row);
}

async function readJson(bucket: string, key: string): Promise<any> {
  return JSON.parse(Buffer.from(await getBytes(bucket, key)).toString('utf8'));
}

const FETCHED_AT = '2026-03-01T06:00:00.000Z';

/** One raw object of a full run, as the raw summary names it (only what bronze reads matters). */
function rawObject(endpoint: string, key: string, extra: Partial<RawObject> = {}): RawObject {
  return { endpoint, key, items: 0, bytes: 0, pages: 1, sha256: `sha-of-${key}`, sourceUrl: '', fetchedAt: FETCHED_AT, ms: 0, runId: 'r1', mode: 'full', ...extra };
}

test.serial('converts exactly the objects named in the event and reports each', async (t) => {
  await putRaw('ev/posts/ingest_date=2026-03-01/posts-r1.json', JSON.stringify([{ id: 1, title: { rendered: 'A &amp; B' } }, { id: 2, title: { rendered: '\u00e9\ud83d\ude00' } }]));
  await putRaw('ev/users/ingest_date=2026-03-01/users-r1.json', JSON.stringify([{ id: 7, meta: [] }]));
  const { deps, alerts, logs } = fakes(s3, allParameters);
  const summary = await runBronze(deps, { ...options, dataSource: 'ev' }, { objects: [rawObject('posts', 'ev/posts/ingest_date=2026-03-01/posts-r1.json')] });
  t.deepEqual(summary.succeeded, ['posts']);
  t.deepEqual(summary.failed, []);
  // Two data columns plus the lineage: _ingested_at, _run_id, _row_hash.
  t.like(summary.objects[0], {
    endpoint: 'posts', key: 'ev/posts/posts.parquet', rows: 2, columns: 5, empty: false, runId: 'r1', mode: 'full',
    items: 2, upserted: 2, inserted: 2, unchanged: 0, deleted: 0, rawKey: 'ev/posts/ingest_date=2026-03-01/posts-r1.json', rawSha256: 'sha-of-ev/posts/ingest_date=2026-03-01/posts-r1.json',
  });
  t.is(summary.objects[0].deletionsKey, undefined);
  t.true(summary.objects[0].bytes > 0);
  const rows = await readParquet('ev/posts/posts.parquet');
  t.deepEqual(rows.map(({ _row_hash, ...row }) => row), [
    { id: 1n, title__rendered: 'A &amp; B', _ingested_at: new Date(FETCHED_AT), _run_id: 'r1' },
    { id: 2n, title__rendered: '\u00e9\ud83d\ude00', _ingested_at: new Date(FETCHED_AT), _run_id: 'r1' },
  ]);
  t.true(rows.every((r) => typeof r._row_hash === 'string' && /^[0-9a-f]{32}$/.test(r._row_hash)));
  await t.throwsAsync(s3.client.send(new HeadObjectCommand({ Bucket: 'bronze', Key: 'ev/users/users.parquet' })), undefined, 'users was not in the event');
  // The state sits outside the table's folder, so Athena and DuckDB never read it as table data.
  t.like(await readJson('bronze', 'ev/_state/posts.json'), { version: 1, endpoint: 'posts', tracksModified: false, lastFullAt: FETCHED_AT, lastRunId: 'r1', rows: 2 });
  t.deepEqual((await listKeys(s3.client, 'bronze', 'ev/')).sort(), ['ev/_state/posts.json', 'ev/posts/posts.parquet']);
  t.deepEqual(alerts, []);
  t.like(logs.find((l) => l.fields?.endpoint === 'posts')?.fields, { endpoint: 'posts', rows: 2, columns: 5, upserted: 2 });
  t.is(logs.at(-1)?.message, 'WordPress API Bronze process complete: 1 Successful | 0 Failed');
});

test.serial('without objects in the event the bronze function alerts and fails, converting nothing', async (t) => {
  // The raw bucket holds every run's history, so there is no "latest object" to guess.
  await putRaw('ls/tags/ingest_date=2026-03-01/tags-r1.json', JSON.stringify([{ id: 1, name: 'x' }]));
  await putRaw('ls/categories/ingest_date=2026-03-01/categories-r1.json', JSON.stringify([{ id: 2, name: 'y', parent: 0 }]));
  const { deps, alerts } = fakes(s3, allParameters);
  for (const event of [{}, { objects: 'all' }] as BronzeEvent[]) {
    await t.throwsAsync(runBronze(deps, { ...options, dataSource: 'ls' }, event), { message: /The event names no raw objects/ });
  }
  t.is(alerts.length, 2);
  t.is(alerts[0].topicArn, TOPIC);
  t.is(alerts[0].subject, 'data_wordpressapi_bronze: Failed');
  t.regex(alerts[0].message, /raw function's summary/);
  t.deepEqual(await listKeys(s3.client, 'bronze', 'ls/'), []);
});

test.serial('an endpoint with no items is reported empty, writes no file and is not a failure', async (t) => {
  await putRaw('em/comments/ingest_date=2026-03-01/comments-r1.json', '[]');
  const { deps, alerts } = fakes(s3, allParameters);
  const summary = await runBronze(deps, { ...options, dataSource: 'em' }, { objects: [rawObject('comments', 'em/comments/ingest_date=2026-03-01/comments-r1.json')] });
  t.deepEqual(summary.succeeded, ['comments']);
  t.like(summary.objects[0], { empty: true, rows: 0, bytes: 0, items: 0 });
  await t.throwsAsync(s3.client.send(new HeadObjectCommand({ Bucket: 'bronze', Key: 'em/comments/comments.parquet' })));
  t.deepEqual(alerts, []);
});

test.serial('a failing object keeps its previous parquet and state byte-identical, the others are written and one alert names it', async (t) => {
  await putRaw('ff/posts/ingest_date=2026-03-01/posts-r1.json', JSON.stringify([{ id: 1 }]));
  await putRaw('ff/pages/ingest_date=2026-03-01/pages-r1.json', JSON.stringify([{ id: 10 }]));
  const first = fakes(s3, allParameters);
  const landed = await runBronze(first.deps, { ...options, dataSource: 'ff' }, {
    objects: [rawObject('posts', 'ff/posts/ingest_date=2026-03-01/posts-r1.json'), rawObject('pages', 'ff/pages/ingest_date=2026-03-01/pages-r1.json')],
  });
  t.deepEqual(landed.failed, []);
  const before = { table: await getBytes('bronze', 'ff/posts/posts.parquet'), state: await getBytes('bronze', 'ff/_state/posts.json') };

  await putRaw('ff/posts/ingest_date=2026-03-02/posts-r2.json', '[{"id": 2}, {"id": 3'); // truncated upload
  await putRaw('ff/pages/ingest_date=2026-03-02/pages-r2.json', JSON.stringify([{ id: 11 }, { id: 12 }]));
  const { deps, alerts, logs } = fakes(s3, allParameters);
  const r2 = { runId: 'r2', fetchedAt: '2026-03-02T06:00:00.000Z' };
  const summary = await runBronze(deps, { ...options, dataSource: 'ff' }, {
    objects: [
      rawObject('posts', 'ff/posts/ingest_date=2026-03-02/posts-r2.json', r2),
      rawObject('pages', 'ff/pages/ingest_date=2026-03-02/pages-r2.json', r2),
      rawObject('media', 'ff/media/ingest_date=2026-03-02/media-r2.json', r2),
    ],
  });
  t.deepEqual(summary.succeeded, ['pages']);
  t.deepEqual(summary.failed.map((f) => f.endpoint), ['posts', 'media']);
  t.regex(summary.failed[0].error, /ends early/);
  t.deepEqual(await getBytes('bronze', 'ff/posts/posts.parquet'), before.table);
  t.deepEqual(await getBytes('bronze', 'ff/_state/posts.json'), before.state);
  // A full crawl is the whole table: id 10 left the site, and is recorded as deleted by r2.
  t.deepEqual(await readRows('ff/pages/pages.parquet'), [{ id: 11n }, { id: 12n }]);
  t.like(summary.objects[0], { deleted: 1, deletionsKey: 'ff/pages_deletions/pages_deletions-r2.parquet' });
  t.deepEqual((await readParquet('ff/pages_deletions/pages_deletions-r2.parquet')).map(({ detected_at, ...row }) => row), [{ id: 10n, run_id: 'r2', mode: 'full' }]);
  t.is(alerts.length, 1);
  t.is(alerts[0].topicArn, TOPIC);
  t.is(alerts[0].subject, 'data_wordpressapi_bronze: Ran With Failures');
  t.regex(alerts[0].message, /^2 of 3 endpoint\(s\) failed to merge into bronze; their tables and state were kept as they were\./);
  t.regex(alerts[0].message, /- posts: .*ends early/);
  t.regex(alerts[0].message, /- media: /);
  t.is(logs.at(-1)?.message, 'WordPress API Bronze process complete: 1 Successful | 2 Failed');
  t.deepEqual((await readdir(tmpdir())).filter((n) => n.startsWith('bronze-')), [], 'temp files are cleaned, failed or not');
});

test.serial('an incremental run replaces changed rows, keeps the lineage of unchanged ones, drops unlisted ids and advances the mark', async (t) => {
  const v1 = [
    { id: 1, title: 'one', modified_gmt: '2026-03-01T05:00:00' },
    { id: 2, title: 'two', modified_gmt: '2026-03-01T05:30:00' },
    { id: 3, title: 'three', modified_gmt: '2026-03-01T05:45:00' },
  ];
  await putRaw('in/posts/ingest_date=2026-03-01/posts-r1.json', JSON.stringify(v1));
  const first = fakes(s3, allParameters);
  await runBronze(first.deps, { ...options, dataSource: 'in' }, { objects: [rawObject('posts', 'in/posts/ingest_date=2026-03-01/posts-r1.json')] });
  t.like(await readJson('bronze', 'in/_state/posts.json'), { mark: '2026-03-01T05:45:00Z', tracksModified: true, ids: [[1, 3]], lastFullAt: FETCHED_AT });

  // The delta since the mark (minus the overlap) brings 3 unchanged, 2 changed and 4 new; the
  // listing no longer has 1.
  const delta = [{ id: 2, title: 'two, edited', modified_gmt: '2026-03-02T05:10:00' }, v1[2], { id: 4, title: 'four', modified_gmt: '2026-03-02T05:20:00' }];
  await putRaw('in/posts/ingest_date=2026-03-02/posts-r2.json', JSON.stringify(delta));
  await putRaw('in/_ids/posts/ingest_date=2026-03-02/posts-r2.json', JSON.stringify([{ id: 2 }, { id: 3 }, { id: 4 }]));
  const { deps, alerts } = fakes(s3, allParameters);
  const summary = await runBronze(deps, { ...options, dataSource: 'in' }, {
    objects: [rawObject('posts', 'in/posts/ingest_date=2026-03-02/posts-r2.json', { runId: 'r2', mode: 'incremental', fetchedAt: '2026-03-02T06:00:00.000Z', idsKey: 'in/_ids/posts/ingest_date=2026-03-02/posts-r2.json', markBefore: '2026-03-01T05:45:00Z' })],
  });
  t.deepEqual(alerts, []);
  t.like(summary.objects[0], { mode: 'incremental', items: 3, upserted: 2, inserted: 1, unchanged: 1, deleted: 1, rows: 3, markBefore: '2026-03-01T05:45:00Z', markAfter: '2026-03-02T05:20:00Z', deletionsKey: 'in/posts_deletions/posts_deletions-r2.parquet' });
  const rows = await readParquet('in/posts/posts.parquet');
  t.deepEqual(rows.map((r) => [r.id, r.title, r._run_id]), [[2n, 'two, edited', 'r2'], [3n, 'three', 'r1'], [4n, 'four', 'r2']]);
  t.deepEqual(rows.find((r) => r.id === 3n)?._ingested_at, new Date(FETCHED_AT), 'an unchanged row keeps the run that delivered its version');
  t.deepEqual((await readParquet('in/posts_deletions/posts_deletions-r2.parquet')).map((r) => [r.id, r.run_id, r.mode]), [[1n, 'r2', 'incremental']]);
  // An incremental run is not a full crawl: lastFullAt stays r1's.
  t.like(await readJson('bronze', 'in/_state/posts.json'), { mark: '2026-03-02T05:20:00Z', ids: [[2, 4]], lastFullAt: FETCHED_AT, lastRunId: 'r2', rows: 3 });
});

test.serial('an incremental object without an id listing, or without a table to merge into, fails and writes nothing', async (t) => {
  await putRaw('ni/posts/ingest_date=2026-03-02/posts-r2.json', JSON.stringify([{ id: 1, modified_gmt: '2026-03-02T05:00:00' }]));
  await putRaw('ni/_ids/posts/ingest_date=2026-03-02/posts-r2.json', JSON.stringify([{ id: 1 }]));
  const { deps } = fakes(s3, allParameters);
  const incremental = { runId: 'r2', mode: 'incremental' as const };
  const summary = await runBronze(deps, { ...options, dataSource: 'ni' }, {
    objects: [
      rawObject('posts', 'ni/posts/ingest_date=2026-03-02/posts-r2.json', incremental),
      rawObject('pages', 'ni/posts/ingest_date=2026-03-02/posts-r2.json', { ...incremental, idsKey: 'ni/_ids/posts/ingest_date=2026-03-02/posts-r2.json' }),
    ],
  });
  t.deepEqual(summary.succeeded, []);
  t.regex(summary.failed[0].error, /names no id listing \(idsKey\)/);
  t.regex(summary.failed[1].error, /current table s3:\/\/bronze\/ni\/pages\/pages\.parquet/);
  t.deepEqual(await listKeys(s3.client, 'bronze', 'ni/'), []);
});

test.serial('a manifest event writes the run manifest outside every table folder', async (t) => {
  const { deps } = fakes(s3, allParameters);
  const raw = rawObject('posts', 'mf/posts/ingest_date=2026-03-01/posts-run_1.json', { runId: 'run:1', pages: 3, items: 230 });
  const result = await runBronze(deps, { ...options, dataSource: 'mf' }, {
    manifest: {
      runId: 'run:1',
      startedAt: '2026-03-01T06:00:00.000Z',
      input: { fullRefresh: true },
      results: [
        { endpoint: 'posts', ok: true, raw: [raw], bronze: [{ endpoint: 'posts', mode: 'full', upserted: 230, deleted: 0, rows: 230, markAfter: '2026-03-01T05:00:00Z' }] },
        { endpoint: 'gone', ok: false, stage: 'raw', error: 'GET ... -> HTTP 404' },
      ],
    },
  });
  t.deepEqual(result, { key: 'mf/_runs/run_1.json' });
  const manifest = await readJson('bronze', 'mf/_runs/run_1.json');
  t.like(manifest, { runId: 'run:1', startedAt: '2026-03-01T06:00:00.000Z', input: { fullRefresh: true }, status: 'FAILED' });
  t.false(Number.isNaN(Date.parse(manifest.writtenAt)));
  t.like(manifest.endpoints[0], { endpoint: 'posts', ok: true, mode: 'full', pages: 3, items: 230, upserted: 230, rows: 230, rawKey: raw.key, rawSha256: raw.sha256, markAfter: '2026-03-01T05:00:00Z' });
  t.like(manifest.endpoints[1], { endpoint: 'gone', ok: false, stage: 'raw', errors: ['GET ... -> HTTP 404'] });
  t.deepEqual(await listKeys(s3.client, 'bronze', 'mf/'), ['mf/_runs/run_1.json']);
});

test.serial('an endpoint name that could escape its folder is refused', async (t) => {
  const { deps } = fakes(s3, allParameters);
  const summary = await runBronze(deps, options, { objects: [rawObject('../x', 'wordpress_api/x/x.json'), rawObject('_state', 'wordpress_api/x/x.json')] });
  t.deepEqual(summary.failed.map((f) => f.endpoint), ['../x', '_state']);
  for (const failure of summary.failed) t.regex(failure.error, /is not \[a-z0-9\]\[a-z0-9_-\]\*/);
});

test.serial('a missing bronze topic parameter throws without alerting', async (t) => {
  const { deps, alerts } = fakes(s3, { [names.rawBucket]: 'raw', [names.bronzeBucket]: 'bronze' });
  await t.throwsAsync(runBronze(deps, options, { objects: [] }), { message: /\/test\/bronze-topic/ });
  t.deepEqual(alerts, []);
});

test.serial('missing bucket parameters are alerted as Failed, naming them, and thrown', async (t) => {
  const { deps, alerts } = fakes(s3, { [names.bronzeTopicArn]: TOPIC });
  await t.throwsAsync(runBronze(deps, options, { objects: [] }), { message: /\/test\/raw-bucket, \/test\/bronze-bucket/ });
  t.is(alerts.length, 1);
  t.is(alerts[0].subject, 'data_wordpressapi_bronze: Failed');
  t.regex(alerts[0].message, /\/test\/raw-bucket, \/test\/bronze-bucket/);
});

test.serial('a failed alert is logged and does not mask the original error', async (t) => {
  const { deps, logs } = fakes(s3, { [names.bronzeTopicArn]: TOPIC, [names.rawBucket]: 'raw' }, async () => {
    throw new Error('SNS is down');
  });
  await t.throwsAsync(runBronze(deps, options, { objects: [] }), { message: /\/test\/bronze-bucket/ });
  t.like(logs.find((l) => l.message === 'could not publish alert')?.fields, { error: 'SNS is down' });
});
