import test from 'ava';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse } from 'yaml';
import { ConfigError, DEFAULT_ENDPOINTS, parameterNamesFor, parseConfig } from '../../pipeline/config';

const ns = (values: Record<string, unknown>) => Object.fromEntries(Object.entries(values).map(([k, v]) => [`wordpress-lakehouse:${k}`, v]));

test('a stack with only siteUrl gets the documented defaults', (t) => {
  const config = parseConfig({ ...ns({ siteUrl: 'https://blog.example.com/' }), 'aws:region': 'eu-west-2' });
  t.is(config.siteUrl, 'https://blog.example.com');
  t.deepEqual(config.endpoints.map((e) => e.name), [...DEFAULT_ENDPOINTS]);
  t.deepEqual(config.endpoints[0], { name: 'posts', url: 'https://blog.example.com/wp-json/wp/v2/posts', paginate: true });
  t.is(config.schedule, 'cron(0 7 * * ? *)');
  t.is(config.timezone, 'Europe/London');
  t.is(config.logRetentionDays, 90);
  t.is(config.dataSource, 'wordpress_api');
  t.is(config.alertEmail, undefined);
  t.false(config.auditTrail);
  t.is(config.incrementalOverlapMinutes, 60);
  t.is(config.fullRefreshDays, 7);
  t.is(config.athenaResultsExpirationDays, 7);
  t.is(config.athenaBytesScannedCutoffMb, 1024);
  t.is(config.bronzeTmpMb, 1024);
});

test('Pulumi hands numbers, booleans and lists over as JSON text, and they are decoded', (t) => {
  const config = parseConfig(
    ns({
      siteUrl: 'https://blog.example.com',
      logRetentionDays: '30',
      auditTrail: 'true',
      mapConcurrency: '2',
      // Both ends of the ranges: 0 minutes of overlap, and a full crawl at most once a year.
      incrementalOverlapMinutes: '0',
      fullRefreshDays: '365',
      // Athena's smallest per-query cutoff (10 MiB), and results kept for ten years.
      athenaBytesScannedCutoffMb: '10',
      athenaResultsExpirationDays: '3650',
      endpoints: JSON.stringify(['posts', { name: 'statistics_pages', url: 'https://blog.example.com/wp-json/mysql/v1/statistics_pages' }]),
    }),
  );
  t.is(config.logRetentionDays, 30);
  t.true(config.auditTrail);
  t.is(config.mapConcurrency, 2);
  t.is(config.incrementalOverlapMinutes, 0);
  t.is(config.fullRefreshDays, 365);
  t.is(config.athenaBytesScannedCutoffMb, 10);
  t.is(config.athenaResultsExpirationDays, 3650);
  t.deepEqual(config.endpoints[1], { name: 'statistics_pages', url: 'https://blog.example.com/wp-json/mysql/v1/statistics_pages', paginate: false });
});

const rejects: Array<[string, Record<string, unknown>, string, RegExp]> = [
  ['a missing siteUrl', {}, 'siteUrl', /is required/],
  ['an ftp siteUrl', { siteUrl: 'ftp://example.com' }, 'siteUrl', /http or https/],
  ['a siteUrl with credentials', { siteUrl: 'https://admin:secret@example.com' }, 'siteUrl', /must not contain credentials/],
  ['a siteUrl that is no URL', { siteUrl: 'example dot com' }, 'siteUrl', /is not a URL/],
  ['a five-field Unix cron', { siteUrl: 'https://e.com', schedule: 'cron(0 7 * * *)' }, 'schedule', /6 fields/],
  ['a bare cron line', { siteUrl: 'https://e.com', schedule: '0 7 * * ? *' }, 'schedule', /not a Scheduler expression/],
  ['a cron with both day fields set', { siteUrl: 'https://e.com', schedule: 'cron(0 7 * * 1 *)' }, 'schedule', /"\?"/],
  ['an unknown time zone', { siteUrl: 'https://e.com', timezone: 'Mars/Olympus' }, 'timezone', /IANA/],
  ['a retention CloudWatch does not offer', { siteUrl: 'https://e.com', logRetentionDays: 100 }, 'logRetentionDays', /one of CloudWatch's periods/],
  ['an unknown key (a typo)', { siteUrl: 'https://e.com', shedule: 'rate(1 day)' }, 'shedule', /not a known key/],
  ['an endpoint with a bad URL', { siteUrl: 'https://e.com', endpoints: [{ name: 'x', url: 'not a url' }] }, 'endpoints', /url is not a URL/],
  ['an endpoint name with a slash', { siteUrl: 'https://e.com', endpoints: ['wp/v2/posts'] }, 'endpoints', /not a wp\/v2 collection name/],
  ['an endpoint name that starts with _ (the state and manifest folders)', { siteUrl: 'https://e.com', endpoints: ['_state'] }, 'endpoints', /not a wp\/v2 collection name/],
  ['a collection name ending in _deletions', { siteUrl: 'https://e.com', endpoints: ['posts_deletions'] }, 'endpoints', /ends in _deletions/],
  ['a custom endpoint name ending in _deletions', { siteUrl: 'https://e.com', endpoints: [{ name: 'stats_deletions', url: 'https://e.com/wp-json/acme/v1/stats' }] }, 'endpoints', /ends in _deletions/],
  ['a name ending in -deletions (the catalog table posts_deletions)', { siteUrl: 'https://e.com', endpoints: ['posts', 'posts-deletions'] }, 'endpoints', /ends in _deletions/],
  ['two names that become one catalog table', { siteUrl: 'https://e.com', endpoints: [{ name: 'my-stats', url: 'https://e.com/wp-json/a/v1/s' }, { name: 'my_stats', url: 'https://e.com/wp-json/a/v1/t' }] }, 'endpoints', /items "my-stats" and "my_stats" would both be the catalog table my_stats/],
  ['the same endpoint twice', { siteUrl: 'https://e.com', endpoints: ['posts', 'posts'] }, 'endpoints', /twice/],
  ['an empty endpoint list', { siteUrl: 'https://e.com', endpoints: [] }, 'endpoints', /non-empty/],
  ['a primaryKey that is no field name', { siteUrl: 'https://e.com', endpoints: [{ name: 't', url: 'https://e.com/wp-json/a/v1/t', primaryKey: [1] }] }, 'endpoints', /item 0 \(t\): primaryKey is \[1\]\. Fix: set a field name or a list/],
  ['a column type Athena would not get', { siteUrl: 'https://e.com', endpoints: [{ name: 't', url: 'https://e.com/wp-json/a/v1/t', columns: { count: 'integer' } }] }, 'endpoints', /columns\.count is "integer"\. Fix: use one of bigint, double/],
  ['a memory size out of range', { siteUrl: 'https://e.com', rawMemoryMb: 64 }, 'rawMemoryMb', /128 to 10240/],
  ['a /tmp under Lambda\'s 512 MB minimum', { siteUrl: 'https://e.com', bronzeTmpMb: 256 }, 'bronzeTmpMb', /512 to 10240/],
  ['a codec hyparquet-writer does not write', { siteUrl: 'https://e.com', parquetCodec: 'gzip' }, 'parquetCodec', /snappy or zstd/],
  ['an overlap longer than a week', { siteUrl: 'https://e.com', incrementalOverlapMinutes: 10081 }, 'incrementalOverlapMinutes', /from 0 to 10080/],
  ['a negative overlap', { siteUrl: 'https://e.com', incrementalOverlapMinutes: -1 }, 'incrementalOverlapMinutes', /from 0 to 10080/],
  ['a full refresh less often than yearly', { siteUrl: 'https://e.com', fullRefreshDays: 366 }, 'fullRefreshDays', /from 0 to 365/],
  ['a fractional full refresh period', { siteUrl: 'https://e.com', fullRefreshDays: '1.5' }, 'fullRefreshDays', /whole number/],
  ['query results that expire at once', { siteUrl: 'https://e.com', athenaResultsExpirationDays: '0' }, 'athenaResultsExpirationDays', /from 1 to 3650/],
  ['query results kept over ten years', { siteUrl: 'https://e.com', athenaResultsExpirationDays: 3651 }, 'athenaResultsExpirationDays', /from 1 to 3650/],
  ['a fractional results expiration', { siteUrl: 'https://e.com', athenaResultsExpirationDays: '7.5' }, 'athenaResultsExpirationDays', /whole number/],
  ['a results expiration that is no number', { siteUrl: 'https://e.com', athenaResultsExpirationDays: 'a week' }, 'athenaResultsExpirationDays', /whole number/],
  ['a bytes-scanned cutoff under Athena\'s 10 MiB minimum', { siteUrl: 'https://e.com', athenaBytesScannedCutoffMb: '9' }, 'athenaBytesScannedCutoffMb', /from 10 to 8388608/],
  ['a bytes-scanned cutoff over 8 TiB', { siteUrl: 'https://e.com', athenaBytesScannedCutoffMb: 8_388_609 }, 'athenaBytesScannedCutoffMb', /from 10 to 8388608/],
  ['a fractional bytes-scanned cutoff', { siteUrl: 'https://e.com', athenaBytesScannedCutoffMb: '1024.5' }, 'athenaBytesScannedCutoffMb', /whole number/],
  ['a username without a password', { siteUrl: 'https://e.com', wordpressUsername: 'bot' }, 'wordpressPassword', /other half/],
  ['an application password over http', { siteUrl: 'http://e.com', wordpressUsername: 'bot', wordpressPassword: 'x y z' }, 'wordpressUsername', /https/],
  ['an alert address that is not one', { siteUrl: 'https://e.com', alertEmail: 'data-team' }, 'alertEmail', /e-mail address/],
  ['an allowPrivateSite that is not a boolean', { siteUrl: 'https://e.com', allowPrivateSite: 'yes' }, 'allowPrivateSite', /true or false/],
];

for (const [what, values, key, message] of rejects) {
  test(`config validation rejects ${what}, naming the key and a fix`, (t) => {
    const error = t.throws(() => parseConfig(ns(values)), { instanceOf: ConfigError });
    t.is(error?.key, key);
    t.true(error?.message.startsWith(`Config wordpress-lakehouse:${key} `));
    t.regex(error?.message ?? '', message);
    t.regex(error?.message ?? '', /Fix: /);
  });
}

test('parseConfig leaves reachability to the deploy checks: a loopback site and an example.com address parse, for the local runner', (t) => {
  const config = parseConfig(ns({ siteUrl: 'http://127.0.0.1:8080', alertEmail: 'data-team@example.com' }));
  t.is(config.siteUrl, 'http://127.0.0.1:8080');
  t.is(config.alertEmail, 'data-team@example.com');
  t.false(config.allowPrivateSite);
  t.true(parseConfig(ns({ siteUrl: 'http://10.0.0.5', allowPrivateSite: 'true' })).allowPrivateSite);
});

test('the Athena keys accept the other ends of their ranges: 8 TiB scanned per query, results kept one day', (t) => {
  const config = parseConfig(ns({ siteUrl: 'https://e.com', athenaBytesScannedCutoffMb: '8388608', athenaResultsExpirationDays: '1' }));
  t.is(config.athenaBytesScannedCutoffMb, 8_388_608);
  t.is(config.athenaResultsExpirationDays, 1);
});

test('rate() and at() expressions are accepted as well as cron()', (t) => {
  t.is(parseConfig(ns({ siteUrl: 'https://e.com', schedule: 'rate(12 hours)' })).schedule, 'rate(12 hours)');
  t.is(parseConfig(ns({ siteUrl: 'https://e.com', schedule: 'at(2027-01-01T07:00:00)' })).schedule, 'at(2027-01-01T07:00:00)');
});

test('parameter names keep the original hierarchy under a stack-scoped prefix', (t) => {
  const names = parameterNamesFor('prod', 'https://blog.example.com');
  t.is(names.rawBucket, '/wordpress-lakehouse/prod/s3/lakehouse/name/raw');
  t.is(names.bronzeTopicArn, '/wordpress-lakehouse/prod/sns/data/lakehouse/bronze');
  t.is(names.endpoints, '/wordpress-lakehouse/prod/wordpress/blog.example.com/api/endpoints');
  t.not(parameterNamesFor('dev', 'https://blog.example.com').rawBucket, names.rawBucket);
});

test('the README\'s custom endpoints parse, with their key and types', (t) => {
  const readme = readFileSync(resolve(__dirname, '../../README.md'), 'utf8');
  const snippet = /```yaml\n( {2}wordpress-lakehouse:endpoints:\n[\s\S]*?)```/.exec(readme)?.[1];
  t.truthy(snippet, 'the README shows an endpoints example');
  const endpoints = (parse(`config:\n${snippet}`) as { config: Record<string, unknown> }).config['wordpress-lakehouse:endpoints'];
  const config = parseConfig({ ...ns({ siteUrl: 'https://example.com', endpoints: JSON.stringify(endpoints) }), 'aws:region': 'eu-west-2' });
  t.like(config.endpoints.find((e) => e.name === 'term_relationship'), { paginate: false, primaryKey: ['object_id', 'term_taxonomy_id'], columns: { object_id: 'bigint' } });
  t.like(config.endpoints.find((e) => e.name === 'statistics_pages'), { primaryKey: ['page_id'], columns: { date: 'date' } });
});
