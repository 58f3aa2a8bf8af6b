import { createWriteStream } from 'node:fs';
import { appendFile, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { dirname, join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { parse as parseYaml } from 'yaml';
import type { HandlerDeps, Notifier, ParameterReader } from '../handlers/aws/ports';
import { getStream, listKeys } from '../handlers/aws/s3';
import { runBronze } from '../handlers/bronze';
import type { BronzeEvent, BronzeObject, BronzeSummary, ManifestEvent, PartResult, RawEvent, RawObject, RawPlan, RawSummary } from '../handlers/contracts';
import { manifestKey } from '../handlers/lake/layout';
import { createLogger, type LogSink } from '../handlers/log';
import { runRawTask, type RawOptions } from '../handlers/raw';
import { runSilver, type SilverEvent, type SilverSummary } from '../handlers/silver';
import { ConfigError, type PipelineConfig, parameterNamesFor, parseConfig } from '../pipeline/config';
import { bronzeHandlerOptions, rawHandlerOptions, silverBucketParameterName, silverHandlerOptions, stateMachineSettings } from '../pipeline/handler-options';
import { STATES, STATE_MACHINE_NAME, type StateMachineSettings, buildDefinition } from '../pipeline/state-machine';
import { s3ClientFor, startEmbeddedS3 } from './embedded-s3';

export interface LocalRunOptions {
  /** Project folder holding `Pulumi.<stack>.yaml`. */
  projectDir: string;
  /** @default dev */
  stack: string;
  /** Overrides the stack's siteUrl. */
  site?: string;
  /** Names of endpoints to run (a subset of the stack's, or wp/v2 collection names). */
  endpoints?: string[];
  /** Output folder. @default .lakehouse */
  out: string;
  /** Overrides mapConcurrency and requestConcurrency. */
  concurrency?: number;
  /** Overrides pagesPerTask: a full crawl of more pages is split into parts of this many. */
  pagesPerTask?: number;
  /** Starts the execution with `{ "fullRefresh": true }`: every endpoint crawled in full. @default false */
  fullRefresh?: boolean;
  /** Starts the execution with `{ "acceptDeletions": [...] }`: these endpoints may delete beyond the guard. @default none */
  acceptDeletions?: string[];
  /** Starts the execution with `{ "replay": true }` (or `"all"`): bronze rebuilt from raw history, no request to the site. @default false */
  replay?: boolean | 'all';
  /** Called for every structured log line of the handlers and every alert. */
  onEvent?: (event: LocalEvent) => void;
  /**
   * Hooks for the fault-injection tests (test/reliability); none changes the definition's
   * shape, and none is reachable from the command line.
   * @default none
   */
  testing?: LocalTestingHooks;
}

/** Test-only knobs of {@link runLocal}, so fault cases run in milliseconds instead of minutes. */
export interface LocalTestingHooks {
  /** Raw handler settings the stack config cannot express (milliseconds, page size, body cap). */
  rawOptions?: Partial<Pick<RawOptions, 'requestTimeoutMs' | 'maxRetries' | 'retryBaseDelayMs' | 'maxRetryDelayMs' | 'maxRetryAfterMs' | 'perPage' | 'maxPageBytes'>>;
  /** The run id (execution name) instead of a fresh one, e.g. to run the same id twice. */
  runId?: string;
  /** State machine settings over the stack's, e.g. `{ rawTimeoutSeconds: 1, taskTimeoutMarginSeconds: 0 }`. */
  stateMachine?: Partial<StateMachineSettings>;
  /** Wait of every ASL Retry, in ms, instead of IntervalSeconds/BackoffRate/jitter (aws-local-stepfunctions' retryIntervalOverrides). */
  retryIntervalMs?: number;
  /** Wraps a Task state's local handler (keys are state names); `real` is the handler it replaces. */
  wrapTasks?: Record<string, (input: any, real: (input: any) => Promise<any>) => Promise<unknown>>;
  /** Endpoint the handlers' S3 client uses instead of the embedded S3's (e.g. a fault proxy in front of it). */
  handlerS3Endpoint?: (embeddedEndpoint: string) => string | Promise<string>;
}

export type LocalEvent =
  | { kind: 'log'; layer: 'raw' | 'bronze' | 'silver'; line: Record<string, unknown> }
  | { kind: 'alert'; topic: string; subject: string; message: string };

export interface EndpointReport {
  endpoint: string;
  ok: boolean;
  mode?: 'full' | 'incremental';
  /** Listing requests (`_fields=id`) of an incremental run or a split full crawl. */
  idPages?: number;
  /** Raw tasks a split full crawl ran as. */
  parts?: number;
  upserted?: number;
  deleted?: number;
  /** Of the upserted, rows that changed with the same `modified_gmt` (BronzeObject.restated). */
  restated?: number;
  /** How rows are matched across runs (BronzeObject.keyedBy). */
  keyedBy?: string[] | 'content';
  items?: number;
  pages?: number;
  bytes?: number;
  rows?: number;
  columns?: number;
  parquetBytes?: number;
  empty?: boolean;
  ms: number;
  error?: string;
}

export interface LocalRunResult {
  runId: string;
  status: 'SUCCEEDED' | 'FAILED';
  /** The execution's error when it failed (the Fail state's Error and Cause). */
  error?: string;
  endpoints: EndpointReport[];
  summaryPath: string;
  out: string;
  /** The run manifest the state machine had the bronze function write (absent if it could not). */
  manifest?: Record<string, unknown>;
  /** What the silver function built and skipped, or why it failed (absent when it did not run). */
  silver?: SilverSummary | { error: string };
}

/** The buckets of the embedded S3; their objects are mirrored as plain files under `<out>/<bucket>/`. */
const BUCKETS = { raw: 'raw', bronze: 'bronze', silver: 'silver' } as const;
const LOCAL_ACCOUNT = '000000000000';

/** The stack `npm start` reads unless told otherwise: the local one, never the one CI deploys. */
export const LOCAL_STACK = 'dev';

/** Reads the `config:` map of `Pulumi.<stack>.yaml`, the same values `pulumi up` would use. */
export async function readStackConfig(projectDir: string, stack: string): Promise<Record<string, unknown>> {
  const file = join(projectDir, `Pulumi.${stack}.yaml`);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw new ConfigError('--stack', `has no stack file ${file}`, `create it (pulumi stack init ${stack}; pulumi config set siteUrl ...) or pass --stack with an existing stack`);
  }
  const doc = parseYaml(text) as { config?: Record<string, unknown> } | null;
  return doc?.config ?? {};
}

/** The stack's config with the command line's overrides applied, validated by the same parser as the program. */
export function localConfig(stackConfig: Record<string, unknown>, options: Pick<LocalRunOptions, 'site' | 'endpoints' | 'concurrency' | 'pagesPerTask'>): PipelineConfig {
  const values: Record<string, unknown> = { ...stackConfig };
  const key = (k: string) => `wordpress-lakehouse:${k}`;
  // Secrets are encrypted in stack files and never read locally: credentials come from the environment.
  delete values[key('wordpressPassword')];
  delete values[key('wordpressUsername')];
  if (options.site) values[key('siteUrl')] = options.site;
  if (options.endpoints) {
    const configured = (parseConfig(values).endpoints ?? []) as PipelineConfig['endpoints'];
    values[key('endpoints')] = options.endpoints.map((name) => {
      const custom = configured.find((e) => e.name === name && !e.paginate);
      return custom ?? name;
    });
  }
  if (options.concurrency !== undefined) {
    values[key('mapConcurrency')] = options.concurrency;
    values[key('requestConcurrency')] = Math.min(options.concurrency, 16);
  }
  if (options.pagesPerTask !== undefined) values[key('pagesPerTask')] = options.pagesPerTask;
  return parseConfig(values);
}

function mapParameters(values: Record<string, string>): ParameterReader {
  return {
    async get(names) {
      return new Map(names.filter((n) => values[n]).map((n) => [n, values[n]] as [string, string]));
    },
  };
}

/**
 * Runs the pipeline on this machine: the ASL definition that Orchestration deploys, executed by
 * aws-local-stepfunctions, with its Task states bound to the real handlers in-process, an
 * embedded S3 (s3rver) holding the buckets in `<out>/.s3`, parameters from the stack file, and
 * alerts appended to `<out>/alerts.jsonl`.
 */
export async function runLocal(options: LocalRunOptions): Promise<LocalRunResult> {
  const config = localConfig(await readStackConfig(options.projectDir, options.stack), options);
  const runId = options.testing?.runId ?? `${new Date().toISOString().replace(/[:.]/g, '-')}-${randomUUID().slice(0, 8)}`;
  const out = options.out;
  await mkdir(join(out, 'runs'), { recursive: true });
  const s3 = await startEmbeddedS3(join(out, '.s3'), Object.values(BUCKETS));

  const names = parameterNamesFor(options.stack, config.siteUrl);
  const topics = { raw: 'local:data-lakehouse-raw', bronze: 'local:data-lakehouse-bronze', failure: 'local:failure-stepfunction' };
  const silverBucketName = silverBucketParameterName(options.stack);
  const values: Record<string, string> = {
    [names.rawBucket]: BUCKETS.raw,
    [names.bronzeBucket]: BUCKETS.bronze,
    [silverBucketName]: BUCKETS.silver,
    [names.rawTopicArn]: topics.raw,
    [names.bronzeTopicArn]: topics.bronze,
    [names.endpoints]: JSON.stringify(config.endpoints),
  };
  const username = process.env.WORDPRESS_USERNAME;
  const password = process.env.WORDPRESS_APPLICATION_PASSWORD;
  if (username && password) values[names.credentials] = JSON.stringify({ username, password });

  const logFile = join(out, 'runs', `${runId}.log.jsonl`);
  // Log lines arrive synchronously from the handlers; appends are chained so the file keeps their
  // order, and awaited before returning so the file is whole (and no write outlives the run).
  let logWrites: Promise<void> = Promise.resolve();
  const notifier: Notifier = {
    async publish(topic, subject, message) {
      options.onEvent?.({ kind: 'alert', topic, subject, message });
      await appendFile(join(out, 'alerts.jsonl'), `${JSON.stringify({ runId, at: new Date().toISOString(), topic, subject, message })}\n`);
    },
  };
  const testing = options.testing ?? {};
  const handlerS3 = testing.handlerS3Endpoint ? s3ClientFor(await testing.handlerS3Endpoint(s3.endpoint)) : s3.client;
  const deps = (layer: 'raw' | 'bronze' | 'silver', functionName: string): HandlerDeps => {
    const sink: LogSink = (line) => {
      logWrites = logWrites.then(() => appendFile(logFile, `${line}\n`));
      options.onEvent?.({ kind: 'log', layer, line: JSON.parse(line) });
    };
    return { s3: handlerS3, parameters: mapParameters(values), notifier, log: createLogger({ function: functionName, layer }, sink), functionName };
  };
  const rawDeps = deps('raw', STATES.raw);
  const bronzeDeps = deps('bronze', STATES.bronze);
  const parameterNames = { ...names, credentials: values[names.credentials] ? names.credentials : undefined };
  const rawOptions: RawOptions = { ...rawHandlerOptions(config, STATES.raw, parameterNames), ...testing.rawOptions };
  const bronzeOptions = bronzeHandlerOptions(config, STATES.bronze, parameterNames);
  const silverDeps = deps('silver', STATES.silver);
  const silverOptions = silverHandlerOptions(config, STATES.silver, { bronzeBucket: names.bronzeBucket, silverBucket: silverBucketName });
  let silver: LocalRunResult['silver'];

  const started = new Map<string, number>();
  const reports = new Map<string, EndpointReport>();
  const report = (endpoint: string, patch: Partial<EndpointReport>) => {
    const current = reports.get(endpoint) ?? { endpoint, ok: false, ms: 0 };
    reports.set(endpoint, { ...current, ...patch, ms: Date.now() - (started.get(endpoint) ?? Date.now()) });
  };

  const { StateMachine } = require('aws-local-stepfunctions') as typeof import('aws-local-stepfunctions');
  const definition = buildDefinition(
    {
      rawFunctionArn: `arn:aws:lambda:local:${LOCAL_ACCOUNT}:function:${STATES.raw}`,
      bronzeFunctionArn: `arn:aws:lambda:local:${LOCAL_ACCOUNT}:function:${STATES.bronze}`,
      failureTopicArn: `arn:aws:sns:local:${LOCAL_ACCOUNT}:failure-stepfunction`,
      endpointsParameterName: names.endpoints,
      silver: { functionArn: `arn:aws:lambda:local:${LOCAL_ACCOUNT}:function:${STATES.silver}`, topicArn: `arn:aws:sns:local:${LOCAL_ACCOUNT}:data-lakehouse-silver` },
    },
    { ...stateMachineSettings(config), ...testing.stateMachine },
  );
  const machine = new StateMachine(definition as any);

  // lambda:invoke answers { StatusCode, Payload }; the definition's ResultSelector reads $.Payload.
  const invoke = <E, R>(run: (event: E) => Promise<R>) => async (input: any) => ({ StatusCode: 200, Payload: (await run(input.Payload as E)) as any });
  /** What a raw summary says of its endpoint in the run's report. */
  const rawReport = (summary: RawSummary): Partial<EndpointReport> => {
    const object: RawObject | undefined = summary.objects[0];
    const failure = summary.failed[0];
    return failure ? { ok: false, error: `raw: ${failure.error}` } : { mode: object?.mode, items: object?.items, pages: object?.pages, idPages: object?.idPages, bytes: object?.bytes };
  };
  /** A Task bound to the raw function: its answer and its error reach the endpoint's report. */
  const rawStep = <R>(summarise: (result: R) => Partial<EndpointReport> | undefined, how: { starts?: boolean } = {}) =>
    invoke(async (event: RawEvent) => {
      const endpoint = event.endpoint ?? '';
      if (how.starts) started.set(endpoint, Date.now());
      try {
        const result = (await runRawTask(rawDeps, rawOptions, event)) as R;
        const patch = summarise(result);
        if (patch) report(endpoint, patch);
        return result;
      } catch (error) {
        report(endpoint, { ok: false, error: `raw: ${event.part ? `part ${event.part.index}: ` : ''}${(error as Error).message}` });
        throw error;
      }
    });
  const overrides: Record<string, (input: any) => Promise<any>> = {
    [STATES.listEndpoints]: async (input) => ({ Parameter: { Name: input.Name, Value: values[input.Name] } }),
    [STATES.plan]: rawStep<RawPlan>((plan) => (plan.failed[0] ? { ok: false, error: `raw: ${plan.failed[0].error}` } : plan.fanOut ? { parts: plan.fanOut.parts.length } : undefined), { starts: true }),
    [STATES.fetchPart]: rawStep<PartResult>(() => undefined),
    [STATES.joinParts]: rawStep<RawSummary>(rawReport),
    [STATES.raw]: rawStep<RawSummary>(rawReport),
    [STATES.bronze]: invoke(async (event: BronzeEvent) => {
      const endpoint = 'objects' in event && Array.isArray(event.objects) ? String(event.objects[0]?.endpoint ?? '') : '';
      try {
        const summary: BronzeSummary = await runBronze(bronzeDeps, bronzeOptions, event);
        const object: BronzeObject | undefined = summary.objects[0];
        const failure = summary.failed[0];
        report(
          endpoint,
          failure
            ? { ok: false, error: `bronze: ${failure.error}` }
            : { ok: true, rows: object?.rows, columns: object?.columns, parquetBytes: object?.bytes, empty: object?.empty, upserted: object?.upserted, deleted: object?.deleted, restated: object?.restated, keyedBy: object?.keyedBy },
        );
        return summary;
      } catch (error) {
        report(endpoint, { ok: false, error: `bronze: ${(error as Error).message}` });
        throw error;
      }
    }),
    [STATES.writeManifest]: invoke((event: ManifestEvent) => runBronze(bronzeDeps, bronzeOptions, event)),
    [STATES.silver]: invoke(async (event: SilverEvent) => {
      try {
        silver = await runSilver(silverDeps, silverOptions, event);
        return silver;
      } catch (error) {
        silver = { error: (error as Error).message };
        throw error;
      }
    }),
    [STATES.publishSilverFailure]: async (input) => {
      await notifier.publish(input.TopicArn, input.Subject, input.Message);
      return { MessageId: randomUUID() };
    },
    [STATES.publishFailure]: async (input) => {
      // Failures the state machine caught before a handler ran or reported (a task timeout,
      // Lambda throttling, a throwing override) reach the summary only through this message.
      for (const failed of parseFailures(input.Message)) {
        if (reports.get(failed.endpoint)?.error === undefined) report(failed.endpoint, { ok: false, error: `${failed.stage}: ${failed.error}` });
      }
      await notifier.publish(input.TopicArn, input.Subject, input.Message);
      return { MessageId: randomUUID() };
    },
  };
  for (const [state, wrap] of Object.entries(testing.wrapTasks ?? {})) {
    const real = overrides[state];
    overrides[state] = (input) => wrap(input, real) as Promise<any>;
  }
  const retryIntervalOverrides =
    testing.retryIntervalMs === undefined ? undefined : Object.fromEntries([STATES.listEndpoints, STATES.plan, STATES.fetchPart, STATES.joinParts, STATES.raw, STATES.bronze, STATES.writeManifest, STATES.silver, STATES.publishSilverFailure, STATES.publishFailure].map((state) => [state, testing.retryIntervalMs!]));

  let status: LocalRunResult['status'] = 'SUCCEEDED';
  let error: string | undefined;
  try {
    const input = { trigger: 'local', ...(options.fullRefresh && { fullRefresh: true }), ...(options.acceptDeletions && { acceptDeletions: options.acceptDeletions }), ...(options.replay && { replay: options.replay }) };
    const execution = machine.run(input, {
      overrides: { taskResourceLocalHandlers: overrides, retryIntervalOverrides },
      context: { Execution: { Id: `arn:aws:states:local:${LOCAL_ACCOUNT}:execution:${STATE_MACHINE_NAME}:${runId}`, Name: runId, StartTime: new Date().toISOString(), Input: input } } as any,
    });
    await execution.result;
  } catch (caught) {
    status = 'FAILED';
    error = caught instanceof Error ? caught.message : String(caught);
  } finally {
    try {
      await mirrorBuckets(s3.client, out, config.dataSource);
    } finally {
      if (handlerS3 !== s3.client) handlerS3.destroy();
      await s3.stop();
    }
  }

  const endpoints = config.endpoints.map((e) => reports.get(e.name) ?? { endpoint: e.name, ok: false, ms: 0, error: 'not run' });
  const manifest = await readManifest(join(out, BUCKETS.bronze, ...manifestKey(config.dataSource, runId).split('/')));
  const summaryPath = join(out, 'runs', `${runId}.json`);
  await writeFile(summaryPath, `${JSON.stringify({ runId, stack: options.stack, site: config.siteUrl, status, error, endpoints, manifest, silver }, null, 2)}\n`);
  await logWrites;
  return { runId, status, error, endpoints, summaryPath, out, manifest, silver };
}

async function readManifest(path: string): Promise<Record<string, unknown> | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** The `[{ endpoint, stage, error }]` of a PublishFailure message (see state-machine.ts), or none. */
function parseFailures(message: string): Array<{ endpoint: string; stage: string; error: string }> {
  try {
    const list = JSON.parse(message.slice(message.indexOf(' failed: ') + ' failed: '.length)) as Array<Record<string, unknown>>;
    return list
      .filter((f) => typeof f?.endpoint === 'string')
      .map((f) => {
        const e = f.error as { Error?: string; Cause?: string } | string | undefined;
        return { endpoint: f.endpoint as string, stage: String(f.stage), error: typeof e === 'string' ? e : `${e?.Error ?? 'Error'}: ${e?.Cause ?? ''}`.trim() };
      });
  } catch {
    return [];
  }
}

/**
 * Writes every object of the buckets as a plain file under `<out>/<bucket>/<key>`, so DuckDB or
 * pandas read them directly. Objects of endpoints that failed this run are yesterday's, untouched
 * in S3, so their files stay as they were. Each file is replaced by a rename, never half-written.
 */
async function mirrorBuckets(s3: HandlerDeps['s3'], out: string, dataSource: string): Promise<void> {
  for (const bucket of Object.values(BUCKETS)) {
    for (const key of await listKeys(s3, bucket, `${dataSource}/`)) {
      const target = join(out, bucket, ...key.split('/'));
      await mkdir(dirname(target), { recursive: true });
      await pipeline(await getStream(s3, bucket, key), createWriteStream(`${target}.tmp`));
      await rename(`${target}.tmp`, target);
    }
  }
}
