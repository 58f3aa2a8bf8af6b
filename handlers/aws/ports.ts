import type { S3Client } from '@aws-sdk/client-s3';
import type { GlueCalls } from '../lake/catalog';
import type { Logger } from '../log';

/**
 * What a handler needs from the outside world. On Lambda these are SSM, SNS and S3; the local
 * runner swaps parameters and notifications for the stack file and a local log, and points S3
 * at an embedded server.
 */
export interface ParameterReader {
  /** Values of the named parameters; a name that does not exist (or is empty) is absent from the map. */
  get(names: readonly string[]): Promise<Map<string, string>>;
}

export interface Notifier {
  publish(topicArn: string, subject: string, message: string): Promise<void>;
}

export interface HandlerDeps {
  s3: S3Client;
  parameters: ParameterReader;
  notifier: Notifier;
  log: Logger;
  /** The Lambda function name (or the local stand-in), used in alert subjects as the original did. */
  functionName: string;
  /** Glue, for the bronze function's catalog tables; absent locally (DuckDB views stand in). */
  glue?: GlueCalls;
}
