import test, { type ExecutionContext } from 'ava';
import type { LocalTestingHooks } from '../../local/run';
import type { FaultHook, FaultResponse } from '../../local/demo-site/rest-server';
import { FAST, describePattern, type Prepared, type Scenario, bronzeRows, generateItems, isPage, kept, merge, outcome, page, prepare, record, sequence, shorten, startServer } from './support';

/**
 * HTTP faults on the `posts` endpoint, injected after a good first run: transient ones must be
 * ridden out (the run succeeds, adds its raw object and replaces the bronze table), permanent ones
 * must fail `posts` alone, alert with the real error, add no raw object and leave yesterday's raw
 * objects and bronze table and state byte for byte.
 */

const POSTS = '/wp/v2/posts';
const FAILED_SUBJECT = 'WordPress_Raw_To_Bronze: Failed';
const RAW_SUBJECT = 'data_wordpressapi_raw: Ran With Failures';



/** A fault the pipeline must ride out: posts succeed with all 35 items, a new raw object, bronze replaced, no alert. */
async function recovers(t: ExecutionContext, name: string, fault: FaultHook, testing?: LocalTestingHooks): Promise<Prepared> {
  const prepared = await prepare(t);
  const { s, before } = prepared;
  s.site.setFault(fault);
  const result = await s.run(merge(FAST, testing));
  const o = outcome(result);
  t.is(result.status, 'SUCCEEDED', result.error);
  t.deepEqual(o.ok, { posts: true, comments: true });
  const after = await s.files('posts');
  t.is(after.rawObjects.size, 2, 'the second run added its own raw object');
  t.true([...before.rawObjects].every(([path, bytes]) => after.rawObjects.get(path)?.equals(bytes)), 'the first run\'s raw object is untouched');
  t.is(JSON.parse(after.raw.toString('utf8')).length, 35);
  t.is((await bronzeRows(s.file('bronze', 'posts'))).length, 35);
  t.deepEqual(await s.alerts(result.runId), []);
  record({ case: name, expected: 'SUCCEEDED after retries; posts replaced (35 items)', observed: o.summary, preserved: 'n/a' });
  return prepared;
}

/**
 * A fault that must fail `posts` only: comments still land, the execution ends FAILED, both
 * alerts carry the error, posts got no new raw object, and their raw object, bronze table and
 * state are the first run's.
 */
async function failsPosts(t: ExecutionContext, name: string, fault: FaultHook, error: RegExp, testing?: LocalTestingHooks, prepared?: Prepared): Promise<Prepared> {
  const ready = prepared ?? (await prepare(t));
  const { s, before } = ready;
  s.site.setFault(fault);
  const result = await s.run(merge(FAST, testing));
  const o = outcome(result);
  t.is(result.status, 'FAILED');
  t.deepEqual(o.ok, { posts: false, comments: true }, o.summary);
  t.regex(o.error.posts ?? '', error);
  const same = kept(before, await s.files('posts'));
  const preserved = same.raw && same.bronze;
  t.true(same.raw, 'no raw posts object was added, and the first run\'s is byte for byte as it was');
  t.true(same.bronze, 'the bronze posts table and state are the first run\'s, byte for byte');

  const alerts = await s.alerts(result.runId);
  const failure = alerts.find((a) => a.subject === FAILED_SUBJECT);
  t.truthy(failure, 'the failure-stepfunction alert was published');
  t.regex(failure?.message ?? '', /^WordPress_Raw_To_Bronze execution \S+ failed: \[\{"endpoint":"posts","ok":false,"stage":"raw","error":"/);
  t.false(/"endpoint":"comments"/.test(failure?.message ?? ''), 'comments are not named as failed');
  const raw = alerts.find((a) => a.subject === RAW_SUBJECT);
  t.truthy(raw, 'the raw layer alert was published');
  t.regex(raw?.message ?? '', /ran with 1 failed endpoint\(s\) of 1 \(posts\)\. Nothing of theirs was written to s3:\/\/raw\/wordpress_api\/, and bronze keeps their tables\.\n- posts: /);
  t.regex(raw?.message ?? '', error);
  record({ case: name, expected: `FAILED: posts fails (${describePattern(error)}), comments ok`, observed: o.summary, preserved: preserved ? 'yes' : 'no' });
  return ready;
}

const requestsTo = (s: Scenario, p: number) => s.site.requests.filter((r) => isPage(r, POSTS, p)).length;

test('429 with Retry-After in seconds, then success: the page is retried and the run succeeds', async (t) => {
  const { s } = await recovers(t, '429 Retry-After: 1 (seconds), then 200', sequence((r) => isPage(r, POSTS, 2), [{ status: 429, headers: { 'retry-after': '1' }, body: { code: 'too_many_requests', message: 'Slow down' } }]));
  t.is(requestsTo(s, 2), 3, 'page 2 asked twice in the second run (once in the first)');
});

test('429 with Retry-After as an HTTP date, then success', async (t) => {
  const when = () => new Date(Date.now() + 1000).toUTCString();
  let sent = false;
  const { s } = await recovers(t, '429 Retry-After: <HTTP date>, then 200', (r) => {
    if (!isPage(r, POSTS, 1) || sent) return undefined;
    sent = true;
    return { status: 429, headers: { 'retry-after': when() }, body: '' };
  });
  t.is(requestsTo(s, 1), 3);
});

test('500, 502 and 503 in a row, then success: three retries and the run succeeds', async (t) => {
  const faults: FaultResponse[] = [500, 502, 503].map((status) => ({ status, headers: { 'content-type': 'text/html' }, body: `<html><body>${status}</body></html>` }));
  const { s } = await recovers(t, '500, 502, 503, then 200', sequence((r) => isPage(r, POSTS, 3), faults));
  t.is(requestsTo(s, 3), 5);
});

test('500 forever: posts fail after the configured retries with the status in the alert; files kept', async (t) => {
  const prepared = await failsPosts(t, '500 forever', (r) => (isPage(r, POSTS, 2) ? { status: 500, body: { code: 'internal_server_error', message: 'There has been a critical error on this website.' } } : undefined), /HTTP 500.*critical error.*\(after 4 attempts\)/);
  t.is(requestsTo(prepared.s, 2), 1 + 4, 'maxRetries 3: four attempts');
});

test('connection reset mid-body once: retried, and the run succeeds', async (t) => {
  await recovers(t, 'connection reset mid-body, then 200', sequence((r) => isPage(r, POSTS, 2), [{ ...page(generateItems(10, 11)), truncateAfter: 40 }]));
});

test('connection reset on every attempt: posts fail with a network error; files kept', async (t) => {
  await failsPosts(t, 'connection reset forever', (r) => (isPage(r, POSTS, 1) ? { reset: true } : undefined), /network error.*\(after 4 attempts\)/);
});

// The deadline applies to the healthy comments too, so it is 15 s, far above a loopback answer even
// on a loaded machine (5 s was not: a healthy page timed out under test/under-load.sh); the
// faulty side never answers, so no deadline, however late its timer fires, rides it out.
test('a server that does not answer within the request timeout: posts fail with a timeout; files kept', async (t) => {
  await failsPosts(t, 'no answer within the request timeout (15 s)', (r) => (isPage(r, POSTS, 1) ? { hang: true } : undefined), /no complete answer within 15000 ms \(after 2 attempts\)/, {
    rawOptions: { maxRetries: 1, requestTimeoutMs: 15_000 },
  });
});

test('slowloris: headers at once, then a byte every 50 ms forever; the request timeout covers the body', async (t) => {
  const prepared = await prepare(t);
  const trickles = new Set<NodeJS.Timeout>();
  const pages: string[] = [];
  const slow = await startServer((req, res) => {
    pages.push(new URL(req.url ?? '/', 'http://x').searchParams.get('page') ?? '');
    res.writeHead(200, { 'content-type': 'application/json', 'x-wp-total': '35', 'x-wp-totalpages': '4' });
    res.write('[');
    const timer = setInterval(() => res.write(' '), 50);
    trickles.add(timer);
    res.on('close', () => clearInterval(timer));
  });
  t.teardown(async () => {
    for (const timer of trickles) clearInterval(timer);
    await slow.close();
  });
  await prepared.s.writeStack({ postsUrl: `${slow.origin}/wp-json/wp/v2/posts` });
  await failsPosts(t, 'slowloris (headers, then 1 byte / 50 ms)', () => undefined, /no complete answer within 15000 ms \(after 2 attempts\)/, { rawOptions: { maxRetries: 1, requestTimeoutMs: 15_000 } }, prepared);
  // Yesterday's size sends pages 2.. with page 1; page 1's two attempts decide the failure.
  t.is(pages.filter((page) => page === '1').length, 2);
  t.is(slow.requests, pages.length);
});

for (const [status, code, message] of [
  [401, 'rest_not_logged_in', 'You are not currently logged in.'],
  [403, 'rest_forbidden', 'Sorry, you are not allowed to do that.'],
  [404, 'rest_no_route', 'No route was found matching the URL and request method.'],
] as const) {
  test(`${status} ${code} on posts: not retried, posts fail with WordPress' code; comments land; files kept`, async (t) => {
    const { s } = await failsPosts(t, `${status} ${code}`, (r) => (r.route === POSTS ? { status, body: { code, message, data: { status } } } : undefined), new RegExp(`HTTP ${status} .*${code}: ${message.slice(0, 20)}`));
    t.is(requestsTo(s, 1), 2, 'one request in the second run: 4xx is not retried');
  });
}

test('a WAF challenge answered as 200 HTML: reported as HTML, never stored as data; files kept', async (t) => {
  const html = '<!DOCTYPE html><html><head><title>Just a moment...</title></head><body>Checking your browser before accessing the site.</body></html>';
  const { s } = await failsPosts(t, 'HTML 200 page (WAF challenge)', (r) => (r.route === POSTS ? { status: 200, headers: { 'content-type': 'text/html; charset=UTF-8' }, body: html } : undefined), /HTTP 200 OK: answered HTML instead of JSON.*Just a moment/);
  t.is(requestsTo(s, 1), 2, 'not retried');
});

test('truncated JSON (a complete response whose body stops mid-object): posts fail naming invalid JSON; files kept', async (t) => {
  await failsPosts(t, 'truncated JSON', (r) => (isPage(r, POSTS, 2) ? { status: 200, headers: { 'x-wp-totalpages': '4' }, body: '[{"id": 11, "title": {"rendered": "Item' } : undefined), /HTTP 200 OK: invalid JSON \(.*truncated\?\)/);
});

test('JSON of the wrong shape (an object instead of an array): posts fail saying what came; files kept', async (t) => {
  await failsPosts(t, 'object instead of array', (r) => (isPage(r, POSTS, 1) ? { status: 200, body: { posts: generateItems(2), total: 2 } } : undefined), /expected a JSON array of items, got an object with keys \["posts","total"\]/);
});

test('an empty 200 body: posts fail with "empty body"; files kept', async (t) => {
  await failsPosts(t, 'empty 200 body', (r) => (isPage(r, POSTS, 3) ? { status: 200, body: '' } : undefined), /HTTP 200 OK: empty body, expected JSON/);
});

/** 60 posts of ~500 KB of HTML each: one 30 MB page. */
function hugePage(): FaultResponse {
  const block = '<p>Lorem ipsum dolor sit amet, <em>consectetur</em> adipiscing elit.</p>\n';
  const content = block.repeat(Math.ceil(500_000 / block.length));
  const items = generateItems(60, 1).map((item) => ({ ...item, content: { rendered: content } }));
  const body = Buffer.from(JSON.stringify(items));
  return { status: 200, body, headers: { 'x-wp-total': '60', 'x-wp-totalpages': '1' } };
}

test('a 30 MB page is within the 64 MiB page cap: accepted, stored raw, and merged into bronze', async (t) => {
  const prepared = await prepare(t);
  const huge = hugePage();
  t.true((huge.body as Buffer).length > 30_000_000);
  prepared.s.site.setFault((r) => (r.route === POSTS ? huge : undefined));
  const result = await prepared.s.run();
  const o = outcome(result);
  t.is(result.status, 'SUCCEEDED', result.error);
  const posts = result.endpoints.find((e) => e.endpoint === 'posts')!;
  t.like(posts, { ok: true, items: 60, pages: 1, rows: 60 });
  t.true(posts.bytes! > 30_000_000);
  const rows = await bronzeRows(prepared.s.file('bronze', 'posts'));
  t.is(rows.length, 60);
  t.is((rows[59].content__rendered as string).length, (JSON.parse((huge.body as Buffer).toString())[59].content.rendered as string).length);
  record({ case: '30 MB page (cap 64 MiB)', expected: 'accepted and stored (60 items, 60 rows)', observed: o.summary, preserved: 'n/a' });
});

test('the same 30 MB page over a 16 MiB cap is refused with the limit in the error; files kept', async (t) => {
  const huge = hugePage();
  await failsPosts(t, '30 MB page over a 16 MiB cap', (r) => (r.route === POSTS ? huge : undefined), /HTTP 200: body larger than the 16777216-byte limit/, { rawOptions: { maxPageBytes: 16 * 1024 * 1024 } });
});

test('a Link header pointing to another host is never followed: pages come from the endpoint URL', async (t) => {
  const trap = await startServer((_req, res) => res.end('[]'), '127.0.0.2');
  t.teardown(() => trap.close());
  const { s } = await recovers(t, 'Link rel=next to another host', (r) => {
    if (!r.route.startsWith(POSTS)) return undefined;
    const n = Number(r.url.searchParams.get('page'));
    // No totals, only a Link to a foreign host: the crawler may learn "there is more", not where.
    const items = generateItems(35, 1).slice((n - 1) * 10, n * 10);
    if (items.length === 0) return { status: 400, body: { code: 'rest_post_invalid_page_number', message: 'The page number requested is larger than the number of pages available.' } };
    return { status: 200, body: items, headers: { link: `<${trap.origin}/wp-json/wp/v2/posts?page=${n + 1}>; rel="next"` } };
  });
  t.is(trap.requests, 0, 'the foreign host got no request');
  t.true(s.site.requests.filter((r) => isPage(r, POSTS)).length >= 5);
});

test('a redirect to another host is not followed: posts fail naming the host; files kept', async (t) => {
  const trap = await startServer((_req, res) => res.end('[]'), '127.0.0.2');
  t.teardown(() => trap.close());
  await failsPosts(t, '302 redirect to another host', (r) => (isPage(r, POSTS, 2) ? { status: 302, headers: { location: `${trap.origin}/wp-json/wp/v2/posts?page=2` } } : undefined), /HTTP 302: refusing to follow a redirect to another host \(127\.0\.0\.2:\d+\)/);
  t.is(trap.requests, 0, 'the foreign host got no request');
});

test('table rows shorten URLs', (t) => {
  t.is(shorten('raw: GET http://127.0.0.1:1234/wp-json/wp/v2/posts?page=2 -> HTTP 500 from http://127.0.0.1:1/x'), 'raw: HTTP 500 from <url>');
  t.is(describePattern(/^HTTP 302 .*host \(127\.0\.0\.2:\d+\)/), 'HTTP 302  … host (127.0.0.2:N)');
});
