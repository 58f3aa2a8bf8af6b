import { startServer } from '../test/helpers/loopback-server';

/**
 * A loopback stand-in for the AWS APIs the handlers call, enough for a successful run:
 * SSM GetParameters (JSON 1.1 protocol), S3 PutObject (keeps the body, decoded from aws-chunked,
 * and answers 200), S3 GetObject (serves what was put, or `objects` given up front; NoSuchKey
 * otherwise), Glue GetTable (no such table), CreateTable and UpdateTable (accepted, not kept). SNS is not served: a run that
 * publishes an alert fails loudly here, which is what a benchmark of the success path wants.
 * Reached through AWS_ENDPOINT_URL (the SDK's standard variable), path-style because the host is
 * an IP address.
 */
export interface AwsStandIn {
  endpoint: string;
  /** Keys stored by PutObject (`bucket/key` -> bytes). */
  stored: Map<string, Buffer>;
  requests: number;
  close(): Promise<void>;
}

/**
 * The payload of an `aws-chunked` body (how the SDK uploads a stream with a trailing checksum):
 * `<hex size>[;extensions]\r\n<bytes>\r\n` chunks up to one of size 0, then the trailers.
 * Stored decoded, so that an object put by one run reads back as written in the next.
 */
function unchunk(body: Buffer): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const eol = body.indexOf('\r\n', at);
    if (eol < 0) throw new Error('stand-in: an aws-chunked body ended inside a chunk header');
    const size = Number.parseInt(body.toString('latin1', at, eol).split(';')[0], 16);
    if (!(size > 0)) return Buffer.concat(parts);
    parts.push(body.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
}

export async function startAwsStandIn(options: { parameters: Record<string, string>; objects?: Record<string, Buffer | string>; keepBodies?: boolean }): Promise<AwsStandIn> {
  const stored = new Map<string, Buffer>(Object.entries(options.objects ?? {}).map(([k, v]) => [k, Buffer.from(v)]));
  const loopback = await startServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (options.keepBodies !== false || req.headers['x-amz-target']) chunks.push(chunk);
    });
    req.on('end', () => {
      const target = req.headers['x-amz-target'];
      if (target === 'AmazonSSM.GetParameters') {
        const { Names } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { Names: string[] };
        const Parameters = Names.filter((n) => n in options.parameters).map((Name) => ({ Name, Type: 'String', Value: options.parameters[Name], Version: 1 }));
        const InvalidParameters = Names.filter((n) => !(n in options.parameters));
        res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
        res.end(JSON.stringify({ Parameters, InvalidParameters }));
        return;
      }
      if (target === 'AWSGlue.GetTable') {
        res.writeHead(400, { 'content-type': 'application/x-amz-json-1.1' });
        res.end(JSON.stringify({ __type: 'EntityNotFoundException', Message: 'the stand-in keeps no tables' }));
        return;
      }
      if (target === 'AWSGlue.CreateTable' || target === 'AWSGlue.UpdateTable') {
        res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
        res.end('{}');
        return;
      }
      const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname.slice(1));
      if (req.method === 'PUT') {
        const body = Buffer.concat(chunks);
        stored.set(path, options.keepBodies === false ? Buffer.alloc(0) : req.headers['x-amz-decoded-content-length'] ? unchunk(body) : body);
        res.writeHead(200, { etag: `"${size.toString(16)}"` });
        res.end();
        return;
      }
      if (req.method === 'GET' && stored.has(path)) {
        const body = stored.get(path)!;
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(body.length), etag: '"x"' });
        res.end(body);
        return;
      }
      if (req.method === 'GET' && !target) {
        // As S3 answers a reader allowed to list the bucket: the first run has no table or state yet.
        res.writeHead(404, { 'content-type': 'application/xml' });
        res.end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message><Key>${path}</Key></Error>`);
        return;
      }
      res.writeHead(400, { 'content-type': 'text/plain' });
      res.end(`stand-in does not serve ${req.method} ${req.url} (${target ?? 'no target'})`);
    });
  });
  return {
    endpoint: loopback.origin,
    stored,
    get requests() {
      return loopback.requests;
    },
    close: loopback.close,
  };
}
