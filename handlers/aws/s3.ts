import type { S3Client } from '@aws-sdk/client-s3';
import type { Readable } from 'node:stream';

/**
 * Small S3 adapters shared by the handlers. The SDK is required lazily so that a serialized
 * callback carries `require('@aws-sdk/client-s3')`, not a copy of the SDK.
 */
function sdk(): typeof import('@aws-sdk/client-s3') {
  return require('@aws-sdk/client-s3');
}

export interface PutFileOptions {
  contentType: string;
  /** User metadata (x-amz-meta-*): ASCII values only, 2 KB in all. */
  metadata?: Record<string, string>;
  /** Write only if no object has the key (If-None-Match: *); S3 answers 412 PreconditionFailed otherwise. */
  ifNoneMatch?: boolean;
}

/**
 * Uploads a local file in one PutObject from a stream, so memory stays flat whatever its size
 * (a single PutObject takes up to 5 GB). The object appears whole or not at all: S3 never shows
 * a partly written object, which is what keeps yesterday's data when a write fails.
 */
export async function putFile(s3: S3Client, bucket: string, key: string, path: string, options: PutFileOptions): Promise<void> {
  const { createReadStream } = require('node:fs') as typeof import('node:fs');
  const { stat } = require('node:fs/promises') as typeof import('node:fs/promises');
  const { size } = await stat(path);
  // The SDK cannot replay a stream body, so a connection that drops before any answer (an idle
  // keep-alive socket the server closed as the request went out: "socket hang up") is retried
  // here, from a fresh stream. A PUT is idempotent; for a conditional one, a 412 after such a
  // retry means the lost attempt had landed, since the key is this run's own.
  for (let attempt = 1; ; attempt++) {
    try {
      await s3.send(
        new (sdk().PutObjectCommand)({
          Bucket: bucket,
          Key: key,
          Body: createReadStream(path),
          ContentLength: size,
          ContentType: options.contentType,
          Metadata: options.metadata,
          ...(options.ifNoneMatch && { IfNoneMatch: '*' }),
        }),
      );
      return;
    } catch (error) {
      if (attempt > 1 && options.ifNoneMatch && isPreconditionFailed(error)) return;
      if (attempt >= 3 || !isDroppedConnection(error)) throw error;
    }
  }
}

/** A request that got no HTTP answer at all (reset, hang-up, refused), as opposed to an S3 error. */
function isDroppedConnection(error: unknown): boolean {
  const e = error as { $metadata?: { httpStatusCode?: number }; code?: string; message?: string };
  if (e?.$metadata?.httpStatusCode) return false;
  return ['ECONNRESET', 'EPIPE', 'ECONNREFUSED'].includes(String(e?.code)) || /socket hang up|ECONNRESET|EPIPE/.test(String(e?.message));
}

/** The object's body as a Node stream, for reading without holding it all in memory. */
export async function getStream(s3: S3Client, bucket: string, key: string): Promise<Readable> {
  const out = await s3.send(new (sdk().GetObjectCommand)({ Bucket: bucket, Key: key }));
  if (!out.Body) throw new Error(`s3://${bucket}/${key} has no body`);
  return out.Body as Readable;
}

/** The object's body streamed to the file `path`, so a table or raw part never sits in memory whole. */
export async function getFile(s3: S3Client, bucket: string, key: string, path: string): Promise<void> {
  const { createWriteStream } = require('node:fs') as typeof import('node:fs');
  const { pipeline } = require('node:stream/promises') as typeof import('node:stream/promises');
  await pipeline(await getStream(s3, bucket, key), createWriteStream(path));
}

/** The user metadata and size of an object (HeadObject: GetObject's permission, no body). */
export async function getMetadata(s3: S3Client, bucket: string, key: string): Promise<{ metadata: Record<string, string>; bytes: number }> {
  const out = await s3.send(new (sdk().HeadObjectCommand)({ Bucket: bucket, Key: key }));
  return { metadata: out.Metadata ?? {}, bytes: out.ContentLength ?? 0 };
}

/** Every key under `prefix`, following ListObjectsV2 continuation tokens. */
export async function listKeys(s3: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const out = await s3.send(new (sdk().ListObjectsV2Command)({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    for (const o of out.Contents ?? []) if (o.Key) keys.push(o.Key);
    token = out.IsTruncated ? out.NextContinuationToken : undefined;
  } while (token);
  return keys;
}

/** S3 user metadata is ASCII: anything else in a value becomes `?`. */
export function metadataText(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, '?');
}

/** A URL as ASCII metadata: URL.href already punycodes hosts and percent-encodes paths and queries. */
export function metadataUrl(url: string): string {
  return new URL(url).href.replace(/[^\x20-\x7e]/g, (c) => encodeURIComponent(c)).slice(0, 1024);
}

/** Whether an SDK error means "no such object" (GetObject says NoSuchKey, HeadObject only 404). */
export function isMissing(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === 'NoSuchKey' || e?.name === 'NotFound' || e?.$metadata?.httpStatusCode === 404;
}

/** The object's text, or undefined when it does not exist; other failures throw. */
export async function getText(s3: S3Client, bucket: string, key: string): Promise<string | undefined> {
  try {
    const out = await s3.send(new (sdk().GetObjectCommand)({ Bucket: bucket, Key: key }));
    return out.Body ? await out.Body.transformToString('utf8') : '';
  } catch (error) {
    if (isMissing(error)) return undefined;
    throw error;
  }
}

/** Uploads a small text object in one PutObject. */
export async function putText(s3: S3Client, bucket: string, key: string, text: string, contentType = 'application/json; charset=utf-8'): Promise<void> {
  await s3.send(new (sdk().PutObjectCommand)({ Bucket: bucket, Key: key, Body: text, ContentType: contentType }));
}

/** Whether a conditional write failed because the key is taken. */
export function isPreconditionFailed(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === 'PreconditionFailed' || e?.$metadata?.httpStatusCode === 412;
}
