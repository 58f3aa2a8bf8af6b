import type { S3Client } from '@aws-sdk/client-s3';
import { getText } from '../aws/s3';
import { stateKey } from './layout';
import type { EndpointState } from './state';
import { parseState } from './state';

/**
 * An endpoint's stored state: absent on a first run; `error` (naming the object) when it cannot be
 * read or is not a state document, which raw and bronze both treat as "no state" after saying so.
 */
export async function loadState(s3: S3Client, bucket: string, dataSource: string, endpoint: string): Promise<{ state?: EndpointState; error?: string }> {
  const key = stateKey(dataSource, endpoint);
  try {
    const text = await getText(s3, bucket, key);
    return text === undefined ? {} : { state: parseState(text, endpoint) };
  } catch (error) {
    return { error: `s3://${bucket}/${key}: ${(error as Error).message}` };
  }
}
