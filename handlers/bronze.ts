import type { BronzeEvent, BronzeObject, BronzeSummary, EndpointFailure, ManifestEvent, ParameterNames, RawObject } from './contracts';
import type { HandlerDeps } from './aws/ports';
import { awsHandlerDeps } from './aws/clients';
import { alert, failInvocation } from './alert';
import { putText } from './aws/s3';
import type { Codec } from './parquet/codecs';
import { mapLimit } from './concurrency';
import { BRONZE_METRICS, embeddedMetrics } from './metrics';
import type { DeletionGuard, LandContext, Landed } from './lake/land';
import { landEndpoint } from './lake/land';
import type { GlueCalls } from './lake/catalog';
import { registerTable, tableInput } from './lake/catalog';
import { manifestKey, tableName } from './lake/layout';

/**
 * The bronze function: the raw objects of this run are merged into one current table per
 * endpoint (lake/land.ts). Every object is merged on its own (fail-soft): one bad endpoint is
 * reported and alerted, the others still land. Objects are replaced whole, so a failed merge
 * keeps the previous table and state. Its last call in a run writes the run manifest.
 */

/** Captured into the Lambda archive as primitives. */
export interface BronzeOptions {
  /** Fallback for alert subjects and logs when AWS_LAMBDA_FUNCTION_NAME is not set (local runs). */
  functionName: string;
  layer: 'bronze';
  parameterNames: ParameterNames;
  /**
   * Top-level folder in both buckets.
   * @default 'wordpress_api'
   */
  dataSource?: string;
  /**
   * Parquet compression.
   * @default 'zstd'
   */
  codec?: Codec;
  /**
   * Rows per row group: bounds the memory of one conversion.
   * @default 10000
   */
  rowGroupSize?: number;
  /**
   * Nested objects up to this depth become `a__b` columns, deeper ones JSON text.
   * @default 3
   */
  maxDepth?: number;
  /**
   * Objects converted at the same time; each holds one row group and a temp copy of its files.
   * @default 2
   */
  concurrency?: number;
  /**
   * A merge that would delete more than `maxPercent` of a table's rows, and more than `maxRows`,
   * fails its endpoint unless the run accepts it (the raw object's `acceptDeletions`).
   * @default { maxPercent: 10, maxRows: 50 }
   */
  deletionGuard?: DeletionGuard;
  /**
   * Glue database the tables are registered in after each merge (with `deps.glue`).
   * @default none: no catalog (the local run, where DuckDB views stand in)
   */
  catalogDatabase?: string;
}

interface Buckets {
  raw: string;
  bronze: string;
}

/** Registers the endpoint's table (and its deletions table, once it has one) in Glue. */
async function catalogue(deps: HandlerDeps, glue: GlueCalls, options: BronzeOptions, bucket: string, dataSource: string, landed: Landed): Promise<void> {
  const { object } = landed;
  if (object.empty) return;
  const database = options.catalogDatabase!;
  const location = (folder: string) => `s3://${bucket}/${dataSource}/${folder}/`;
  const codec = options.codec ?? 'zstd';
  const facts = { rows: object.rows, runId: object.runId, codec };
  const action = await registerTable(glue, database, tableInput(tableName(object.endpoint), location(object.endpoint), landed.columns, facts));
  const logged: Record<string, unknown> = { endpoint: object.endpoint, database, table: tableName(object.endpoint), action };
  if (landed.deletionColumns) {
    const folder = `${object.endpoint}_deletions`;
    logged.deletions = await registerTable(glue, database, tableInput(tableName(folder), location(folder), landed.deletionColumns, { runId: object.runId, codec }));
  }
  deps.log.info(`${object.endpoint}: catalog ${action}`, logged);
}

/** A landed table's figures as CloudWatch metrics (embedded in the log line), for the dashboard. */
function logFigures(deps: HandlerDeps, object: BronzeObject): void {
  const { endpoint, upserted, deleted, rows, bytes, ms } = object;
  deps.log.info(`${endpoint}: bronze figures`, { endpoint, ...embeddedMetrics(BRONZE_METRICS, { upserted, deleted, rows, bytes, duration: ms }) });
}

function isManifestEvent(event: BronzeEvent): event is ManifestEvent {
  return typeof (event as ManifestEvent | undefined)?.manifest === 'object' && (event as ManifestEvent).manifest !== null;
}

/**
 * The run manifest, outside every table folder: what each endpoint did in this run (the Map's
 * results, with the raw and bronze summaries each one returned).
 */
async function writeManifest(deps: HandlerDeps, bucket: string, dataSource: string, event: ManifestEvent): Promise<{ key: string }> {
  const { runId, startedAt, input, results } = event.manifest;
  if (typeof runId !== 'string' || runId === '' || !Array.isArray(results)) throw new Error('a manifest event needs { manifest: { runId, results: [...] } }');
  const endpoints = results.map((result) => manifestEntry(result as Record<string, any>));
  const key = manifestKey(dataSource, runId);
  const document = { runId, startedAt, writtenAt: new Date().toISOString(), input, status: endpoints.every((e) => e.ok) ? 'SUCCEEDED' : 'FAILED', endpoints };
  await putText(deps.s3, bucket, key, `${JSON.stringify(document, null, 2)}\n`);
  deps.log.info('run manifest written', { runId, key, endpoints: endpoints.length, failed: endpoints.filter((e) => !e.ok).map((e) => e.endpoint) });
  return { key };
}

/** One endpoint of the manifest, from a Map result: `{ endpoint, ok, raw, bronze }` or `{ endpoint, ok: false, stage, error }`. */
function manifestEntry(result: Record<string, any>) {
  const raw = Array.isArray(result?.raw) ? result.raw[0] : undefined;
  const bronze = Array.isArray(result?.bronze) ? result.bronze[0] : undefined;
  const error = result?.error;
  return {
    endpoint: String(result?.endpoint ?? ''),
    ok: result?.ok === true,
    mode: bronze?.mode ?? raw?.mode,
    pages: raw?.pages,
    idPages: raw?.idPages,
    items: raw?.items,
    upserted: bronze?.upserted,
    deleted: bronze?.deleted,
    restated: bronze?.restated,
    keyedBy: bronze?.keyedBy,
    rows: bronze?.rows,
    rawKey: raw?.partsKey ?? raw?.key,
    ...(raw?.parts !== undefined && { parts: raw.parts }),
    rawSha256: raw?.sha256,
    markBefore: bronze?.markBefore ?? raw?.markBefore,
    markAfter: bronze?.markAfter,
    ...(result?.ok !== true && { stage: result?.stage, errors: [typeof error === 'string' ? error : error ? `${error.Error ?? 'Error'}: ${error.Cause ?? ''}`.trim() : 'unknown'] }),
  };
}

/**
 * Converts the raw objects of this run (or every raw object) to Parquet in the bronze bucket.
 *
 * @throws when the bronze topic parameter is missing (nowhere to alert), or, after alerting,
 *   when a bucket parameter is missing or the raw bucket cannot be listed.
 */
export async function runBronze(deps: HandlerDeps, options: BronzeOptions, event: ManifestEvent): Promise<{ key: string }>;
export async function runBronze(deps: HandlerDeps, options: BronzeOptions, event: BronzeEvent): Promise<BronzeSummary>;
export async function runBronze(deps: HandlerDeps, options: BronzeOptions, event: BronzeEvent): Promise<BronzeSummary | { key: string }> {
  const { topic, buckets } = await bronzeParameters(deps, options.parameterNames);
  const dataSource = options.dataSource ?? 'wordpress_api';
  if (isManifestEvent(event)) {
    try {
      return await writeManifest(deps, buckets.bronze, dataSource, event);
    } catch (error) {
      return failInvocation(deps, topic, `The run manifest of ${String(event.manifest?.runId)} could not be written: ${(error as Error).message}`, undefined, error);
    }
  }
  // The raw summary of this run names exactly what to merge: a run whose raw step wrote nothing
  // merges nothing (the raw bucket holds every run's history, so there is no "latest" to guess).
  if (!Array.isArray(event?.objects)) {
    return failInvocation(deps, topic, 'The event names no raw objects: invoke the bronze function with the raw function\'s summary ({ "objects": [...] }).');
  }
  const context: LandContext = {
    rawBucket: buckets.raw, bronzeBucket: buckets.bronze, dataSource, codec: options.codec, rowGroupSize: options.rowGroupSize, maxDepth: options.maxDepth,
    deletionGuard: options.deletionGuard ?? { maxPercent: 10, maxRows: 50 },
  };
  const groups = byEndpoint(event.objects as RawObject[]);
  const outcomes = await mapLimit(groups, options.concurrency ?? 2, (objects) => landGroup(deps, options, context, objects));
  const summary: BronzeSummary = { succeeded: [], failed: [], objects: [] };
  for (const outcome of outcomes) {
    if (outcome.object) {
      summary.succeeded.push(outcome.object.endpoint);
      summary.objects.push(outcome.object);
      logFigures(deps, outcome.object);
    } else if (outcome.failure) {
      summary.failed.push(outcome.failure);
    }
  }
  if (summary.failed.length > 0) {
    const lines = summary.failed.map((f) => `- ${f.endpoint}: ${f.error}`);
    const message = `${summary.failed.length} of ${groups.length} endpoint(s) failed to merge into bronze; their tables and state were kept as they were.\n${lines.join('\n')}`;
    await alert(deps, topic, `${deps.functionName}: Ran With Failures`, message);
  }
  deps.log.info(`WordPress API Bronze process complete: ${summary.succeeded.length} Successful | ${summary.failed.length} Failed`, {
    succeeded: summary.succeeded, failed: summary.failed.map((f) => f.endpoint),
  });
  return summary;
}

/** The topic and the buckets; throws when a parameter is missing, after alerting when the topic is known. */
async function bronzeParameters(deps: HandlerDeps, names: ParameterNames): Promise<{ topic: string; buckets: Buckets }> {
  const values = await deps.parameters.get([names.rawBucket, names.bronzeBucket, names.bronzeTopicArn]);
  const topic = values.get(names.bronzeTopicArn);
  if (!topic) throw new Error(`SSM parameter ${names.bronzeTopicArn} (bronze topic ARN) is missing or empty`);
  const missing = [names.rawBucket, names.bronzeBucket].filter((name) => !values.get(name));
  if (missing.length > 0) {
    return failInvocation(deps, topic, `Missing SSM parameter(s): ${missing.join(', ')}. Create them (pulumi up) or fix their names in the function's configuration.`, { missing });
  }
  return { topic, buckets: { raw: values.get(names.rawBucket)!, bronze: values.get(names.bronzeBucket)! } };
}

/**
 * Lands one endpoint's objects, then registers its table. Several objects of one endpoint are a
 * replay's history: landed in order, each on the last. A failure is the endpoint's alone.
 */
async function landGroup(deps: HandlerDeps, options: BronzeOptions, context: LandContext, objects: RawObject[]): Promise<{ object?: BronzeObject; failure?: EndpointFailure }> {
  const endpoint = String(objects[0]?.endpoint ?? '');
  let landed: Landed | undefined;
  for (const target of objects) {
    try {
      landed = await landEndpoint(deps, context, target);
    } catch (error) {
      const failure: EndpointFailure = { endpoint, error: `${objects.length > 1 ? `replaying ${target?.key}: ` : ''}${(error as Error).message}` };
      deps.log.error(`${endpoint}: merge into bronze failed`, { endpoint, key: target?.key, error: failure.error });
      return { failure };
    }
  }
  if (!landed) return {};
  try {
    if (deps.glue && options.catalogDatabase) await catalogue(deps, deps.glue, options, context.bronzeBucket, context.dataSource, landed);
    return { object: landed.object };
  } catch (error) {
    const failure: EndpointFailure = { endpoint, error: `catalog: ${(error as Error).message}; the table was written and the next run repairs its catalog entry` };
    deps.log.error(`${endpoint}: catalog update failed`, { endpoint, error: failure.error });
    return { failure };
  }
}

/** The objects grouped by endpoint, each group in the order given (a replay's is its history's). */
function byEndpoint(objects: RawObject[]): RawObject[][] {
  const groups = new Map<string, RawObject[]>();
  for (const object of objects) {
    const endpoint = String(object?.endpoint ?? '');
    groups.set(endpoint, [...(groups.get(endpoint) ?? []), object]);
  }
  return [...groups.values()];
}

/**
 * For aws.lambda.CallbackFunction's `callbackFactory`: the outer function runs once per cold
 * start and builds the AWS clients; the inner one handles each invocation.
 */
export function bronzeCallbackFactory(options: BronzeOptions): () => (event: BronzeEvent) => Promise<BronzeSummary | { key: string }> {
  return () => {
    const deps = awsHandlerDeps(options.functionName, options.layer);
    return (event) => runBronze(deps, options, event);
  };
}
