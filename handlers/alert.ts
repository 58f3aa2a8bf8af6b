import type { HandlerDeps } from './aws/ports';

/** Publishes an alert; a failed publish is logged and swallowed, so it never hides the error being reported. */
export async function alert(deps: HandlerDeps, topicArn: string, subject: string, message: string): Promise<void> {
  try {
    await deps.notifier.publish(topicArn, subject, message);
  } catch (error) {
    deps.log.error('could not publish alert', { subject, topicArn, error: error instanceof Error ? error.message : String(error) });
  }
}

/**
 * Ends an invocation that cannot do its work (a missing parameter, an event it cannot read): the
 * message is logged, alerted as the function's failure, and thrown, so the state machine sees it too.
 */
export async function failInvocation(deps: HandlerDeps, topicArn: string, message: string, fields?: Record<string, unknown>, cause?: unknown): Promise<never> {
  deps.log.error(message, fields);
  await alert(deps, topicArn, `${deps.functionName}: Failed`, message);
  throw new Error(message, cause === undefined ? undefined : { cause });
}
