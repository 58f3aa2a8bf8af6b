import type { BronzeOptions } from '../handlers/bronze';
import type { ParameterNames } from '../handlers/contracts';
import type { RawOptions } from '../handlers/raw';
import type { PipelineConfig } from './config';
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
  };
}

/**
 * Packages of `dependencies` a function never loads, left out of its archive (the AWS SDK is
 * left out of both by PipelineFunction).
 */
export const EXCLUDED_PACKAGES = { raw: ['hyparquet-writer', 'hyparquet'], bronze: ['ky'] } as const;
