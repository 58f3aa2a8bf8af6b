import { randomUUID } from 'node:crypto';
import type { HandlerDeps, Notifier, ParameterReader } from '../handlers/aws/ports';
import { type BronzeOptions, runBronze } from '../handlers/bronze';
import type { BronzeEvent, BronzeObject, BronzeSummary, ManifestEvent, PartResult, RawEvent, RawObject, RawPlan, RawSummary } from '../handlers/contracts';
import { createLogger, type LogSink } from '../handlers/log';
import { runRawTask, type RawOptions } from '../handlers/raw';
import { runSilver, type SilverEvent, type SilverOptions } from '../handlers/silver';
import { STATES } from '../pipeline/state-machine';
import type { EndpointReport, LocalRunResult, LocalTestingHooks } from './run';

/** A Task state's local stand-in for its AWS service call: the call's Parameters in, its answer out. */
export type TaskHandler = (input: any) => Promise<any>;

/** What the handlers of a local run read, write and report through. */
export interface TaskEnvironment {
  s3: HandlerDeps['s3'];
  /** SSM parameters by name, as the stack would create them. */
  parameters: Record<string, string>;
  notifier: Notifier;
  sink: (layer: 'raw' | 'bronze' | 'silver') => LogSink;
  options: { raw: RawOptions; bronze: BronzeOptions; silver: SilverOptions };
  wrapTasks?: LocalTestingHooks['wrapTasks'];
}

/** Each endpoint's report, patched as its tasks answer; its `ms` counts from its plan. */
export interface EndpointReports {
  start(endpoint: string): void;
  report(endpoint: string, patch: Partial<EndpointReport>): void;
  get(endpoint: string): EndpointReport | undefined;
}

function endpointReports(): EndpointReports {
  const started = new Map<string, number>();
  const reports = new Map<string, EndpointReport>();
  return {
    start: (endpoint) => started.set(endpoint, Date.now()),
    report(endpoint, patch) {
      const current = reports.get(endpoint) ?? { endpoint, ok: false, ms: 0 };
      reports.set(endpoint, { ...current, ...patch, ms: Date.now() - (started.get(endpoint) ?? Date.now()) });
    },
    get: (endpoint) => reports.get(endpoint),
  };
}

function mapParameters(values: Record<string, string>): ParameterReader {
  return {
    async get(names) {
      return new Map(names.filter((n) => values[n]).map((n) => [n, values[n]] as [string, string]));
    },
  };
}

/**
 * The definition's Task states bound to the real handlers in-process (keys are state names), with
 * what each endpoint's tasks answer gathered into its report, and what silver built or why it failed.
 */
export function localTasks(env: TaskEnvironment): { handlers: Record<string, TaskHandler>; reports: EndpointReports; silver: () => LocalRunResult['silver'] } {
  const reports = endpointReports();
  const deps = (layer: 'raw' | 'bronze' | 'silver', functionName: string): HandlerDeps => ({
    s3: env.s3,
    parameters: mapParameters(env.parameters),
    notifier: env.notifier,
    log: createLogger({ function: functionName, layer }, env.sink(layer)),
    functionName,
  });
  const silver = silverTask(deps('silver', STATES.silver), env.options.silver);
  const handlers: Record<string, TaskHandler> = {
    [STATES.listEndpoints]: async (input) => ({ Parameter: { Name: input.Name, Value: env.parameters[input.Name] } }),
    ...rawTasks(deps('raw', STATES.raw), env.options.raw, reports),
    ...bronzeTasks(deps('bronze', STATES.bronze), env.options.bronze, reports),
    [STATES.silver]: silver.handler,
    ...alertTasks(env.notifier, reports),
  };
  for (const [state, wrap] of Object.entries(env.wrapTasks ?? {})) {
    const real = handlers[state];
    handlers[state] = (input) => wrap(input, real) as Promise<any>;
  }
  return { handlers, reports, silver: silver.outcome };
}

/** lambda:invoke answers { StatusCode, Payload }; the definition's ResultSelector reads $.Payload. */
function invoke<E, R>(run: (event: E) => Promise<R>): TaskHandler {
  return async (input) => ({ StatusCode: 200, Payload: (await run(input.Payload as E)) as any });
}

/** What a raw summary says of its endpoint in the run's report. */
function rawReport(summary: RawSummary): Partial<EndpointReport> {
  const object: RawObject | undefined = summary.objects[0];
  const failure = summary.failed[0];
  return failure ? { ok: false, error: `raw: ${failure.error}` } : { mode: object?.mode, items: object?.items, pages: object?.pages, idPages: object?.idPages, bytes: object?.bytes };
}

function rawTasks(deps: HandlerDeps, options: RawOptions, reports: EndpointReports): Record<string, TaskHandler> {
  /** A Task bound to the raw function: its answer and its error reach the endpoint's report. */
  const rawStep = <R>(summarise: (result: R) => Partial<EndpointReport> | undefined, how: { starts?: boolean } = {}) =>
    invoke(async (event: RawEvent) => {
      const endpoint = event.endpoint ?? '';
      if (how.starts) reports.start(endpoint);
      try {
        const result = (await runRawTask(deps, options, event)) as R;
        const patch = summarise(result);
        if (patch) reports.report(endpoint, patch);
        return result;
      } catch (error) {
        reports.report(endpoint, { ok: false, error: `raw: ${event.part ? `part ${event.part.index}: ` : ''}${(error as Error).message}` });
        throw error;
      }
    });
  return {
    [STATES.plan]: rawStep<RawPlan>((plan) => (plan.failed[0] ? { ok: false, error: `raw: ${plan.failed[0].error}` } : plan.fanOut ? { parts: plan.fanOut.parts.length } : undefined), { starts: true }),
    [STATES.fetchPart]: rawStep<PartResult>(() => undefined),
    [STATES.joinParts]: rawStep<RawSummary>(rawReport),
    [STATES.raw]: rawStep<RawSummary>(rawReport),
  };
}

function bronzeTasks(deps: HandlerDeps, options: BronzeOptions, reports: EndpointReports): Record<string, TaskHandler> {
  return {
    [STATES.bronze]: invoke(async (event: BronzeEvent) => {
      const endpoint = 'objects' in event && Array.isArray(event.objects) ? String(event.objects[0]?.endpoint ?? '') : '';
      try {
        const summary: BronzeSummary = await runBronze(deps, options, event);
        const object: BronzeObject | undefined = summary.objects[0];
        const failure = summary.failed[0];
        reports.report(
          endpoint,
          failure
            ? { ok: false, error: `bronze: ${failure.error}` }
            : { ok: true, rows: object?.rows, columns: object?.columns, parquetBytes: object?.bytes, empty: object?.empty, upserted: object?.upserted, deleted: object?.deleted, restated: object?.restated, keyedBy: object?.keyedBy },
        );
        return summary;
      } catch (error) {
        reports.report(endpoint, { ok: false, error: `bronze: ${(error as Error).message}` });
        throw error;
      }
    }),
    [STATES.writeManifest]: invoke((event: ManifestEvent) => runBronze(deps, options, event)),
  };
}

function silverTask(deps: HandlerDeps, options: SilverOptions): { handler: TaskHandler; outcome: () => LocalRunResult['silver'] } {
  let silver: LocalRunResult['silver'];
  const handler = invoke(async (event: SilverEvent) => {
    try {
      silver = await runSilver(deps, options, event);
      return silver;
    } catch (error) {
      silver = { error: (error as Error).message };
      throw error;
    }
  });
  return { handler, outcome: () => silver };
}

function alertTasks(notifier: Notifier, reports: EndpointReports): Record<string, TaskHandler> {
  const publish = async (input: any) => {
    await notifier.publish(input.TopicArn, input.Subject, input.Message);
    return { MessageId: randomUUID() };
  };
  return {
    [STATES.publishSilverFailure]: publish,
    [STATES.publishFailure]: async (input) => {
      // Failures the state machine caught before a handler ran or reported (a task timeout,
      // Lambda throttling, a throwing override) reach the summary only through this message.
      for (const failed of parseFailures(input.Message)) {
        if (reports.get(failed.endpoint)?.error === undefined) reports.report(failed.endpoint, { ok: false, error: `${failed.stage}: ${failed.error}` });
      }
      return publish(input);
    },
  };
}

/** The `[{ endpoint, stage, error }]` of a PublishFailure message (see state-machine.ts), or none. */
function parseFailures(message: string): Array<{ endpoint: string; stage: string; error: string }> {
  try {
    const list = JSON.parse(message.slice(message.indexOf(' failed: ') + ' failed: '.length)) as Array<Record<string, unknown>>;
    return list
      .filter((f) => typeof f?.endpoint === 'string')
      .map((f) => {
        const e = f.error as { Error?: string; Cause?: string } | string | undefined;
        return { endpoint: f.endpoint as string, stage: String(f.stage), error: typeof e === 'string' ? e : `${e?.Error ?? 'Error'}: ${e?.Cause ?? ''}`.trim() };
      });
  } catch {
    return [];
  }
}
