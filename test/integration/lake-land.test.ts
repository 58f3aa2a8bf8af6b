import test from 'ava';
import type { ExecutionContext } from 'ava';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import type { S3Client } from '@aws-sdk/client-s3';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parquetReadObjects } from 'hyparquet';
import { zstdDecompressSync } from 'node:zlib';
import type { HandlerDeps } from '../../handlers/aws/ports';
import { listKeys } from '../../handlers/aws/s3';
import type { RawObject } from '../../handlers/contracts';
import { landEndpoint } from '../../handlers/lake/land';
import { createLogger } from '../../handlers/log';
import { startS3 } from '../helpers/s3rver';

/**
 * landEndpoint against the embedded S3: merges across runs (schema widened, never narrowed), and
 * a failure at each step of a run leaves table, deletions and mark as the last good run left them.
 */

process.env.TMPDIR = mkdtempSync(join(tmpdir(), 'lake-land-test-'));
const context = { rawBucket: 'raw', bronzeBucket: 'bronze', dataSource: 'wp' };

async function lake(t: ExecutionContext) {
  const s3 = await startS3(['raw', 'bronze']);
  t.teardown(() => s3.stop());
  const logs: Array<Record<string, unknown>> = [];
  const deps: HandlerDeps = {
    s3: s3.client,
    parameters: { get: async () => new Map() },
    notifier: { publish: async () => undefined },
    log: createLogger({}, (line) => logs.push(JSON.parse(line))),
    functionName: 'bronze-test',
  };
  let run = 0;
  /** Stores a raw object (and the listing of an incremental run) and returns what raw would. */
  const raw = async (items: unknown[], mode: 'full' | 'incremental' = 'full', listed?: number[]): Promise<RawObject> => {
    run++;
    const runId = `run-${run}`;
    const key = `wp/posts/ingest_date=2026-12-0${run}/posts-${runId}.json`;
    await s3.client.send(new PutObjectCommand({ Bucket: 'raw', Key: key, Body: JSON.stringify(items) }));
    let idsKey: string | undefined;
    if (mode === 'incremental') {
      idsKey = `wp/_ids/posts/ingest_date=2026-12-0${run}/posts-${runId}.json`;
      await s3.client.send(new PutObjectCommand({ Bucket: 'raw', Key: idsKey, Body: JSON.stringify((listed ?? []).map((id) => ({ id }))) }));
    }
    return { endpoint: 'posts', key, items: items.length, bytes: 0, pages: 1, sha256: 'x', sourceUrl: 'http://wp.test/wp-json/wp/v2/posts', fetchedAt: `2026-12-0${run}T07:00:00.000Z`, ms: 1, runId, mode, ...(idsKey && { idsKey }) };
  };
  const read = async (bucket: string, key: string) => {
    const out = await s3.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return Buffer.from(await out.Body!.transformToByteArray());
  };
  const rows = async () => {
    const bytes = await read('bronze', 'wp/posts/posts.parquet');
    const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    return (await parquetReadObjects({ file, compressors: { ZSTD: (i: Uint8Array) => new Uint8Array(zstdDecompressSync(i)) } })) as Array<Record<string, unknown>>;
  };
  const snapshot = async () => {
    const keys = await listKeys(s3.client, 'bronze', 'wp/');
    return Object.fromEntries(await Promise.all(keys.map(async (k) => [k, (await read('bronze', k)).toString('base64')] as const)));
  };
  return { deps, raw, rows, snapshot, logs, s3 };
}

const post = (id: number, extra: Record<string, unknown> = {}) => ({ id, title: { rendered: `Post ${id}` }, modified_gmt: `2026-12-01T0${id % 10}:00:00`, ...extra });

test('runs merge across days: a column that disappears stays null, an int that becomes a float widens, never narrows', async (t) => {
  const l = await lake(t);
  await landEndpoint(l.deps, context, await l.raw([post(1, { score: 1, extra: 'a' }), post(2, { score: 2, extra: 'b' })]));
  // Day 2: post 2 changes shape (no `extra`, a fractional score), post 3 is new.
  const { object: day2 } = await landEndpoint(l.deps, context, await l.raw([post(2, { score: 2.5 }), post(3, { score: 3 })], 'incremental', [1, 2, 3]));
  t.like(day2, { mode: 'incremental', upserted: 2, inserted: 1, deleted: 0, rows: 3 });
  const rows = await l.rows();
  t.deepEqual(rows.map((r) => [r.id, r.score, r.extra]), [[1n, 1, 'a'], [2n, 2.5, null], [3n, 3, null]]);
  // Day 3: every row now holds integral scores again; the column stays DOUBLE.
  await landEndpoint(l.deps, context, await l.raw([post(2, { score: 2 })], 'incremental', [1, 2, 3]));
  t.deepEqual((await l.rows()).map((r) => r.score), [1, 2, 3]);
  t.true((await l.rows()).every((r) => typeof r.score === 'number'), 'DOUBLE, not narrowed back to INT64');
  t.true('extra' in (await l.rows())[0], 'the emptied column is still there');
});

test('the state records the greatest modified_gmt as the mark, and only moves it forward', async (t) => {
  const l = await lake(t);
  await landEndpoint(l.deps, context, await l.raw([post(1), post(5)]));
  const state = async () => JSON.parse((await l.snapshot().then((s) => Buffer.from(s['wp/_state/posts.json'], 'base64'))).toString());
  t.like(await state(), { mark: '2026-12-01T05:00:00Z', tracksModified: true, rows: 2, ids: [[1, 1], [5, 5]] });
  await landEndpoint(l.deps, context, await l.raw([post(3)], 'incremental', [1, 3, 5]));
  t.like(await state(), { mark: '2026-12-01T05:00:00Z', rows: 3, ids: [[1, 1], [3, 3], [5, 5]], lastFullAt: '2026-12-01T07:00:00.000Z' });
});

/** Wraps the client so that the first PutObject to a key matching `failing` throws. */
function failingPuts(client: S3Client, failing: RegExp): S3Client {
  return new Proxy(client, {
    get(target, property, receiver) {
      if (property !== 'send') return Reflect.get(target, property, receiver);
      return async (command: { constructor: { name: string }; input: { Key?: string } }) => {
        if (command.constructor.name === 'PutObjectCommand' && failing.test(command.input.Key ?? '')) throw new Error(`injected: PutObject ${command.input.Key} failed`);
        return (target.send as (c: unknown) => Promise<unknown>)(command);
      };
    },
  });
}

for (const [step, key] of [
  ['the table', /posts\/posts\.parquet$/],
  ['the deletions', /posts_deletions\//],
  ['the state', /_state\/posts\.json$/],
] as const) {
  test(`a failure writing ${step} leaves table, deletions and state as the last good run left them`, async (t) => {
    const l = await lake(t);
    await landEndpoint(l.deps, context, await l.raw([post(1), post(2), post(3)]));
    const before = await l.snapshot();
    const failing = { ...l.deps, s3: failingPuts(l.deps.s3, key) };
    const error = await t.throwsAsync(landEndpoint(failing, context, await l.raw([post(2, { title: { rendered: 'changed' } })], 'incremental', [2, 3])));
    t.regex(error.message, /injected: PutObject/);
    const after = await l.snapshot();
    // An emptied deletions file may remain (the function cannot delete); it holds no rows.
    const extra = Object.keys(after).filter((k) => !(k in before));
    t.true(extra.every((k) => k.startsWith('wp/posts_deletions/')), `only an emptied deletions file may be new: ${extra.join(', ')}`);
    for (const k of Object.keys(before)) t.is(after[k], before[k], `${k} is byte for byte the last good run's`);
    // The next run, without the fault, lands the same change.
    const { object: next } = await landEndpoint(l.deps, context, await l.raw([post(2, { title: { rendered: 'changed' } })], 'incremental', [2, 3]));
    t.like(next, { upserted: 1, deleted: 1, rows: 2 });
  });
}
