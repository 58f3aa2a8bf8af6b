/**
 * The Amazon States Language definition of the daily run, pure so that the same object is
 * deployed by Orchestration (with Outputs, through pulumi.jsonStringify) and executed by the
 * local runner (with plain strings, through aws-local-stepfunctions).
 *
 * Shape: read the endpoint list from SSM -> a Distributed Map (bounded concurrency; each endpoint
 * a child execution with a history of its own) over endpoints: plan, then raw in one task or, for
 * a full crawl too big for one, an inline Map of part tasks and a join; then bronze -> the bronze
 * function writes the run manifest -> the silver function rebuilds the silver tables from bronze
 * (when the refs name one) -> if any endpoint failed, publish one alert and end in Fail.
 * An endpoint that fails is caught inside its iteration so that the others still run to
 * completion; the execution as a whole still ends FAILED.
 *
 * The execution's name is the run id (raw keys, lineage, manifest) and its input reaches the raw
 * function whole: `{ "fullRefresh": true }` forces full crawls. Read from the context object
 * (`$$.Execution`), since an input without the key must not fail a JSONPath.
 */

export const STATE_MACHINE_NAME = 'WordPress_Raw_To_Bronze';

/** Label of the per-endpoint Distributed Map: names its child executions (and the IAM resource for them). */
export const MAP_LABEL = 'PerEndpoint';

/** State names; the local runner overrides Task resources by these names. */
export const STATES = {
  listEndpoints: 'ListEndpoints',
  perEndpoint: 'PerEndpoint',
  plan: 'PlanEndpoint',
  fetchParts: 'FetchParts',
  fetchPart: 'FetchPart',
  joinParts: 'JoinParts',
  raw: 'data_wordpressapi_raw',
  bronze: 'data_wordpressapi_bronze',
  summarise: 'SummariseRun',
  writeManifest: 'WriteRunManifest',
  silver: 'data_wordpressapi_silver',
  publishSilverFailure: 'PublishSilverFailure',
  afterSilverFailure: 'AfterSilverFailure',
  silverFailed: 'SilverFailed',
  allSucceeded: 'AllEndpointsSucceeded',
  collectFailures: 'CollectFailures',
  publishFailure: 'PublishFailure',
  failed: 'RunFailed',
  succeeded: 'RunSucceeded',
} as const;

/**
 * Errors the Lambda service itself may throw while the function is fine; AWS recommends
 * retrying them on every lambda:invoke task.
 * https://docs.aws.amazon.com/step-functions/latest/dg/bp-lambda-serviceexception.html
 */
export const TRANSIENT_LAMBDA_ERRORS = [
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.ClientExecutionTimeoutException',
  'Lambda.TooManyRequestsException',
] as const;

export interface StateMachineRefs<T> {
  rawFunctionArn: T;
  bronzeFunctionArn: T;
  failureTopicArn: T;
  /** Name of the SSM parameter holding the endpoint list (JSON array of { name, url, paginate }). */
  endpointsParameterName: T;
  /** The silver function and the topic its failures are published on; without them the run ends at bronze. */
  silver?: { functionArn: T; topicArn: T };
}

export interface StateMachineSettings {
  /** Endpoints processed at once. */
  mapConcurrency: number;
  /** Parts of one fanned-out endpoint fetched at once (each with its own requests in flight). */
  partConcurrency: number;
  /** The raw function's own timeout; the task waits a little longer so Lambda's timeout error wins. */
  rawTimeoutSeconds: number;
  bronzeTimeoutSeconds: number;
  /**
   * The silver function's own timeout.
   * @default bronzeTimeoutSeconds (the silver function is sized like bronze's)
   */
  silverTimeoutSeconds?: number;
  /**
   * Extra seconds a Lambda task waits beyond its function's timeout. Only the local runner's
   * fault tests change it (to get a task timeout in about a second); deployments use the default.
   * @default 30
   */
  taskTimeoutMarginSeconds?: number;
}

/** Extra seconds a task waits beyond its function's timeout, so the function's own error is the one reported. */
const TASK_TIMEOUT_MARGIN_SECONDS = 30;

/** Seconds for the Lambda tasks that have no timeout setting of their own: a split crawl's join and the run manifest. */
const BOOKKEEPING_TIMEOUT_SECONDS = 60;

/** How long each Lambda task waits: its function's own timeout plus the margin. */
interface TaskTimeouts {
  raw: number;
  join: number;
  bronze: number;
  manifest: number;
  silver: number;
}

function taskTimeouts(settings: StateMachineSettings): TaskTimeouts {
  const margin = settings.taskTimeoutMarginSeconds ?? TASK_TIMEOUT_MARGIN_SECONDS;
  return {
    raw: settings.rawTimeoutSeconds + margin,
    join: BOOKKEEPING_TIMEOUT_SECONDS + margin,
    bronze: settings.bronzeTimeoutSeconds + margin,
    manifest: BOOKKEEPING_TIMEOUT_SECONDS + margin,
    silver: (settings.silverTimeoutSeconds ?? settings.bronzeTimeoutSeconds) + margin,
  };
}

function lambdaRetry() {
  return [
    {
      ErrorEquals: [...TRANSIENT_LAMBDA_ERRORS],
      IntervalSeconds: 2,
      MaxAttempts: 6,
      BackoffRate: 2,
      MaxDelaySeconds: 60,
      JitterStrategy: 'FULL',
    },
  ];
}

/** SSM and SNS answer a throttle or an outage as States.TaskFailed: a few quick retries ride it out. */
function serviceRetry() {
  return [{ ErrorEquals: ['States.TaskFailed'], IntervalSeconds: 2, MaxAttempts: 3, BackoffRate: 2, JitterStrategy: 'FULL' }];
}

/** Every error, kept at `resultPath` beside the state's input, goes on to `next`. */
function catchAll(next: string, resultPath = '$.error') {
  return [{ ErrorEquals: ['States.ALL'], ResultPath: resultPath, Next: next }];
}

/**
 * A lambda:invoke task of one endpoint's iteration: the function's answer lands at `resultPath`
 * as `{ summary }`, transient Lambda errors are retried, and any other error is caught to `onError`.
 */
function invokeTask<T>(functionArn: T, payload: Record<string, unknown>, to: { resultPath: string; timeoutSeconds: number; next: string; onError: string }) {
  return {
    Type: 'Task',
    Resource: 'arn:aws:states:::lambda:invoke',
    Parameters: { FunctionName: functionArn, ...payload },
    ResultSelector: { 'summary.$': '$.Payload' },
    ResultPath: to.resultPath,
    TimeoutSeconds: to.timeoutSeconds,
    Retry: lambdaRetry(),
    Catch: catchAll(to.onError),
    Next: to.next,
  };
}

/**
 * An alert on `topicArn`; whether it is published or not, the run goes on to `next`, since a
 * failed alert must not hide the failure it was about.
 */
function publishTask<T>(topicArn: T, subject: string, message: string, next: string) {
  return {
    Type: 'Task',
    Resource: 'arn:aws:states:::sns:publish',
    Parameters: { TopicArn: topicArn, Subject: subject, 'Message.$': message },
    ResultPath: null,
    TimeoutSeconds: 30,
    Retry: serviceRetry(),
    Catch: catchAll(next, '$.publishError'),
    Next: next,
  };
}

/** Goes on to the endpoints' alert when any endpoint failed, to `otherwise` when none did. */
function anyEndpointFailed(otherwise: string) {
  return {
    Type: 'Choice',
    Choices: [{ Variable: '$.anyFailed', BooleanEquals: true, Next: STATES.collectFailures }],
    Default: otherwise,
  };
}

/** A handler answers an endpoint's failure in its summary's `failed` list rather than by throwing. */
function endpointFailed(summaryPath: string, next: string, otherwise: string) {
  return {
    Type: 'Choice',
    Choices: [{ Variable: `${summaryPath}.failed[0]`, IsPresent: true, Next: next }],
    Default: otherwise,
  };
}

function failedItem(stage: 'raw' | 'bronze', errorPath: string) {
  return { Type: 'Pass', Parameters: { 'endpoint.$': '$.name', ok: false, stage, 'error.$': errorPath }, End: true };
}

export function buildDefinition<T>(refs: StateMachineRefs<T>, settings: StateMachineSettings) {
  const timeouts = taskTimeouts(settings);
  const afterManifest = refs.silver ? STATES.silver : STATES.allSucceeded;
  return {
    Comment: 'Daily WordPress REST API extraction: raw JSON, then bronze Parquet, per endpoint.',
    StartAt: STATES.listEndpoints,
    TimeoutSeconds: 4 * 3600,
    States: {
      [STATES.listEndpoints]: listEndpointsTask(refs.endpointsParameterName),
      [STATES.perEndpoint]: perEndpointMap(refs, settings.mapConcurrency, settings.partConcurrency, timeouts),
      [STATES.summarise]: {
        Type: 'Pass',
        Parameters: { 'results.$': '$.results', 'anyFailed.$': 'States.ArrayContains($.results[*].ok, false)' },
        Next: STATES.writeManifest,
      },
      [STATES.writeManifest]: writeManifestTask(refs.bronzeFunctionArn, timeouts.manifest, afterManifest),
      ...(refs.silver && silverStates(refs.silver, timeouts.silver)),
      ...outcomeStates(refs.failureTopicArn),
    },
  };
}

function listEndpointsTask<T>(endpointsParameterName: T) {
  return {
    Type: 'Task',
    Resource: 'arn:aws:states:::aws-sdk:ssm:getParameter',
    Parameters: { Name: endpointsParameterName },
    ResultSelector: { 'endpoints.$': 'States.StringToJson($.Parameter.Value)' },
    TimeoutSeconds: 30,
    Retry: serviceRetry(),
    Catch: catchAll(STATES.publishFailure, '$.failed'),
    Next: STATES.perEndpoint,
  };
}

/** The Distributed Map over endpoints: each endpoint a child execution running {@link endpointStates}. */
function perEndpointMap<T>(refs: StateMachineRefs<T>, mapConcurrency: number, partConcurrency: number, timeouts: TaskTimeouts) {
  return {
    Type: 'Map',
    ItemsPath: '$.endpoints',
    Label: MAP_LABEL,
    // Run id and input are read here, at the Map, where `$$.Execution` is the execution's on
    // AWS and locally alike (aws-local-stepfunctions runs each iteration as an execution of
    // its own, whose context input is the item).
    ItemSelector: { 'name.$': '$$.Map.Item.Value.name', 'runId.$': '$$.Execution.Name', 'execution.$': '$$.Execution.Input' },
    MaxConcurrency: mapConcurrency,
    ItemProcessor: {
      ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' },
      StartAt: STATES.plan,
      States: endpointStates(refs, partConcurrency, timeouts),
    },
    ResultPath: '$.results',
    Catch: catchAll(STATES.publishFailure, '$.failed'),
    Next: STATES.summarise,
  };
}

/**
 * One endpoint's iteration: plan, raw (in one task, or in parts and a join), bronze. Every path
 * ends in an item `{ endpoint, ok, ... }` rather than a failure, so that one endpoint's error
 * does not stop the others.
 */
function endpointStates<T>(refs: StateMachineRefs<T>, partConcurrency: number, timeouts: TaskTimeouts) {
  return {
    ...planStates(refs.rawFunctionArn, timeouts.raw),
    ...splitCrawlStates(refs.rawFunctionArn, partConcurrency, timeouts),
    ...rawStates(refs.rawFunctionArn, timeouts.raw),
    ...bronzeStates(refs.bronzeFunctionArn, timeouts.bronze),
  };
}

/** The raw function decides how the endpoint is fetched: failed, split into parts, or in one task. */
function planStates<T>(rawFunctionArn: T, timeoutSeconds: number) {
  return {
    [STATES.plan]: invokeTask(
      rawFunctionArn,
      { Payload: { 'endpoint.$': '$.name', 'runId.$': '$.runId', 'execution.$': '$.execution', plan: true } },
      { resultPath: '$.plan', timeoutSeconds, next: 'PlanChosen', onError: 'RawInvocationFailed' },
    ),
    PlanChosen: {
      Type: 'Choice',
      Choices: [
        { Variable: '$.plan.summary.failed[0]', IsPresent: true, Next: 'PlanFailed' },
        { Variable: '$.plan.summary.fanOut', IsPresent: true, Next: STATES.fetchParts },
      ],
      Default: STATES.raw,
    },
    PlanFailed: failedItem('raw', '$.plan.summary.failed[0].error'),
  };
}

/** A full crawl too big for one task: its parts fetched side by side, then joined into one raw summary. */
function splitCrawlStates<T>(rawFunctionArn: T, partConcurrency: number, timeouts: TaskTimeouts) {
  return {
    [STATES.fetchParts]: fetchPartsMap(rawFunctionArn, partConcurrency, timeouts.raw),
    [STATES.joinParts]: invokeTask(
      rawFunctionArn,
      { Payload: { 'endpoint.$': '$.name', 'runId.$': '$.runId', join: { 'plan.$': '$.plan.summary.fanOut', 'parts.$': '$.parts' } } },
      { resultPath: '$.raw', timeoutSeconds: timeouts.join, next: 'RawLanded', onError: 'RawInvocationFailed' },
    ),
  };
}

// Inline: a part's events stay in this endpoint's child execution, whose history (25 000 events)
// holds the 500 parts a plan may have with room to spare.
function fetchPartsMap<T>(rawFunctionArn: T, partConcurrency: number, timeoutSeconds: number) {
  return {
    Type: 'Map',
    ItemsPath: '$.plan.summary.fanOut.parts',
    ItemSelector: {
      'endpoint.$': '$.name',
      'runId.$': '$.runId',
      part: {
        'index.$': '$$.Map.Item.Value.index',
        'offset.$': '$$.Map.Item.Value.offset',
        'count.$': '$$.Map.Item.Value.count',
        'idsKey.$': '$.plan.summary.fanOut.idsKey',
        'fetchedAt.$': '$.plan.summary.fanOut.fetchedAt',
      },
    },
    MaxConcurrency: partConcurrency,
    ItemProcessor: {
      ProcessorConfig: { Mode: 'INLINE' },
      StartAt: STATES.fetchPart,
      States: {
        [STATES.fetchPart]: {
          Type: 'Task',
          Resource: 'arn:aws:states:::lambda:invoke',
          Parameters: { FunctionName: rawFunctionArn, Payload: { 'endpoint.$': '$.endpoint', 'runId.$': '$.runId', 'part.$': '$.part' } },
          OutputPath: '$.Payload',
          TimeoutSeconds: timeoutSeconds,
          Retry: lambdaRetry(),
          Catch: catchAll('PartFailed'),
          End: true,
        },
        // One failed part fails the endpoint: the Map stops the other parts, and its
        // Catch reports this part's own error.
        PartFailed: { Type: 'Fail', ErrorPath: '$.error.Error', CausePath: '$.error.Cause' },
      },
    },
    ResultPath: '$.parts',
    Catch: catchAll('RawInvocationFailed'),
    Next: STATES.joinParts,
  };
}

/** The endpoint fetched in one task, and where a raw summary (this one's or the join's) goes next. */
function rawStates<T>(rawFunctionArn: T, timeoutSeconds: number) {
  return {
    [STATES.raw]: invokeTask(
      rawFunctionArn,
      { Payload: { 'endpoint.$': '$.name', 'runId.$': '$.runId', 'execution.$': '$.execution' } },
      { resultPath: '$.raw', timeoutSeconds, next: 'RawLanded', onError: 'RawInvocationFailed' },
    ),
    RawLanded: endpointFailed('$.raw.summary', 'RawEndpointFailed', STATES.bronze),
    RawEndpointFailed: failedItem('raw', '$.raw.summary.failed[0].error'),
    RawInvocationFailed: failedItem('raw', '$.error'),
  };
}

function bronzeStates<T>(bronzeFunctionArn: T, timeoutSeconds: number) {
  return {
    [STATES.bronze]: invokeTask(
      bronzeFunctionArn,
      { 'Payload.$': '$.raw.summary' },
      { resultPath: '$.bronze', timeoutSeconds, next: 'BronzeConverted', onError: 'BronzeInvocationFailed' },
    ),
    BronzeConverted: endpointFailed('$.bronze.summary', 'BronzeEndpointFailed', 'EndpointSucceeded'),
    BronzeEndpointFailed: failedItem('bronze', '$.bronze.summary.failed[0].error'),
    BronzeInvocationFailed: failedItem('bronze', '$.error'),
    EndpointSucceeded: {
      Type: 'Pass',
      Parameters: { 'endpoint.$': '$.name', ok: true, 'raw.$': '$.raw.summary.objects', 'bronze.$': '$.bronze.summary.objects' },
      End: true,
    },
  };
}

// A manifest that cannot be written is alerted by the bronze function itself; the run's outcome
// is still the endpoints', so the Catch goes on where success does.
function writeManifestTask<T>(bronzeFunctionArn: T, timeoutSeconds: number, next: string) {
  return {
    Type: 'Task',
    Resource: 'arn:aws:states:::lambda:invoke',
    Parameters: {
      FunctionName: bronzeFunctionArn,
      Payload: { manifest: { 'runId.$': '$$.Execution.Name', 'startedAt.$': '$$.Execution.StartTime', 'input.$': '$$.Execution.Input', 'results.$': '$.results' } },
    },
    ResultPath: null,
    TimeoutSeconds: timeoutSeconds,
    Retry: lambdaRetry(),
    Catch: catchAll(next, '$.manifestError'),
    Next: next,
  };
}

/**
 * Silver, once every endpoint's bronze has landed (or kept yesterday's table): built from the
 * bronze tables as they are, even when some endpoints failed this run. Its failure is published on
 * the silver topic and fails the execution, after the endpoints' own failures are alerted if
 * there were any; bronze is not touched either way.
 */
function silverStates<T>(silver: { functionArn: T; topicArn: T }, timeoutSeconds: number) {
  return {
    [STATES.silver]: {
      Type: 'Task',
      Resource: 'arn:aws:states:::lambda:invoke',
      Parameters: { FunctionName: silver.functionArn, Payload: { 'runId.$': '$$.Execution.Name', 'endpoints.$': '$.results[*].endpoint' } },
      ResultPath: null,
      TimeoutSeconds: timeoutSeconds,
      Retry: lambdaRetry(),
      Catch: catchAll(STATES.publishSilverFailure, '$.silverError'),
      Next: STATES.allSucceeded,
    },
    [STATES.publishSilverFailure]: publishTask(
      silver.topicArn,
      `${STATE_MACHINE_NAME}: Silver Failed`,
      `States.Format('${STATE_MACHINE_NAME} execution {} could not build the silver tables (bronze stays as this run landed it): {}', $$.Execution.Name, States.JsonToString($.silverError))`,
      STATES.afterSilverFailure,
    ),
    [STATES.afterSilverFailure]: anyEndpointFailed(STATES.silverFailed),
    [STATES.silverFailed]: {
      Type: 'Fail',
      Error: 'SilverLayerFailed',
      Cause: 'The silver tables could not be built; the data-lakehouse-silver alert and the execution history say why.',
    },
  };
}

/** The run's end: one alert naming every failed endpoint, then Fail; or Succeed. */
function outcomeStates<T>(failureTopicArn: T) {
  return {
    [STATES.allSucceeded]: anyEndpointFailed(STATES.succeeded),
    // Filtered only once a failure is known: an empty filter result is [] on AWS but an error
    // in aws-local-stepfunctions, and the local run must take the same path as AWS.
    [STATES.collectFailures]: {
      Type: 'Pass',
      Parameters: { 'failed.$': '$.results[?(@.ok == false)]' },
      Next: STATES.publishFailure,
    },
    [STATES.publishFailure]: publishTask(
      failureTopicArn,
      `${STATE_MACHINE_NAME}: Failed`,
      `States.Format('${STATE_MACHINE_NAME} execution {} failed: {}', $$.Execution.Name, States.JsonToString($.failed))`,
      STATES.failed,
    ),
    [STATES.failed]: {
      Type: 'Fail',
      Error: 'WordPressPipelineFailed',
      Cause: 'One or more endpoints failed; the failure-stepfunction alert and the execution history name them and why.',
    },
    [STATES.succeeded]: { Type: 'Succeed' },
  };
}

export type StateMachineDefinition = ReturnType<typeof buildDefinition>;
