import test from 'ava';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startDemoSite } from '../../local/demo-site';
import { startWordPressFixture } from '../../local/demo-site/rest-server';
import { probeSite } from '../../local/probe';
import { startServer } from '../helpers/loopback-server';

const ROOT = resolve(__dirname, '../..');

/** A site whose every answer is `status` with `body` of `type`. */
async function answering(status: number, type: string, body: string) {
  const server = await startServer((_req, res) => {
    res.writeHead(status, { 'content-type': type });
    res.end(body);
  });
  return server;
}

function oneLine(t: { regex(text: string, pattern: RegExp): void; false(value: boolean, message?: string): void }, problem: string | undefined, url: string, pattern: RegExp): void {
  t.false(problem === undefined, `${url} was not reported`);
  t.regex(problem!, new RegExp(`^${url.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/wp-json/: `));
  t.regex(problem!, pattern);
  t.regex(problem!, /Fix: /);
  t.false(problem!.includes('\n'), 'one line');
}

test("the demo site's REST index passes the probe, as a WordPress does", async (t) => {
  const demo = await startDemoSite();
  t.teardown(() => demo.close());
  t.is(await probeSite(demo.origin), undefined);
});

test('an address where nothing listens is reported as such', async (t) => {
  const server = await answering(200, 'text/plain', '');
  const { origin } = server;
  await server.close();
  oneLine(t, await probeSite(origin), origin, /nothing is listening there \(connection refused\)/);
});

test('a host name that does not resolve is reported as a DNS failure', async (t) => {
  // A resolver that cannot be reached (a machine without DNS) answers EAI_AGAIN instead of NXDOMAIN.
  oneLine(t, await probeSite('http://no-such-host.invalid'), 'http://no-such-host.invalid', /does not resolve \(DNS\)|could not be resolved \(DNS unavailable\)/);
});

test('an HTTP server that is no WordPress is reported as having no REST index', async (t) => {
  const server = await answering(404, 'text/html', '<!doctype html><title>Not found</title><h1>Nothing here</h1>');
  t.teardown(() => server.close());
  oneLine(t, await probeSite(server.origin), server.origin, /no WordPress REST index here \(HTTP 404, an HTML page\)/);
  const api = await answering(200, 'application/json', '{"status":"ok"}');
  t.teardown(() => api.close());
  oneLine(t, await probeSite(api.origin), api.origin, /no WordPress REST index here \(HTTP 200, application\/json, 15 bytes\)/);
});

test("a REST API closed to anonymous readers is reported with WordPress' error code", async (t) => {
  const site = await startWordPressFixture({
    fault: () => ({ status: 401, body: { code: 'rest_login_required', message: 'REST API restricted to authenticated users.', data: { status: 401 } } }),
  });
  t.teardown(() => site.close());
  oneLine(t, await probeSite(site.origin), site.origin, /refuses this reader \(HTTP 401 rest_login_required: REST API restricted to authenticated users\.\)\. Fix: .*WORDPRESS_APPLICATION_PASSWORD/);
});

test('an HTML challenge page (a WAF) is reported as one, not as a missing WordPress', async (t) => {
  const page = '<!DOCTYPE html><html><head><title>Just a moment...</title></head><body><div id="challenge-body">Checking your browser</div></body></html>';
  const server = await answering(403, 'text/html; charset=UTF-8', page);
  t.teardown(() => server.close());
  oneLine(t, await probeSite(server.origin), server.origin, /HTML challenge page \(HTTP 403\).*\(WAF\)/);
});

test('a site that accepts the connection and never answers is reported after the timeout', async (t) => {
  const site = await startWordPressFixture({ fault: () => ({ hang: true }) });
  t.teardown(() => site.close());
  oneLine(t, await probeSite(site.origin, { timeoutMs: 200 }), site.origin, /no answer within 0\.2 s/);
});

/** Whether the openssl command is there to make a self-signed certificate. */
function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const OPENSSL = hasOpenssl();
(OPENSSL ? test : test.skip)(`a certificate no public CA signed is reported as a TLS error${OPENSSL ? '' : ' (skipped: no openssl command to make one)'}`, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'probe-tls-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const files = { key: join(dir, 'key.pem'), cert: join(dir, 'cert.pem') };
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-keyout', files.key, '-out', files.cert], { stdio: 'ignore' });
  const server = createHttpsServer({ key: await readFile(files.key), cert: await readFile(files.cert) }, (_req, res) => res.end('{}'));
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  t.teardown(() => new Promise<void>((done) => server.close(() => done())));
  const origin = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  oneLine(t, await probeSite(origin), origin, /TLS error (DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN)/);
});

test('npm start stops before the run with exit code 2 and the probe\'s one line on stderr', async (t) => {
  const site = await startWordPressFixture({ fault: () => ({ status: 403, body: { code: 'rest_cannot_access', message: 'Only authenticated users can access the REST API.', data: { status: 403 } } }) });
  t.teardown(() => site.close());
  const out = await mkdtemp(join(tmpdir(), 'probe-cli-'));
  t.teardown(() => rm(out, { recursive: true, force: true }));
  const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((done) => {
    const child = execFile(process.execPath, ['--openssl-legacy-provider', '--require', 'tsx/cjs', 'local/cli.ts', '--site', site.origin, '--out', out], { cwd: ROOT }, (_error, stdout, stderr) => done({ code: child.exitCode, stdout, stderr }));
  });
  t.is(code, 2);
  t.is(stdout, '');
  t.regex(stderr, new RegExp(`^error: ${site.origin.replace(/[.]/g, '\\.')}/wp-json/: the REST API refuses this reader \\(HTTP 403 rest_cannot_access: [^\\n]*\\n$`));
  t.is(site.requests.length, 1, 'one request, to the REST index');
  t.deepEqual(await readdir(join(out, 'runs')).catch(() => []), [], 'no run started');
});
