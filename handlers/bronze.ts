import type { BronzeEvent, BronzeObject, BronzeSummary, EndpointFailure, ParameterNames } from './contracts';
import type { HandlerDeps } from './aws/ports';
import { awsHandlerDeps } from './aws/clients';
import { getStream, listKeys, putFile } from './aws/s3';
import type { Codec } from './parquet/codecs';
import { convertJsonFile } from './parquet/convert';
import { mapLimit } from './concurrency';

/**
 * The bronze function: raw JSON objects of this run -> one Parquet file per endpoint. Every
 * object is converted on its own (fail-soft): one bad endpoint is reported and alerted, the
 * others are still written. A file is uploaded only once complete, so a failed conversion keeps
 * the previous Parquet file in place.
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
}

interface Target {
  endpoint: string;
  key: string;
}

interface Buckets {
  raw: string;
  bronze: string;
}

const NAME = /^[a-z0-9_-]+$/;

/** Publishes an alert; a failed publish is logged and swallowed so it never hides the real error. */
async function alert(deps: HandlerDeps, topicArn: string, subject: string, message: string): Promise<void> {
  try {
    await deps.notifier.publish(topicArn, subject, message);
  } catch (error) {
    deps.log.error('Alert could not be published', { subject, topicArn, error: (error as Error).message });
  }
}

/** Raw objects named by the event, or every `*.json` under the data source when it names none. */
async function targets(deps: HandlerDeps, event: BronzeEvent, rawBucket: string, dataSource: string): Promise<Target[]> {
  // An `objects` array, even an empty one, is this run's raw output: convert exactly that, so a
  // run whose raw step wrote nothing does not re-convert yesterday's files.
  if (Array.isArray(event?.objects)) {
    return event.objects.map((o) => ({ endpoint: String(o?.endpoint ?? ''), key: String(o?.key ?? '') }));
  }
  const keys = await listKeys(deps.s3, rawBucket, `${dataSource}/`);
  return keys
    .filter((key) => key.endsWith('.json'))
    .map((key) => ({ endpoint: key.slice(key.lastIndexOf('/') + 1, -'.json'.length), key }));
}

async function convertObject(deps: HandlerDeps, options: BronzeOptions, buckets: Buckets, target: Target): Promise<BronzeObject> {
  const { mkdtemp, rm } = require('node:fs/promises') as typeof import('node:fs/promises');
  const { createWriteStream } = require('node:fs') as typeof import('node:fs');
  const { pipeline } = require('node:stream/promises') as typeof import('node:stream/promises');
  const { tmpdir } = require('node:os') as typeof import('node:os');
  const { join } = require('node:path') as typeof import('node:path');

  const started = performance.now();
  const { endpoint } = target;
  // The name becomes an S3 key and a file name: refuse anything that could escape its folder.
  if (!NAME.test(endpoint)) throw new Error(`endpoint name ${JSON.stringify(endpoint)} is not [a-z0-9_-]+`);
  if (!target.key) throw new Error('the event names no raw key for this endpoint');
  const key = `${options.dataSource ?? 'wordpress_api'}/${endpoint}/${endpoint}.parquet`;
  // /tmp is the only writable place on Lambda (512 MB by default, more with ephemeral storage).
  const dir = await mkdtemp(join(tmpdir(), `bronze-${endpoint}-`));
  try {
    const rawPath = join(dir, `${endpoint}.json`);
    const parquetPath = join(dir, `${endpoint}.parquet`);
    await pipeline(await getStream(deps.s3, buckets.raw, target.key), createWriteStream(rawPath));
    const report = await convertJsonFile(rawPath, parquetPath, {
      codec: options.codec,
      rowGroupSize: options.rowGroupSize,
      maxDepth: options.maxDepth,
    });
    if (!report.empty) {
      await putFile(deps.s3, buckets.bronze, key, parquetPath, {
        contentType: 'application/vnd.apache.parquet',
        metadata: { rows: String(report.rows), columns: String(report.columns), codec: report.codec, 'source-key': target.key.replace(/[^\x20-\x7e]/g, '?') },
      });
    }
    const result: BronzeObject = {
      endpoint, key, rows: report.rows, columns: report.columns, bytes: report.bytes, empty: report.empty,
      ms: Math.round(performance.now() - started),
    };
    deps.log.info(report.empty ? `${endpoint}: raw array is empty, nothing written` : `${endpoint}: converted to Parquet`, {
      endpoint, rows: result.rows, columns: result.columns, bytes: result.bytes, ms: result.ms, empty: result.empty,
      rowGroups: report.rowGroups, codec: report.codec, source: `s3://${buckets.raw}/${target.key}`,
      target: report.empty ? undefined : `s3://${buckets.bronze}/${key}`,
    });
    return result;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Converts the raw objects of this run (or every raw object) to Parquet in the bronze bucket.
 *
 * @throws when the bronze topic parameter is missing (nowhere to alert), or, after alerting,
 *   when a bucket parameter is missing or the raw bucket cannot be listed.
 */
export async function runBronze(deps: HandlerDeps, options: BronzeOptions, event: BronzeEvent): Promise<BronzeSummary> {
  const names = options.parameterNames;
  const values = await deps.parameters.get([names.rawBucket, names.bronzeBucket, names.bronzeTopicArn]);
  const topic = values.get(names.bronzeTopicArn);
  if (!topic) throw new Error(`SSM parameter ${names.bronzeTopicArn} (bronze topic ARN) is missing or empty`);
  const failed = `${deps.functionName}: Failed`;

  const missing = [names.rawBucket, names.bronzeBucket].filter((name) => !values.get(name));
  if (missing.length > 0) {
    const message = `Missing SSM parameter(s): ${missing.join(', ')}. Create them (pulumi up) or fix their names in the function's configuration.`;
    deps.log.error(message, { missing });
    await alert(deps, topic, failed, message);
    throw new Error(message);
  }
  const buckets: Buckets = { raw: values.get(names.rawBucket)!, bronze: values.get(names.bronzeBucket)! };
  const dataSource = options.dataSource ?? 'wordpress_api';

  let work: Target[];
  try {
    work = await targets(deps, event, buckets.raw, dataSource);
  } catch (error) {
    const message = `Could not list s3://${buckets.raw}/${dataSource}/: ${(error as Error).message}`;
    deps.log.error(message);
    await alert(deps, topic, failed, message);
    throw new Error(message, { cause: error });
  }

  const summary: BronzeSummary = { succeeded: [], failed: [], objects: [] };
  const outcomes = await mapLimit(work, options.concurrency ?? 2, async (target) => {
    try {
      return { target, object: await convertObject(deps, options, buckets, target) };
    } catch (error) {
      const failure: EndpointFailure = { endpoint: target.endpoint, error: (error as Error).message };
      deps.log.error(`${target.endpoint}: conversion failed`, { endpoint: target.endpoint, key: target.key, error: failure.error });
      return { target, failure };
    }
  });
  for (const outcome of outcomes) {
    if (outcome.object) {
      summary.succeeded.push(outcome.object.endpoint);
      summary.objects.push(outcome.object);
    } else if (outcome.failure) {
      summary.failed.push(outcome.failure);
    }
  }

  if (summary.failed.length > 0) {
    const lines = summary.failed.map((f) => `- ${f.endpoint}: ${f.error}`);
    const message = `${summary.failed.length} of ${work.length} endpoint(s) failed to convert to Parquet; their previous bronze files were kept.\n${lines.join('\n')}`;
    await alert(deps, topic, `${deps.functionName}: Ran With Failures`, message);
  }
  deps.log.info(`WordPress API Bronze process complete: ${summary.succeeded.length} Successful | ${summary.failed.length} Failed`, {
    succeeded: summary.succeeded, failed: summary.failed.map((f) => f.endpoint),
  });
  return summary;
}

/**
 * For aws.lambda.CallbackFunction's `callbackFactory`: the outer function runs once per cold
 * start and builds the AWS clients; the inner one handles each invocation.
 */
export function bronzeCallbackFactory(options: BronzeOptions): () => (event: BronzeEvent) => Promise<BronzeSummary> {
  return () => {
    const deps = awsHandlerDeps(options.functionName, options.layer);
    return (event) => runBronze(deps, options, event);
  };
}
