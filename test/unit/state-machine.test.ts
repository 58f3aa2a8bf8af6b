import test from 'ava';
import { MAP_LABEL, STATES, STATE_MACHINE_NAME, TRANSIENT_LAMBDA_ERRORS, buildDefinition } from '../../pipeline/state-machine';
import { aslProblems } from '../helpers/asl-checks';

// asl-validator ships no types.
const validate = require('asl-validator') as (definition: unknown) => { isValid: boolean; errors: unknown[] };

const refs = {
  rawFunctionArn: 'arn:aws:lambda:eu-west-2:123456789012:function:data_wordpressapi_raw-dev',
  bronzeFunctionArn: 'arn:aws:lambda:eu-west-2:123456789012:function:data_wordpressapi_bronze-dev',
  failureTopicArn: 'arn:aws:sns:eu-west-2:123456789012:failure-stepfunction',
  endpointsParameterName: '/wordpress-lakehouse/dev/wordpress/example.com/api/endpoints',
};
const settings = { mapConcurrency: 3, partConcurrency: 2, rawTimeoutSeconds: 300, bronzeTimeoutSeconds: 120 };
const definition = () => structuredClone(buildDefinition(refs, settings)) as Record<string, any>;

test('the definition is valid ASL according to asl-validator', (t) => {
  const result = validate(definition());
  t.deepEqual(result.errors, []);
  t.true(result.isValid);
});

test('the definition passes our own checks: timeouts, States.ALL last, failure paths end in Fail', (t) => {
  t.deepEqual(aslProblems(definition()), []);
});

test('our checks catch the flaws asl-validator lets through', (t) => {
  const broken = definition();
  const raw = broken.States[STATES.perEndpoint].ItemProcessor.States[STATES.raw];
  raw.Retry[0].BackoffRate = 0.5;
  raw.Catch.unshift({ ErrorEquals: ['States.ALL', 'States.Timeout'], Next: 'RawInvocationFailed' });
  delete raw.TimeoutSeconds;
  broken.States[STATES.publishFailure].Next = STATES.succeeded;
  broken.States[STATES.publishFailure].Parameters.Message = '$.Error';
  const problems = aslProblems(broken).join('\n');
  t.regex(problems, /BackoffRate 0.5 < 1/);
  t.regex(problems, /States.ALL but not alone and last/);
  t.regex(problems, /Task without TimeoutSeconds/);
  t.regex(problems, /does not end in Fail/);
  t.regex(problems, /literal path/);
});

test('each endpoint is planned, then runs raw then bronze, inside a Distributed Map bounded by the configured concurrency', (t) => {
  const d = definition();
  t.is(d.StartAt, STATES.listEndpoints);
  const map = d.States[STATES.perEndpoint];
  t.is(map.Type, 'Map');
  t.is(map.MaxConcurrency, 3);
  t.deepEqual(map.ItemProcessor.ProcessorConfig, { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' });
  t.is(map.Label, MAP_LABEL);
  t.is(map.ItemProcessor.StartAt, STATES.plan);
  const plan = map.ItemProcessor.States[STATES.plan];
  t.is(plan.Parameters.FunctionName, refs.rawFunctionArn);
  t.true(plan.Parameters.Payload.plan);
  t.is(map.ItemProcessor.States[plan.Next].Default, STATES.raw);
  const raw = map.ItemProcessor.States[STATES.raw];
  t.is(raw.Parameters.FunctionName, refs.rawFunctionArn);
  t.is(raw.TimeoutSeconds, 330);
  t.is(map.ItemProcessor.States[STATES.bronze].Parameters.FunctionName, refs.bronzeFunctionArn);
  t.is(map.ItemProcessor.States[STATES.bronze].Parameters['Payload.$'], '$.raw.summary');
});

test('transient Lambda errors are retried with exponential backoff and jitter', (t) => {
  const raw = definition().States[STATES.perEndpoint].ItemProcessor.States[STATES.raw];
  t.deepEqual(raw.Retry[0].ErrorEquals, [...TRANSIENT_LAMBDA_ERRORS]);
  t.true(raw.Retry[0].BackoffRate >= 1);
  t.is(raw.Retry[0].JitterStrategy, 'FULL');
  t.true(raw.Retry[0].MaxAttempts > 1);
});

test('the failure alert carries the real error through Message.$ and the run then ends in Fail', (t) => {
  const d = definition();
  const publish = d.States[STATES.publishFailure];
  t.is(publish.Resource, 'arn:aws:states:::sns:publish');
  t.is(publish.Parameters.TopicArn, refs.failureTopicArn);
  t.false('Message' in publish.Parameters);
  t.regex(publish.Parameters['Message.$'], /States\.JsonToString\(\$\.failed\)/);
  t.is(publish.Next, STATES.failed);
  t.is(d.States[publish.Next].Type, 'Fail');
  t.is(publish.Catch[0].Next, STATES.failed);
  t.is(d.States[STATES.allSucceeded].Choices[0].Next, STATES.collectFailures);
  t.is(d.States[STATES.collectFailures].Next, STATES.publishFailure);
  t.is(STATE_MACHINE_NAME, 'WordPress_Raw_To_Bronze');
});

test('the run id and the execution input reach every raw task through the Map\'s ItemSelector', (t) => {
  const map = definition().States[STATES.perEndpoint];
  // Read at the Map: inside an iteration aws-local-stepfunctions' $$.Execution.Input is the item.
  t.deepEqual(map.ItemSelector, { 'name.$': '$$.Map.Item.Value.name', 'runId.$': '$$.Execution.Name', 'execution.$': '$$.Execution.Input' });
  t.deepEqual(map.ItemProcessor.States[STATES.raw].Parameters.Payload, { 'endpoint.$': '$.name', 'runId.$': '$.runId', 'execution.$': '$.execution' });
});

test('after the Map the bronze function writes the run manifest, and a manifest failure leaves the run\'s outcome to the endpoints', (t) => {
  const d = definition();
  t.is(d.States[STATES.perEndpoint].Next, STATES.summarise);
  t.is(d.States[STATES.summarise].Next, STATES.writeManifest);
  const manifest = d.States[STATES.writeManifest];
  t.is(manifest.Type, 'Task');
  t.is(manifest.Resource, 'arn:aws:states:::lambda:invoke');
  t.is(manifest.Parameters.FunctionName, refs.bronzeFunctionArn);
  t.deepEqual(manifest.Parameters.Payload, {
    manifest: { 'runId.$': '$$.Execution.Name', 'startedAt.$': '$$.Execution.StartTime', 'input.$': '$$.Execution.Input', 'results.$': '$.results' },
  });
  t.true(manifest.TimeoutSeconds > 0);
  t.deepEqual(manifest.Retry[0].ErrorEquals, [...TRANSIENT_LAMBDA_ERRORS]);
  // The manifest's own output and error are kept out of $.results and $.anyFailed, which the
  // Choice after it reads: a failed endpoint still ends in Fail when the manifest failed too.
  t.is(manifest.ResultPath, null);
  t.deepEqual(manifest.Catch, [{ ErrorEquals: ['States.ALL'], ResultPath: '$.manifestError', Next: STATES.allSucceeded }]);
  t.is(manifest.Next, STATES.allSucceeded);
  t.deepEqual(d.States[STATES.allSucceeded].Choices, [{ Variable: '$.anyFailed', BooleanEquals: true, Next: STATES.collectFailures }]);
});

test('a planned split runs its parts in an inline Map bounded by partConcurrency, then joins them before bronze', (t) => {
  const processor = definition().States[STATES.perEndpoint].ItemProcessor;
  const chosen = processor.States[processor.States[STATES.plan].Next];
  t.deepEqual(chosen.Choices.map((c: any) => [c.Variable, c.Next]), [
    ['$.plan.summary.failed[0]', 'PlanFailed'],
    ['$.plan.summary.fanOut', STATES.fetchParts],
  ]);
  const parts = processor.States[STATES.fetchParts];
  t.is(parts.Type, 'Map');
  t.is(parts.MaxConcurrency, 2);
  t.is(parts.ItemProcessor.ProcessorConfig.Mode, 'INLINE');
  t.is(parts.ItemsPath, '$.plan.summary.fanOut.parts');
  // The listing key and fetch time are added per part here, so the plan's own payload stays small.
  t.is(parts.ItemSelector.part['idsKey.$'], '$.plan.summary.fanOut.idsKey');
  t.is(parts.ItemSelector.part['index.$'], '$$.Map.Item.Value.index');
  const part = parts.ItemProcessor.States[STATES.fetchPart];
  t.deepEqual(part.Parameters.Payload, { 'endpoint.$': '$.endpoint', 'runId.$': '$.runId', 'part.$': '$.part' });
  t.is(parts.ItemProcessor.States[part.Catch[0].Next].Type, 'Fail');
  t.is(parts.Catch[0].Next, 'RawInvocationFailed');
  const join = processor.States[parts.Next];
  t.is(parts.Next, STATES.joinParts);
  t.deepEqual(join.Parameters.Payload.join, { 'plan.$': '$.plan.summary.fanOut', 'parts.$': '$.parts' });
  t.is(join.ResultPath, '$.raw');
  // The join's summary takes the single raw task's place: the same check, then the same bronze task.
  t.is(join.Next, processor.States[STATES.raw].Next);
});

test('an execution has a timeout of its own, so the run-timed-out alarm can fire, longer than one endpoint with every retry', (t) => {
  const built = definition();
  t.is(built.TimeoutSeconds, 4 * 3600);
  const map = built.States[STATES.perEndpoint].ItemProcessor.States;
  const attempts = (state: Record<string, any>) => 1 + Math.max(0, ...(state.Retry ?? []).map((r: Record<string, number>) => r.MaxAttempts ?? 3));
  const worst = [STATES.raw, STATES.bronze].reduce((sum, name) => sum + map[name].TimeoutSeconds * attempts(map[name]), 0);
  t.true(worst < built.TimeoutSeconds, `raw and bronze with every retry take up to ${worst} s`);
});
