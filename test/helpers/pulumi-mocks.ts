import * as pulumi from '@pulumi/pulumi';

export const ACCOUNT = '123456789012';
export const REGION = 'eu-west-2';

export interface Registered {
  type: string;
  name: string;
  inputs: Record<string, any>;
  state: Record<string, any>;
}

/** A realistic ARN for a mocked resource, so policies and the ASL carry the shapes AWS would. */
function arnFor(type: string, physical: string): string | undefined {
  const r = `${REGION}:${ACCOUNT}`;
  switch (type) {
    case 'aws:s3/bucket:Bucket': return `arn:aws:s3:::${physical}`;
    case 'aws:sns/topic:Topic': return `arn:aws:sns:${r}:${physical}`;
    case 'aws:ssm/parameter:Parameter': return `arn:aws:ssm:${r}:parameter${physical}`;
    case 'aws:cloudwatch/logGroup:LogGroup': return `arn:aws:logs:${r}:log-group:${physical}`;
    case 'aws:lambda/function:Function': return `arn:aws:lambda:${r}:function:${physical}`;
    case 'aws:sfn/stateMachine:StateMachine': return `arn:aws:states:${r}:stateMachine:${physical}`;
    case 'aws:iam/role:Role': return `arn:aws:iam::${ACCOUNT}:role/${physical}`;
    case 'aws:scheduler/schedule:Schedule': return `arn:aws:scheduler:${r}:schedule/default/${physical}`;
    case 'aws:glue/catalogDatabase:CatalogDatabase': return `arn:aws:glue:${r}:database/${physical}`;
    case 'aws:athena/workgroup:Workgroup': return `arn:aws:athena:${r}:workgroup/${physical}`;
    case 'aws:kms/key:Key': return `arn:aws:kms:${r}:key/${physical}`;
    case 'aws:cloudwatch/metricAlarm:MetricAlarm': return `arn:aws:cloudwatch:${r}:alarm:${physical}`;
    case 'aws:cloudwatch/dashboard:Dashboard': return `arn:aws:cloudwatch::${ACCOUNT}:dashboard/${physical}`;
    default: return undefined;
  }
}

/**
 * Runs the Pulumi program in-process against mocks and returns every resource it registered.
 * Physical names are the explicit `name` input or the logical name plus a suffix, as Pulumi's
 * auto-naming would make them.
 */
export async function runProgram(
  config: Record<string, string>,
  secretKeys: string[],
  load: () => Record<string, unknown>,
): Promise<{ resources: Registered[]; outputs: Record<string, unknown>; serialized: string[] }> {
  const { resources, serialized } = await mock(config, secretKeys);
  const exports = load();
  const outputs: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(exports)) {
    outputs[key] = pulumi.Output.isInstance(value) ? await new Promise((resolve) => value.apply(resolve)) : value;
  }
  await settled(resources);
  return { resources, outputs, serialized };
}

/**
 * Runs a program expected to throw while it loads; returns what it threw and every resource it
 * had registered by then, once those registrations have landed.
 */
export async function refusedProgram(config: Record<string, string>, load: () => unknown): Promise<{ error: unknown; resources: Registered[] }> {
  const { resources } = await mock(config, []);
  let error: unknown;
  try {
    load();
  } catch (thrown) {
    error = thrown;
  }
  await settled(resources);
  if (error === undefined) throw new Error(`the program loaded without an error (${resources.length} resources)`);
  return { error, resources };
}

// Mocks receive Lambda archives without their files, so the serialized handler text is recorded
// where CallbackFunction produces it: once per process, into the array of the latest program run.
let recording: string[] = [];
const runtime = pulumi.runtime as { serializeFunction: typeof pulumi.runtime.serializeFunction };
const serialize = runtime.serializeFunction;
runtime.serializeFunction = async (...args) => {
  const result = await serialize(...args);
  recording.push(result.text);
  return result;
};

async function mock(config: Record<string, string>, secretKeys: string[]): Promise<{ resources: Registered[]; serialized: string[] }> {
  const resources: Registered[] = [];
  const serialized: string[] = [];
  recording = serialized;
  pulumi.runtime.setAllConfig(config, secretKeys);
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        const physical = typeof args.inputs.name === 'string' ? args.inputs.name : `${args.name}-a1b2c3d`;
        const state: Record<string, any> = { ...args.inputs, name: physical, arn: arnFor(args.type, physical) };
        if (args.type === 'aws:s3/bucket:Bucket') state.bucket = physical;
        resources.push({ type: args.type, name: args.name, inputs: args.inputs, state });
        return { id: `${physical}-id`, state };
      },
      call: (args) => args.inputs,
    },
    'wordpress-lakehouse',
    'dev',
    false,
  );
  return { resources, serialized };
}

/**
 * Registrations whose inputs wait on other outputs may land after the exports resolve. Pulumi
 * keeps every registration in its RPC queue until it is done (waitForRPCs is what the runtime
 * awaits before it disconnects); a turn of the event loop lets applies start the registrations
 * they make, and the second drain waits for those. No timer: a loaded machine only makes it slower.
 */
async function settled(resources: Registered[]): Promise<void> {
  const { waitForRPCs } = pulumi.runtime as unknown as { waitForRPCs(): Promise<void> };
  let count = -1;
  while (count !== resources.length) {
    count = resources.length;
    await waitForRPCs();
    await new Promise<void>((resolve) => setImmediate(resolve));
    await waitForRPCs();
  }
}

const INDEX = require.resolve('../../index');

/** Loads the program (index.ts) afresh, as each `pulumi up` runs it in a new process. */
export const loadProgram = () => {
  delete require.cache[INDEX];
  return require(INDEX) as Record<string, unknown>;
};

/** A stack's config as Pulumi hands it to the program: the region, and the project's keys namespaced. */
export const stackConfig = (values: Record<string, string>) => ({
  'aws:region': REGION,
  ...Object.fromEntries(Object.entries(values).map(([k, v]) => [`wordpress-lakehouse:${k}`, v])),
});

export const ofType = (resources: Registered[], type: string) => resources.filter((r) => r.type === type);
