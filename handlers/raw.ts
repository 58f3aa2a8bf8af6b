import type { EndpointFailure, EndpointSpec, ParameterNames, PartResult, RawEvent, RawObject, RawPlan, RawSummary } from './contracts';
import type { HandlerDeps } from './aws/ports';
import { awsHandlerDeps } from './aws/clients';
import { alert, failInvocation } from './alert';
import { parseCredentials } from './wordpress/auth';
import { createLimiter, mapLimit } from './concurrency';
import { RAW_METRICS, embeddedMetrics } from './metrics';
import type { CrawlOptions } from './wordpress/crawl';
import type { ExtractContext } from './lake/extract';
import { extractEndpoint } from './lake/extract';
import type { FanOutContext } from './lake/fan-out';
import { defaultPagesPerTask, fetchPart, joinParts, planEndpoint } from './lake/fan-out';
import { parseEndpoints } from './wordpress/endpoints';
import { replayObjects } from './lake/replay';
import { defaultTransportOptions } from './wordpress/transport';

/**
 * Settings of the raw function, captured into the Lambda archive: primitives only, so the
 * serialized closure stays small and holds no secret.
 */
export interface RawOptions {
  /** Name used in alert subjects when the Lambda environment does not give one. */
  functionName: string;
  layer: 'raw';
  /** SSM parameters read at run time (bucket, topic, endpoints, optional credentials). */
  parameterNames: ParameterNames;
  /**
   * First folder of every key in the raw bucket.
   * @default 'wordpress_api'
   */
  dataSource?: string;
  /**
   * User-Agent of every request.
   * @default 'wordpress-lakehouse/0.1'
   */
  userAgent?: string;
  /**
   * Deadline of one request attempt, headers and body.
   * @default 30000
   */
  requestTimeoutMs?: number;
  /**
   * Retries per request on 408/429/5xx and network errors.
   * @default 4
   */
  maxRetries?: number;
  /**
   * Base of the exponential backoff (full jitter) between retries.
   * @default 500
   */
  retryBaseDelayMs?: number;
  /**
   * Ceiling of one backoff wait.
   * @default 20000
   */
  maxRetryDelayMs?: number;
  /**
   * Ceiling on how long a server's `Retry-After` is honoured.
   * @default 60000
   */
  maxRetryAfterMs?: number;
  /**
   * Requests in flight for the whole invocation; also how many endpoints, and how many pages of
   * one endpoint, are worked on at once (so at most this many pages per endpoint wait in memory).
   * @default 4
   */
  concurrency?: number;
  /**
   * Items per page.
   * @default 100
   */
  perPage?: number;
  /**
   * Largest response body accepted.
   * @default 67108864 (64 MiB)
   */
  maxPageBytes?: number;
  /**
   * Minutes subtracted from the high-water mark in an incremental request, so an item saved
   * while the last run was reading is fetched again (and merged, not doubled).
   * @default 60
   */
  incrementalOverlapMinutes?: number;
  /**
   * A full crawl at least every this many days; 0 makes every run full.
   * @default 7
   */
  fullRefreshDays?: number;
  /**
   * Pages one task of a fanned-out full crawl fetches; an endpoint of more pages is split.
   * @default defaultPagesPerTask(300, concurrency): half of a 300 s timeout at 2 s a page
   */
  pagesPerTask?: number;
}

interface Prepared {
  topicArn: string;
  bucket: string;
  dataSource: string;
  endpoints: EndpointSpec[];
  crawlOptions: CrawlOptions;
  context: FanOutContext;
  concurrency: number;
}

/** Reads and checks the parameters, and settles what this invocation works on; alerts and throws when it cannot. */
async function prepare(deps: HandlerDeps, options: RawOptions, event: RawEvent): Promise<Prepared> {
  const { topicArn, rawBucket, bronzeBucket, endpoints, credentials } = await rawParameters(deps, options.parameterNames);
  const { selected, accepted } = await selection(deps, topicArn, endpoints, event);
  const concurrency = options.concurrency ?? 4;
  const crawlOptions: CrawlOptions = {
    ...defaultTransportOptions,
    ...(options.userAgent !== undefined && { userAgent: options.userAgent }),
    ...(options.requestTimeoutMs !== undefined && { timeoutMs: options.requestTimeoutMs }),
    ...(options.maxRetries !== undefined && { maxRetries: options.maxRetries }),
    ...(options.retryBaseDelayMs !== undefined && { retryBaseDelayMs: options.retryBaseDelayMs }),
    ...(options.maxRetryDelayMs !== undefined && { maxRetryDelayMs: options.maxRetryDelayMs }),
    ...(options.maxRetryAfterMs !== undefined && { maxRetryAfterMs: options.maxRetryAfterMs }),
    ...(options.maxPageBytes !== undefined && { maxBodyBytes: options.maxPageBytes }),
    credentials,
    limiter: createLimiter(concurrency),
    perPage: options.perPage ?? 100,
    pageConcurrency: concurrency + 1,
  };
  const dataSource = options.dataSource ?? 'wordpress_api';
  const context: FanOutContext = {
    rawBucket,
    bronzeBucket,
    dataSource,
    runId: typeof event?.runId === 'string' && event.runId !== '' ? event.runId : `manual-${new Date().toISOString().replace(/[:.]/g, '-')}`,
    fullRefresh: event?.execution?.fullRefresh === true,
    acceptDeletions: accepted,
    replay: event?.execution?.replay === true ? 'last-full' : event?.execution?.replay === 'all' ? 'all' : undefined,
    overlapMinutes: options.incrementalOverlapMinutes ?? 60,
    fullRefreshDays: options.fullRefreshDays ?? 7,
    pagesPerTask: options.pagesPerTask ?? defaultPagesPerTask(300, concurrency),
    perPage: crawlOptions.perPage,
  };
  return { topicArn, bucket: rawBucket, dataSource, endpoints: selected, crawlOptions, context, concurrency };
}

/** Alerts and throws a failure of the whole invocation, in the words the original pipeline used. */
function rawFailure(deps: HandlerDeps, topicArn: string, reason: string, fields: Record<string, unknown>): Promise<never> {
  return failInvocation(deps, topicArn, `WordPress API Raw process failed: ${reason}`, fields);
}

/** The parameters, each checked; without the topic there is nowhere to alert, so that one only throws. */
async function rawParameters(deps: HandlerDeps, names: ParameterNames) {
  const wanted = [names.rawTopicArn, names.rawBucket, names.bronzeBucket, names.endpoints, ...(names.credentials ? [names.credentials] : [])];
  const values = await deps.parameters.get(wanted);
  const topicArn = values.get(names.rawTopicArn);
  if (!topicArn) {
    const message = `WordPress API Raw process failed: SSM parameter ${names.rawTopicArn} (raw topic ARN) is missing or empty, so no alert can be sent`;
    deps.log.error(message, { missing: [names.rawTopicArn] });
    throw new Error(message);
  }
  const missing = [
    [names.rawBucket, 'raw bucket name'],
    [names.bronzeBucket, 'bronze bucket name'],
    [names.endpoints, 'WordPress endpoints'],
    ...(names.credentials ? [[names.credentials, 'WordPress credentials']] : []),
  ].filter(([name]) => !values.get(name));
  if (missing.length > 0) {
    return rawFailure(deps, topicArn, `SSM parameter(s) missing or empty: ${missing.map(([name, what]) => `${name} (${what})`).join(', ')}`, { missing: missing.map(([name]) => name) });
  }
  const parsed = <T>(name: string, parse: (text: string) => T): T | Promise<never> => {
    try {
      return parse(values.get(name)!);
    } catch (error) {
      return rawFailure(deps, topicArn, `SSM parameter ${name} is invalid: ${(error as Error).message}`, { parameter: name });
    }
  };
  const endpoints = await parsed(names.endpoints, parseEndpoints);
  const credentials = names.credentials ? await parsed(names.credentials, parseCredentials) : undefined;
  return { topicArn, rawBucket: values.get(names.rawBucket)!, bronzeBucket: values.get(names.bronzeBucket)!, endpoints, credentials };
}

/** The endpoints this invocation works on (one, when the event names it) and the deletions it accepts. */
async function selection(deps: HandlerDeps, topicArn: string, endpoints: EndpointSpec[], event: RawEvent): Promise<{ selected: EndpointSpec[]; accepted: string[] }> {
  const known = endpoints.map((e) => e.name).join(', ');
  // A misspelt acceptance would let the guard stop the run again, or accept nothing: refuse it whole.
  const accepted = event?.execution?.acceptDeletions ?? [];
  if (!Array.isArray(accepted) || !accepted.every((name) => typeof name === 'string' && endpoints.some((e) => e.name === name))) {
    return rawFailure(deps, topicArn, `the execution input's acceptDeletions must list endpoint names of this stack (${known}), e.g. {"acceptDeletions": ["posts"]}; got ${JSON.stringify(accepted)}`, { acceptDeletions: accepted });
  }
  if (event?.endpoint === undefined) return { selected: endpoints, accepted };
  const chosen = endpoints.find((e) => e.name === event.endpoint);
  if (!chosen) return rawFailure(deps, topicArn, `unknown endpoint ${JSON.stringify(event.endpoint)}; known endpoints: ${known}`, { endpoint: event.endpoint });
  return { selected: [chosen], accepted };
}

/**
 * The raw layer: every selected endpoint is crawled into a temporary JSON array file and, only
 * when the whole endpoint succeeded, uploaded over yesterday's object, so a failed crawl never
 * replaces good data with a partial one. Endpoints fail independently; configuration errors fail
 * the invocation.
 */
export async function runRaw(deps: HandlerDeps, options: RawOptions, event: RawEvent): Promise<RawSummary> {
  const { topicArn, bucket, dataSource, endpoints, crawlOptions, context, concurrency } = await prepare(deps, options, event);
  const outcomes = await mapLimit(endpoints, concurrency, (spec) => extractOne(deps, context, spec, crawlOptions));

  const summary: RawSummary = { succeeded: [], failed: [], objects: [] };
  for (const outcome of outcomes) {
    if ('error' in outcome) summary.failed.push(outcome);
    else {
      summary.succeeded.push(outcome[0].endpoint);
      summary.objects.push(...outcome);
      if (!context.replay) logFigures(deps, outcome[0]);
    }
  }
  if (summary.failed.length > 0) await alertFailures(deps, { topicArn, bucket, dataSource }, summary.failed, endpoints.length);
  deps.log.info(`WordPress API Raw process complete: ${summary.succeeded.length} Successful | ${summary.failed.length} Failed`, {
    successful: summary.succeeded.length,
    failed: summary.failed.length,
    failedEndpoints: summary.failed.map((f) => f.endpoint),
  });
  return summary;
}

/**
 * Every event the raw function takes: a step of a fanned-out crawl (`plan`, `part`, `join`, one
 * endpoint each), or the extraction of one or all endpoints.
 */
export async function runRawTask(deps: HandlerDeps, options: RawOptions, event: RawEvent): Promise<RawSummary | RawPlan | PartResult> {
  if (!event?.plan && !event?.part && !event?.join) return runRaw(deps, options, event ?? {});
  if (typeof event.endpoint !== 'string') throw new Error('a plan, part or join event names its endpoint ({ "endpoint": "posts", ... })');
  const prepared = await prepare(deps, options, event);
  const { crawlOptions, context } = prepared;
  const spec = prepared.endpoints[0];
  const step = event.plan ? 'plan' : event.part ? `part ${event.part.index}` : 'join';
  try {
    if (event.plan) {
      const plan = await planEndpoint(deps, context, spec, crawlOptions);
      if (plan.failed.length > 0) await alertFailures(deps, prepared, plan.failed, 1);
      return plan;
    }
    if (event.part) return await fetchPart(deps, context, spec, event.part, crawlOptions);
    const object = await joinParts(deps, context, spec, event.join!.plan, event.join!.parts);
    logFigures(deps, object);
    return { succeeded: [spec.name], failed: [], objects: [object] };
  } catch (error) {
    const failure = { endpoint: spec.name, error: `${step}: ${(error as Error).message}` };
    deps.log.error('endpoint failed', { endpoint: spec.name, step, error: failure.error });
    await alertFailures(deps, prepared, [failure], 1);
    // A plan answers with the failure (the state machine's Choice routes it); a part or join
    // throws, which stops the endpoint's other parts.
    if (event.plan) return { endpoint: spec.name, failed: [failure] };
    throw error;
  }
}

async function extractOne(deps: HandlerDeps, context: ExtractContext, spec: EndpointSpec, options: CrawlOptions): Promise<RawObject[] | EndpointFailure> {
  const started = Date.now();
  try {
    return context.replay ? await replayObjects(deps, context, spec) : [await extractEndpoint(deps, context, spec, options)];
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    deps.log.error('endpoint failed', { endpoint: spec.name, error: message, ms: Date.now() - started });
    return { endpoint: spec.name, error: message };
  }
}

/** An extracted endpoint's figures as CloudWatch metrics (embedded in the log line), for the dashboard. */
function logFigures(deps: HandlerDeps, object: RawObject): void {
  deps.log.info(`${object.endpoint}: raw figures`, { endpoint: object.endpoint, ...embeddedMetrics(RAW_METRICS, { items: object.items, bytes: object.bytes, duration: object.ms }) });
}

/**
 * One alert line per cause: endpoints that failed the same way (a site down, a WAF in front of
 * every route) are named together, the cause told once with the first request it hit. A cause is
 * the error without its request (`GET <url> -> ` or `GET <url>: `), which differs per endpoint.
 */
export function failureLines(failed: EndpointFailure[]): string[] {
  const request = /GET \S+(?: ->|:) /;
  const groups = new Map<string, EndpointFailure[]>();
  for (const f of failed) {
    const cause = f.error.replace(request, '');
    groups.set(cause, [...(groups.get(cause) ?? []), f]);
  }
  return [...groups].map(([cause, same]) => {
    if (same.length === 1) return `- ${same[0].endpoint}: ${same[0].error}`;
    const first = request.exec(same[0].error)?.[0].replace(/(?: ->|:) $/, '');
    return `- ${same.map((f) => f.endpoint).join(', ')}: ${cause}${first ? ` (first request: ${first})` : ''}`;
  });
}

/** The raw topic's alert for endpoints that failed in this invocation. */
async function alertFailures(deps: HandlerDeps, where: Pick<Prepared, 'topicArn' | 'bucket' | 'dataSource'>, failed: EndpointFailure[], of: number): Promise<void> {
  const lines = failureLines(failed);
  await alert(
    deps,
    where.topicArn,
    `${deps.functionName}: Ran With Failures`,
    `WordPress API Raw process ran with ${failed.length} failed endpoint(s) of ${of} (${failed.map((f) => f.endpoint).join(', ')}). Nothing of theirs was written to s3://${where.bucket}/${where.dataSource}/, and bronze keeps their tables.\n${lines.join('\n')}`,
  );
}

/**
 * `callbackFactory` of the raw function's CallbackFunction: the outer function runs once per cold
 * start (clients are reused across invocations), the inner one per invocation. Captures only
 * `options` and module functions.
 */
export function rawCallbackFactory(options: RawOptions): () => (event: RawEvent) => Promise<RawSummary | RawPlan | PartResult> {
  return () => {
    const deps = awsHandlerDeps(options.functionName, options.layer);
    return (event: RawEvent) => runRawTask(deps, options, event ?? {});
  };
}
