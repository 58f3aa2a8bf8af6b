import test from 'ava';
import type { ExecutionContext } from 'ava';
import { createHash } from 'node:crypto';
import { HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import type { HandlerDeps, Notifier, ParameterReader } from '../../handlers/aws/ports';
import { getStream, listKeys } from '../../handlers/aws/s3';
import { createLogger } from '../../handlers/log';
import type { RawOptions } from '../../handlers/raw';
import { runRaw } from '../../handlers/raw';
import { startS3 } from '../helpers/s3rver';
import type { FaultHook, WordPressFixture } from '../helpers/wordpress-fixture';
import { generateItems, startWordPressFixture } from '../helpers/wordpress-fixture';

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
}

async function harness(t: ExecutionContext, parameters: (wp: WordPressFixture) => Record<string, string>, fault?: FaultHook, publishFails = false): Promise<Harness> {
  const s3 = await startS3(['raw']);
  const wp = await startWordPressFixture({
    collections: {
      posts: { items: generateItems(230, 65) },
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
  };
}

const endpointsOf = (wp: WordPressFixture, list = ['posts', 'comments', 'users']) =>
  JSON.stringify([...list.map((name) => ({ name, url: `${wp.api}/wp/v2/${name}`, paginate: true })), { name: 'settings', url: `${wp.api}/acme/v1/settings`, paginate: false }]);

const allParameters = (wp: WordPressFixture) => ({ [names.rawBucket]: 'raw', [names.rawTopicArn]: TOPIC, [names.endpoints]: endpointsOf(wp) });

test('a full run lands every item of every endpoint exactly once and returns the summary the bronze step reads', async (t) => {
  const h = await harness(t, allParameters);
  const summary = await runRaw(h.deps, options, {});
  t.deepEqual(summary.succeeded, ['posts', 'comments', 'users', 'settings']);
  t.deepEqual(summary.failed, []);
  const counts: Record<string, number> = { posts: 230, comments: 450, users: 5, settings: 1 };
  for (const object of summary.objects) {
    const text = await h.read(object.key);
    const items = JSON.parse(text) as Array<{ id?: number }>;
    t.is(object.key, `wordpress_api/${object.endpoint}/${object.endpoint}.json`);
    t.is(items.length, counts[object.endpoint], object.endpoint);
    t.is(new Set(items.map((i) => i.id)).size, items.length);
    t.is(object.items, items.length);
    t.is(object.bytes, Buffer.byteLength(text));
    t.is(object.sha256, createHash('sha256').update(text).digest('hex'));
    t.true(object.ms >= 0 && !Number.isNaN(Date.parse(object.fetchedAt)));
  }
  t.like(summary.objects.find((o) => o.endpoint === 'comments'), { pages: 5, total: 453 });
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
    [names.rawTopicArn]: TOPIC,
    [names.endpoints]: JSON.stringify([{ name: 'posts', url: `${wp.api}/wp/v2/posts?search=caf\u00e9`, paginate: true }]),
  }));
  const summary = await runRaw(h.deps, options, {});
  const head = await h.deps.s3.send(new HeadObjectCommand({ Bucket: 'raw', Key: 'wordpress_api/posts/posts.json' }));
  t.is(head.ContentType, 'application/json; charset=utf-8');
  t.like(head.Metadata, { items: '230', pages: '3', 'x-wp-total': '230', sha256: summary.objects[0].sha256, 'fetched-at': summary.objects[0].fetchedAt });
  t.regex(head.Metadata!['source-url'], /^http:\/\/127\.0\.0\.1:\d+\/wp-json\/wp\/v2\/posts\?search=caf%C3%A9$/);
});

test('a failing endpoint keeps yesterday\'s object byte for byte and is reported, while the others are written', async (t) => {
  const fault: FaultHook = (req) => (req.route === '/wp/v2/comments' && req.url.searchParams.get('page') === '3' ? { status: 403, headers: { 'content-type': 'text/html' }, body: '<html><title>Attention Required! | Cloudflare</title></html>' } : undefined);
  const h = await harness(t, allParameters, fault);
  const yesterday = '[\n{"id":1,"yesterday":true}\n]\n';
  await h.deps.s3.send(new PutObjectCommand({ Bucket: 'raw', Key: 'wordpress_api/comments/comments.json', Body: yesterday, Metadata: { items: '1' } }));

  const summary = await runRaw(h.deps, options, {});
  t.deepEqual(summary.succeeded, ['posts', 'users', 'settings']);
  t.is(summary.failed.length, 1);
  t.is(summary.failed[0].endpoint, 'comments');
  t.regex(summary.failed[0].error, /^GET http:\/\/127\.0\.0\.1:\d+\/wp-json\/wp\/v2\/comments\?per_page=100&page=3&orderby=id&order=asc -> HTTP 403 Forbidden: .*Cloudflare/);
  t.is(await h.read('wordpress_api/comments/comments.json'), yesterday);
  t.deepEqual(summary.objects.map((o) => o.endpoint), ['posts', 'users', 'settings']);

  t.is(h.sent.length, 1);
  t.is(h.sent[0].topicArn, TOPIC);
  t.is(h.sent[0].subject, 'data_wordpressapi_raw-test: Ran With Failures');
  t.regex(h.sent[0].message, /1 failed endpoint\(s\) of 4 \(comments\)/);
  t.regex(h.sent[0].message, /- comments: GET .*page=3.* -> HTTP 403/);
  t.like(h.logs.at(-1), { message: 'WordPress API Raw process complete: 3 Successful | 1 Failed', successful: 3, failed: 1, failedEndpoints: ['comments'] });
  t.true(h.logs.some((l) => l.level === 'ERROR' && l.endpoint === 'comments'));
  t.deepEqual(await listKeys(h.deps.s3, 'raw', ''), ['wordpress_api/comments/comments.json', 'wordpress_api/posts/posts.json', 'wordpress_api/settings/settings.json', 'wordpress_api/users/users.json']);
});

test('an event naming one endpoint extracts only that one', async (t) => {
  const h = await harness(t, allParameters);
  const summary = await runRaw(h.deps, { ...options, dataSource: 'blog' }, { endpoint: 'users' });
  t.deepEqual(summary.succeeded, ['users']);
  t.is(summary.objects[0].key, 'blog/users/users.json');
  t.true(h.wp.requests.every((r) => r.route === '/wp/v2/users'));
});

test('an unknown endpoint fails the invocation and the alert lists the known ones', async (t) => {
  const h = await harness(t, allParameters);
  await t.throwsAsync(runRaw(h.deps, options, { endpoint: 'postz' }), { message: /unknown endpoint "postz"; known endpoints: posts, comments, users, settings/ });
  t.is(h.sent[0].subject, 'data_wordpressapi_raw-test: Failed');
  t.is(h.wp.requests.length, 0);
});

test('the original comma-separated endpoint list is accepted', async (t) => {
  const h = await harness(t, (wp) => ({ [names.rawBucket]: 'raw', [names.rawTopicArn]: TOPIC, [names.endpoints]: `${wp.api}/wp/v2/posts,${wp.api}/wp/v2/users` }));
  const summary = await runRaw(h.deps, options, {});
  t.deepEqual(summary.succeeded, ['posts', 'users']);
  t.is(summary.objects[0].items, 230);
});

test('a missing topic parameter fails the invocation without trying to alert', async (t) => {
  const h = await harness(t, (wp) => ({ [names.rawBucket]: 'raw', [names.endpoints]: endpointsOf(wp) }));
  await t.throwsAsync(runRaw(h.deps, options, {}), { message: /\/lake\/test\/raw-topic \(raw topic ARN\) is missing/ });
  t.is(h.sent.length, 0);
  t.is(h.wp.requests.length, 0);
});

test('missing bucket and endpoints parameters are alerted as Failed, naming both, then the invocation fails', async (t) => {
  const h = await harness(t, () => ({ [names.rawTopicArn]: TOPIC }));
  const error = await t.throwsAsync(runRaw(h.deps, options, {}));
  t.is(h.sent.length, 1);
  t.is(h.sent[0].subject, 'data_wordpressapi_raw-test: Failed');
  t.is(h.sent[0].message, error.message);
  t.regex(error.message, /\/lake\/test\/raw-bucket \(raw bucket name\), \/lake\/test\/endpoints \(WordPress endpoints\)/);
});

test('an invalid endpoints parameter is alerted as Failed with the reason', async (t) => {
  const h = await harness(t, () => ({ [names.rawTopicArn]: TOPIC, [names.rawBucket]: 'raw', [names.endpoints]: '[{"name":"x"' }));
  await t.throwsAsync(runRaw(h.deps, options, {}), { message: /\/lake\/test\/endpoints is invalid: the endpoints parameter is not valid JSON/ });
  t.is(h.sent[0].subject, 'data_wordpressapi_raw-test: Failed');
});

test('a failure to publish is logged and does not mask the original error', async (t) => {
  const h = await harness(t, () => ({ [names.rawTopicArn]: TOPIC }), undefined, true);
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
  const h = await harness(t, allParameters, fault);
  const started = Date.now();
  const summary = await runRaw(h.deps, options, {});
  t.deepEqual(summary.failed, []);
  t.is(summary.objects.find((o) => o.endpoint === 'posts')?.items, 230);
  t.is(h.wp.requests.length, 2 * seen.size);
  // Honouring the 120 s Retry-After would take at least 120 s; the capped run takes about a
  // second. The bound sits far from both, so it tells them apart on any machine.
  t.true(Date.now() - started < 60_000, 'Retry-After is capped by maxRetryAfterMs');
});
