/** When and how long to wait before retrying a request. Pure functions, so tests need no clock. */

/**
 * Statuses worth retrying: the server or a proxy is busy or briefly broken. 4xx other than
 * 408/429 mean the request itself is wrong and will fail the same way again.
 */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status === 500 || status === 502 || status === 503 || status === 504;
}

/**
 * `Retry-After` in milliseconds: delta-seconds or an HTTP date (RFC 9110 §10.2.3). Undefined when
 * absent or unreadable; a date in the past means "now" (0).
 */
export function parseRetryAfter(value: string | null | undefined, now: number = Date.now()): number | undefined {
  if (value === null || value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  if (!/[a-z]/i.test(text)) return undefined;
  const date = Date.parse(text);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

export interface BackoffOptions {
  /**
   * Base of the exponential backoff; attempt n waits up to `baseDelayMs * 2^n`.
   * @default 500
   */
  baseDelayMs: number;
  /**
   * Ceiling of one backoff wait.
   * @default 20000
   */
  maxDelayMs: number;
}

/**
 * "Full jitter" backoff: a random wait in [0, min(max, base * 2^attempt)), which spreads retries
 * of concurrent clients better than fixed exponential steps
 * (https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/). `attempt` is 0 for
 * the first retry.
 */
export function backoffDelay(attempt: number, options: BackoffOptions, random: () => number = Math.random): number {
  const ceiling = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** attempt);
  return Math.floor(random() * ceiling);
}

/**
 * The wait before the next attempt: the server's `Retry-After`, capped so a hostile or confused
 * server cannot park the Lambda until its timeout, and never shorter than our own backoff.
 */
export function retryDelay(attempt: number, retryAfterMs: number | undefined, options: BackoffOptions & { maxRetryAfterMs: number }, random?: () => number): number {
  const backoff = backoffDelay(attempt, options, random);
  if (retryAfterMs === undefined) return backoff;
  return Math.max(backoff, Math.min(retryAfterMs, options.maxRetryAfterMs));
}
