import test, { type ExecutionContext } from 'ava';
import { readdir } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { STATES } from '../../pipeline/state-machine';
import type { LocalTestingHooks } from '../../local/run';
import { FAST, describePattern, type Scenario, bronzeRows, kept, merge, outcome, prepare, record, startS3FaultProxy } from './support';

/**
 * Storage and orchestration faults: S3 cut off in the middle of a write, and Lambda-level
 * failures the state machine must catch or retry (a throwing handler, a task timeout, Lambda
 * throttling). Same shape as the HTTP cases: good first run, faulty run, files compared.
 */


/**
 * Every file of a layer's mirror, as a path under `wordpress_api/`, with the ingest date made
 * `*`: the two runs of a case may straddle midnight UTC, and the date is not what is tested.
 */
async function listed(s: Scenario, layer: 'raw' | 'bronze'): Promise<string[]> {
  const root = join(s.out, layer, 'wordpress_api');
  const names: string[] = [];
  for (const entry of await readdir(root, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) names.push(relative(root, join(entry.parentPath, entry.name)).split(sep).join('/').replace(/ingest_date=\d{4}-\d{2}-\d{2}/, 'ingest_date=*'));
  }
  return names.sort();
}

for (const layer of ['raw', 'bronze'] as const) {
  test(`S3 cut off while the ${layer} posts object is written: posts fail, nothing partial is visible, the next run recovers`, async (t) => {
    const { s, first, before } = await prepare(t);
    // Raw keys carry the ingest date and the run id, so every PUT under posts' raw folder is cut.
    const cut = (path: string) => (layer === 'raw' ? path.startsWith('/raw/wordpress_api/posts/') : path === '/bronze/wordpress_api/posts/posts.parquet');
    let proxy: Awaited<ReturnType<typeof startS3FaultProxy>> | undefined;
    t.teardown(() => proxy?.close());
    const testing: LocalTestingHooks = merge(FAST, {
      handlerS3Endpoint: async (endpoint) => {
        proxy = await startS3FaultProxy(endpoint, (method, path) => method === 'PUT' && cut(path));
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
    const same = kept(before, after);
    if (layer === 'raw') t.true(same.raw, 'no raw posts object was added, and the first run\'s is as it was');
    else {
      t.is(after.rawObjects.size, 2, 'raw landed before the bronze write was cut');
      t.is(JSON.parse(after.raw.toString()).length, 35);
    }
    t.true(same.bronze, 'the bronze posts table and state are the first run\'s');
    const runs = [first.runId, result.runId];
    const rawObject = (name: string, runId: string) => `${name}/ingest_date=*/${name}-${runId}.json`;
    t.deepEqual(
      await listed(s, 'raw'),
      [...runs.map((id) => rawObject('comments', id)), ...(layer === 'raw' ? [first.runId] : runs).map((id) => rawObject('posts', id))].sort(),
      'one object per endpoint and successful run; no partial or temporary object',
    );
    t.deepEqual(
      await listed(s, 'bronze'),
      [...runs.map((id) => `_runs/${id}.json`), '_state/comments.json', '_state/posts.json', 'comments/comments.parquet', 'posts/posts.parquet'].sort(),
      'the tables, their state and both run manifests; no partial or temporary object',
    );
    const alerts = await s.alerts(result.runId);
    t.truthy(alerts.find((a) => a.subject === 'WordPress_Raw_To_Bronze: Failed' && a.message.includes(`"stage":"${layer}"`)));
    t.truthy(alerts.find((a) => a.subject === `data_wordpressapi_${layer}: Ran With Failures`));

    const next = await s.run();
    t.is(next.status, 'SUCCEEDED', next.error);
    t.is((await bronzeRows(s.file('bronze', 'posts'))).length, 35);
    const preserved = layer === 'raw' ? same.raw && same.bronze : same.bronze;
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
  const same = kept(before, await s.files('posts'));
  const preserved = same.raw && same.bronze;
  t.true(preserved, 'no raw posts object was added; posts\' raw object, bronze table and state are the first run\'s');
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
