import type { ExecutionContext } from 'ava';

/**
 * An unhandled rejection kills the Lambda runtime mid-invocation, so every abort (a deadline, a
 * crawl stopping its pages, a retry wait cut short) must end in a promise someone awaits. The
 * recorder lives for one test; unhandled rejections are reported after the microtask queue
 * drains, so one macrotask turn after the work is enough to see them all.
 */
export function recordUnhandledRejections(t: ExecutionContext): { drained(): Promise<unknown[]> } {
  const seen: unknown[] = [];
  const record = (reason: unknown) => void seen.push(reason);
  process.on('unhandledRejection', record);
  t.teardown(() => void process.off('unhandledRejection', record));
  return {
    async drained() {
      await new Promise<void>((resolve) => setImmediate(resolve));
      await new Promise<void>((resolve) => setImmediate(resolve));
      return seen.map((reason) => (reason instanceof Error ? `${reason.name}: ${reason.message}` : String(reason)));
    },
  };
}
