import type { EndpointSpec } from '../handlers/contracts';
import { checkDeclared } from '../handlers/lake/declared';
import { tableName } from '../handlers/lake/layout';
import { defaultPagesPerTask } from '../handlers/lake/fan-out';

/**
 * The stack configuration, typed and validated before any resource is declared, so that a
 * mistake fails `pulumi preview` with a message naming the key instead of failing at 07:00.
 * Pure: the Pulumi program feeds it `pulumi.runtime.allConfig()`, the local runner feeds it the
 * `config:` map of `Pulumi.<stack>.yaml`.
 */
export interface PipelineConfig {
  /** Base URL of the WordPress site (http or https, no credentials, no query). */
  siteUrl: string;
  /**
   * Lets a deployment crawl a private address or name (RFC 1918, fc00::/7, 100.64/10, .internal...),
   * for functions that run in a VPC reaching it; the local runner accepts any site regardless.
   * @default false
   */
  allowPrivateSite: boolean;
  /** What to extract; names of `wp/v2` collections resolved against `siteUrl`, or custom URLs. */
  endpoints: EndpointSpec[];
  /** EventBridge Scheduler expression. @default cron(0 7 * * ? *) */
  schedule: string;
  /** IANA time zone the schedule is evaluated in. @default Europe/London */
  timezone: string;
  /** E-mail address subscribed to every alert topic. @default none */
  alertEmail?: string;
  /** CloudWatch Logs retention of every log group. @default 90 */
  logRetentionDays: number;
  /** Top-level prefix (folder) in both buckets. @default wordpress_api */
  dataSource: string;
  /** Days a replaced object version is kept before it expires. @default 30 */
  noncurrentVersionDays: number;
  /** @default 256 */
  rawMemoryMb: number;
  /** @default 300 */
  rawTimeoutSeconds: number;
  /**
   * Derived from measurement (npm run bench, artifacts: the bronze archive landing generated posts
   * in its own Node process with a function memory's heap flags): the smallest power of two whose
   * landings of sites up to 50 000 posts peak at no more than two thirds of it, the rest being for the Lambda runtime's own
   * client, run-to-run spread and posts longer than the generated 6.5 KB. A first landing is
   * nearly flat in the site's size (149 / 174 / 187 MiB for 1171 / 10k / 50k posts at 1024 MB's
   * flags); the next day's incremental run needs more, because it reads the table back a row
   * group (10 000 rows) at a time, each decoded whole by hyparquet: 165 / 367 / 424 MiB. At 512
   * MB's flags day 2 of 50k posts peaks at 407 MiB (79%), so 512 is not enough, and 1024 is
   * (41%). 128 MB is not enough even for the fixture site's 1171 posts (141 MiB on day 1). More
   * memory is also more CPU (Lambda gives memory/1769 of a vCPU) and this work is CPU-bound, so
   * GB-seconds barely change with it.
   * @default 1024
   */
  bronzeMemoryMb: number;
  /**
   * The bronze function's /tmp (Lambda ephemeral storage), derived like its memory: the smallest
   * power of two whose landings of sites up to 50 000 posts hold at most two thirds of it in their
   * temp folder (npm run bench, artifacts). A landing holds the raw download and the merged table
   * as JSON at once, then that JSON, the current table and the new one: about twice the
   * endpoint's raw JSON. Day 1 of 50k posts (321 MB raw) peaks at 617 MiB, more than Lambda's
   * default 512 MB; day 2 at 412 MiB. Storage above 512 MB is billed per GB-second at about
   * 1/500 of memory's price (0.0000000309 USD in us-east-1): under a millionth of a dollar a run.
   * @default 1024
   */
  bronzeTmpMb: number;
  /** @default 300 */
  bronzeTimeoutSeconds: number;
  /** Endpoints processed at once by the state machine's Map. @default 4 */
  mapConcurrency: number;
  /** Requests in flight at once within one raw invocation. @default 4 */
  requestConcurrency: number;
  /**
   * Pages (of 100 items) one task of a split full crawl fetches; an endpoint with more pages is
   * split into parts, each its own raw task. @default half of rawTimeoutSeconds at 2 s a page and
   * requestConcurrency in flight: 300 with the default timeout and concurrency
   */
  pagesPerTask: number;
  /** Parts of one split endpoint fetched at once; WordPress then sees up to this x requestConcurrency requests. @default 2 */
  fanOutConcurrency: number;
  /** Per-request timeout towards WordPress. @default 30 */
  requestTimeoutSeconds: number;
  /** Retries of one request on 408/429/5xx and network errors. @default 5 */
  maxRetries: number;
  /** User-Agent sent to WordPress. @default wordpress-lakehouse/<version> (+https://github.com/wordpress-lakehouse) */
  userAgent: string;
  /** WordPress user of an application password; with `wordpressPassword`, stored as an SSM SecureString. @default none */
  wordpressUsername?: string;
  /** Parquet compression codec (zstd through Node's own zlib). @default zstd */
  parquetCodec: 'snappy' | 'zstd';
  /** Rows per Parquet row group (bounds the bronze function's memory). @default 10000 */
  rowGroupSize: number;
  /** Record S3 data events on both buckets in a CloudTrail trail. @default false */
  auditTrail: boolean;
  /** KMS key (id, ARN or alias) that encrypts the SNS topics. @default alias/aws/sns */
  snsKmsKeyId: string;
  /** Minutes an incremental run reaches back before the high-water mark. @default 60 */
  incrementalOverlapMinutes: number;
  /** A full crawl (and rebuild of bronze) at least every this many days; 0: every run. @default 7 */
  fullRefreshDays: number;
  /**
   * A run that would delete more than this percentage of an endpoint's rows, and more than
   * `maxDeleteRows` of them, fails that endpoint instead (until accepted). @default 10
   */
  maxDeletePercent: number;
  /** See maxDeletePercent. @default 50 */
  maxDeleteRows: number;
  /** Days Athena's query results are kept in their bucket. @default 7 */
  athenaResultsExpirationDays: number;
  /** A query that would scan more than this many MiB is cancelled (Athena's minimum is 10). @default 1024 */
  athenaBytesScannedCutoffMb: number;
  /**
   * The alarm `<project>-<stack>-no-successful-run` fires when no execution of the state machine
   * succeeded in this many hours (CloudWatch evaluates at most 7 days: 168). A day plus two hours
   * of slack for a daily schedule. @default 26
   */
  freshnessHours: number;
}

export const PROJECT = 'wordpress-lakehouse';

export const DEFAULT_ENDPOINTS = ['posts', 'pages', 'categories', 'tags', 'users', 'comments', 'media'] as const;

/** CloudWatch Logs accepts only these retention periods. */
export const LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653] as const;

/** Keys set outside this project's namespace (aws:region...) are not ours to check. */
const SECRET_KEYS = new Set(['wordpressPassword']);

export class ConfigError extends Error {
  constructor(
    readonly key: string,
    problem: string,
    fix: string,
  ) {
    super(`Config ${PROJECT}:${key} ${problem}. Fix: ${fix}`);
    this.name = 'ConfigError';
  }
}

type Raw = Record<string, unknown>;

/** Pulumi hands structured and numeric config over as JSON text; YAML hands it over parsed. */
function decoded(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  const text = value.trim();
  if (/^[[{]/.test(text) || /^-?\d+(\.\d+)?$/.test(text) || text === 'true' || text === 'false') {
    try {
      return JSON.parse(text);
    } catch {
      return value;
    }
  }
  return value;
}

function str(raw: Raw, key: string, fallback?: string): string | undefined {
  const value = raw[key];
  if (value === undefined || value === null || value === '') return fallback;
  if (typeof value !== 'string') throw new ConfigError(key, `must be a string, got ${JSON.stringify(value)}`, `pulumi config set ${key} <text>`);
  return value;
}

function int(raw: Raw, key: string, fallback: number, min: number, max: number): number {
  const value = decoded(raw[key]);
  if (value === undefined || value === null || value === '') return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(key, `must be a whole number from ${min} to ${max}, got ${JSON.stringify(raw[key])}`, `pulumi config set ${key} ${fallback}`);
  }
  return value;
}

function bool(raw: Raw, key: string, fallback: boolean): boolean {
  const value = decoded(raw[key]);
  if (value === undefined || value === null || value === '') return fallback;
  if (typeof value !== 'boolean') throw new ConfigError(key, `must be true or false, got ${JSON.stringify(raw[key])}`, `pulumi config set ${key} true`);
  return value;
}

/** Checks an http(s) URL that must carry no credentials; returns it without a trailing slash. */
export function checkSiteUrl(key: string, value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(key, `is not a URL: ${JSON.stringify(value)}`, `pulumi config set ${key} https://example.com`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new ConfigError(key, `must use http or https, got ${url.protocol}`, `pulumi config set ${key} https://${url.host || 'example.com'}`);
  }
  if (url.username || url.password) {
    throw new ConfigError(
      key,
      'must not contain credentials (they would be stored in plain text in the stack and in SSM)',
      `remove "user:password@" from the URL and set wordpressUsername plus the secret wordpressPassword (pulumi config set --secret wordpressPassword ...)`,
    );
  }
  if (url.search || url.hash) {
    throw new ConfigError(key, 'must not contain a query or fragment', 'set the site root, e.g. https://example.com, and use a { name, url } endpoint for custom routes');
  }
  return url.toString().replace(/\/+$/, '');
}

const NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;

function endpointsOf(raw: Raw, siteUrl: string): EndpointSpec[] {
  const value = decoded(raw.endpoints);
  const list = value === undefined || value === null || value === '' ? [...DEFAULT_ENDPOINTS] : value;
  const example = 'a YAML list such as [posts, pages, { name: stats, url: "https://example.com/wp-json/custom/v1/stats" }]';
  if (!Array.isArray(list) || list.length === 0) throw new ConfigError('endpoints', 'must be a non-empty list', `set it to ${example}`);
  const seen = new Set<string>();
  // Catalog tables take `_` for `-`, so two folders may map to one table (my-stats, my_stats).
  const tables = new Map<string, string>();
  return list.map((entry, i): EndpointSpec => {
    let spec: EndpointSpec;
    if (typeof entry === 'string') {
      if (!NAME.test(entry)) throw new ConfigError('endpoints', `item ${i} "${entry}" is not a wp/v2 collection name ([a-z0-9_-])`, `use a name such as posts, or { name, url } for a custom endpoint`);
      if (tableName(entry).endsWith('_deletions')) throw new ConfigError('endpoints', `item ${i} "${entry}" ends in _deletions, which names the deletion tables`, `give it another name with { name, url }`);
      spec = { name: entry, url: `${siteUrl}/wp-json/wp/v2/${entry}`, paginate: true };
    } else if (entry && typeof entry === 'object' && !Array.isArray(entry)) {
      const { name, url, paginate, primaryKey, columns, ...rest } = entry as Record<string, unknown>;
      if (Object.keys(rest).length > 0) throw new ConfigError('endpoints', `item ${i} has unknown field(s) ${Object.keys(rest).join(', ')}`, 'use only name, url, paginate, primaryKey and columns');
      if (typeof name !== 'string' || !NAME.test(name)) throw new ConfigError('endpoints', `item ${i} needs a name of [a-z0-9_-] (it becomes the S3 folder)`, `set name, e.g. { name: stats, url: ... }`);
      if (tableName(name).endsWith('_deletions')) throw new ConfigError('endpoints', `item ${i} "${name}" ends in _deletions, which names the deletion tables`, `choose another name`);
      if (typeof url !== 'string') throw new ConfigError('endpoints', `item ${i} (${name}) needs a url`, `set url to the endpoint's absolute http(s) URL`);
      if (paginate !== undefined && typeof paginate !== 'boolean') throw new ConfigError('endpoints', `item ${i} (${name}) paginate must be true or false`, 'set paginate: true for wp/v2-style collections');
      spec = { name, url: checkEndpointUrl(i, name, url), paginate: paginate ?? false, ...declaredOf(i, name, { primaryKey, columns }) };
    } else {
      throw new ConfigError('endpoints', `item ${i} must be a name or { name, url }, got ${JSON.stringify(entry)}`, `set it to ${example}`);
    }
    if (seen.has(spec.name)) throw new ConfigError('endpoints', `lists "${spec.name}" twice`, 'give every endpoint its own name');
    seen.add(spec.name);
    const other = tables.get(tableName(spec.name));
    if (other !== undefined) throw new ConfigError('endpoints', `items "${other}" and "${spec.name}" would both be the catalog table ${tableName(spec.name)} (- becomes _ there)`, 'rename one of them');
    tables.set(tableName(spec.name), spec.name);
    return spec;
  });
}

function declaredOf(i: number, name: string, entry: { primaryKey?: unknown; columns?: unknown }) {
  try {
    return checkDeclared(entry, `item ${i} (${name})`);
  } catch (error) {
    const [problem, fix] = (error as Error).message.split('. Fix: ');
    throw new ConfigError('endpoints', problem, fix);
  }
}

function checkEndpointUrl(i: number, name: string, value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError('endpoints', `item ${i} (${name}) url is not a URL: ${JSON.stringify(value)}`, 'use an absolute http(s) URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new ConfigError('endpoints', `item ${i} (${name}) url must use http or https`, 'use an absolute http(s) URL');
  if (url.username || url.password) throw new ConfigError('endpoints', `item ${i} (${name}) url must not contain credentials`, 'remove "user:password@" and use wordpressUsername/wordpressPassword');
  return url.toString();
}

/**
 * EventBridge Scheduler expressions: `cron()` with six fields, `rate()` with a unit, or a
 * one-off `at()`. Field-level cron syntax is left to the service; these checks catch the
 * mistakes that otherwise surface only at deploy time (five-field Unix cron, missing wrapper).
 */
export function checkSchedule(value: string): string {
  const cron = /^cron\((.*)\)$/.exec(value);
  if (cron) {
    const fields = cron[1].trim().split(/\s+/);
    if (fields.length !== 6) {
      throw new ConfigError('schedule', `cron needs 6 fields (minutes hours day-of-month month day-of-week year), got ${fields.length} in "${value}"`, 'e.g. cron(0 7 * * ? *)');
    }
    if (fields[2] !== '?' && fields[4] !== '?') {
      throw new ConfigError('schedule', `cron must have "?" in day-of-month or day-of-week, got "${value}"`, 'e.g. cron(0 7 * * ? *)');
    }
    if (!fields.every((f) => /^[0-9A-Za-z*?,/#LW-]+$/.test(f))) throw new ConfigError('schedule', `has characters cron does not accept: "${value}"`, 'e.g. cron(0 7 * * ? *)');
    return value;
  }
  if (/^rate\(\s*[1-9]\d*\s+(minute|minutes|hour|hours|day|days)\s*\)$/.test(value)) return value;
  if (/^at\(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\)$/.test(value)) return value;
  throw new ConfigError('schedule', `is not a Scheduler expression: "${value}"`, 'use cron(0 7 * * ? *), rate(1 day) or at(2026-01-01T07:00:00)');
}

function checkTimezone(value: string): string {
  try {
    new Intl.DateTimeFormat('en', { timeZone: value });
  } catch {
    throw new ConfigError('timezone', `is not an IANA time zone: "${value}"`, 'e.g. Europe/London or America/New_York');
  }
  return value;
}

/** This project's keys of a stack's config, without their prefix, refusing any it does not know. */
function projectKeys(all: Record<string, unknown>): Raw {
  const raw: Raw = {};
  for (const [fullKey, value] of Object.entries(all)) {
    const [ns, key] = fullKey.includes(':') ? fullKey.split(/:(.*)/s) : [PROJECT, fullKey];
    if (ns === PROJECT) raw[key] = value;
  }
  const known = new Set<string>([...KEYS, ...SECRET_KEYS]);
  for (const key of Object.keys(raw)) {
    if (!known.has(key)) throw new ConfigError(key, 'is not a known key', `remove it (pulumi config rm ${key}); known keys: ${[...KEYS].join(', ')}`);
  }
  return raw;
}

/** The application password's user name: both halves of the password or neither, and only over https. */
function checkCredentials(raw: Raw, siteUrl: string): string | undefined {
  const wordpressUsername = str(raw, 'wordpressUsername');
  const hasPassword = raw.wordpressPassword !== undefined && raw.wordpressPassword !== '';
  if ((wordpressUsername === undefined) !== !hasPassword) {
    throw new ConfigError(
      wordpressUsername === undefined ? 'wordpressUsername' : 'wordpressPassword',
      'is needed when the other half of the application password is set',
      'set both: pulumi config set wordpressUsername <user>; pulumi config set --secret wordpressPassword <application password>',
    );
  }
  if (wordpressUsername !== undefined && !siteUrl.startsWith('https:')) {
    throw new ConfigError('wordpressUsername', 'needs an https siteUrl: an application password must never travel in clear text', 'use https in siteUrl, or remove wordpressUsername and wordpressPassword');
  }
  return wordpressUsername;
}

/**
 * Parses this project's keys, given with or without the `wordpress-lakehouse:` prefix; other
 * namespaces (aws:...) are ignored, unknown keys of ours are errors (a typo must not silently
 * fall back to a default).
 */
export function parseConfig(all: Record<string, unknown>, version = '0.1.0'): PipelineConfig {
  const raw = projectKeys(all);
  const site = str(raw, 'siteUrl');
  if (!site) throw new ConfigError('siteUrl', 'is required', 'pulumi config set siteUrl https://example.com');
  const siteUrl = checkSiteUrl('siteUrl', site);

  const alertEmail = str(raw, 'alertEmail');
  if (alertEmail !== undefined && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(alertEmail)) {
    throw new ConfigError('alertEmail', `is not an e-mail address: "${alertEmail}"`, 'pulumi config set alertEmail <an address your team reads>');
  }
  const logRetentionDays = int(raw, 'logRetentionDays', 90, 1, 3653);
  if (!(LOG_RETENTION_DAYS as readonly number[]).includes(logRetentionDays)) {
    throw new ConfigError('logRetentionDays', `must be one of CloudWatch's periods (${LOG_RETENTION_DAYS.join(', ')}), got ${logRetentionDays}`, 'pulumi config set logRetentionDays 90');
  }
  const dataSource = str(raw, 'dataSource', 'wordpress_api')!;
  if (!/^[a-z0-9][a-z0-9_-]{0,62}$/.test(dataSource)) throw new ConfigError('dataSource', `must be one folder name of [a-z0-9_-], got "${dataSource}"`, 'pulumi config set dataSource wordpress_api');
  const parquetCodec = str(raw, 'parquetCodec', 'zstd')!;
  if (parquetCodec !== 'snappy' && parquetCodec !== 'zstd') throw new ConfigError('parquetCodec', `must be snappy or zstd, got "${parquetCodec}"`, 'pulumi config set parquetCodec zstd');

  const wordpressUsername = checkCredentials(raw, siteUrl);

  const rawTimeoutSeconds = int(raw, 'rawTimeoutSeconds', 300, 10, 900);
  const requestConcurrency = int(raw, 'requestConcurrency', 4, 1, 16);
  const schedule = checkSchedule(str(raw, 'schedule', 'cron(0 7 * * ? *)')!);
  return {
    siteUrl,
    allowPrivateSite: bool(raw, 'allowPrivateSite', false),
    endpoints: endpointsOf(raw, siteUrl),
    schedule,
    timezone: checkTimezone(str(raw, 'timezone', 'Europe/London')!),
    alertEmail,
    logRetentionDays,
    dataSource,
    noncurrentVersionDays: int(raw, 'noncurrentVersionDays', 30, 1, 3650),
    rawMemoryMb: int(raw, 'rawMemoryMb', 256, 128, 10240),
    rawTimeoutSeconds,
    bronzeMemoryMb: int(raw, 'bronzeMemoryMb', 1024, 128, 10240),
    bronzeTmpMb: int(raw, 'bronzeTmpMb', 1024, 512, 10240),
    bronzeTimeoutSeconds: int(raw, 'bronzeTimeoutSeconds', 300, 10, 900),
    mapConcurrency: int(raw, 'mapConcurrency', 4, 1, 40),
    requestConcurrency,
    pagesPerTask: int(raw, 'pagesPerTask', defaultPagesPerTask(rawTimeoutSeconds, requestConcurrency), 1, 100_000),
    fanOutConcurrency: int(raw, 'fanOutConcurrency', 2, 1, 40),
    requestTimeoutSeconds: int(raw, 'requestTimeoutSeconds', 30, 1, 300),
    maxRetries: int(raw, 'maxRetries', 5, 0, 10),
    userAgent: str(raw, 'userAgent', `${PROJECT}/${version} (+https://github.com/wordpress-lakehouse/wordpress-lakehouse)`)!,
    wordpressUsername,
    parquetCodec,
    rowGroupSize: int(raw, 'rowGroupSize', 10000, 100, 1000000),
    auditTrail: bool(raw, 'auditTrail', false),
    snsKmsKeyId: str(raw, 'snsKmsKeyId', 'alias/aws/sns')!,
    incrementalOverlapMinutes: int(raw, 'incrementalOverlapMinutes', 60, 0, 10080),
    fullRefreshDays: int(raw, 'fullRefreshDays', 7, 0, 365),
    maxDeletePercent: int(raw, 'maxDeletePercent', 10, 0, 100),
    maxDeleteRows: int(raw, 'maxDeleteRows', 50, 0, 100_000_000),
    athenaResultsExpirationDays: int(raw, 'athenaResultsExpirationDays', 7, 1, 3650),
    athenaBytesScannedCutoffMb: int(raw, 'athenaBytesScannedCutoffMb', 1024, 10, 8_388_608),
    freshnessHours: checkFreshness(int(raw, 'freshnessHours', 26, 1, 168), schedule),
  };
}

/**
 * The freshness alarm must allow more than the time between two scheduled runs, or it fires
 * between every two of them. Only `rate()` says that time plainly; a cron expression's gaps are
 * the operator's to weigh (docs/operations.md).
 */
function checkFreshness(hours: number, schedule: string): number {
  const rate = /^rate\(\s*(\d+)\s+(minute|hour|day)s?\s*\)$/.exec(schedule);
  if (!rate) return hours;
  const gapHours = (Number(rate[1]) * { minute: 1, hour: 60, day: 1440 }[rate[2] as 'minute' | 'hour' | 'day']) / 60;
  if (hours > gapHours) return hours;
  const needed = Math.ceil(gapHours) + 2;
  const fix = needed <= 168 ? `pulumi config set freshnessHours ${needed}` : 'schedule a run at least every 166 hours (CloudWatch alarms look back 7 days at most)';
  throw new ConfigError('freshnessHours', `is ${hours} hours but the schedule ${schedule} starts a run only every ${gapHours} hours, so the alarm would fire between every two runs`, fix);
}

const KEYS = [
  'siteUrl', 'allowPrivateSite', 'endpoints', 'schedule', 'timezone', 'alertEmail', 'logRetentionDays', 'dataSource', 'noncurrentVersionDays',
  'rawMemoryMb', 'rawTimeoutSeconds', 'bronzeMemoryMb', 'bronzeTmpMb', 'bronzeTimeoutSeconds', 'mapConcurrency', 'requestConcurrency',
  'pagesPerTask', 'fanOutConcurrency',
  'requestTimeoutSeconds', 'maxRetries', 'userAgent', 'wordpressUsername', 'parquetCodec', 'rowGroupSize', 'auditTrail', 'snsKmsKeyId',
  'incrementalOverlapMinutes', 'fullRefreshDays', 'maxDeletePercent', 'maxDeleteRows', 'athenaResultsExpirationDays', 'athenaBytesScannedCutoffMb', 'freshnessHours',
] as const;

/** SSM parameter names of a stack: the original hierarchy under `/<project>/<stack>`, so stacks can share an account. */
export function parameterNamesFor(stack: string, siteUrl: string): {
  rawBucket: string;
  bronzeBucket: string;
  rawTopicArn: string;
  bronzeTopicArn: string;
  endpoints: string;
  credentials: string;
} {
  const prefix = `/${PROJECT}/${stack}`;
  const site = new URL(siteUrl).host.replace(/[^A-Za-z0-9_.-]/g, '_');
  return {
    rawBucket: `${prefix}/s3/lakehouse/name/raw`,
    bronzeBucket: `${prefix}/s3/lakehouse/name/bronze`,
    rawTopicArn: `${prefix}/sns/data/lakehouse/raw`,
    bronzeTopicArn: `${prefix}/sns/data/lakehouse/bronze`,
    endpoints: `${prefix}/wordpress/${site}/api/endpoints`,
    credentials: `${prefix}/wordpress/${site}/api/credentials`,
  };
}
