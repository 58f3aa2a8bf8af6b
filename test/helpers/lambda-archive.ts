import { spawn } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as pulumi from '@pulumi/pulumi';

/**
 * Builds a function's deployment archive the way aws.lambda.CallbackFunction does for `pulumi up`
 * (see @pulumi/aws lambda/lambdaMixins.js), unpacked into a folder, and runs its `handler` in a
 * separate Node process with a Lambda-like environment. What this proves that in-process tests
 * cannot: the serialized closure is self-contained, and every package it requires is either in the
 * archive or provided by the runtime.
 */

/** What CallbackFunction always adds to `codePathOptions.extraExcludePackages`. */
const ALWAYS_EXCLUDED = ['aws-sdk'];

export interface LambdaArchive {
  /** The unpacked archive: `__index.js` and `node_modules/...`, like /var/task. */
  dir: string;
  /** Every file of the archive, relative to `dir`, sorted. */
  files: string[];
  /** Top-level packages in the archive's node_modules (`ky`, `@scope/name`), sorted. */
  packages: string[];
  /** Size of `__index.js`. */
  indexBytes: number;
  /** Size of every file together (uncompressed). */
  totalBytes: number;
  remove(): Promise<void>;
}

/**
 * `factory` is the `callbackFactory` the component passes; `excludePackages` is the component's
 * full `codePathOptions.extraExcludePackages`. Must run with the project root as the working
 * directory: computeCodePaths reads `./package.json` and answers paths relative to it.
 */
export async function buildLambdaArchive(factory: () => unknown, excludePackages: string[]): Promise<LambdaArchive> {
  const closure = await pulumi.runtime.serializeFunction(factory as (...args: unknown[]) => unknown, {
    serialize: () => true,
    exportName: 'handler',
    isFactoryFunction: true,
    allowSecrets: true,
  });
  const codePaths = await pulumi.runtime.computeCodePaths({ extraExcludePackages: [...excludePackages, ...ALWAYS_EXCLUDED] });

  const dir = await mkdtemp(join(tmpdir(), 'lambda-archive-'));
  await writeFile(join(dir, '__index.js'), closure.text);
  for (const [archivePath, asset] of codePaths) {
    const source = await (asset as pulumi.asset.FileArchive | pulumi.asset.FileAsset).path;
    await cp(resolve(source), join(dir, archivePath), { recursive: true, dereference: true });
  }
  const files = (await readdir(dir, { recursive: true, withFileTypes: true }))
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name).slice(dir.length + 1))
    .sort();
  let totalBytes = 0;
  for (const file of files) totalBytes += (await stat(join(dir, file))).size;
  return {
    dir,
    files,
    packages: await topLevelPackages(join(dir, 'node_modules')),
    indexBytes: Buffer.byteLength(closure.text),
    totalBytes,
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

async function topLevelPackages(nodeModules: string): Promise<string[]> {
  const entries = await readdir(nodeModules, { withFileTypes: true }).catch(() => []);
  const names: string[] = [];
  for (const entry of entries) {
    if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
    if (entry.name.startsWith('@')) {
      for (const scoped of await readdir(join(nodeModules, entry.name))) names.push(`${entry.name}/${scoped}`);
    } else names.push(entry.name);
  }
  return names.sort();
}

/**
 * A stand-in for the runtime's own node_modules (/var/runtime/node_modules on Lambda, reached
 * through NODE_PATH): the Node.js 24 runtime provides AWS SDK v3 and nothing else an archive
 * could lean on. Only the `@aws-sdk` and `@smithy` scopes are linked from this repository, so a
 * `require('ky')` the archive forgot to carry fails here as it would on Lambda. (The SDK's own
 * dependencies resolve from the symlinks' real location, like the runtime's do from its folder.)
 */
export async function lambdaRuntimeModules(projectRoot: string): Promise<{ nodePath: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'lambda-runtime-'));
  const nodeModules = join(dir, 'node_modules');
  await mkdir(nodeModules);
  for (const scope of ['@aws-sdk', '@smithy']) await symlink(join(projectRoot, 'node_modules', scope), join(nodeModules, scope), 'dir');
  return { nodePath: nodeModules, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** What one invocation returned, as the Lambda service would report it. */
export type InvocationResult<R> = { ok: true; result: R } | { ok: false; errorType: string; errorMessage: string };

export interface InvokeOptions {
  /** The runtime's environment: function name, region, credentials, endpoints. */
  env: Record<string, string>;
  /** Extra NODE_PATH entries (the runtime's modules). */
  nodePath: string[];
  /** @default 60000 */
  timeoutMs?: number;
}

export interface InvokeOutput<R> {
  /** One per event, in order. */
  results: Array<InvocationResult<R>>;
  /** Every JSON line the handler logged to stdout. */
  logs: Array<Record<string, unknown>>;
  stderr: string;
}

/**
 * Like the Lambda runtime: loads `<dir>/__index.js` once (one cold start: the callbackFactory runs
 * once), then calls `handler(event, context)` for each event in turn (warm invocations), with
 * the archive folder as working directory. Results go to a file so the handler's stdout stays
 * its log stream.
 */
const RUNNER = `
'use strict';
const { readFileSync, writeFileSync } = require('node:fs');
const { randomUUID } = require('node:crypto');
const [events, out] = process.argv.slice(2);
(async () => {
  const started = Date.now();
  const { handler } = require(process.env.LAMBDA_TASK_ROOT + '/__index.js');
  const results = [];
  for (const event of JSON.parse(readFileSync(events, 'utf8'))) {
    const context = {
      functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
      functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION,
      memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
      logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
      logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
      invokedFunctionArn: 'arn:aws:lambda:' + process.env.AWS_REGION + ':123456789012:function:' + process.env.AWS_LAMBDA_FUNCTION_NAME,
      awsRequestId: randomUUID(),
      callbackWaitsForEmptyEventLoop: true,
      getRemainingTimeInMillis: () => 900000 - (Date.now() - started),
    };
    try {
      results.push({ ok: true, result: await handler(event, context) });
    } catch (error) {
      results.push({ ok: false, errorType: (error && error.name) || 'Error', errorMessage: String(error && error.message) });
    }
  }
  writeFileSync(out, JSON.stringify(results));
})().catch((error) => {
  process.stderr.write('runner: ' + (error && error.stack || error) + '\\n');
  process.exitCode = 1;
});
`;

export async function invokeArchive<R>(archive: LambdaArchive, events: unknown[], options: InvokeOptions): Promise<InvokeOutput<R>> {
  const work = await mkdtemp(join(tmpdir(), 'lambda-invoke-'));
  try {
    const runner = join(work, 'runner.cjs');
    const eventsFile = join(work, 'events.json');
    const outFile = join(work, 'results.json');
    await writeFile(runner, RUNNER);
    await writeFile(eventsFile, JSON.stringify(events));
    // Nothing of the test process leaks in (no tsx loader, no PATH tricks): only what Lambda sets.
    const env: Record<string, string> = {
      PATH: '/usr/local/bin:/usr/bin:/bin',
      LANG: 'en_US.UTF-8',
      TZ: ':UTC',
      LAMBDA_TASK_ROOT: archive.dir,
      LAMBDA_RUNTIME_DIR: '/var/runtime',
      AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x',
      AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '1024',
      AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
      NODE_PATH: options.nodePath.join(':'),
      TMPDIR: tmpdir(),
      ...options.env,
    };
    const child = spawn(process.execPath, [runner, eventsFile, outFile], { cwd: archive.dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const code = await new Promise<number | null>((done, fail) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        fail(new Error(`the archive in ${archive.dir} did not finish in ${options.timeoutMs ?? 60000} ms\n${stderr}`));
      }, options.timeoutMs ?? 60000);
      child.on('error', fail);
      child.on('close', (exit) => {
        clearTimeout(timer);
        done(exit);
      });
    });
    if (code !== 0) throw new Error(`the archive's runner exited with ${code}\n${stderr}\n${stdout}`);
    const logs = stdout
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => {
        try {
          return JSON.parse(line) as Record<string, unknown>;
        } catch {
          return { unparsed: line };
        }
      });
    return { results: JSON.parse(await readFile(outFile, 'utf8')) as Array<InvocationResult<R>>, logs, stderr };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
