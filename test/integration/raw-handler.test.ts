import test from 'ava';
import type { ExecutionContext } from 'ava';
import { createHash } from 'node:crypto';
import { HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import type { S3Client } from '@aws-sdk/client-s3';
import type { HandlerDeps, Notifier, ParameterReader } from '../../handlers/aws/ports';
import { getStream, listKeys } from '../../handlers/aws/s3';
import { createLogger } from '../../handlers/log';
import type { RawOptions } from '../../handlers/raw';
import { runRaw } from '../../handlers/raw';
import { ingestDate } from '../../handlers/lake/layout';
import { projectionDigest } from '../../handlers/lake/listing';
import { startS3 } from '../helpers/s3rver';
import type { FaultHook, WordPressFixture } from '../../local/demo-site/rest-server';
import { generateItems, startWordPressFixture } from '../../local/demo-site/rest-server';

const names = {
  rawBucket: '/lake/test/raw-bucket',
  bronzeBucket: '/lake/test/bronze-bucket',
  rawTopicArn: '/lake/test/raw-topic',
  bronzeTopicArn: '/lake/test/bronze-topic',
  endpoints: '/lake/test/endpoints',
};
const TOPIC = 'arn:aws:sns:eu-west-1:123456789012:raw';

const options: RawOptions = {
  functionName: 'data_wordpressapi_raw-test',
  layer: 'raw',
  parameterNames: names,
  userAgent: 'raw-test',
  maxRetries: 2,
  retryBaseDelayMs: 1,
  maxRetryDelayMs: 2,
  maxRetryAfterMs: 5,
  concurrency: 3,
};

interface Harness {
  deps: HandlerDeps;
  wp: WordPressFixture;
  sent: Array<{ topicArn: string; subject: string; message: string }>;
  logs: Array<Record<string, unknown>>;
  read(key: string): Promise<string>;
  /** Every key of the raw bucket. */
  keys(): Promise<string[]>;
}

/**
 * S3's conditional write, which s3rver ignores: a PutObject with If-None-Match: * on a key that
 * exists answers 412 PreconditionFailed (as S3 does since 2024), so the handler's "never
 * overwrite raw history" path runs against a real store.
 */
function honourIfNoneMatch(client: S3Client): S3Client {
  const send = client.send.bind(client) as (command: unknown) => Promise<unknown>;
  (client as { send: unknown }).send = async (command: { input?: { Bucket?: string; Key?: string; IfNoneMatch?: string } }) => {
    if (command instanceof PutObjectCommand && command.input.IfNoneMatch === '*') {
      const exists = await send(new HeadObjectCommand({ Bucket: command.input.Bucket, Key: command.input.Key })).then(
        () => true,
        () => false,
      );
      if (exists) throw Object.assign(new Error('At least one of the pre-conditions you specified did not hold'), { name: 'PreconditionFailed', $metadata: { httpStatusCode: 412 } });
    }
    return send(command);
  };
  return client;
}

interface HarnessOptions {
  fault?: FaultHook;
  publishFails?: boolean;
  /** Answer 412 to If-None-Match writes on existing keys, as S3 does. */
  conditionalWrites?: boolean;
  /** Replaces the posts collection's items. */
  posts?: Array<Record<string, unknown>>;
}

async function harness(t: ExecutionContext, parameters: (wp: WordPressFixture) => Record<string, string>, settings: HarnessOptions = {}): Promise<Harness> {
  const { fault, publishFails = false } = settings;
  const s3 = await startS3(['raw', 'bronze']);
  if (settings.conditionalWrites) honourIfNoneMatch(s3.client);
  const wp = await startWordPressFixture({
    collections: {
      posts: { items: settings.posts ?? generateItems(230, 65) },
      comments: { items: generateItems(450), kind: 'terms', hidden: 3 },
      users: { items: generateItems(5), kind: 'terms' },
    },
    documents: { '/acme/v1/settings': { name: 'Site' } },
    fault,
  });
  t.teardown(async () => {
    await wp.close();
    await s3.stop();
  });
  const values = parameters(wp);
  const reader: ParameterReader = { get: async (wanted) => new Map(wanted.filter((n) => values[n]).map((n) => [n, values[n]])) };
  const sent: Harness['sent'] = [];
  const notifier: Notifier = {
    async publish(topicArn, subject, message) {
      if (publishFails) throw new Error('SNS is down');
      sent.push({ topicArn, subject, message });
    },
  };
  const logs: Array<Record<string, unknown>> = [];
  const log = createLogger({ function: options.functionName }, (line) => logs.push(JSON.parse(line)));
  return {
    deps: { s3: s3.client, parameters: reader, notifier, log, functionName: options.functionName },
    wp,
    sent,
    logs,
    async read(key) {
      const chunks: Buffer[] = [];
      for await (const chunk of await getStream(s3.client, 'raw', key)) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks).toString('utf8');
    },
    keys: () => listKeys(s3.client, 'raw', ''),
  };
}

const endpointsOf = (wp: WordPressFixture, list = ['posts', 'comments', 'users']) =>
  JSON.stringify([...list.map((name) => ({ name, url: `${wp.api}/wp/v2/${name}`, paginate: true })), { name: 'settings', url: `${wp.api}/acme/v1/settings`, paginate: false }]);

const allParameters = (wp: WordPressFixture) => ({ [names.rawBucket]: 'raw', [names.bronzeBucket]: 'bronze', [names.rawTopicArn]: TOPIC, [names.endpoints]: endpointsOf(wp) });

/** Where one run's object of an endpoint lands: its fetch date's partition, named by the run. */
const rawKey = (endpoint: string, fetchedAt: string, runId: string, dataSource = 'wordpress_api') => `${dataSource}/${endpoint}/ingest_date=${ingestDate(fetchedAt)}/${endpoint}-${runId}.json`;

test('a full run lands every item of every endpoint exactly once and returns the summary the bronze step reads', async (t) => {
  const h = await harness(t, allParameters);
  const summary = await runRaw(h.deps, options, { runId: 'run-1' });
  t.deepEqual(summary.succeeded, ['posts', 'comments', 'users', 'settings']);
  t.deepEqual(summary.failed, []);
  const counts: Record<string, number> = { posts: 230, comments: 450, users: 5, settings: 1 };
  for (const object of summary.objects) {
    const text = await h.read(object.key);
    const items = JSON.parse(text) as Array<{ id?: number }>;
    t.is(object.key, rawKey(object.endpoint, object.fetchedAt, 'run-1'));
    t.regex(object.key, /\/ingest_date=\d{4}-\d{2}-\d{2}\//);
    // No state in bronze yet: every endpoint is crawled in full, and no id listing is made.
    t.like(object, { runId: 'run-1', mode: 'full' });
    t.is(object.reason, object.endpoint === 'settings' ? 'not a paginated collection' : 'first run (no state)');
    t.is(object.idsKey, undefined);
    t.is(object.markBefore, undefined);
    t.is(items.length, counts[object.endpoint], object.endpoint);
    t.is(new Set(items.map((i) => i.id)).size, items.length);
    t.is(object.items, items.length);
    t.is(object.bytes, Buffer.byteLength(text));
    t.is(object.sha256, createHash('sha256').update(text).digest('hex'));
    t.true(object.ms >= 0 && !Number.isNaN(Date.parse(object.fetchedAt)));
  }
  t.like(summary.objects.find((o) => o.endpoint === 'comments'), { pages: 5, total: 453 });
  t.deepEqual(await h.keys(), summary.objects.map((o) => o.key).sort(), 'one object per endpoint, nothing else');
  t.is(h.sent.length, 0);
  const final = h.logs.at(-1)!;
  t.like(final, { level: 'INFO', message: 'WordPress API Raw process complete: 4 Successful | 0 Failed', successful: 4, failed: 0 });
  const posts = h.logs.find((l) => l.endpoint === 'posts')!;
  t.like(posts, { message: 'endpoint extracted', pages: 3, items: 230, function: options.functionName });
  t.is(typeof posts.bytes, 'number');
  t.is(typeof posts.ms, 'number');
});

test('object metadata records the ASCII source URL, fetch time, counts, X-WP-Total and SHA-256', async (t) => {
  const h = await harness(t, (wp) => ({
    [names.rawBucket]: 'raw',
    [names.bronzeBucket]: 'bronze',
    [names.rawTopicArn]: TOPIC,
    [names.endpoints]: JSON.stringify([{ name: 'posts', url: `${wp.api}/wp/v2/posts?search=caf\u00e9`, paginate: true }]),
  }));
  // A run id outside [A-Za-z0-9._-] is made safe for the key, and kept ASCII in the metadata.
  const summary = await runRaw(h.deps, options, { runId: 'sched/caf\u00e9 1' });
  t.is(summary.objects[0].key, rawKey('posts', summary.objects[0].fetchedAt, 'sched_caf__1'));
  const head = await h.deps.s3.send(new HeadObjectCommand({ Bucket: 'raw', Key: summary.objects[0].key }));
  t.is(head.ContentType, 'application/json; charset=utf-8');
  t.like(head.Metadata, { items: '230', pages: '3', 'x-wp-total': '230', sha256: summary.objects[0].sha256, 'fetched-at': summary.objects[0].fetchedAt, mode: 'full', 'run-id': 'sched/caf? 1' });
  t.false('mark' in head.Metadata! || 'modified-after' in head.Metadata!, 'a first run has no mark');
  t.regex(head.Metadata!['source-url'], /^http:\/\/127\.0\.0\.1:\d+\/wp-json\/wp\/v2\/posts\?search=caf%C3%A9$/);
});

test('a failing endpoint writes nothing, keeps yesterday\'s object byte for byte and is reported, while the others are written', async (t) => {
  const fault: FaultHook = (req) => (req.route === '/wp/v2/comments' && req.url.searchParams.get('page') === '3' ? { status: 403, headers: { 'content-type': 'text/html' }, body: '<html><title>Attention Required! | Cloudflare</title></html>' } : undefined);
  const h = await harness(t, allParameters, { fault });
  const yesterdayKey = 'wordpress_api/comments/ingest_date=2026-01-01/comments-yesterday.json';
  const yesterday = '[\n{"id":1,"yesterday":true}\n]\n';
  await h.deps.s3.send(new PutObjectCommand({ Bucket: 'raw', Key: yesterdayKey, Body: yesterday, Metadata: { items: '1' } }));

  const summary = await runRaw(h.deps, options, { runId: 'today' });
  t.deepEqual(summary.succeeded, ['posts', 'users', 'settings']);
  t.is(summary.failed.length, 1);
  t.is(summary.failed[0].endpoint, 'comments');
  t.regex(summary.failed[0].error, /^GET http:\/\/127\.0\.0\.1:\d+\/wp-json\/wp\/v2\/comments\?per_page=100&page=3&orderby=id&order=asc -> HTTP 403 Forbidden: .*Cloudflare/);
  t.is(await h.read(yesterdayKey), yesterday);
  t.deepEqual(summary.objects.map((o) => o.endpoint), ['posts', 'users', 'settings']);

  t.is(h.sent.length, 1);
  t.is(h.sent[0].topicArn, TOPIC);
  t.is(h.sent[0].subject, 'data_wordpressapi_raw-test: Ran With Failures');
  t.regex(h.sent[0].message, /1 failed endpoint\(s\) of 4 \(comments\)/);
  t.regex(h.sent[0].message, /- comments: GET .*page=3.* -> HTTP 403/);
  t.regex(h.sent[0].message, /Nothing of theirs was written to s3:\/\/raw\/wordpress_api\//);
  t.like(h.logs.at(-1), { message: 'WordPress API Raw process complete: 3 Successful | 1 Failed', successful: 3, failed: 1, failedEndpoints: ['comments'] });
  t.true(h.logs.some((l) => l.level === 'ERROR' && l.endpoint === 'comments'));
  // Nothing of today's comments crawl (no partial object, no temp file) reached the bucket.
  t.deepEqual(await h.keys(), [yesterdayKey, ...summary.objects.map((o) => o.key)].sort());
  t.false((await h.keys()).some((k) => k.includes('comments-today')));
});

test('an event naming one endpoint extracts only that one', async (t) => {
  const h = await harness(t, allParameters);
  const summary = await runRaw(h.deps, { ...options, dataSource: 'blog' }, { endpoint: 'users', runId: 'one' });
  t.deepEqual(summary.succeeded, ['users']);
  t.is(summary.objects[0].key, rawKey('users', summary.objects[0].fetchedAt, 'one', 'blog'));
  t.true(h.wp.requests.every((r) => r.route === '/wp/v2/users'));
});

test('an unknown endpoint fails the invocation and the alert lists the known ones', async (t) => {
  const h = await harness(t, allParameters);
  await t.throwsAsync(runRaw(h.deps, options, { endpoint: 'postz' }), { message: /unknown endpoint "postz"; known endpoints: posts, comments, users, settings/ });
  t.is(h.sent[0].subject, 'data_wordpressapi_raw-test: Failed');
  t.is(h.wp.requests.length, 0);
});

test('the original comma-separated endpoint list is accepted', async (t) => {
  const h = await harness(t, (wp) => ({ [names.rawBucket]: 'raw', [names.bronzeBucket]: 'bronze', [names.rawTopicArn]: TOPIC, [names.endpoints]: `${wp.api}/wp/v2/posts,${wp.api}/wp/v2/users` }));
  const summary = await runRaw(h.deps, options, {});
  t.deepEqual(summary.succeeded, ['posts', 'users']);
  t.is(summary.objects[0].items, 230);
});

test('a missing topic parameter fails the invocation without trying to alert', async (t) => {
  const h = await harness(t, (wp) => ({ [names.rawBucket]: 'raw', [names.bronzeBucket]: 'bronze', [names.endpoints]: endpointsOf(wp) }));
  await t.throwsAsync(runRaw(h.deps, options, {}), { message: /\/lake\/test\/raw-topic \(raw topic ARN\) is missing/ });
  t.is(h.sent.length, 0);
  t.is(h.wp.requests.length, 0);
});

test('missing bucket and endpoints parameters are alerted as Failed, naming each, then the invocation fails', async (t) => {
  const h = await harness(t, () => ({ [names.rawTopicArn]: TOPIC }));
  const error = await t.throwsAsync(runRaw(h.deps, options, {}));
  t.is(h.sent.length, 1);
  t.is(h.sent[0].subject, 'data_wordpressapi_raw-test: Failed');
  t.is(h.sent[0].message, error.message);
  t.regex(error.message, /\/lake\/test\/raw-bucket \(raw bucket name\), \/lake\/test\/bronze-bucket \(bronze bucket name\), \/lake\/test\/endpoints \(WordPress endpoints\)/);
  t.is(h.wp.requests.length, 0);
});

test('a missing bronze bucket parameter alone fails the invocation: raw cannot read the state it starts from', async (t) => {
  const h = await harness(t, (wp) => ({ [names.rawBucket]: 'raw', [names.rawTopicArn]: TOPIC, [names.endpoints]: endpointsOf(wp) }));
  await t.throwsAsync(runRaw(h.deps, options, {}), { message: /SSM parameter\(s\) missing or empty: \/lake\/test\/bronze-bucket \(bronze bucket name\)$/ });
  t.is(h.sent[0].subject, 'data_wordpressapi_raw-test: Failed');
  t.is(h.wp.requests.length, 0);
  t.deepEqual(await h.keys(), []);
});

test('an invalid endpoints parameter is alerted as Failed with the reason', async (t) => {
  const h = await harness(t, () => ({ [names.rawTopicArn]: TOPIC, [names.rawBucket]: 'raw', [names.bronzeBucket]: 'bronze', [names.endpoints]: '[{"name":"x"' }));
  await t.throwsAsync(runRaw(h.deps, options, {}), { message: /\/lake\/test\/endpoints is invalid: the endpoints parameter is not valid JSON/ });
  t.is(h.sent[0].subject, 'data_wordpressapi_raw-test: Failed');
});

test('a failure to publish is logged and does not mask the original error', async (t) => {
  const h = await harness(t, () => ({ [names.rawTopicArn]: TOPIC }), { publishFails: true });
  await t.throwsAsync(runRaw(h.deps, options, {}), { message: /SSM parameter\(s\) missing/ });
  t.true(h.logs.some((l) => l.message === 'could not publish alert' && l.error === 'SNS is down'));
});

test('credentials over http fail the endpoint without any request, and the password appears nowhere', async (t) => {
  const withCredentials = { ...names, credentials: '/lake/test/credentials' };
  const h = await harness(t, (wp) => ({ ...allParameters(wp), [withCredentials.credentials]: '{"username":"bot","password":"hunter2 secret"}' }));
  const summary = await runRaw(h.deps, { ...options, parameterNames: withCredentials }, { endpoint: 'posts' });
  t.deepEqual(summary.succeeded, []);
  t.regex(summary.failed[0].error, /refusing to send WordPress credentials over http/);
  t.is(h.wp.requests.length, 0);
  const everything = JSON.stringify([summary, h.sent, h.logs]);
  t.false(everything.includes('hunter2'));
  t.false(everything.includes(Buffer.from('bot:hunter2 secret').toString('base64')));
});

test('a named but missing credentials parameter is a configuration failure, not a silent anonymous crawl', async (t) => {
  const withCredentials = { ...names, credentials: '/lake/test/credentials' };
  const h = await harness(t, allParameters);
  await t.throwsAsync(runRaw(h.deps, { ...options, parameterNames: withCredentials }, {}), { message: /\/lake\/test\/credentials \(WordPress credentials\)/ });
  t.is(h.wp.requests.length, 0);
});

test('transient errors are retried quickly with the configured backoff and the run succeeds', async (t) => {
  const seen = new Set<string>();
  // The first request of every URL is throttled, the second one passes.
  const fault: FaultHook = (req) => (seen.has(req.url.href) ? undefined : (seen.add(req.url.href), { status: 429, headers: { 'retry-after': '120' } }));
  const h = await harness(t, allParameters, { fault });
  const started = Date.now();
  const summary = await runRaw(h.deps, options, {});
  t.deepEqual(summary.failed, []);
  t.is(summary.objects.find((o) => o.endpoint === 'posts')?.items, 230);
  t.is(h.wp.requests.length, 2 * seen.size);
  // Honouring the 120 s Retry-After would take at least 120 s; the capped run takes about a
  // second. The bound sits far from both, so it tells them apart on any machine.
  t.true(Date.now() - started < 60_000, 'Retry-After is capped by maxRetryAfterMs');
});

test('a second run with the same run id writes beside the first object (-2) instead of overwriting it, when the store honours If-None-Match', async (t) => {
  const h = await harness(t, allParameters, { conditionalWrites: true });
  const first = await runRaw(h.deps, options, { endpoint: 'users', runId: 'retried' });
  const firstText = await h.read(first.objects[0].key);
  // A Step Functions retry of the task re-runs the same execution, so the same run id.
  const second = await runRaw(h.deps, options, { endpoint: 'users', runId: 'retried' });
  t.is(first.objects[0].key, rawKey('users', first.objects[0].fetchedAt, 'retried'));
  t.is(second.objects[0].key, first.objects[0].key.replace(/\.json$/, '-2.json'));
  t.is(await h.read(first.objects[0].key), firstText, 'the first object is untouched');
  t.is(JSON.parse(await h.read(second.objects[0].key)).length, 5);
  t.deepEqual(await h.keys(), [first.objects[0].key, second.objects[0].key].sort());
});

/** 230 posts whose modified_gmt is one minute apart from 2026-01-01T00:00:00 on, by id. */
const modifiedPosts = (): Array<Record<string, unknown>> => generateItems(230, 65).map((item, i) => ({ ...item, modified_gmt: new Date(Date.UTC(2026, 0, 1) + i * 60_000).toISOString().slice(0, 19) }));
const instant = (minutes: number) => new Date(Date.UTC(2026, 0, 1) + minutes * 60_000).toISOString().replace('.000Z', 'Z');

/** The state bronze would have written after a full run: mark at post 199 (id 264), every id but 101. */
async function putState(h: Harness, state: Record<string, unknown> | string): Promise<void> {
  const body = typeof state === 'string' ? state : JSON.stringify(state);
  await h.deps.s3.send(new PutObjectCommand({ Bucket: 'bronze', Key: 'wordpress_api/_state/posts.json', Body: body }));
}
const postsState = () => ({
  version: 1,
  endpoint: 'posts',
  mark: instant(199),
  tracksModified: true,
  lastFullAt: new Date(Date.now() - 86_400_000).toISOString(),
  lastRunId: 'yesterday',
  updatedAt: new Date(Date.now() - 86_400_000).toISOString(),
  rows: 229,
  ids: [[65, 100], [102, 294]],
  declared: '',
  listing: listingOf(modifiedPosts().filter((post) => post.id !== 101)),
});
/** The collection's projection as the fixture's schema gives it: every field but the rendered objects. */
const PROJECTION = Object.keys(modifiedPosts()[0]).filter((key) => !(modifiedPosts()[0][key] as { rendered?: unknown } | null)?.rendered).sort();
/** The listing digests bronze would have stored for these items. */
function listingOf(items: Array<Record<string, unknown>>) {
  const digest = projectionDigest(PROJECTION);
  return { fields: PROJECTION, hashes: Object.fromEntries(items.map((item) => [JSON.stringify(item.id), digest(item)])) };
}

test('with a state in bronze, a run fetches the delta since the mark minus the overlap, lists every id, and fetches listed ids the table lacks', async (t) => {
  const h = await harness(t, allParameters, { posts: modifiedPosts() });
  await putState(h, postsState());
  const summary = await runRaw(h.deps, options, { endpoint: 'posts', runId: 'inc' });
  const object = summary.objects[0];
  // Default overlap 60 minutes: modified after minute 139, so posts 140..229 (90), plus id 101,
  // listed but neither in the table's ids nor in the delta.
  t.like(object, { mode: 'incremental', markBefore: instant(199), modifiedAfter: instant(139), listed: 230, unseen: 1, items: 91, runId: 'inc' });
  t.is(object.reason, undefined);
  t.is(object.key, rawKey('posts', object.fetchedAt, 'inc'));
  t.is(object.idsKey, `wordpress_api/_ids/posts/ingest_date=${ingestDate(object.fetchedAt)}/posts-inc.json`);
  const items = JSON.parse(await h.read(object.key)) as Array<{ id: number }>;
  t.deepEqual(items.map((i) => i.id).sort((a, b) => a - b), [101, ...Array.from({ length: 90 }, (_, i) => 65 + 140 + i)]);
  const ids = JSON.parse(await h.read(object.idsKey!)) as Array<Record<string, unknown>>;
  t.is(ids.length, 230);
  t.deepEqual(Object.keys(ids[0]).sort(), PROJECTION, 'the listing carries the projected fields');
  t.false(PROJECTION.includes('content'), 'rendered HTML stays out of the listing');

  const queries = h.wp.requests.map((r) => r.url.searchParams);
  t.true(queries.some((q) => q.get('modified_after') === instant(139)), 'the delta is asked with an explicit Z');
  t.true(queries.some((q) => q.get('_method') === 'OPTIONS'), 'the projection comes from the route\'s schema');
  t.true(queries.some((q) => q.get('_fields') === PROJECTION.join(',')));
  t.true(queries.some((q) => q.get('include') === '101'));
  t.false(queries.some((q) => !q.has('modified_after') && !q.has('_fields') && !q.has('include') && !q.has('_method')), 'no full crawl');
  const head = await h.deps.s3.send(new HeadObjectCommand({ Bucket: 'raw', Key: object.key }));
  t.like(head.Metadata, { mode: 'incremental', mark: instant(199), 'modified-after': instant(139), 'run-id': 'inc', items: '91' });
});

test('a listed item whose projected fields differ from the table\'s digest is fetched again, and counted as restated', async (t) => {
  const h = await harness(t, allParameters, { posts: modifiedPosts() });
  const state = postsState();
  // As if bronze held post 70 (modified long before the mark) with other categories or meta.
  state.listing.hashes['70'] = '0000000000000000';
  await putState(h, state);
  const object = (await runRaw(h.deps, options, { endpoint: 'posts', runId: 'restated' })).objects[0];
  t.like(object, { mode: 'incremental', unseen: 1, restated: 1, items: 92, projection: PROJECTION });
  const items = JSON.parse(await h.read(object.key)) as Array<{ id: number }>;
  t.true(items.some((item) => item.id === 70));
  t.true(h.wp.requests.some((r) => r.url.searchParams.get('include')?.split(',').includes('70')));
});

test('a collection whose schema cannot be read is crawled in full, saying why', async (t) => {
  const h = await harness(t, allParameters, { posts: modifiedPosts(), fault: (request) => (request.url.searchParams.get('_method') === 'OPTIONS' ? { status: 404, body: { code: 'rest_no_route' } } : undefined) });
  await putState(h, postsState());
  const object = (await runRaw(h.deps, options, { endpoint: 'posts', runId: 'no-schema' })).objects[0];
  t.like(object, { mode: 'full', items: 230, projection: undefined });
  t.regex(object.reason!, /schema \(OPTIONS\) could not be read/);
});

test('fullRefresh in the execution input, an old last full crawl or an unreadable state each make the run full', async (t) => {
  const h = await harness(t, allParameters, { posts: modifiedPosts() });
  const fullCrawl = async (event: Parameters<typeof runRaw>[2]) => {
    const before = h.wp.requests.length;
    const summary = await runRaw(h.deps, options, { endpoint: 'posts', ...event });
    const queries = h.wp.requests.slice(before).map((r) => r.url.searchParams);
    t.false(queries.some((q) => q.has('modified_after') || q.has('_fields') || q.has('include')), `${event.runId}: no delta, listing or include`);
    t.like(summary.objects[0], { mode: 'full', items: 230, idsKey: undefined });
    return summary.objects[0];
  };
  await putState(h, postsState());
  t.is((await fullCrawl({ runId: 'forced', execution: { fullRefresh: true } })).reason, 'full refresh requested');
  // Only the boolean forces it: the input is free JSON, and "false" or "yes" must not.
  t.is((await runRaw(h.deps, options, { endpoint: 'posts', runId: 'not-forced', execution: { fullRefresh: 'yes' } })).objects[0].mode, 'incremental');
  await putState(h, { ...postsState(), lastFullAt: new Date(Date.now() - 8 * 86_400_000).toISOString() });
  t.regex((await fullCrawl({ runId: 'weekly' })).reason!, /^last full crawl .* is 7 or more days old$/);
  await putState(h, '{"version":1,');
  t.regex((await fullCrawl({ runId: 'broken' })).reason!, /^state unreadable \(s3:\/\/bronze\/wordpress_api\/_state\/posts\.json: not JSON/);
  t.true(h.logs.some((l) => l.level === 'WARN' && l.message === 'state unreadable, crawling in full' && l.endpoint === 'posts'));
});
