import test from 'ava';
import type { ExecutionContext } from 'ava';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import type { HandlerDeps } from '../../handlers/aws/ports';
import { runBronze } from '../../handlers/bronze';
import type { BronzeOptions } from '../../handlers/bronze';
import type { ParameterNames, RawObject } from '../../handlers/contracts';
import type { GlueCalls, TableInput } from '../../handlers/lake/catalog';
import { startS3 } from '../helpers/s3rver';

/**
 * The bronze function and the Glue catalog: each merge registers its table (and, once there are
 * deletions, the deletions table); a catalog failure fails that endpoint with a clear alert but
 * keeps what was written, and the next run repairs the entry.
 */

process.env.TMPDIR = mkdtempSync(join(tmpdir(), 'bronze-catalog-test-'));
const names: ParameterNames = { rawBucket: '/t/raw', bronzeBucket: '/t/bronze', rawTopicArn: '/t/raw-topic', bronzeTopicArn: '/t/bronze-topic', endpoints: '/t/endpoints' };
const options: BronzeOptions = { functionName: 'bronze', layer: 'bronze', parameterNames: names, dataSource: 'wp', catalogDatabase: 'wordpress_lakehouse_test' };

async function harness(t: ExecutionContext, failing?: (call: string) => boolean, bronzeOptions: BronzeOptions = options) {
  const s3 = await startS3(['raw', 'bronze']);
  t.teardown(() => s3.stop());
  const tables = new Map<string, TableInput>();
  const calls: string[] = [];
  const record = (call: string) => {
    calls.push(call);
    if (failing?.(call)) throw Object.assign(new Error(`User: arn:aws:sts::1:assumed-role/bronze is not authorized to perform: ${call.split(' ')[0]}`), { name: 'AccessDeniedException' });
  };
  const glue: GlueCalls = {
    async getTable(database, name) {
      record(`glue:GetTable ${database}.${name}`);
      const table = tables.get(name);
      return table && { columns: table.StorageDescriptor.Columns, location: table.StorageDescriptor.Location, parameters: table.Parameters };
    },
    async createTable(database, input) {
      record(`glue:CreateTable ${database}.${input.Name}`);
      tables.set(input.Name, input);
    },
    async updateTable(database, input) {
      record(`glue:UpdateTable ${database}.${input.Name}`);
      tables.set(input.Name, input);
    },
  };
  const alerts: string[] = [];
  const values: Record<string, string> = { [names.rawBucket]: 'raw', [names.bronzeBucket]: 'bronze', [names.bronzeTopicArn]: 'arn:aws:sns:eu-west-2:1:bronze' };
  const deps: HandlerDeps = {
    s3: s3.client,
    functionName: 'bronze',
    parameters: { get: async (wanted) => new Map(wanted.filter((n) => values[n]).map((n) => [n, values[n]])) },
    notifier: { publish: async (_topic, subject, message) => void alerts.push(`${subject}: ${message}`) },
    log: { info: () => undefined, warn: () => undefined, error: () => undefined },
    glue,
  };
  let run = 0;
  const land = async (items: Array<Record<string, unknown>>) => {
    run++;
    const key = `wp/posts/ingest_date=2026-12-0${run}/posts-run-${run}.json`;
    await s3.client.send(new PutObjectCommand({ Bucket: 'raw', Key: key, Body: JSON.stringify(items) }));
    const object: RawObject = { endpoint: 'posts', key, items: items.length, bytes: 0, pages: 1, sha256: '', sourceUrl: '', fetchedAt: `2026-12-0${run}T07:00:00.000Z`, ms: 0, runId: `run-${run}`, mode: 'full' };
    return runBronze(deps, bronzeOptions, { objects: [object] });
  };
  return { land, tables, calls, alerts };
}

test('each merge registers the table at its folder with Athena types; deletions get a table once they exist', async (t) => {
  const h = await harness(t);
  const first = await h.land([{ id: 1, title: { rendered: 'a' }, tags: [3] }, { id: 2, title: { rendered: 'b' }, tags: [] }]);
  t.deepEqual(first.failed, []);
  const posts = h.tables.get('posts')!;
  t.is(posts.StorageDescriptor.Location, 's3://bronze/wp/posts/');
  t.deepEqual(posts.StorageDescriptor.Columns.map((c) => `${c.Name} ${c.Type}`), ['id bigint', 'title__rendered string', 'tags array<bigint>', '_ingested_at timestamp', '_run_id string', '_row_hash string']);
  t.like(posts.Parameters, { numRows: '2', 'wordpress_lakehouse.run_id': 'run-1' });
  t.false(h.tables.has('posts_deletions'));

  await h.land([{ id: 2, title: { rendered: 'b' }, tags: [] }]);
  const deletions = h.tables.get('posts_deletions')!;
  t.is(deletions.StorageDescriptor.Location, 's3://bronze/wp/posts_deletions/');
  t.deepEqual(deletions.StorageDescriptor.Columns.map((c) => `${c.Name} ${c.Type}`), ['detected_at timestamp', 'run_id string', 'mode string', 'id bigint']);
  t.like(h.tables.get('posts')!.Parameters, { numRows: '1', 'wordpress_lakehouse.run_id': 'run-2' });
});

test('a catalog failure fails the endpoint with a clear alert, keeps the merged table, and the next run repairs the entry', async (t) => {
  let denied = true;
  const h = await harness(t, (call) => denied && call.startsWith('glue:CreateTable'));
  const failed = await h.land([{ id: 1, v: 'x' }]);
  t.deepEqual(failed.succeeded, []);
  t.regex(failed.failed[0].error, /^catalog: User: .* is not authorized to perform: glue:CreateTable; the table was written and the next run repairs its catalog entry$/);
  t.true(h.alerts.some((a) => /failed to merge into bronze/.test(a) && /catalog: /.test(a)));
  denied = false;
  const next = await h.land([{ id: 1, v: 'x' }, { id: 2, v: 'y' }]);
  t.deepEqual(next.failed, []);
  t.like(next.objects[0], { rows: 2, upserted: 1, unchanged: 1 }, 'the first run\'s merge had landed');
  t.like(h.tables.get('posts')!.Parameters, { numRows: '2' });
});

test('without a catalog database (the local run) no Glue call is made', async (t) => {
  const h = await harness(t, undefined, { ...options, catalogDatabase: undefined });
  await h.land([{ id: 1 }]);
  t.deepEqual(h.calls, []);
});
