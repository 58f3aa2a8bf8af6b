import test from 'ava';
import { mkdtempSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { parquetReadObjects } from 'hyparquet';
import { startS3, type EmbeddedS3 } from '../helpers/s3rver';
import { runBronze, type BronzeOptions } from '../../handlers/bronze';
import type { HandlerDeps } from '../../handlers/aws/ports';
import type { ParameterNames, RawObject } from '../../handlers/contracts';

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

function rawObject(endpoint: string, key: string): RawObject {
  return { endpoint, key, items: 0, bytes: 0, pages: 1, sha256: '', sourceUrl: '', fetchedAt: '', ms: 0 };
}

test.serial('converts exactly the objects named in the event and reports each', async (t) => {
  await putRaw('ev/posts/posts.json', JSON.stringify([{ id: 1, title: { rendered: 'A &amp; B' } }, { id: 2, title: { rendered: '\u00e9\ud83d\ude00' } }]));
  await putRaw('ev/users/users.json', JSON.stringify([{ id: 7, meta: [] }]));
  const { deps, alerts, logs } = fakes(s3, allParameters);
  const summary = await runBronze(deps, { ...options, dataSource: 'ev' }, { objects: [rawObject('posts', 'ev/posts/posts.json')] });
  t.deepEqual(summary.succeeded, ['posts']);
  t.deepEqual(summary.failed, []);
  t.like(summary.objects[0], { endpoint: 'posts', key: 'ev/posts/posts.parquet', rows: 2, columns: 2, empty: false });
  t.true(summary.objects[0].bytes > 0);
  t.deepEqual(await readParquet('ev/posts/posts.parquet'), [
    { id: 1n, title__rendered: 'A &amp; B' },
    { id: 2n, title__rendered: '\u00e9\ud83d\ude00' },
  ]);
  await t.throwsAsync(s3.client.send(new HeadObjectCommand({ Bucket: 'bronze', Key: 'ev/users/users.parquet' })), undefined, 'users was not in the event');
  t.deepEqual(alerts, []);
  t.like(logs.find((l) => l.fields?.endpoint === 'posts')?.fields, { endpoint: 'posts', rows: 2, columns: 2 });
  t.is(logs.at(-1)?.message, 'WordPress API Bronze process complete: 1 Successful | 0 Failed');
});

test.serial('without objects in the event every raw *.json of the data source is converted', async (t) => {
  await putRaw('ls/tags/tags.json', JSON.stringify([{ id: 1, name: 'x' }]));
  await putRaw('ls/categories/categories.json', JSON.stringify([{ id: 2, name: 'y', parent: 0 }]));
  await putRaw('ls/notes/readme.txt', 'not json');
  const { deps } = fakes(s3, allParameters);
  const summary = await runBronze(deps, { ...options, dataSource: 'ls' }, {});
  t.deepEqual([...summary.succeeded].sort(), ['categories', 'tags']);
  t.deepEqual(await readParquet('ls/tags/tags.parquet'), [{ id: 1n, name: 'x' }]);
  t.deepEqual(await readParquet('ls/categories/categories.parquet'), [{ id: 2n, name: 'y', parent: 0n }]);
});

test.serial('an endpoint with no items is reported empty, writes no file and is not a failure', async (t) => {
  await putRaw('em/comments/comments.json', '[]');
  const { deps, alerts } = fakes(s3, allParameters);
  const summary = await runBronze(deps, { ...options, dataSource: 'em' }, { objects: [rawObject('comments', 'em/comments/comments.json')] });
  t.deepEqual(summary.succeeded, ['comments']);
  t.like(summary.objects[0], { empty: true, rows: 0, bytes: 0 });
  await t.throwsAsync(s3.client.send(new HeadObjectCommand({ Bucket: 'bronze', Key: 'em/comments/comments.parquet' })));
  t.deepEqual(alerts, []);
});

test.serial('a failing object keeps its previous parquet byte-identical, the others are written and one alert names it', async (t) => {
  await putRaw('ff/posts/posts.json', JSON.stringify([{ id: 1 }]));
  await putRaw('ff/pages/pages.json', JSON.stringify([{ id: 10 }]));
  const first = fakes(s3, allParameters);
  await runBronze(first.deps, { ...options, dataSource: 'ff' }, {});
  const before = await getBytes('bronze', 'ff/posts/posts.parquet');

  await putRaw('ff/posts/posts.json', '[{"id": 2}, {"id": 3'); // truncated upload
  await putRaw('ff/pages/pages.json', JSON.stringify([{ id: 11 }, { id: 12 }]));
  const { deps, alerts, logs } = fakes(s3, allParameters);
  const summary = await runBronze(deps, { ...options, dataSource: 'ff' }, {
    objects: [rawObject('posts', 'ff/posts/posts.json'), rawObject('pages', 'ff/pages/pages.json'), rawObject('media', 'ff/media/media.json')],
  });
  t.deepEqual(summary.succeeded, ['pages']);
  t.deepEqual(summary.failed.map((f) => f.endpoint), ['posts', 'media']);
  t.regex(summary.failed[0].error, /ends early/);
  t.deepEqual(await getBytes('bronze', 'ff/posts/posts.parquet'), before);
  t.deepEqual(await readParquet('ff/pages/pages.parquet'), [{ id: 11n }, { id: 12n }]);
  t.is(alerts.length, 1);
  t.is(alerts[0].topicArn, TOPIC);
  t.is(alerts[0].subject, 'data_wordpressapi_bronze: Ran With Failures');
  t.regex(alerts[0].message, /^2 of 3 endpoint\(s\) failed/);
  t.regex(alerts[0].message, /- posts: .*ends early/);
  t.regex(alerts[0].message, /- media: /);
  t.is(logs.at(-1)?.message, 'WordPress API Bronze process complete: 1 Successful | 2 Failed');
  t.deepEqual((await readdir(tmpdir())).filter((n) => n.startsWith('bronze-')), [], 'temp files are cleaned, failed or not');
});

test.serial('an endpoint name that could escape its folder is refused', async (t) => {
  const { deps } = fakes(s3, allParameters);
  const summary = await runBronze(deps, options, { objects: [rawObject('../x', 'wordpress_api/x/x.json')] });
  t.regex(summary.failed[0].error, /not \[a-z0-9_-\]\+/);
});

test.serial('a missing bronze topic parameter throws without alerting', async (t) => {
  const { deps, alerts } = fakes(s3, { [names.rawBucket]: 'raw', [names.bronzeBucket]: 'bronze' });
  await t.throwsAsync(runBronze(deps, options, {}), { message: /\/test\/bronze-topic/ });
  t.deepEqual(alerts, []);
});

test.serial('missing bucket parameters are alerted as Failed, naming them, and thrown', async (t) => {
  const { deps, alerts } = fakes(s3, { [names.bronzeTopicArn]: TOPIC });
  await t.throwsAsync(runBronze(deps, options, {}), { message: /\/test\/raw-bucket, \/test\/bronze-bucket/ });
  t.is(alerts.length, 1);
  t.is(alerts[0].subject, 'data_wordpressapi_bronze: Failed');
  t.regex(alerts[0].message, /\/test\/raw-bucket, \/test\/bronze-bucket/);
});

test.serial('a failed alert is logged and does not mask the original error', async (t) => {
  const { deps, logs } = fakes(s3, { [names.bronzeTopicArn]: TOPIC, [names.rawBucket]: 'raw' }, async () => {
    throw new Error('SNS is down');
  });
  await t.throwsAsync(runBronze(deps, options, {}), { message: /\/test\/bronze-bucket/ });
  t.like(logs.find((l) => l.message === 'Alert could not be published')?.fields, { error: 'SNS is down' });
});
