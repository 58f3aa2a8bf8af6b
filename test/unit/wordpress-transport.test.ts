import test from 'ava';
import { getJson, isRequestError } from '../../handlers/wordpress/transport';
import type { TransportOptions } from '../../handlers/wordpress/transport';
import { defaultTransportOptions } from '../../handlers/wordpress/transport';
import type { FaultHook } from '../../local/demo-site/rest-server';
import { startWordPressFixture } from '../../local/demo-site/rest-server';

/** Transport options with recorded, instant waits. */
function fastOptions(overrides: Partial<TransportOptions> = {}): TransportOptions & { waits: number[] } {
  const waits: number[] = [];
  return { ...defaultTransportOptions, maxRetries: 3, sleep: async (ms) => void waits.push(ms), random: () => 0.5, waits, ...overrides };
}

async function fixtureWith(fault: FaultHook, documents: Record<string, unknown> = { '/doc': { ok: true } }) {
  return startWordPressFixture({ documents, fault });
}

test('a 500 followed by a success is retried after a jittered backoff', async (t) => {
  const wp = await fixtureWith((_req, n) => (n === 1 ? { status: 500, body: 'oops', headers: { 'content-type': 'text/plain' } } : undefined));
  t.teardown(() => wp.close());
  const options = fastOptions();
  const response = await getJson(`${wp.api}/doc`, options);
  t.deepEqual(response.body, { ok: true });
  t.is(wp.requests.length, 2);
  t.deepEqual(options.waits, [250]);
});

test('a 429 with Retry-After in seconds waits what the server asked, within the cap', async (t) => {
  const wp = await fixtureWith((_req, n) => (n <= 2 ? { status: 429, headers: { 'retry-after': n === 1 ? '3' : '600' }, body: { code: 'too_many', message: 'slow down' } } : undefined));
  t.teardown(() => wp.close());
  const options = fastOptions({ maxRetryAfterMs: 10_000 });
  await getJson(`${wp.api}/doc`, options);
  t.deepEqual(options.waits, [3000, 10_000]);
});

test('retries are bounded and the final error says how many attempts were made and what the server said', async (t) => {
  const wp = await fixtureWith(() => ({ status: 503, body: { code: 'maintenance', message: 'Briefly unavailable' } }));
  t.teardown(() => wp.close());
  const options = fastOptions({ maxRetries: 2 });
  const error = await t.throwsAsync(getJson(`${wp.api}/doc`, options));
  t.is(wp.requests.length, 3);
  t.regex(error.message, /^GET http:\/\/127\.0\.0\.1:\d+\/wp-json\/doc -> HTTP 503 Service Unavailable: maintenance: Briefly unavailable \(after 3 attempts\)$/);
});

for (const status of [400, 401, 403, 404]) {
  test(`a ${status} is not retried and its WordPress code and message are reported`, async (t) => {
    const wp = await fixtureWith(() => ({ status, body: { code: `rest_${status}`, message: `said ${status}`, data: { status } } }));
    t.teardown(() => wp.close());
    const error = await t.throwsAsync(getJson(`${wp.api}/doc`, fastOptions()));
    t.is(wp.requests.length, 1);
    t.true(isRequestError(error, status, `rest_${status}`));
    t.true(error.message.includes(`-> HTTP ${status}`) && error.message.includes(`rest_${status}: said ${status}`));
  });
}

test('an HTML page answered with 200 is reported as HTML with the start of the page, not parsed as data', async (t) => {
  const html = '<!DOCTYPE html><html><head><title>Just a moment...</title></head><body>Checking your browser</body></html>';
  const wp = await fixtureWith(() => ({ status: 200, headers: { 'content-type': 'text/html; charset=UTF-8' }, body: html }));
  t.teardown(() => wp.close());
  const error = await t.throwsAsync(getJson(`${wp.api}/doc`, fastOptions()));
  t.regex(error.message, /HTTP 200 OK: answered HTML instead of JSON .*Just a moment/);
  t.is(wp.requests.length, 1);
});

test('a PHP notice in front of JSON with a JSON content type is reported as HTML', async (t) => {
  const wp = await fixtureWith(() => ({ body: '<br />\n<b>Warning</b>: Undefined variable $x in functions.php<br />\n[{"id":1}]' }));
  t.teardown(() => wp.close());
  await t.throwsAsync(getJson(`${wp.api}/doc`, fastOptions()), { message: /answered HTML.*Warning/ });
});

test('a wrong content type, an empty body and JSON that does not parse are each reported', async (t) => {
  const bodies: Record<string, { headers?: Record<string, string>; body?: string }> = {
    '/plain': { headers: { 'content-type': 'text/plain' }, body: '{"id":1}' },
    '/empty': { body: '' },
    '/broken': { body: '[{"id":1},{"id":' },
  };
  const wp = await fixtureWith((req) => bodies[req.route]);
  t.teardown(() => wp.close());
  await t.throwsAsync(getJson(`${wp.api}/plain`, fastOptions()), { message: /content type "text\/plain" is not JSON/ });
  await t.throwsAsync(getJson(`${wp.api}/empty`, fastOptions()), { message: /empty body/ });
  await t.throwsAsync(getJson(`${wp.api}/broken`, fastOptions()), { message: /invalid JSON .*truncated/ });
});

test('a leading byte-order mark is tolerated', async (t) => {
  const wp = await fixtureWith(() => ({ body: '\uFEFF[{"id":1}]' }));
  t.teardown(() => wp.close());
  t.deepEqual((await getJson(`${wp.api}/doc`, fastOptions())).body, [{ id: 1 }]);
});

test('a body over the size cap fails without being buffered whole', async (t) => {
  const big = JSON.stringify(Array.from({ length: 5000 }, (_, id) => ({ id })));
  const wp = await fixtureWith(() => ({ body: big }));
  t.teardown(() => wp.close());
  await t.throwsAsync(getJson(`${wp.api}/doc`, fastOptions({ maxBodyBytes: 1000 })), { message: /larger than the 1000-byte limit/ });
  t.is(wp.requests.length, 1);
});

test('a connection reset mid-body and a reset before answering are retried as network errors', async (t) => {
  const wp = await fixtureWith((_req, n) => (n === 1 ? { body: '[{"id":1},{"id":2}]', truncateAfter: 5 } : n === 2 ? { reset: true } : undefined));
  t.teardown(() => wp.close());
  const options = fastOptions();
  t.deepEqual((await getJson(`${wp.api}/doc`, options)).body, { ok: true });
  t.is(wp.requests.length, 3);
  t.is(options.waits.length, 2);
});

test('a server that never answers is abandoned at the deadline and the request retried', async (t) => {
  // The first request hangs forever, so only the deadline can end it; the deadline is far above
  // a loopback answer's latency, so a loaded machine does not turn the healthy retries into timeouts.
  const wp = await fixtureWith((_req, n) => (n === 1 ? { hang: true } : undefined));
  t.teardown(() => wp.close());
  const options = fastOptions({ timeoutMs: 10_000 });
  t.deepEqual((await getJson(`${wp.api}/doc`, options)).body, { ok: true });
  t.true(options.waits.length >= 1);
  t.true(wp.requests.length >= 2);
});

test('the final timeout error names the URL and the deadline', async (t) => {
  const wp = await fixtureWith(() => ({ hang: true }));
  t.teardown(() => wp.close());
  // How many requests reached the server is left open: on a loaded machine a 50 ms deadline can
  // end an attempt before its request is even accepted.
  await t.throwsAsync(getJson(`${wp.api}/doc`, fastOptions({ timeoutMs: 50, maxRetries: 1 })), { message: /\/wp-json\/doc: no complete answer within 50 ms \(after 2 attempts\)/ });
});

test('a redirect to another host is refused, a redirect on the same host is followed', async (t) => {
  const wp = await fixtureWith((req) => {
    if (req.route === '/away') return { status: 301, headers: { location: 'http://evil.example/steal' } };
    if (req.route === '/moved') return { status: 302, headers: { location: '/wp-json/doc' } };
    return undefined;
  });
  t.teardown(() => wp.close());
  await t.throwsAsync(getJson(`${wp.api}/away`, fastOptions()), { message: /refusing to follow a redirect to another host \(evil\.example\)/ });
  t.deepEqual((await getJson(`${wp.api}/moved`, fastOptions())).body, { ok: true });
  t.deepEqual(wp.requests.map((r) => r.route), ['/away', '/moved', '/doc']);
});

test('credentials are never sent over http: the request is refused before it leaves', async (t) => {
  const wp = await fixtureWith(() => undefined);
  t.teardown(() => wp.close());
  const error = await t.throwsAsync(getJson(`${wp.api}/doc`, fastOptions({ credentials: { username: 'bot', password: 'hunter2' } })));
  t.regex(error.message, /refusing to send WordPress credentials over http/);
  t.false(error.message.includes('hunter2'));
  t.is(wp.requests.length, 0);
});

test('the configured User-Agent and a JSON Accept header are sent', async (t) => {
  const wp = await fixtureWith(() => undefined);
  t.teardown(() => wp.close());
  await getJson(`${wp.api}/doc`, fastOptions({ userAgent: 'lakehouse-test/1' }));
  t.is(wp.requests[0].headers['user-agent'], 'lakehouse-test/1');
  t.is(wp.requests[0].headers.accept, 'application/json');
  t.is(wp.requests[0].headers.authorization, undefined);
});
