import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import type { FixtureCollection } from '../local/demo-site/rest-server';
import { startWordPressFixture } from '../local/demo-site/rest-server';
import { post, prng } from '../local/demo-site/posts';
import { startAwsStandIn } from './stand-in';

/**
 * The far side of the extraction bench: the WordPress fixture, holding every answer for a fixed
 * latency, and the S3/SSM stand-in. On a real run both are other machines. Run on the crawler's
 * thread, their timers fire late and a request is only seen once the crawler's current parse
 * ends, so the crawler's CPU was billed twice; `serveOnWorker` gives them a thread of their own.
 */

export interface ServerConfig {
  /** Endpoint name, fixture kind, items. */
  endpoints: Array<[string, FixtureCollection['kind'], number]>;
  latencyMs: number;
}

/** A request as the fixture saw it, times in ms since the epoch (comparable across threads). */
export interface ServedRequest {
  page: string | null;
  receivedAt: number;
  answeredAt?: number;
}

export interface ExtractServer {
  api: string;
  s3Endpoint: string;
  onWorker: boolean;
  /** Empties the request log and restarts the in-flight high-water mark. */
  reset(): Promise<void>;
  stats(): Promise<{ requests: ServedRequest[]; maxInFlight: number; connections: number }>;
  /** Stores (or, with undefined, deletes) an object of the S3 stand-in. */
  setObject(key: string, body: string | undefined): Promise<void>;
  close(): Promise<void>;
}

/** Wall-clock milliseconds with performance.now()'s resolution, the same origin on every thread. */
function epochMs(monotonic: number): number {
  return performance.timeOrigin + monotonic;
}

export function nowEpochMs(): number {
  return epochMs(performance.now());
}

/** Starts both servers on this thread. */
export async function serveHere(config: ServerConfig): Promise<ExtractServer> {
  const random = prng(7);
  const collections: Record<string, FixtureCollection> = {};
  let id = 1;
  for (const [name, kind, count] of config.endpoints) {
    collections[name] = { kind, items: Array.from({ length: count }, () => post(random, id++, { contentBytes: [200, 2000] })) };
  }
  const fixture = await startWordPressFixture({
    collections,
    fault: () => ({ delayMs: config.latencyMs, passThrough: true }),
    // Apache's default KeepAliveTimeout: a crawler reuses its connections on a real site.
    keepAliveMs: 5000,
    // The site's JSON encoding is its own CPU, not the crawler's (the warm-up run fills it).
    reuseAnswers: true,
  });
  // Parameters come from the handler's deps directly; the stand-in serves S3 only.
  const standIn = await startAwsStandIn({ parameters: {}, keepBodies: false });
  return {
    api: fixture.api,
    s3Endpoint: standIn.endpoint,
    onWorker: !isMainThread,
    reset: async () => fixture.resetCounts(),
    stats: async () => ({
      requests: fixture.requests.map((r) => ({ page: r.url.searchParams.get('page'), receivedAt: epochMs(r.receivedAt), answeredAt: r.answeredAt === undefined ? undefined : epochMs(r.answeredAt) })),
      maxInFlight: fixture.maxInFlight,
      connections: fixture.connections,
    }),
    setObject: async (key, body) => {
      if (body === undefined) standIn.stored.delete(key);
      else standIn.stored.set(key, Buffer.from(body));
    },
    close: async () => {
      await standIn.close();
      await fixture.close();
    },
  };
}

/** What the main thread asks of the server thread. */
type Operation = { op: 'reset' | 'stats' | 'close' } | { op: 'setObject'; key: string; body?: string };
type Call = Operation & { id: number };

/** Starts both servers on a worker thread of their own; calls go by message. */
export async function serveOnWorker(config: ServerConfig): Promise<ExtractServer> {
  // The worker inherits this process's execArgv, so the TypeScript loader the bench runs under.
  const worker = new Worker(__filename, { workerData: config });
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  let failure: Error | undefined;
  const fail = (error: Error) => {
    failure = error;
    for (const { reject } of pending.values()) reject(error);
    pending.clear();
  };
  worker.on('error', fail);
  worker.on('exit', (code) => fail(new Error(`the extraction bench's server thread exited (code ${code})`)));
  const ready = new Promise<Pick<ExtractServer, 'api' | 's3Endpoint' | 'onWorker'>>((resolve, reject) => {
    pending.set(0, { resolve: resolve as (value: unknown) => void, reject });
  });
  worker.on('message', (message: { id: number; result?: unknown; error?: string }) => {
    const waiter = pending.get(message.id);
    pending.delete(message.id);
    if (message.error !== undefined) waiter?.reject(new Error(message.error));
    else waiter?.resolve(message.result);
  });
  let next = 1;
  const call = <T>(message: Operation): Promise<T> => {
    if (failure) return Promise.reject(failure);
    const id = next++;
    return new Promise<T>((resolve, reject) => {
      pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      worker.postMessage({ ...message, id });
    });
  };
  const started = await ready;
  return {
    ...started,
    reset: () => call({ op: 'reset' }),
    stats: () => call({ op: 'stats' }),
    setObject: (key, body) => call({ op: 'setObject', key, body }),
    close: async () => {
      await call({ op: 'close' });
      worker.removeAllListeners('exit');
      await worker.terminate();
    },
  };
}

if (!isMainThread && parentPort) {
  const port = parentPort;
  serveHere(workerData as ServerConfig).then(
    (server) => {
      port.postMessage({ id: 0, result: { api: server.api, s3Endpoint: server.s3Endpoint, onWorker: server.onWorker } });
      port.on('message', (call: Call) => {
        const run = call.op === 'setObject' ? server.setObject(call.key, call.body) : server[call.op]();
        run.then(
          (result) => port.postMessage({ id: call.id, result }),
          (error: unknown) => port.postMessage({ id: call.id, error: String((error as Error)?.stack ?? error) }),
        );
      });
    },
    (error: unknown) => port.postMessage({ id: 0, error: String((error as Error)?.stack ?? error) }),
  );
}
