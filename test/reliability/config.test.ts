import test from 'ava';
import type { S3Client } from '@aws-sdk/client-s3';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HandlerDeps } from '../../handlers/aws/ports';
import { runBronze } from '../../handlers/bronze';
import { createLogger } from '../../handlers/log';
import { runRaw } from '../../handlers/raw';
import { runLocal } from '../../local/run';
import { ConfigError, parameterNamesFor, parseConfig } from '../../pipeline/config';
import { record } from './support';

/**
 * Configuration and parameters: every SSM parameter missing or empty (the handlers called
 * directly with a fake parameter reader), broken endpoint lists, and stack config mistakes.
 * Each must fail loudly with a message that names what is wrong and how to fix it.
 */

const NAMES = { ...parameterNamesFor('test', 'https://blog.example.com'), credentials: parameterNamesFor('test', 'https://blog.example.com').credentials };
const SECRET = 'Zq9x Wv8y Ut7s Rr6q Pp5o Nn4m';
const GOOD: Record<string, string> = {
  [NAMES.rawBucket]: 'raw-bucket',
  [NAMES.bronzeBucket]: 'bronze-bucket',
  [NAMES.rawTopicArn]: 'arn:aws:sns:eu-west-2:123456789012:raw-topic',
  [NAMES.bronzeTopicArn]: 'arn:aws:sns:eu-west-2:123456789012:bronze-topic',
  [NAMES.endpoints]: JSON.stringify([{ name: 'posts', url: 'https://blog.example.com/wp-json/wp/v2/posts', paginate: true }]),
  [NAMES.credentials]: JSON.stringify({ username: 'bot', password: SECRET }),
};

/** Handler deps whose S3 must never be reached: every case here fails before any object is touched. */
function fakeDeps(values: Record<string, string | undefined>) {
  const alerts: Array<{ topic: string; subject: string; message: string }> = [];
  const logs: string[] = [];
  const s3 = new Proxy({}, { get: () => () => Promise.reject(new Error('S3 must not be called')) }) as unknown as S3Client;
  const deps: HandlerDeps = {
    s3,
    // Like the SSM adapter: absent names are left out; '' is returned as stored, and the handler must treat it as missing.
    parameters: { get: async (names) => new Map(names.filter((n) => values[n] !== undefined).map((n) => [n, values[n]!] as [string, string])) },
    notifier: { publish: async (topic, subject, message) => void alerts.push({ topic, subject, message }) },
    log: createLogger({ function: 'fn' }, (line) => logs.push(line)),
    functionName: 'fn',
  };
  return { deps, alerts, logs };
}

const rawOptions = { functionName: 'fn', layer: 'raw' as const, parameterNames: NAMES };
const bronzeOptions = { functionName: 'fn', layer: 'bronze' as const, parameterNames: NAMES };

const RAW_PARAMETERS = [
  [NAMES.rawBucket, 'raw bucket name'],
  [NAMES.endpoints, 'WordPress endpoints'],
  [NAMES.credentials, 'WordPress credentials'],
] as const;

for (const state of ['missing', 'empty'] as const) {
  const value = state === 'missing' ? undefined : '';

  test(`raw: the raw topic parameter ${state}: the invocation throws naming it (no alert is possible) and logs the error`, async (t) => {
    const { deps, alerts, logs } = fakeDeps({ ...GOOD, [NAMES.rawTopicArn]: value });
    const error = await t.throwsAsync(runRaw(deps, rawOptions, { endpoint: 'posts' }));
    t.is(error?.message, `WordPress API Raw process failed: SSM parameter ${NAMES.rawTopicArn} (raw topic ARN) is missing or empty, so no alert can be sent`);
    t.deepEqual(alerts, []);
    t.true(logs.some((l) => JSON.parse(l).level === 'ERROR' && l.includes(NAMES.rawTopicArn)));
    record({ case: `raw: topic parameter ${state}`, expected: 'throws naming the parameter; no alert', observed: `throws: ${error?.message.slice(0, 70)}…`, preserved: 'n/a' });
  });

  for (const [name, what] of RAW_PARAMETERS) {
    test(`raw: ${what} parameter ${state}: alert "fn: Failed" names it, and the invocation throws`, async (t) => {
      const { deps, alerts } = fakeDeps({ ...GOOD, [name]: value });
      const error = await t.throwsAsync(runRaw(deps, rawOptions, { endpoint: 'posts' }));
      const expected = `WordPress API Raw process failed: SSM parameter(s) missing or empty: ${name} (${what})`;
      t.is(error?.message, expected);
      t.deepEqual(alerts, [{ topic: GOOD[NAMES.rawTopicArn], subject: 'fn: Failed', message: expected }]);
      record({ case: `raw: ${what} parameter ${state}`, expected: 'alert "fn: Failed" naming it; throws', observed: `alert ${alerts.length}: ${alerts[0]?.subject}; throws`, preserved: 'n/a' });
    });
  }

  test(`bronze: the bronze topic parameter ${state}: the invocation throws naming it (no alert is possible)`, async (t) => {
    const { deps, alerts } = fakeDeps({ ...GOOD, [NAMES.bronzeTopicArn]: value });
    const error = await t.throwsAsync(runBronze(deps, bronzeOptions, { objects: [] }));
    t.is(error?.message, `SSM parameter ${NAMES.bronzeTopicArn} (bronze topic ARN) is missing or empty`);
    t.deepEqual(alerts, []);
    record({ case: `bronze: topic parameter ${state}`, expected: 'throws naming the parameter; no alert', observed: `throws: ${error?.message.slice(0, 70)}…`, preserved: 'n/a' });
  });

  for (const name of [NAMES.rawBucket, NAMES.bronzeBucket]) {
    test(`bronze: ${name.split('/').pop()} bucket parameter ${state}: alert "fn: Failed" names it, and the invocation throws`, async (t) => {
      const { deps, alerts } = fakeDeps({ ...GOOD, [name]: value });
      const error = await t.throwsAsync(runBronze(deps, bronzeOptions, { objects: [] }));
      const expected = `Missing SSM parameter(s): ${name}. Create them (pulumi up) or fix their names in the function's configuration.`;
      t.is(error?.message, expected);
      t.deepEqual(alerts, [{ topic: GOOD[NAMES.bronzeTopicArn], subject: 'fn: Failed', message: expected }]);
      record({ case: `bronze: ${name.split('/').pop()} bucket parameter ${state}`, expected: 'alert "fn: Failed" naming it; throws', observed: `alert ${alerts.length}: ${alerts[0]?.subject}; throws`, preserved: 'n/a' });
    });
  }
}

test('raw: an endpoint list with a bad URL fails the invocation with an alert naming the entry and the problem', async (t) => {
  for (const [list, problem] of [
    [JSON.stringify([{ name: 'posts', url: 'not a url' }]), 'endpoint posts: "not a url" is not an absolute URL'],
    [JSON.stringify([{ name: 'posts', url: 'ftp://blog.example.com/posts' }]), 'endpoint posts: only http(s) URLs are supported, got ftp:'],
    ['https://blog.example.com/wp-json/wp/v2/posts, file:///etc/passwd', 'endpoint file:///etc/passwd: only http(s) URLs are supported, got file:'],
    ['[{"name": "posts", "url": ', 'the endpoints parameter is not valid JSON'],
  ]) {
    const { deps, alerts } = fakeDeps({ ...GOOD, [NAMES.endpoints]: list });
    const error = await t.throwsAsync(runRaw(deps, rawOptions, {}));
    t.true(error?.message.startsWith(`WordPress API Raw process failed: SSM parameter ${NAMES.endpoints} is invalid: ${problem}`), error?.message);
    t.is(alerts[0]?.subject, 'fn: Failed');
    t.is(alerts[0]?.message, error?.message);
  }
  record({ case: 'raw: endpoint list with a bad URL / bad JSON', expected: 'alert "fn: Failed" naming entry + problem; throws', observed: 'alert + throw for 4 variants', preserved: 'n/a' });
});

test('raw: an endpoint URL carrying credentials is refused, and the password appears in no alert, log or error', async (t) => {
  const url = `https://bot:${encodeURIComponent(SECRET)}@blog.example.com/wp-json/wp/v2/posts`;
  for (const list of [JSON.stringify([{ name: 'posts', url }]), url]) {
    const { deps, alerts, logs } = fakeDeps({ ...GOOD, [NAMES.endpoints]: list });
    const error = await t.throwsAsync(runRaw(deps, rawOptions, {}));
    t.regex(error?.message ?? '', /the URL must not carry credentials; use the credentials parameter/);
    const everything = [error?.message, ...alerts.map((a) => `${a.subject} ${a.message}`), ...logs].join('\n');
    t.false(everything.includes(encodeURIComponent(SECRET)), `the password leaked (${list.startsWith('[') ? 'JSON' : 'comma list'} form)`);
    t.false(everything.includes(SECRET));
  }
  record({ case: 'raw: endpoint URL with user:password@', expected: 'refused; password in no alert/log/error', observed: 'refused; password absent', preserved: 'n/a' });
});

test('stack config: a site URL with credentials names siteUrl and the fix, without echoing the password', (t) => {
  const error = t.throws(() => parseConfig({ 'wordpress-lakehouse:siteUrl': `https://bot:${SECRET.replace(/ /g, '')}@blog.example.com` }), { instanceOf: ConfigError });
  t.is((error as ConfigError).key, 'siteUrl');
  t.regex(error!.message, /^Config wordpress-lakehouse:siteUrl must not contain credentials .* Fix: remove "user:password@" from the URL and set wordpressUsername plus the secret wordpressPassword/);
  t.false(error!.message.includes(SECRET.replace(/ /g, '')));
  record({ case: 'config: siteUrl with credentials', expected: 'ConfigError siteUrl + fix; no password echoed', observed: error!.message.slice(0, 80) + '…', preserved: 'n/a' });
});

test('stack config: an endpoint with a bad URL names endpoints, the item and the fix', (t) => {
  const error = t.throws(() => parseConfig({ siteUrl: 'https://blog.example.com', endpoints: [{ name: 'stats', url: 'blog.example.com/stats' }] }), { instanceOf: ConfigError });
  t.is(error!.message, 'Config wordpress-lakehouse:endpoints item 0 (stats) url is not a URL: "blog.example.com/stats". Fix: use an absolute http(s) URL');
  record({ case: 'config: endpoint with a bad URL', expected: 'ConfigError endpoints item 0 + fix', observed: error!.message, preserved: 'n/a' });
});

test('stack config: an unknown key (a typo) is an error naming the key and how to remove it', (t) => {
  const error = t.throws(() => parseConfig({ 'wordpress-lakehouse:siteUrl': 'https://blog.example.com', 'wordpress-lakehouse:requestTimeoutSecs': '10', 'aws:region': 'eu-west-2' }), { instanceOf: ConfigError });
  t.is((error as ConfigError).key, 'requestTimeoutSecs');
  t.regex(error!.message, /^Config wordpress-lakehouse:requestTimeoutSecs is not a known key\. Fix: remove it \(pulumi config rm requestTimeoutSecs\); known keys: .*requestTimeoutSeconds/);
  record({ case: 'config: unknown key', expected: 'ConfigError naming the key + fix', observed: error!.message.slice(0, 90) + '…', preserved: 'n/a' });
});

test('stack config: schedules that are not Scheduler expressions name schedule and give a valid example', (t) => {
  const bad = ['0 7 * * *', 'cron(0 7 * * *)', 'cron(0 7 * * * *)', 'cron(0 7 * * ? * ;rm)', 'rate(0 days)', 'rate(1 fortnight)', 'rate(1day)', 'daily', 'at(2026-01-01)'];
  for (const schedule of bad) {
    const error = t.throws(() => parseConfig({ siteUrl: 'https://blog.example.com', schedule }), { instanceOf: ConfigError }, schedule);
    t.is((error as ConfigError).key, 'schedule', schedule);
    t.regex(error!.message, /^Config wordpress-lakehouse:schedule .*Fix: (e\.g\. cron\(0 7 \* \* \? \*\)|use cron\(0 7 \* \* \? \*\), rate\(1 day\) or at\(2026-01-01T07:00:00\))$/, schedule);
  }
  for (const schedule of ['cron(0 7 * * ? *)', 'cron(30 6 ? * MON-FRI *)', 'rate(1 day)', 'rate(12 hours)', 'at(2026-01-01T07:00:00)']) {
    t.is(parseConfig({ siteUrl: 'https://blog.example.com', schedule }).schedule, schedule);
  }
  record({ case: 'config: invalid schedule expressions', expected: `ConfigError schedule + example, ${bad.length} variants`, observed: `${bad.length} refused, 5 valid accepted`, preserved: 'n/a' });
});

test('npm start path: runLocal refuses a stack file with an unknown key before starting anything', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'lakehouse-config-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'Pulumi.test.yaml'), 'config:\n  wordpress-lakehouse:siteUrl: https://blog.example.com\n  wordpress-lakehouse:endpoint: posts\n');
  const error = await t.throwsAsync(runLocal({ projectDir: dir, stack: 'test', out: join(dir, 'out') }), { instanceOf: ConfigError });
  t.regex(error!.message, /wordpress-lakehouse:endpoint is not a known key/);
  record({ case: 'local run: unknown key in the stack file', expected: 'ConfigError before any run', observed: error!.message.slice(0, 80) + '…', preserved: 'n/a' });
});
