import type { HandlerDeps } from './aws/ports';
import { awsHandlerDeps } from './aws/clients';
import { sdkGlueCalls } from './lake/catalog';
import type { Codec } from './parquet/codecs';
import type { SilverReport } from './silver/build';
import { buildSilver } from './silver/build';

/**
 * The silver function: after the bronze tables of a run have landed, rebuilds the silver tables
 * (typed, plain-text, joined; see docs/silver.md) from them. It alerts nobody itself: the state
 * machine catches its failure, publishes it on the silver topic and fails the execution, which
 * also covers what the function cannot report (a timeout, running out of memory).
 */

/** Captured into the Lambda archive as primitives. */
export interface SilverOptions {
  /** Fallback for logs when AWS_LAMBDA_FUNCTION_NAME is not set (local runs). */
  functionName: string;
  layer: 'silver';
  /** The SSM parameters holding the two bucket names. */
  parameterNames: { bronzeBucket: string; silverBucket: string };
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
   * Rows per row group of the silver tables.
   * @default 10000
   */
  rowGroupSize?: number;
  /**
   * Glue database the silver tables are registered in (with `deps.glue`).
   * @default none: no catalog (the local run, where DuckDB views stand in)
   */
  catalogDatabase?: string;
}

/** Event of the silver function (the state machine's, or a manual invocation's `{}`). */
export interface SilverEvent {
  /** The execution's name, recorded on the tables. @default 'manual' */
  runId?: string;
  /** The run's endpoints: those beyond WordPress' seven are examined as custom post types and taxonomies. @default none */
  endpoints?: string[];
}

export interface SilverSummary extends SilverReport {
  runId: string;
}

/** The collections whose silver tables are built by name; any other endpoint is classified by its columns. */
const WORDPRESS_COLLECTIONS = ['posts', 'pages', 'comments', 'categories', 'tags', 'users', 'media'];

/** @throws when a bucket parameter is missing or any silver table cannot be built. */
export async function runSilver(deps: HandlerDeps, options: SilverOptions, event: SilverEvent = {}): Promise<SilverSummary> {
  const names = options.parameterNames;
  const values = await deps.parameters.get([names.bronzeBucket, names.silverBucket]);
  const missing = [names.bronzeBucket, names.silverBucket].filter((name) => !values.get(name));
  if (missing.length > 0) {
    const message = `Missing SSM parameter(s): ${missing.join(', ')}. Create them (pulumi up) or fix their names in the function's configuration.`;
    deps.log.error(message, { missing });
    throw new Error(message);
  }
  const runId = typeof event?.runId === 'string' && event.runId !== '' ? event.runId : 'manual';
  const endpoints = Array.isArray(event?.endpoints) ? event.endpoints.filter((e): e is string => typeof e === 'string') : [];
  const report = await buildSilver(deps, {
    bronzeBucket: values.get(names.bronzeBucket)!,
    silverBucket: values.get(names.silverBucket)!,
    dataSource: options.dataSource ?? 'wordpress_api',
    codec: options.codec,
    rowGroupSize: options.rowGroupSize,
    extraEndpoints: endpoints.filter((e) => !WORDPRESS_COLLECTIONS.includes(e)),
    ...(deps.glue && options.catalogDatabase && { catalog: { glue: deps.glue, database: options.catalogDatabase } }),
    runId,
  });
  for (const skipped of report.skipped) deps.log.warn(`${skipped.table}: skipped, ${skipped.reason}`, skipped);
  deps.log.info(`WordPress API Silver process complete: ${report.tables.length} tables | ${report.skipped.length} skipped`, {
    runId, tables: report.tables.map((t) => `${t.table} (${t.rows})`), skipped: report.skipped.map((s) => s.table),
  });
  return { runId, ...report };
}

/**
 * For aws.lambda.CallbackFunction's `callbackFactory`: the outer function runs once per cold
 * start and builds the AWS clients (Glue too: every run catalogues); the inner one handles each invocation.
 */
export function silverCallbackFactory(options: SilverOptions): () => (event: SilverEvent) => Promise<SilverSummary> {
  return () => {
    const deps = awsHandlerDeps(options.functionName, options.layer);
    const glue = new (require('@aws-sdk/client-glue') as typeof import('@aws-sdk/client-glue')).GlueClient({});
    return (event) => runSilver({ ...deps, glue: sdkGlueCalls(() => glue) }, options, event);
  };
}
