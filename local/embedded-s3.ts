import { mkdir } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';

// s3rver ships no types.
const S3rver = require('s3rver') as new (options: Record<string, unknown>) => {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
  httpServer?: import('node:http').Server;
};

export interface EmbeddedS3 {
  endpoint: string;
  directory: string;
  /** A client configured the way s3rver needs it (see s3ClientFor). */
  client: S3Client;
  stop(): Promise<void>;
}

/**
 * Path-style addressing because s3rver serves one host; checksums only when required because
 * the current SDK otherwise sends aws-chunked bodies that s3rver stores with their framing.
 */
export function s3ClientFor(endpoint: string): S3Client {
  return new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  });
}

/** Starts s3rver on a free loopback port, storing objects in `directory`, with the given buckets. */
export async function startEmbeddedS3(directory: string, buckets: string[]): Promise<EmbeddedS3> {
  await mkdir(directory, { recursive: true });
  const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory });
  const { port } = await server.run();
  // Node's server drops an idle keep-alive socket after 5 s; the SDK may pick that socket for its
  // next request at the same moment, which then fails with "socket hang up" (seen under load,
  // where requests of one run are seconds apart). Sockets live as long as a run here.
  if (server.httpServer) {
    server.httpServer.keepAliveTimeout = 10 * 60_000;
    server.httpServer.headersTimeout = 10 * 60_000 + 1000;
  }
  const endpoint = `http://127.0.0.1:${port}`;
  const client = s3ClientFor(endpoint);
  for (const Bucket of buckets) {
    await client.send(new CreateBucketCommand({ Bucket })).catch((error: { name?: string }) => {
      if (error.name !== 'BucketAlreadyOwnedByYou' && error.name !== 'BucketAlreadyExists') throw error;
    });
  }
  return {
    endpoint,
    directory,
    client,
    async stop() {
      client.destroy();
      await server.close();
    },
  };
}
