import { createWriteStream } from 'node:fs';
import { appendFile, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { dirname, join } from 'node:path';
import { randomUUID } from 'node:crypto';
import type { StateMachine } from 'aws-local-stepfunctions';
import { parse as parseYaml } from 'yaml';
import type { HandlerDeps, Notifier } from '../handlers/aws/ports';
import { getStream, listKeys } from '../handlers/aws/s3';
import type { ParameterNames } from '../handlers/contracts';
import { manifestKey } from '../handlers/lake/layout';
import type { LogSink } from '../handlers/log';
import type { RawOptions } from '../handlers/raw';
import type { SilverSummary } from '../handlers/silver';
import { ConfigError, type PipelineConfig, parameterNamesFor, parseConfig } from '../pipeline/config';
import { bronzeHandlerOptions, rawHandlerOptions, silverBucketParameterName, silverHandlerOptions, stateMachineSettings } from '../pipeline/handler-options';
import { STATES, STATE_MACHINE_NAME, type StateMachineSettings, buildDefinition } from '../pipeline/state-machine';
import { s3ClientFor, startEmbeddedS3 } from './embedded-s3';
import { type TaskEnvironment, type TaskHandler, localTasks } from './tasks';

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

/** The SSM parameters the stack would create, pointing at the embedded buckets and local topics. */
interface LocalParameters {
  values: Record<string, string>;
  /** The names the handlers read; `credentials` only when the environment supplies them. */
  names: ParameterNames;
  silverBucket: string;
}

function localParameters(stack: string, config: PipelineConfig): LocalParameters {
  const names = parameterNamesFor(stack, config.siteUrl);
  const silverBucket = silverBucketParameterName(stack);
  const values: Record<string, string> = {
    [names.rawBucket]: BUCKETS.raw,
    [names.bronzeBucket]: BUCKETS.bronze,
    [silverBucket]: BUCKETS.silver,
    [names.rawTopicArn]: 'local:data-lakehouse-raw',
    [names.bronzeTopicArn]: 'local:data-lakehouse-bronze',
    [names.endpoints]: JSON.stringify(config.endpoints),
  };
  const username = process.env.WORDPRESS_USERNAME;
  const password = process.env.WORDPRESS_APPLICATION_PASSWORD;
  if (username && password) values[names.credentials] = JSON.stringify({ username, password });
  return { values, names: { ...names, credentials: values[names.credentials] ? names.credentials : undefined }, silverBucket };
}

/** The run's log (`<out>/runs/<run id>.log.jsonl`) and alerts (`<out>/alerts.jsonl`), also passed to `onEvent`. */
interface RunJournal {
  notifier: Notifier;
  sink: (layer: 'raw' | 'bronze' | 'silver') => LogSink;
  /** Resolves once every log line is in the file. */
  flushed: () => Promise<void>;
}

function runJournal(out: string, runId: string, onEvent: LocalRunOptions['onEvent']): RunJournal {
  const logFile = join(out, 'runs', `${runId}.log.jsonl`);
  // Log lines arrive synchronously from the handlers; appends are chained so the file keeps their
  // order, and awaited before returning so the file is whole (and no write outlives the run).
  let logWrites: Promise<void> = Promise.resolve();
  return {
    notifier: {
      async publish(topic, subject, message) {
        onEvent?.({ kind: 'alert', topic, subject, message });
        await appendFile(join(out, 'alerts.jsonl'), `${JSON.stringify({ runId, at: new Date().toISOString(), topic, subject, message })}\n`);
      },
    },
    sink: (layer) => (line) => {
      logWrites = logWrites.then(() => appendFile(logFile, `${line}\n`));
      onEvent?.({ kind: 'log', layer, line: JSON.parse(line) });
    },
    flushed: () => logWrites,
  };
}

function handlerOptions(config: PipelineConfig, parameters: LocalParameters, testing: LocalTestingHooks): TaskEnvironment['options'] {
  return {
    raw: { ...rawHandlerOptions(config, STATES.raw, parameters.names), ...testing.rawOptions },
    bronze: bronzeHandlerOptions(config, STATES.bronze, parameters.names),
    silver: silverHandlerOptions(config, STATES.silver, { bronzeBucket: parameters.names.bronzeBucket, silverBucket: parameters.silverBucket }),
  };
}

/** The definition Orchestration deploys, with local stand-ins for the ARNs it would be given. */
function localStateMachine(config: PipelineConfig, endpointsParameterName: string, overrides: LocalTestingHooks['stateMachine']): StateMachine {
  const stepFunctions = require('aws-local-stepfunctions') as typeof import('aws-local-stepfunctions');
  const lambda = (name: string) => `arn:aws:lambda:local:${LOCAL_ACCOUNT}:function:${name}`;
  const topic = (name: string) => `arn:aws:sns:local:${LOCAL_ACCOUNT}:${name}`;
  const definition = buildDefinition(
    {
      rawFunctionArn: lambda(STATES.raw),
      bronzeFunctionArn: lambda(STATES.bronze),
      failureTopicArn: topic('failure-stepfunction'),
      endpointsParameterName,
      silver: { functionArn: lambda(STATES.silver), topicArn: topic('data-lakehouse-silver') },
    },
    { ...stateMachineSettings(config), ...overrides },
  );
  return new stepFunctions.StateMachine(definition as any);
}

/** The execution input the command line asks for, as `aws stepfunctions start-execution` would pass it. */
function executionInput(options: LocalRunOptions) {
  return { trigger: 'local', ...(options.fullRefresh && { fullRefresh: true }), ...(options.acceptDeletions && { acceptDeletions: options.acceptDeletions }), ...(options.replay && { replay: options.replay }) };
}

/** The states that have a Retry, each waiting `ms` instead of its backoff. */
function retryIntervals(ms: number | undefined): Record<string, number> | undefined {
  if (ms === undefined) return undefined;
  const retried = [STATES.listEndpoints, STATES.plan, STATES.fetchPart, STATES.joinParts, STATES.raw, STATES.bronze, STATES.writeManifest, STATES.silver, STATES.publishSilverFailure, STATES.publishFailure];
  return Object.fromEntries(retried.map((state) => [state, ms]));
}

type Outcome = Pick<LocalRunResult, 'status' | 'error'>;

/** Runs the execution named `runId` to its end: a failed execution is the run's outcome, not an error. */
async function execute(machine: StateMachine, handlers: Record<string, TaskHandler>, runId: string, options: LocalRunOptions): Promise<Outcome> {
  try {
    const input = executionInput(options);
    const execution = machine.run(input, {
      overrides: { taskResourceLocalHandlers: handlers, retryIntervalOverrides: retryIntervals(options.testing?.retryIntervalMs) },
      context: { Execution: { Id: `arn:aws:states:local:${LOCAL_ACCOUNT}:execution:${STATE_MACHINE_NAME}:${runId}`, Name: runId, StartTime: new Date().toISOString(), Input: input } } as any,
    });
    await execution.result;
    return { status: 'SUCCEEDED' };
  } catch (caught) {
    return { status: 'FAILED', error: caught instanceof Error ? caught.message : String(caught) };
  }
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
  const testing = options.testing ?? {};
  await mkdir(join(options.out, 'runs'), { recursive: true });
  const s3 = await startEmbeddedS3(join(options.out, '.s3'), Object.values(BUCKETS));
  const parameters = localParameters(options.stack, config);
  const journal = runJournal(options.out, runId, options.onEvent);
  const handlerS3 = testing.handlerS3Endpoint ? s3ClientFor(await testing.handlerS3Endpoint(s3.endpoint)) : s3.client;
  const tasks = localTasks({
    s3: handlerS3,
    parameters: parameters.values,
    notifier: journal.notifier,
    sink: journal.sink,
    options: handlerOptions(config, parameters, testing),
    wrapTasks: testing.wrapTasks,
  });
  const machine = localStateMachine(config, parameters.names.endpoints, testing.stateMachine);

  let outcome: Outcome;
  try {
    outcome = await execute(machine, tasks.handlers, runId, options);
  } finally {
    try {
      await mirrorBuckets(s3.client, options.out, config.dataSource);
    } finally {
      if (handlerS3 !== s3.client) handlerS3.destroy();
      await s3.stop();
    }
  }
  const endpoints = config.endpoints.map((e) => tasks.reports.get(e.name) ?? { endpoint: e.name, ok: false, ms: 0, error: 'not run' });
  const result = await writeSummary({ runId, stack: options.stack, config, out: options.out, outcome, endpoints, silver: tasks.silver() });
  await journal.flushed();
  return result;
}

/** The run's summary, `<out>/runs/<run id>.json`, with the manifest the run wrote (read back from its mirror). */
async function writeSummary(run: { runId: string; stack: string; config: PipelineConfig; out: string; outcome: Outcome; endpoints: EndpointReport[]; silver: LocalRunResult['silver'] }): Promise<LocalRunResult> {
  const { runId, config, out, endpoints, silver } = run;
  const { status, error } = run.outcome;
  const manifest = await readManifest(join(out, BUCKETS.bronze, ...manifestKey(config.dataSource, runId).split('/')));
  const summaryPath = join(out, 'runs', `${runId}.json`);
  await writeFile(summaryPath, `${JSON.stringify({ runId, stack: run.stack, site: config.siteUrl, status, error, endpoints, manifest, silver }, null, 2)}\n`);
  return { runId, status, error, endpoints, summaryPath, out, manifest, silver };
}

async function readManifest(path: string): Promise<Record<string, unknown> | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
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
