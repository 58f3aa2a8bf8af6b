import type { Credentials } from './auth';
import type { Limiter } from '../concurrency';
import { basicAuthorization } from './auth';
import { isRetryableStatus, parseRetryAfter, retryDelay } from './retry';
import { sameHost } from './url';
import { parseJsonArrayInPieces } from './json-body';

/** How requests are sent, retried and validated. */
export interface TransportOptions {
  /**
   * Sent with every request; some WAFs block the default of fetch.
   * @default 'wordpress-lakehouse/0.1'
   */
  userAgent: string;
  /**
   * Deadline of one attempt, from sending the request to the last byte of the body.
   * @default 30000
   */
  timeoutMs: number;
  /**
   * Retries after the first attempt, for 408/429/5xx and network errors.
   * @default 4
   */
  maxRetries: number;
  /**
   * Base of the exponential backoff with full jitter.
   * @default 500
   */
  retryBaseDelayMs: number;
  /**
   * Ceiling of one backoff wait.
   * @default 20000
   */
  maxRetryDelayMs: number;
  /**
   * Ceiling on how long a `Retry-After` is honoured.
   * @default 60000
   */
  maxRetryAfterMs: number;
  /**
   * Largest response body accepted; a larger one fails the request instead of exhausting memory.
   * @default 67108864 (64 MiB)
   */
  maxBodyBytes: number;
  /**
   * Redirects followed, and only on the same host.
   * @default 5
   */
  maxRedirects: number;
  /**
   * WordPress application password, sent as Basic auth over https only.
   * @default undefined (anonymous)
   */
  credentials?: Credentials;
  /**
   * Waits between attempts; injectable so tests run without real delays.
   * @default setTimeout-based sleep
   */
  sleep?: (ms: number) => Promise<void>;
  /**
   * Source of jitter in [0, 1).
   * @default Math.random
   */
  random?: () => number;
  /**
   * Aborts every request of a crawl once one page has failed.
   * @default undefined
   */
  signal?: AbortSignal;
  /**
   * Runs each attempt; shared between endpoints it bounds the requests in flight of a whole run.
   * Backoff waits happen outside it.
   * @default undefined (no bound)
   */
  limiter?: Limiter;
  /**
   * This request's place among those waiting for `limiter`: lower goes first.
   * @default 0
   */
  priority?: number;
  /**
   * Called with the headers of a 2xx answer as soon as they arrive, before its body is read (a
   * crawler learns X-WP-TotalPages from them).
   * @default undefined
   */
  onHeaders?: (headers: Headers) => void;
}

export const defaultTransportOptions: TransportOptions = {
  userAgent: 'wordpress-lakehouse/0.1',
  timeoutMs: 30_000,
  maxRetries: 4,
  retryBaseDelayMs: 500,
  maxRetryDelayMs: 20_000,
  maxRetryAfterMs: 60_000,
  maxBodyBytes: 64 * 1024 * 1024,
  maxRedirects: 5,
};

/** A successful answer whose body parsed as JSON. */
export interface JsonResponse {
  /** The URL that answered (after same-host redirects). */
  url: string;
  status: number;
  headers: Headers;
  body: unknown;
}

/** What a failed request carries besides its message, for callers that treat some failures as signals. */
export interface RequestError extends Error {
  url: string;
  status?: number;
  /** WordPress error `code`, e.g. `rest_post_invalid_page_number`. */
  code?: string;
  /** WordPress error `data`, e.g. `{ status: 400, params: { orderby: '...' } }`. */
  data?: unknown;
  retryable: boolean;
  /** The server's `Retry-After`, in milliseconds. */
  retryAfterMs?: number;
}

/** A request error with `status` (and WordPress `code`, when given). */
export function isRequestError(error: unknown, status?: number, code?: string): error is RequestError {
  if (!(error instanceof Error)) return false;
  const e = error as Partial<RequestError>;
  return typeof e.url === 'string' && (status === undefined || e.status === status) && (code === undefined || e.code === code);
}

function requestError(message: string, fields: Omit<RequestError, 'name' | 'message'>): RequestError {
  return Object.assign(new Error(message), fields);
}

/**
 * GETs `url` and returns its JSON body, retrying transient failures. Everything that is not a 2xx
 * answer with a non-empty JSON body becomes an error whose message names the method, the URL,
 * the status and what the server said.
 */
export async function getJson(url: string, options: TransportOptions): Promise<JsonResponse> {
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  for (let attempt = 0; ; attempt++) {
    try {
      return await attemptOnce(url, options);
    } catch (error) {
      const e = error as Partial<RequestError>;
      if (options.signal?.aborted) throw error;
      if (!e.retryable || attempt >= options.maxRetries) {
        if (attempt > 0 && error instanceof Error) error.message += ` (after ${attempt + 1} attempts)`;
        throw error;
      }
      await sleep(retryDelay(attempt, e.retryAfterMs, { baseDelayMs: options.retryBaseDelayMs, maxDelayMs: options.maxRetryDelayMs, maxRetryAfterMs: options.maxRetryAfterMs }, options.random));
    }
  }
}

/** What one attempt received, before it is judged and parsed. */
interface Received {
  url: string;
  response: Response;
  body: Buffer;
}

/** One turn of the event loop. */
function nextTurn(): Promise<void> {
  return new Promise<void>((resume) => setImmediate(resume));
}

/**
 * One attempt: the request and its body under a limiter slot, then the answer judged and parsed
 * outside it. The server is done with a request once its last byte arrived, so the slot goes to
 * the next request before the body is parsed; with every response of a round arriving together,
 * parsing inside the slots kept all of them idle until the whole round was parsed (the bench saw
 * requests leave in lockstep rounds of about latency + 4 parses).
 *
 * Two of undici's steps wait a turn of the event loop (setImmediate), so this waits for them:
 * - It hands a kept-alive socket back to its pool a turn after the response ended. The slot is
 *   released only then: a request sent earlier found every socket busy and opened a new
 *   connection, a TCP and TLS handshake on a real site (the bench's fixture saw 6 connections
 *   for 4 slots).
 * - It writes a request on a reused socket a turn after the request was dispatched, once it has
 *   checked that the server did not close the idle socket. The parse waits two turns, for the
 *   next request's dispatch and then for that check: after one turn the next request still left
 *   after this parse (the bench measured 6-7 ms from sending to the server seeing a request, then
 *   1.5-2.5 ms).
 */
async function attemptOnce(url: string, options: TransportOptions): Promise<JsonResponse> {
  try {
    let received: Received;
    if (options.limiter) {
      received = await options.limiter(async () => {
        const answer = await receive(url, options);
        await nextTurn();
        return answer;
      }, options.priority);
      await nextTurn();
      await nextTurn();
    } else {
      received = await receive(url, options);
    }
    return interpret(received.url, received.response, received.body);
  } catch (error) {
    // Error texts quote what the server said, and a debug page may echo the request headers:
    // the Basic token (or the password) must not ride along into alerts and logs.
    if (options.credentials && error instanceof Error) error.message = redactCredentials(error.message, options.credentials);
    throw error;
  }
}

/**
 * The request under one deadline for headers and body: ky's own timeout stops at the headers
 * when the body is read as a stream, and a server that trickles bytes must not hold the Lambda.
 *
 * The deadline is a plain timer on our own AbortController, and the waits for headers and body
 * watch that controller themselves instead of trusting the signal handed to ky: ky wraps it in
 * `AbortSignal.any()`, whose combined signal Node holds weakly, and after a garbage collection
 * an abort no longer reached the body being read (a trickling server then held the crawl
 * forever; found by test/reliability's slowloris case). `AbortSignal.timeout()` is avoided for
 * the same reason.
 */
async function receive(startUrl: string, options: TransportOptions): Promise<Received> {
  const controller = new AbortController();
  const deadline = { aborted: false };
  const timer = setTimeout(() => {
    deadline.aborted = true;
    controller.abort(new DOMException(`no answer within ${options.timeoutMs} ms`, 'TimeoutError'));
  }, options.timeoutMs);
  const outer = options.signal;
  const onOuterAbort = () => controller.abort(outer?.reason);
  if (outer?.aborted) onOuterAbort();
  else outer?.addEventListener('abort', onOuterAbort, { once: true });
  try {
    return await attemptWithin(startUrl, options, controller.signal, deadline);
  } finally {
    clearTimeout(timer);
    outer?.removeEventListener('abort', onOuterAbort);
  }
}

/** `text` without the Basic token, the password or its URL encoding (found by test/security/secrets). */
function redactCredentials(text: string, credentials: Credentials): string {
  const forms = [Buffer.from(`${credentials.username}:${credentials.password}`, 'utf8').toString('base64'), credentials.password, encodeURIComponent(credentials.password)];
  return forms.filter((form) => form.length > 0).reduce((out, form) => out.split(form).join('[redacted]'), text);
}

/**
 * What `start` returns, or a rejection as soon as `signal` aborts, whichever comes first. Nothing
 * is started once `signal` has aborted: a request begun on an aborted signal rejects at once, and
 * with nobody left to await it that rejection was unhandled (issue 10; it kills a Lambda).
 */
function untilAborted<T>(start: () => Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  const promise = start();
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

async function attemptWithin(startUrl: string, options: TransportOptions, signal: AbortSignal, deadline: { readonly aborted: boolean }): Promise<Received> {
  const ky = (require('ky') as typeof import('ky')).default;
  let url = startUrl;
  for (let redirects = 0; ; redirects++) {
    const headers: Record<string, string> = { accept: 'application/json', 'user-agent': options.userAgent };
    if (options.credentials) headers.authorization = basicAuthorization(options.credentials, url);
    let response: Response;
    try {
      response = await untilAborted(() => ky.get(url, { headers, signal, timeout: false, retry: 0, throwHttpErrors: false, redirect: 'manual' }), signal);
    } catch (error) {
      throw networkError(url, error, deadline, options);
    }
    if (response.status >= 300 && response.status < 400 && response.headers.has('location')) {
      await response.body?.cancel();
      const target = new URL(response.headers.get('location')!, url).href;
      if (!sameHost(target, startUrl)) {
        throw requestError(`GET ${url} -> HTTP ${response.status}: refusing to follow a redirect to another host (${new URL(target).host})`, { url, status: response.status, retryable: false });
      }
      if (new URL(url).protocol === 'https:' && new URL(target).protocol !== 'https:') {
        throw requestError(`GET ${url} -> HTTP ${response.status}: refusing to follow a redirect from https to http`, { url, status: response.status, retryable: false });
      }
      if (redirects >= options.maxRedirects) {
        throw requestError(`GET ${startUrl}: more than ${options.maxRedirects} redirects`, { url, status: response.status, retryable: false });
      }
      url = target;
      continue;
    }
    if (response.ok) options.onHeaders?.(response.headers);
    let body: Buffer;
    try {
      body = await readCapped(response, url, options.maxBodyBytes, signal);
    } catch (error) {
      if (isRequestError(error)) throw error;
      throw networkError(url, error, deadline, options);
    }
    return { url, response, body };
  }
}

function networkError(url: string, error: unknown, deadline: { readonly aborted: boolean }, options: TransportOptions): RequestError {
  if (deadline.aborted) return requestError(`GET ${url}: no complete answer within ${options.timeoutMs} ms`, { url, retryable: true });
  if (options.signal?.aborted) return requestError(`GET ${url}: aborted`, { url, retryable: false });
  const e = error as { message?: string; cause?: { code?: string; message?: string } };
  const cause = e.cause?.code ?? e.cause?.message;
  return requestError(`GET ${url}: network error: ${e.message ?? String(error)}${cause ? ` (${cause})` : ''}`, { url, retryable: true });
}

async function readCapped(response: Response, url: string, maxBytes: number, signal: AbortSignal): Promise<Buffer> {
  const tooLarge = () =>
    requestError(`GET ${url} -> HTTP ${response.status}: body larger than the ${maxBytes}-byte limit`, { url, status: response.status, retryable: false });
  const declared = Number(response.headers.get('content-length'));
  if (declared > maxBytes) {
    await response.body?.cancel();
    throw tooLarge();
  }
  const chunks: Buffer[] = [];
  let size = 0;
  if (response.body) {
    const reader = response.body.getReader();
    // Cancelling the reader ends a pending read at once, whatever happened to fetch's own signal.
    const onAbort = () => void reader.cancel(signal.reason).catch(() => undefined);
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      for (;;) {
        if (signal.aborted) throw signal.reason;
        const { done, value } = await reader.read();
        if (signal.aborted) throw signal.reason;
        if (done) break;
        size += value.byteLength;
        if (size > maxBytes) {
          await reader.cancel().catch(() => undefined);
          throw tooLarge();
        }
        chunks.push(Buffer.from(value.buffer, value.byteOffset, value.byteLength));
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }
  return Buffer.concat(chunks, size);
}

/** The first ~200 bytes of a body, on one line, for error messages. */
function snippet(body: Buffer | string): string {
  const text = Buffer.isBuffer(body) ? body.subarray(0, 200).toString('utf8') : body.slice(0, 200);
  return JSON.stringify(text.replace(/\s+/g, ' ').trim());
}

/** Whether a body starts like HTML (a WAF page, a login page, a PHP error) rather than JSON. */
export function looksLikeHtml(text: string): boolean {
  return /^\s*</.test(text);
}

/** Bytes decoded to judge what a successful answer is before it is parsed. */
const HEAD_BYTES = 1024;

function interpret(url: string, response: Response, body: Buffer): JsonResponse {
  const status = response.status;
  const head = `GET ${url} -> HTTP ${status} ${response.statusText}`.trimEnd();
  const contentType = response.headers.get('content-type') ?? '';
  if (status < 200 || status >= 300) {
    const text = decode(body);
    const retryable = isRetryableStatus(status);
    const fields = { url, status, retryable, retryAfterMs: parseRetryAfter(response.headers.get('retry-after')) };
    const wp = wordpressError(text);
    if (wp) return throwError(`${head}: ${wp.code}: ${wp.message}`, { ...fields, code: wp.code, data: wp.data });
    return throwError(`${head}: ${text.trim() === '' ? 'empty body' : snippet(body)}`, fields);
  }
  // The start of the body tells HTML and an empty body from JSON (one of only whitespace is read
  // whole): a page is not decoded as one string, see parseJsonArrayInPieces.
  let start = decode(body.subarray(0, HEAD_BYTES));
  if (start.trim() === '' && body.length > HEAD_BYTES) start = decode(body);
  if (looksLikeHtml(start)) {
    return throwError(`${head}: answered HTML instead of JSON (a WAF or challenge page, a login page or a PHP error?): ${snippet(body)}`, { url, status, retryable: false });
  }
  if (start.trim() === '') return throwError(`${head}: empty body, expected JSON`, { url, status, retryable: false });
  if (!/json/i.test(contentType)) {
    return throwError(`${head}: content type ${JSON.stringify(contentType)} is not JSON: ${snippet(body)}`, { url, status, retryable: false });
  }
  const items = parseJsonArrayInPieces(body);
  if (items) return { url, status, headers: response.headers, body: items };
  try {
    return { url, status, headers: response.headers, body: JSON.parse(decode(body)) };
  } catch (error) {
    return throwError(`${head}: invalid JSON (${(error as Error).message}; truncated?), ${body.length} bytes starting ${snippet(body)}`, { url, status, retryable: false });
  }
}

/**
 * UTF-8 text without a leading byte-order mark: a BOM before the JSON is a classic WordPress quirk
 * (a theme or plugin file saved with one), and JSON.parse refuses it although the data is fine.
 */
function decode(bytes: Buffer): string {
  return bytes.toString('utf8').replace(/^\uFEFF/, '');
}

function throwError(message: string, fields: Omit<RequestError, 'name' | 'message'>): never {
  throw requestError(message, fields);
}

/** WordPress' error document (`{ code, message, data }`) in a body, or undefined. */
export function wordpressError(text: string): { code: string; message: string; data?: unknown } | undefined {
  try {
    const parsed = JSON.parse(text) as Record<string, unknown>;
    if (parsed && typeof parsed.code === 'string') return { code: parsed.code, message: String(parsed.message ?? ''), data: parsed.data };
  } catch {
    // Not a WordPress error document; the caller quotes the body instead.
  }
  return undefined;
}
