import test from 'ava';
import { backoffDelay, isRetryableStatus, parseRetryAfter, retryDelay } from '../../handlers/wordpress/retry';

test('Retry-After in delta-seconds becomes milliseconds', (t) => {
  t.is(parseRetryAfter('7'), 7000);
  t.is(parseRetryAfter(' 0 '), 0);
});

test('Retry-After as an HTTP date is measured from now, and a past date means no wait', (t) => {
  const now = Date.parse('2026-11-30T07:00:00Z');
  t.is(parseRetryAfter('Mon, 30 Nov 2026 07:00:12 GMT', now), 12_000);
  t.is(parseRetryAfter('Mon, 30 Nov 2026 06:59:00 GMT', now), 0);
});

test('an absent or unreadable Retry-After is ignored rather than guessed', (t) => {
  t.is(parseRetryAfter(null), undefined);
  t.is(parseRetryAfter('soon'), undefined);
  t.is(parseRetryAfter('-5'), undefined);
  t.is(parseRetryAfter('1.5'), undefined);
});

test('full-jitter backoff stays below an exponentially growing ceiling that is capped', (t) => {
  const options = { baseDelayMs: 100, maxDelayMs: 1000 };
  t.is(backoffDelay(0, options, () => 0), 0);
  t.is(backoffDelay(0, options, () => 0.999), 99);
  t.is(backoffDelay(2, options, () => 0.5), 200);
  t.is(backoffDelay(10, options, () => 0.999), 999);
});

test('a Retry-After longer than the cap is shortened to the cap, and never undercuts the backoff', (t) => {
  const options = { baseDelayMs: 100, maxDelayMs: 1000, maxRetryAfterMs: 5000 };
  t.is(retryDelay(0, 3_600_000, options, () => 0), 5000);
  t.is(retryDelay(0, 2000, options, () => 0), 2000);
  t.is(retryDelay(3, 10, options, () => 0.5), 400);
  t.is(retryDelay(3, undefined, options, () => 0.5), 400);
});

test('only 408, 429, 500, 502, 503 and 504 are retryable statuses', (t) => {
  t.deepEqual([400, 401, 403, 404, 408, 410, 429, 500, 501, 502, 503, 504].filter(isRetryableStatus), [408, 429, 500, 502, 503, 504]);
});
