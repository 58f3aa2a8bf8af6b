import test, { type ExecutionContext } from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer as createHttpsServer } from 'node:https';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HandlerDeps } from '../../handlers/aws/ports';
import { getStream } from '../../handlers/aws/s3';
import { createLogger } from '../../handlers/log';
import { runRaw } from '../../handlers/raw';
import { runLocal } from '../../local/run';
import { parameterNamesFor } from '../../pipeline/config';
import { startS3 } from '../helpers/s3rver';
import { type FaultHook, generateItems, startWordPressFixture } from '../../local/demo-site/rest-server';

/**
 * The WordPress application password at run time: refused over plain http, sent over https
 * only as the Authorization header, and never written to a log line, an alert, a run summary
 * or an S3 object, whatever the server answers. Tests here are serial: two of them set
 * environment variables of this worker process.
 */

const USERNAME = 'lakehouse-bot';
const PASSWORD = 'Tg5h Yu7j Ik9o Pl1a Sd3f Gh4j';
const BASIC = Buffer.from(`${USERNAME}:${PASSWORD}`).toString('base64');
const FORMS = [PASSWORD, PASSWORD.replace(/ /g, ''), encodeURIComponent(PASSWORD), BASIC];

function leaks(text: string): string[] {
  return FORMS.filter((form) => text.includes(form));
}

async function everyFile(dir: string): Promise<string> {
  let text = '';
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) text += `\n${await readFile(join(entry.parentPath, entry.name), 'latin1')}`;
  }
  return text;
}

/** Raw handler deps on a fresh s3rver, collecting logs and alerts as text. */
async function rawHarness(t: ExecutionContext, endpointUrl: string) {
  // The raw handler reads the endpoint's state from bronze before it crawls (none here: a full crawl).
  const s3 = await startS3(['raw', 'bronze']);
  t.teardown(() => s3.stop());
  const names = parameterNamesFor('test', 'https://blog.example.com');
  const values: Record<string, string> = {
    [names.rawBucket]: 'raw',
    [names.bronzeBucket]: 'bronze',
    [names.rawTopicArn]: 'arn:aws:sns:eu-west-2:123456789012:raw-topic',
    [names.endpoints]: JSON.stringify([{ name: 'posts', url: endpointUrl, paginate: true }]),
    [names.credentials]: JSON.stringify({ username: USERNAME, password: PASSWORD }),
  };
  const seen: string[] = [];
  const deps: HandlerDeps = {
    s3: s3.client,
    parameters: { get: async (list) => new Map(list.filter((n) => values[n]).map((n) => [n, values[n]] as [string, string])) },
    notifier: { publish: async (topic, subject, message) => void seen.push(`ALERT ${topic} ${subject} ${message}`) },
    log: createLogger({ function: 'raw' }, (line) => seen.push(line)),
    functionName: 'raw',
  };
  const options = { functionName: 'raw', layer: 'raw' as const, parameterNames: names, retryBaseDelayMs: 1, maxRetryDelayMs: 5, maxRetries: 1, perPage: 10 };
  return { s3, deps, options, seen };
}

test.serial('with credentials configured and an http site, the raw handler refuses to send them: no request carries them, nothing logs them', async (t) => {
  const site = await startWordPressFixture({ collections: { posts: { items: generateItems(12) } } });
  t.teardown(() => site.close());
  const { deps, options, seen } = await rawHarness(t, `${site.api}/wp/v2/posts`);
  const summary = await runRaw(deps, options, {});
  t.deepEqual(summary.succeeded, []);
  t.regex(summary.failed[0]?.error ?? '', /^refusing to send WordPress credentials over http to 127\.0\.0\.1:\d+: use an https URL$/);
  t.is(site.requests.length, 0, 'not even an anonymous request went out');
  t.true(seen.some((l) => l.startsWith('ALERT') && l.includes('refusing to send WordPress credentials over http')));
  t.deepEqual(leaks(seen.join('\n')), []);
});

test.serial('a local run with WORDPRESS_USERNAME/WORDPRESS_APPLICATION_PASSWORD against an http site fails every endpoint and writes the password nowhere', async (t) => {
  const site = await startWordPressFixture({ collections: { posts: { items: generateItems(12) }, tags: { items: generateItems(3, 50), kind: 'terms' } } });
  const dir = await mkdtemp(join(tmpdir(), 'lakehouse-secrets-'));
  t.teardown(async () => {
    await site.close();
    await rm(dir, { recursive: true, force: true });
  });
  await writeFile(join(dir, 'Pulumi.test.yaml'), `config:\n  wordpress-lakehouse:siteUrl: ${site.origin}\n  wordpress-lakehouse:endpoints: [posts, tags]\n`);
  const saved = { user: process.env.WORDPRESS_USERNAME, password: process.env.WORDPRESS_APPLICATION_PASSWORD };
  process.env.WORDPRESS_USERNAME = USERNAME;
  process.env.WORDPRESS_APPLICATION_PASSWORD = PASSWORD;
  const lines: string[] = [];
  let result;
  try {
    result = await runLocal({ projectDir: dir, stack: 'test', out: join(dir, 'out'), onEvent: (e) => lines.push(JSON.stringify(e)), testing: { retryIntervalMs: 1 } });
  } finally {
    for (const [key, value] of [['WORDPRESS_USERNAME', saved.user], ['WORDPRESS_APPLICATION_PASSWORD', saved.password]] as const) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  }
  t.is(result.status, 'FAILED');
  t.deepEqual(result.endpoints.map((e) => [e.endpoint, e.ok]), [['posts', false], ['tags', false]]);
  for (const e of result.endpoints) t.regex(e.error ?? '', /refusing to send WordPress credentials over http/);
  t.is(site.requests.length, 0);
  t.true(lines.length > 3);
  t.deepEqual(leaks(lines.join('\n')), [], 'log lines and alerts as they were emitted');
  t.deepEqual(leaks(await everyFile(join(dir, 'out'))), [], 'every file of the run: logs, alerts.jsonl, summary, the embedded S3');
});

/** A self-signed certificate for 127.0.0.1 made with the openssl command, or undefined without it. */
function selfSigned(dir: string): { key: string; cert: string } | undefined {
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
    return { key: join(dir, 'key.pem'), cert: join(dir, 'cert.pem') };
  } catch {
    return undefined;
  }
}

/** The fixture behind an https front on loopback; its certificate is trusted for this worker only. */
async function httpsSite(t: ExecutionContext, fault?: FaultHook) {
  const dir = await mkdtemp(join(tmpdir(), 'lakehouse-tls-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const pem = selfSigned(dir);
  if (!pem) return undefined;
  const site = await startWordPressFixture({ collections: { posts: { items: generateItems(25) } }, fault });
  const front = createHttpsServer({ key: await readFile(pem.key), cert: await readFile(pem.cert) }, (req, res) => {
    const upstream = httpRequest(`${site.origin}${req.url}`, { method: req.method, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  front.keepAliveTimeout = 1;
  await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
  const saved = process.env.NODE_TLS_REJECT_UNAUTHORIZED;
  // The simplest trust for a throwaway loopback certificate; restored after the test.
  process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';
  t.teardown(async () => {
    if (saved === undefined) delete process.env.NODE_TLS_REJECT_UNAUTHORIZED;
    else process.env.NODE_TLS_REJECT_UNAUTHORIZED = saved;
    front.closeAllConnections();
    await new Promise((resolve) => front.close(resolve));
    await site.close();
  });
  return { site, url: `https://127.0.0.1:${(front.address() as AddressInfo).port}/wp-json/wp/v2/posts` };
}

test.serial('over https the credentials go only in the Authorization header; logs, alerts, the object and its metadata hold no trace of them', async (t) => {
  const https = await httpsSite(t);
  if (!https) return t.pass('openssl is not installed: the https case is skipped');
  const { deps, options, seen, s3 } = await rawHarness(t, https.url);
  const summary = await runRaw(deps, options, {});
  t.deepEqual(summary.failed, []);
  t.is(summary.objects[0]?.items, 25);
  const auth = https.site.requests.map((r) => r.headers.authorization);
  t.true(auth.length >= 3 && auth.every((a) => a === `Basic ${BASIC}`), 'every request authenticated');
  t.true(https.site.requests.every((r) => !r.url.href.includes(encodeURIComponent(PASSWORD)) && !r.url.username), 'never in the URL');
  const key = summary.objects[0]!.key;
  t.regex(key, /^wordpress_api\/posts\/ingest_date=\d{4}-\d{2}-\d{2}\/posts-.+\.json$/);
  const chunks: Buffer[] = [];
  for await (const chunk of await getStream(s3.client, 'raw', key)) chunks.push(chunk as Buffer);
  t.is(JSON.parse(Buffer.concat(chunks).toString('utf8')).length, 25, 'the object read is the one the run wrote');
  const { HeadObjectCommand } = await import('@aws-sdk/client-s3');
  const head = await s3.client.send(new HeadObjectCommand({ Bucket: 'raw', Key: key }));
  t.deepEqual(leaks([...seen, Buffer.concat(chunks).toString('utf8'), JSON.stringify(head.Metadata)].join('\n')), []);
});

test.serial('over https, an error page that echoes the request headers does not carry the credentials into the alert or the logs', async (t) => {
  const https = await httpsSite(t, (request) =>
    request.route === '/wp/v2/posts' ? { status: 500, headers: { 'content-type': 'text/plain' }, body: `Debug: authorization: ${request.headers.authorization}\nuser-agent: ${request.headers['user-agent']}` } : undefined,
  );
  if (!https) return t.pass('openssl is not installed: the https case is skipped');
  const { deps, options, seen } = await rawHarness(t, https.url);
  const summary = await runRaw(deps, options, {});
  t.regex(summary.failed[0]?.error ?? '', /HTTP 500/);
  t.true(seen.some((l) => l.startsWith('ALERT')));
  t.deepEqual(leaks(seen.join('\n')), [], 'the echoed Basic token must be masked in error texts');
});
