import type { BronzeOptions } from '../handlers/bronze';
import type { ParameterNames } from '../handlers/contracts';
import type { RawOptions } from '../handlers/raw';
import type { SilverOptions } from '../handlers/silver';
import type * as pulumi from '@pulumi/pulumi';
import type { PipelineConfig } from './config';
import { PROJECT } from './config';
import type { StateMachineSettings } from './state-machine';

/**
 * The handler settings derived from the stack config, in one place, so that what the Lambdas
 * capture, what `npm start` runs and what the parity tests and benchmarks build cannot drift apart.
 */
export function rawHandlerOptions(config: PipelineConfig, functionName: string, parameterNames: ParameterNames): RawOptions {
  return {
    functionName,
    layer: 'raw',
    parameterNames,
    dataSource: config.dataSource,
    userAgent: config.userAgent,
    requestTimeoutMs: config.requestTimeoutSeconds * 1000,
    maxRetries: config.maxRetries,
    concurrency: config.requestConcurrency,
    incrementalOverlapMinutes: config.incrementalOverlapMinutes,
    fullRefreshDays: config.fullRefreshDays,
    pagesPerTask: config.pagesPerTask,
  };
}

/** What the state machine definition takes from the stack config. */
export function stateMachineSettings(config: PipelineConfig): StateMachineSettings {
  return {
    mapConcurrency: config.mapConcurrency,
    partConcurrency: config.fanOutConcurrency,
    rawTimeoutSeconds: config.rawTimeoutSeconds,
    bronzeTimeoutSeconds: config.bronzeTimeoutSeconds,
  };
}

export function bronzeHandlerOptions(config: PipelineConfig, functionName: string, parameterNames: ParameterNames): BronzeOptions {
  return {
    functionName,
    layer: 'bronze',
    parameterNames,
    dataSource: config.dataSource,
    codec: config.parquetCodec,
    rowGroupSize: config.rowGroupSize,
    deletionGuard: { maxPercent: config.maxDeletePercent, maxRows: config.maxDeleteRows },
  };
}

/**
 * The silver function reads the bronze bucket's name from the bronze layer's parameter and its
 * own from this one, under the same stack-scoped prefix as parameterNamesFor's.
 */
export function silverBucketParameterName(stack: string): string {
  return `/${PROJECT}/${stack}/s3/lakehouse/name/silver`;
}

/** `<bronze database>_silver`: the silver tables' own Glue database, so `posts` can name both layers' tables. */
export function silverDatabaseName(bronzeDatabase: string): string {
  return `${bronzeDatabase}_silver`.slice(0, 255);
}

export function silverHandlerOptions(config: PipelineConfig, functionName: string, parameterNames: SilverOptions['parameterNames']): SilverOptions {
  return { functionName, layer: 'silver', parameterNames, dataSource: config.dataSource, codec: config.parquetCodec, rowGroupSize: config.rowGroupSize };
}

/**
 * Packages of `dependencies` a function never loads, left out of its archive (the AWS SDK is
 * left out of every one by PipelineFunction).
 */
export const EXCLUDED_PACKAGES = { raw: ['hyparquet-writer', 'hyparquet', 'htmlparser2'], bronze: ['ky', 'htmlparser2'], silver: ['ky'] } as const;

/**
 * Environment variables of the bronze function's process, which `npm run convert` sets too
 * (package.json). glibc's malloc raises its mmap threshold to the size of each large block it
 * frees, up to 32 MiB: after the converter's first freed page or zstd output buffer, blocks of a
 * megabyte came from the heap instead, which then kept what was freed and fragmented. A fixed
 * threshold (glibc's default, 128 KiB) gives such blocks back to the system when freed: glibc's
 * heap stayed at 8 MiB where it grew from 21 to 27-40 MiB over a 50k-post conversion, and the
 * peak RSS fell 4 / 7 MiB for 10k / 50k posts (medians of 5). Read by glibc when the process
 * starts, so it is the function's configuration, not something the handler can set.
 */
export const BRONZE_PROCESS_ENVIRONMENT: Readonly<Record<string, string>> = { MALLOC_MMAP_THRESHOLD_: '131072' };

/**
 * The runtime of a function that reads and writes bronze-sized Parquet through the converter
 * (bronze, and silver, which rebuilds its tables from bronze's): bronze's memory, /tmp, timeout and
 * process environment, the stack's log retention, and the Lambda failure topic.
 */
export function converterFunctionSettings(config: PipelineConfig, failureTopicArn: pulumi.Input<string>) {
  return {
    memoryMb: config.bronzeMemoryMb,
    tmpMb: config.bronzeTmpMb,
    timeoutSeconds: config.bronzeTimeoutSeconds,
    environment: BRONZE_PROCESS_ENVIRONMENT,
    logRetentionDays: config.logRetentionDays,
    failureTopicArn,
  };
}
