/**
 * Runs `task` over `inputs` with at most `limit` in flight and hands each result to `consume` in
 * input order. At most `limit` results wait in memory, which is what bounds a crawl by a few
 * pages. `next` may extend the input while running (pages discovered from headers): it is asked
 * again after each `consume`, and whenever a task calls the `more` it was given; returning
 * `false` from `consume` stops scheduling. On the first failure the rest are abandoned and the
 * failure is rethrown (the caller aborts their requests through its signal).
 */
export async function forEachOrdered<I, R>(
  next: () => I | undefined,
  limit: number,
  task: (input: I, more: () => void) => Promise<R>,
  consume: (result: R, input: I) => Promise<boolean> | boolean,
): Promise<void> {
  const queue: Array<{ input: I; result: Promise<R> }> = [];
  let open = true;
  const fill = () => {
    while (open && queue.length < Math.max(1, limit)) {
      const input = next();
      if (input === undefined) return;
      const result = task(input, fill);
      // Failures are rethrown when their turn comes; until then they must not be "unhandled".
      result.catch(() => undefined);
      queue.push({ input, result });
    }
  };
  try {
    fill();
    while (queue.length > 0) {
      // The head stays queued until consumed, so a `more` meanwhile keeps to `limit` in all.
      const { input, result } = queue[0];
      const keep = await consume(await result, input);
      queue.shift();
      if (!keep) open = false;
      fill();
      if (!open) break;
    }
  } finally {
    // A task still running after a failure must not start more.
    open = false;
  }
}

/** `task` over every input with at most `limit` in flight; results in input order. */
export async function mapLimit<I, R>(inputs: readonly I[], limit: number, task: (input: I) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(inputs.length);
  let index = 0;
  const worker = async () => {
    while (index < inputs.length) {
      const i = index++;
      results[i] = await task(inputs[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, inputs.length)) }, worker));
  return results;
}

/**
 * Runs a task when fewer than the limit are running. Waiting tasks start lowest `priority` first
 * (default 0), in arrival order among equals.
 */
export type Limiter = <T>(task: () => Promise<T>, priority?: number) => Promise<T>;

/** A counting semaphore: at most `limit` tasks of every caller sharing it run at once. */
export function createLimiter(limit: number): Limiter {
  let running = 0;
  let arrivals = 0;
  const waiting: Array<{ priority: number; arrival: number; start: () => void }> = [];
  const wakeNext = () => {
    let best = -1;
    for (let i = 0; i < waiting.length; i++) {
      const w = waiting[i];
      if (best < 0 || w.priority < waiting[best].priority || (w.priority === waiting[best].priority && w.arrival < waiting[best].arrival)) best = i;
    }
    if (best < 0) return false;
    waiting.splice(best, 1)[0].start();
    return true;
  };
  return async (task, priority = 0) => {
    if (running >= Math.max(1, limit)) await new Promise<void>((start) => waiting.push({ priority, arrival: arrivals++, start }));
    else running++;
    try {
      return await task();
    } finally {
      if (!wakeNext()) running--;
    }
  };
}
