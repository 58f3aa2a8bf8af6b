import { createServer, request as httpRequest } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';

/**
 * Loopback stand-ins for the AWS APIs the handlers call, speaking the wire protocols the SDK v3
 * clients use, so that a Lambda archive can run unchanged with only AWS_ENDPOINT_URL_<SERVICE>
 * pointing here. Each one records the calls it receives as IAM sees them (action + resource ARN),
 * which is what a policy must allow.
 *
 * - SSM: JSON 1.1 protocol (`POST /`, `X-Amz-Target: AmazonSSM.GetParameters`).
 * - SNS: query protocol (form-encoded `Action=Publish`, XML answer).
 * - S3: a recording proxy in front of s3rver (path-style requests).
 * - Glue: JSON 1.1 protocol (`X-Amz-Target: AWSGlue.GetTable`), the three table calls.
 */

/** One AWS API call as IAM authorizes it. */
export interface AwsCall {
  service: 's3' | 'ssm' | 'sns' | 'glue';
  /** IAM action, e.g. `s3:PutObject`, `ssm:GetParameters`, `sns:Publish`, `glue:GetTable`. */
  action: string;
  resource: string;
  /** Condition keys IAM evaluates for this call (e.g. `s3:prefix` of ListObjectsV2). */
  context?: Record<string, string>;
}

export interface Publish {
  topicArn: string;
  subject?: string;
  message: string;
}

export interface Emulator {
  endpoint: string;
  calls: AwsCall[];
  close(): Promise<void>;
}

export interface SsmEmulator extends Emulator {
  /** Current parameter values by name; edit to change what the next call sees. */
  parameters: Map<string, string>;
}

export interface SnsEmulator extends Emulator {
  /** Topics that exist; Publish to any other answers NotFound like SNS. */
  topics: Set<string>;
  publishes: Publish[];
}

export interface S3Proxy extends Emulator {
  /** Every request forwarded, with s3rver's status. */
  requests: Array<{ method: string; url: string; status: number }>;
}

/** A table as the Glue emulator keeps it: the last TableInput written, with its database and version. */
export interface GlueTable {
  DatabaseName: string;
  Name: string;
  TableType?: string;
  Parameters?: Record<string, string>;
  StorageDescriptor?: { Columns?: Array<{ Name: string; Type: string; Comment?: string }>; Location?: string; [key: string]: unknown };
  /** Glue archives the previous version on UpdateTable unless SkipArchive: '0', then '1', ... */
  VersionId: string;
}

export interface GlueEmulator extends Emulator {
  /** Tables by `<database>.<name>`. */
  tables: Map<string, GlueTable>;
}

export interface EmulatorOptions {
  region: string;
  account: string;
}

async function listen(server: Server): Promise<string> {
  // Keep-alive sockets would hold close() open after the tests.
  server.keepAliveTimeout = 1;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function closer(server: Server): () => Promise<void> {
  return () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
}

async function body(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** The SigV4 credential scope `<key>/<date>/<region>/<service>/aws4_request`, or why it is not acceptable. */
function checkSignature(req: IncomingMessage, region: string, service: string): string | undefined {
  const match = /Credential=[^/]+\/\d{8}\/([^/]+)\/([^/]+)\/aws4_request/.exec(req.headers.authorization ?? '');
  if (!match) return 'Request is missing Authentication Token';
  if (match[1] !== region || match[2] !== service) return `Credential should be scoped to region '${region}' and service '${service}', not '${match[1]}'/'${match[2]}'`;
  return undefined;
}

/** `arn:aws:ssm:<region>:<account>:parameter/<name without its leading slash>`, as IAM names parameters. */
export function parameterArn(name: string, options: EmulatorOptions): string {
  return `arn:aws:ssm:${options.region}:${options.account}:parameter/${name.replace(/^\//, '')}`;
}

export async function startSsmEmulator(parameters: Record<string, string>, options: EmulatorOptions): Promise<SsmEmulator> {
  const values = new Map(Object.entries(parameters));
  const calls: AwsCall[] = [];
  const json = (res: ServerResponse, status: number, payload: unknown) => {
    res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': randomUUID() });
    res.end(JSON.stringify(payload));
  };
  const error = (res: ServerResponse, status: number, type: string, message: string) => json(res, status, { __type: type, message });
  const parameter = (name: string) => ({
    Name: name,
    Type: 'String',
    Value: values.get(name),
    Version: 1,
    LastModifiedDate: 1_700_000_000,
    ARN: parameterArn(name, options),
    DataType: 'text',
  });
  const server = createServer(async (req, res) => {
    const text = await body(req);
    const refused = checkSignature(req, options.region, 'ssm');
    if (refused) return error(res, 403, 'UnrecognizedClientException', refused);
    const target = String(req.headers['x-amz-target'] ?? '');
    let input: { Names?: unknown; Name?: unknown };
    try {
      input = JSON.parse(text || '{}');
    } catch {
      return error(res, 400, 'SerializationException', 'body is not JSON');
    }
    if (target === 'AmazonSSM.GetParameters') {
      const names = input.Names;
      if (!Array.isArray(names) || names.length < 1 || names.length > 10 || !names.every((n) => typeof n === 'string')) {
        return error(res, 400, 'ValidationException', `1 validation error detected: Value at 'names' failed to satisfy constraint: Member must have length between 1 and 10`);
      }
      for (const name of names) calls.push({ service: 'ssm', action: 'ssm:GetParameters', resource: parameterArn(name, options) });
      return json(res, 200, {
        Parameters: names.filter((n) => values.has(n)).map(parameter),
        InvalidParameters: names.filter((n) => !values.has(n)),
      });
    }
    if (target === 'AmazonSSM.GetParameter') {
      if (typeof input.Name !== 'string') return error(res, 400, 'ValidationException', 'Name is required');
      calls.push({ service: 'ssm', action: 'ssm:GetParameter', resource: parameterArn(input.Name, options) });
      if (!values.has(input.Name)) return error(res, 400, 'ParameterNotFound', `Parameter ${input.Name} not found.`);
      return json(res, 200, { Parameter: parameter(input.Name) });
    }
    calls.push({ service: 'ssm', action: `ssm:${target.replace(/^AmazonSSM\./, '')}`, resource: '*' });
    return error(res, 400, 'UnknownOperationException', `the emulator does not implement ${target}`);
  });
  const endpoint = await listen(server);
  return { endpoint, calls, parameters: values, close: closer(server) };
}

const SNS_NS = 'http://sns.amazonaws.com/doc/2010-03-31/';
const xml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export async function startSnsEmulator(topics: string[], options: EmulatorOptions): Promise<SnsEmulator> {
  const known = new Set(topics);
  const calls: AwsCall[] = [];
  const publishes: Publish[] = [];
  const answer = (res: ServerResponse, status: number, payload: string) => {
    res.writeHead(status, { 'content-type': 'text/xml', 'x-amzn-requestid': randomUUID() });
    res.end(payload);
  };
  const error = (res: ServerResponse, status: number, code: string, message: string) =>
    answer(
      res,
      status,
      `<ErrorResponse xmlns="${SNS_NS}"><Error><Type>Sender</Type><Code>${code}</Code><Message>${xml(message)}</Message></Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`,
    );
  const server = createServer(async (req, res) => {
    const form = new URLSearchParams(await body(req));
    const refused = checkSignature(req, options.region, 'sns');
    if (refused) return error(res, 403, 'InvalidClientTokenId', refused);
    const action = form.get('Action') ?? '';
    if (action !== 'Publish') {
      calls.push({ service: 'sns', action: `sns:${action}`, resource: '*' });
      return error(res, 400, 'InvalidAction', `the emulator does not implement ${action}`);
    }
    const topicArn = form.get('TopicArn') ?? '';
    calls.push({ service: 'sns', action: 'sns:Publish', resource: topicArn });
    const subject = form.get('Subject') ?? undefined;
    const message = form.get('Message') ?? '';
    // SNS's own checks (Publish API reference): subject ASCII, no line breaks, under 100 characters.
    if (subject !== undefined && (subject.length === 0 || subject.length > 100 || /[^\x20-\x7e]/.test(subject))) {
      return error(res, 400, 'InvalidParameter', 'Invalid parameter: Subject');
    }
    if (message === '' || Buffer.byteLength(message) > 262_144) return error(res, 400, 'InvalidParameter', 'Invalid parameter: Message');
    if (!known.has(topicArn)) return error(res, 404, 'NotFound', 'Topic does not exist');
    publishes.push({ topicArn, subject, message });
    return answer(
      res,
      200,
      `<PublishResponse xmlns="${SNS_NS}"><PublishResult><MessageId>${randomUUID()}</MessageId></PublishResult><ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></PublishResponse>`,
    );
  });
  const endpoint = await listen(server);
  return { endpoint, calls, topics: known, publishes, close: closer(server) };
}

/**
 * The table calls of Glue over the `databases` given (an unknown one answers EntityNotFoundException,
 * as do GetTable and UpdateTable of a table that does not exist). IAM authorizes a table call on
 * the catalog, the database and the table, so each call is recorded once for each of the three.
 */
export async function startGlueEmulator(databases: string[], options: EmulatorOptions): Promise<GlueEmulator> {
  const known = new Set(databases);
  const tables = new Map<string, GlueTable>();
  const calls: AwsCall[] = [];
  const arn = (path: string) => `arn:aws:glue:${options.region}:${options.account}:${path}`;
  const json = (res: ServerResponse, status: number, payload: unknown) => {
    res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': randomUUID() });
    res.end(JSON.stringify(payload));
  };
  const error = (res: ServerResponse, status: number, type: string, message: string) => json(res, status, { __type: type, Message: message });
  const server = createServer(async (req, res) => {
    const text = await body(req);
    const refused = checkSignature(req, options.region, 'glue');
    if (refused) return error(res, 403, 'UnrecognizedClientException', refused);
    const operation = String(req.headers['x-amz-target'] ?? '').replace(/^AWSGlue\./, '');
    let input: { DatabaseName?: unknown; Name?: unknown; TableInput?: Omit<GlueTable, 'DatabaseName' | 'VersionId'>; SkipArchive?: unknown };
    try {
      input = JSON.parse(text || '{}');
    } catch {
      return error(res, 400, 'SerializationException', 'body is not JSON');
    }
    if (!['GetTable', 'CreateTable', 'UpdateTable'].includes(operation)) {
      calls.push({ service: 'glue', action: `glue:${operation}`, resource: '*' });
      return error(res, 400, 'UnknownOperationException', `the emulator does not implement ${operation}`);
    }
    const database = input.DatabaseName;
    const name = operation === 'GetTable' ? input.Name : input.TableInput?.Name;
    if (typeof database !== 'string' || typeof name !== 'string' || name === '') return error(res, 400, 'InvalidInputException', 'DatabaseName and a table name are required');
    for (const resource of [arn('catalog'), arn(`database/${database}`), arn(`table/${database}/${name}`)]) calls.push({ service: 'glue', action: `glue:${operation}`, resource });
    if (!known.has(database)) return error(res, 400, 'EntityNotFoundException', `Database ${database} not found.`);
    const key = `${database}.${name}`;
    const current = tables.get(key);
    if (operation === 'GetTable') {
      if (!current) return error(res, 400, 'EntityNotFoundException', `Table ${name} not found.`);
      return json(res, 200, { Table: current });
    }
    if (operation === 'CreateTable') {
      if (current) return error(res, 400, 'AlreadyExistsException', `Table already exists.`);
      tables.set(key, { ...input.TableInput!, Name: name, DatabaseName: database, VersionId: '0' });
      return json(res, 200, {});
    }
    if (!current) return error(res, 400, 'EntityNotFoundException', `Table ${name} not found.`);
    const version = input.SkipArchive === true ? current.VersionId : String(Number(current.VersionId) + 1);
    tables.set(key, { ...input.TableInput!, Name: name, DatabaseName: database, VersionId: version });
    return json(res, 200, {});
  });
  const endpoint = await listen(server);
  return { endpoint, calls, tables, close: closer(server) };
}

/**
 * IAM's view of one path-style S3 request (the actions and condition keys of the S3 service
 * authorization reference). Anything not recognised is recorded as `s3:Unrecognized ...`, so a
 * handler starting a new kind of call cannot slip past the recorded list.
 */
export function s3CallOf(method: string, url: string, headers: Record<string, string | string[] | undefined> = {}): AwsCall {
  const parsed = new URL(url, 'http://s3');
  const [bucket, ...rest] = parsed.pathname.slice(1).split('/');
  const key = rest.map(decodeURIComponent).join('/');
  const q = parsed.searchParams;
  const object = `arn:aws:s3:::${decodeURIComponent(bucket)}/${key}`;
  const bucketArn = `arn:aws:s3:::${decodeURIComponent(bucket)}`;
  if (key !== '') {
    if ((method === 'GET' || method === 'HEAD') && ![...q.keys()].some((k) => ['acl', 'tagging', 'attributes', 'uploadId'].includes(k))) {
      return { service: 's3', action: 's3:GetObject', resource: object };
    }
    // PutObject, and the parts of a multipart upload, are all authorized as s3:PutObject.
    // The raw role may only write with If-None-Match, which IAM sees as the s3:if-none-match key.
    const ifNoneMatch = headers['if-none-match'];
    const conditional = typeof ifNoneMatch === 'string' ? { context: { 's3:if-none-match': ifNoneMatch } } : {};
    if (method === 'PUT' && !q.has('acl') && !q.has('tagging')) return { service: 's3', action: 's3:PutObject', resource: object, ...conditional };
    if (method === 'POST' && (q.has('uploads') || q.has('uploadId'))) return { service: 's3', action: 's3:PutObject', resource: object };
    if (method === 'DELETE' && q.has('uploadId')) return { service: 's3', action: 's3:AbortMultipartUpload', resource: object };
    if (method === 'DELETE') return { service: 's3', action: 's3:DeleteObject', resource: object };
  } else if (method === 'GET' && [...q.keys()].every((k) => ['list-type', 'prefix', 'continuation-token', 'max-keys', 'delimiter', 'start-after', 'encoding-type', 'fetch-owner', 'x-id'].includes(k))) {
    return { service: 's3', action: 's3:ListBucket', resource: bucketArn, ...(q.has('prefix') && { context: { 's3:prefix': q.get('prefix')! } }) };
  }
  return { service: 's3', action: `s3:Unrecognized ${method} ${parsed.pathname}${parsed.search}`, resource: bucket ? bucketArn : '*' };
}

/** Forwards every request unchanged (the signature covers the Host header, so it is kept) to `target`. */
export async function startS3Proxy(target: string): Promise<S3Proxy> {
  const upstream = new URL(target);
  const calls: AwsCall[] = [];
  const requests: S3Proxy['requests'] = [];
  const server = createServer((req, res) => {
    const method = req.method ?? 'GET';
    const url = req.url ?? '/';
    calls.push(s3CallOf(method, url, req.headers));
    const forward = httpRequest(
      { host: upstream.hostname, port: upstream.port, method, path: url, headers: req.headers },
      (answer) => {
        requests.push({ method, url, status: answer.statusCode ?? 0 });
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forward.on('error', (error) => {
      requests.push({ method, url, status: 502 });
      res.writeHead(502).end(String(error));
    });
    req.pipe(forward);
  });
  const endpoint = await listen(server);
  return { endpoint, calls, requests, close: closer(server) };
}

/** Sorted and de-duplicated, so the list is stable from run to run and readable in a diff. */
export function normalizeCalls<T extends AwsCall>(calls: readonly T[]): T[] {
  const byKey = new Map<string, T>();
  for (const call of calls) {
    const ordered = { ...call, ...(call.context && { context: Object.fromEntries(Object.entries(call.context).sort()) }) } as T;
    byKey.set(JSON.stringify(ordered), ordered);
  }
  return [...byKey.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, call]) => call);
}
