import test, { type ExecutionContext } from 'ava';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { STATES } from '../../pipeline/state-machine';
import type { LocalTestingHooks } from '../../local/run';
import { FAST, describePattern, type Scenario, bronzeRows, merge, outcome, prepare, record, startS3FaultProxy } from './support';

/**
 * Storage and orchestration faults: S3 cut off in the middle of a write, and Lambda-level
 * failures the state machine must catch or retry (a throwing handler, a task timeout, Lambda
 * throttling). Same shape as the HTTP cases: good first run, faulty run, files compared.
 */


async function listed(s: Scenario, layer: 'raw' | 'bronze'): Promise<string[]> {
  const root = join(s.out, layer, 'wordpress_api');
  const names: string[] = [];
  for (const dir of await readdir(root)) for (const file of await readdir(join(root, dir))) names.push(`${dir}/${file}`);
  return names.sort();
}

for (const layer of ['raw', 'bronze'] as const) {
  test(`S3 cut off while the ${layer} posts object is written: posts fail, nothing partial is visible, the next run recovers`, async (t) => {
    const { s, before } = await prepare(t);
    const key = layer === 'raw' ? '/raw/wordpress_api/posts/posts.json' : '/bronze/wordpress_api/posts/posts.parquet';
    let proxy: Awaited<ReturnType<typeof startS3FaultProxy>> | undefined;
    t.teardown(() => proxy?.close());
    const testing: LocalTestingHooks = merge(FAST, {
      handlerS3Endpoint: async (endpoint) => {
        proxy = await startS3FaultProxy(endpoint, (method, path) => method === 'PUT' && path === key);
        return proxy.origin;
      },
    });
    const result = await s.run(testing);
    const o = outcome(result);
    t.is(result.status, 'FAILED');
    t.deepEqual(o.ok, { posts: false, comments: true });
    t.regex(o.error.posts ?? '', new RegExp(`^${layer}: `));
    t.true(proxy!.dropped.length >= 1, 'the write was cut');
    const after = await s.files('posts');
    if (layer === 'raw') t.true(after.raw.equals(before.raw), 'raw posts are the first run\'s');
    else t.is(JSON.parse(after.raw.toString()).length, 35, 'raw landed before the bronze write was cut');
    t.true(after.bronze.equals(before.bronze), 'bronze posts are the first run\'s');
    t.deepEqual(await listed(s, 'raw'), ['comments/comments.json', 'posts/posts.json'], 'no partial or temporary object');
    t.deepEqual(await listed(s, 'bronze'), ['comments/comments.parquet', 'posts/posts.parquet']);
    const alerts = await s.alerts(result.runId);
    t.truthy(alerts.find((a) => a.subject === 'WordPress_Raw_To_Bronze: Failed' && a.message.includes(`"stage":"${layer}"`)));
    t.truthy(alerts.find((a) => a.subject === `data_wordpressapi_${layer}: Ran With Failures`));

    const next = await s.run();
    t.is(next.status, 'SUCCEEDED', next.error);
    t.is((await bronzeRows(s.file('bronze', 'posts'))).length, 35);
    const preserved = layer === 'raw' ? after.raw.equals(before.raw) && after.bronze.equals(before.bronze) : after.bronze.equals(before.bronze);
    record({ case: `S3 cut during the ${layer} PutObject`, expected: `FAILED: posts fail at ${layer}; next run recovers`, observed: `${o.summary}; next run ${next.status}`, preserved: preserved ? 'yes' : 'no' });
  });
}

async function failsAtRaw(t: ExecutionContext, name: string, testing: LocalTestingHooks, error: RegExp) {
  const { s, before } = await prepare(t);
  const result = await s.run(merge(FAST, testing));
  const o = outcome(result);
  t.is(result.status, 'FAILED');
  t.deepEqual(o.ok, { posts: false, comments: true }, o.summary);
  t.regex(o.error.posts ?? '', /^raw: (TypeError|States\.Timeout|Lambda\.TooManyRequestsException): /, 'the run summary names the caught error');
  const after = await s.files('posts');
  const preserved = after.raw.equals(before.raw) && after.bronze.equals(before.bronze);
  t.true(preserved, 'posts files are the first run\'s');
  const failure = (await s.alerts(result.runId)).find((a) => a.subject === 'WordPress_Raw_To_Bronze: Failed');
  t.regex(failure?.message ?? '', /"endpoint":"posts","ok":false,"stage":"raw","error":\{"Error":/);
  t.regex(failure?.message ?? '', error);
  record({ case: name, expected: `FAILED: posts caught by the ASL (${describePattern(error)}), comments ok`, observed: o.summary, preserved: preserved ? 'yes' : 'no' });
  return { s, result };
}

const forPosts = (input: { Payload?: { endpoint?: string } }) => input.Payload?.endpoint === 'posts';

test('a raw handler that throws: the Catch fails posts alone and the alert carries the error', async (t) => {
  await failsAtRaw(t, 'handler throws', {
    wrapTasks: {
      [STATES.raw]: async (input, real) => {
        if (forPosts(input)) throw new TypeError("Cannot read properties of undefined (reading 'rendered')");
        return real(input);
      },
    },
  }, /"Error":"TypeError","Cause":"Cannot read properties of undefined/);
});

// TimeoutSeconds bounds the healthy comments task too: 10 s is far above its normal ~0.1 s, and
// the posts task never settles, so the timeout is the only way out of it.
test('a raw task that outlives its TimeoutSeconds: States.Timeout is caught, posts fail, comments land', async (t) => {
  let calls = 0;
  await failsAtRaw(t, 'task timeout (TimeoutSeconds 10)', {
    stateMachine: { rawTimeoutSeconds: 10, taskTimeoutMarginSeconds: 0 },
    wrapTasks: {
      [STATES.raw]: (input, real) => {
        if (!forPosts(input)) return real(input);
        calls++;
        return new Promise(() => undefined);
      },
    },
  }, /"Error":"States.Timeout"/);
  t.is(calls, 1, 'States.Timeout is not retried');
});

test('Lambda.TooManyRequestsException once: the ASL Retry runs the task again and the run succeeds', async (t) => {
  const { s } = await prepare(t);
  let calls = 0;
  const result = await s.run(merge(FAST, {
    wrapTasks: {
      [STATES.raw]: async (input, real) => {
        if (forPosts(input) && calls++ === 0) throw Object.assign(new Error('Rate Exceeded.'), { name: 'Lambda.TooManyRequestsException' });
        return real(input);
      },
    },
  }));
  const o = outcome(result);
  t.is(result.status, 'SUCCEEDED', result.error);
  t.deepEqual(o.ok, { posts: true, comments: true });
  t.is(calls, 2);
  t.is((await bronzeRows(s.file('bronze', 'posts'))).length, 35);
  t.deepEqual(await s.alerts(result.runId), []);
  record({ case: 'Lambda.TooManyRequestsException once', expected: 'SUCCEEDED after one ASL retry', observed: `${o.summary}; raw task ran ${calls}x for posts`, preserved: 'n/a' });
});

test('Lambda.TooManyRequestsException on every attempt: retried MaxAttempts times, then caught; posts fail', async (t) => {
  let calls = 0;
  await failsAtRaw(t, 'Lambda.TooManyRequestsException forever', {
    wrapTasks: {
      [STATES.raw]: async (input, real) => {
        if (!forPosts(input)) return real(input);
        calls++;
        throw Object.assign(new Error('Rate Exceeded.'), { name: 'Lambda.TooManyRequestsException' });
      },
    },
  }, /"Error":"Lambda.TooManyRequestsException","Cause":"Rate Exceeded."/);
  t.is(calls, 7, 'one attempt and MaxAttempts (6) retries');
});
