import test from 'ava';
import { readFileSync, rmSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLimiter } from '../../handlers/concurrency';
import { crawlEndpoint } from '../../handlers/wordpress/crawl';
import { defaultTransportOptions, getJson, isRequestError } from '../../handlers/wordpress/transport';
import type { FaultHook } from '../../local/demo-site/rest-server';
import { generateItems, startWordPressFixture } from '../../local/demo-site/rest-server';
import { recordUnhandledRejections } from '../helpers/unhandled-rejections';

test('a crawl aborted during a retry wait starts no new attempt and leaves no unhandled rejection', async (t) => {
  const recorder = recordUnhandledRejections(t);
  const wp = await startWordPressFixture({ documents: { '/doc': { ok: true } }, fault: () => ({ status: 503 }) });
  t.teardown(() => wp.close());
  const crawl = new AbortController();
  const error = await t.throwsAsync(
    getJson(`${wp.api}/doc`, { ...defaultTransportOptions, signal: crawl.signal, sleep: async () => crawl.abort() }),
  );
  t.true(isRequestError(error));
  t.regex(error.message, /aborted/);
  t.is(wp.requests.length, 1);
  t.deepEqual(await recorder.drained(), []);
});

test('requests waiting for a limiter slot when the crawl aborts end as rejections the caller sees', async (t) => {
  const recorder = recordUnhandledRejections(t);
  // The first request holds the only slot until the crawl has aborted; the others queue behind it.
  const wp = await startWordPressFixture({ documents: { '/doc': { ok: true } }, fault: (_req, n) => (n === 1 ? { delayMs: 60_000, passThrough: true } : undefined) });
  t.teardown(() => wp.close());
  const crawl = new AbortController();
  const options = { ...defaultTransportOptions, signal: crawl.signal, limiter: createLimiter(1) };
  const requests = Array.from({ length: 5 }, () => getJson(`${wp.api}/doc`, options));
  const outcomes = Promise.allSettled(requests);
  while (wp.requests.length === 0) await new Promise<void>((resolve) => setImmediate(resolve));
  crawl.abort();
  const settled = await outcomes;
  t.deepEqual(settled.map((s) => s.status), ['rejected', 'rejected', 'rejected', 'rejected', 'rejected']);
  for (const s of settled) t.regex(String((s as PromiseRejectedResult).reason?.message), /aborted/);
  t.is(wp.requests.length, 1, 'no queued request is sent after the abort');
  t.deepEqual(await recorder.drained(), []);
});

/** A seeded generator, so a failing run can be replayed with the same faults. */
function lcg(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 16807) % 2147483647;
    return state / 2147483647;
  };
}

test('many crawls with short deadlines, cut bodies, resets, retries and concurrent pages leave no unhandled rejection', async (t) => {
  const recorder = recordUnhandledRejections(t);
  const random = lcg(20261203);
  // Slow answers race the deadline, truncated bodies and resets are aborted mid-read, 503s are
  // retried, and the early end of comments (200 []) stops pages already in flight.
  const fault: FaultHook = () => {
    const r = random();
    if (r < 0.15) return { delayMs: 5 + Math.floor(random() * 40), passThrough: true };
    if (r < 0.25) return { truncateAfter: 50 };
    if (r < 0.3) return { reset: true };
    if (r < 0.35) return { status: 503 };
    return undefined;
  };
  const wp = await startWordPressFixture({
    collections: { posts: { items: generateItems(900, 65) }, comments: { items: generateItems(900), kind: 'terms', hidden: 3 } },
    fault,
  });
  const dir = mkdtempSync(join(tmpdir(), 'aborts-'));
  t.teardown(async () => {
    await wp.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const outcomes = { landed: 0, failed: 0 };
  for (let round = 0; round < 60; round++) {
    await Promise.all(
      ['posts', 'comments'].map(async (name) => {
        const path = join(dir, `${name}-${round}.json`);
        try {
          const result = await crawlEndpoint({ name, url: `${wp.api}/wp/v2/${name}`, paginate: true }, path, {
            ...defaultTransportOptions,
            timeoutMs: 10 + Math.floor(random() * 30),
            maxRetries: 2,
            retryBaseDelayMs: 1,
            maxRetryDelayMs: 3,
            maxRetryAfterMs: 3,
            perPage: 100,
            pageConcurrency: 4,
          });
          const ids = (JSON.parse(readFileSync(path, 'utf8')) as Array<{ id: number }>).map((item) => item.id);
          t.is(new Set(ids).size, 900, `${name} round ${round}: every id once`);
          t.is(result.items, 900);
          outcomes.landed++;
        } catch (error) {
          t.true(isRequestError(error), `${name} round ${round}: ${String(error)}`);
          outcomes.failed++;
        }
      }),
    );
  }
  t.log(outcomes);
  t.true(outcomes.failed > 0, 'the faults made some crawls fail, so aborts of in-flight pages happened');
  t.deepEqual(await recorder.drained(), []);
});
