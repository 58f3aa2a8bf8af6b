import test from 'ava';
import { STATES, buildDefinition } from '../../pipeline/state-machine';
import { aslProblems } from '../helpers/asl-checks';

// asl-validator ships no types.
const validate = require('asl-validator') as (definition: unknown) => { isValid: boolean; errors: unknown[] };

const refs = {
  rawFunctionArn: 'arn:aws:lambda:eu-west-2:123456789012:function:data_wordpressapi_raw-dev',
  bronzeFunctionArn: 'arn:aws:lambda:eu-west-2:123456789012:function:data_wordpressapi_bronze-dev',
  failureTopicArn: 'arn:aws:sns:eu-west-2:123456789012:failure-stepfunction',
  endpointsParameterName: '/wordpress-lakehouse/dev/wordpress/example.com/api/endpoints',
  silver: { functionArn: 'arn:aws:lambda:eu-west-2:123456789012:function:data_wordpressapi_silver-dev', topicArn: 'arn:aws:sns:eu-west-2:123456789012:data-lakehouse-silver' },
};
const settings = { mapConcurrency: 3, partConcurrency: 2, rawTimeoutSeconds: 300, bronzeTimeoutSeconds: 120 };
const definition = (extra: Record<string, unknown> = {}) => structuredClone(buildDefinition(refs, { ...settings, ...extra })) as Record<string, any>;

test('with a silver function the definition is still valid ASL and passes our own checks', (t) => {
  const d = definition();
  t.deepEqual(validate(d).errors, []);
  t.deepEqual(aslProblems(d), []);
});

test('silver runs once, after the manifest (whether or not it was written), with the run id and every endpoint', (t) => {
  const d = definition();
  const manifest = d.States[STATES.writeManifest];
  t.is(manifest.Next, STATES.silver);
  t.is(manifest.Catch[0].Next, STATES.silver);
  const silver = d.States[STATES.silver];
  t.is(silver.Parameters.FunctionName, refs.silver.functionArn);
  t.deepEqual(silver.Parameters.Payload, { 'runId.$': '$$.Execution.Name', 'endpoints.$': '$.results[*].endpoint' });
  t.is(silver.ResultPath, null, 'the endpoint results and anyFailed stay for the check that follows');
  t.is(silver.Next, STATES.allSucceeded);
  t.is(silver.TimeoutSeconds, 150, 'bronze\'s timeout plus the margin when silver has none of its own');
  t.is(definition({ silverTimeoutSeconds: 600 }).States[STATES.silver].TimeoutSeconds, 630);
  t.true(silver.Retry[0].ErrorEquals.includes('Lambda.TooManyRequestsException'));
});

test('a silver failure is published on the silver topic with the error, then fails the execution', (t) => {
  const d = definition();
  const silver = d.States[STATES.silver];
  t.deepEqual(silver.Catch, [{ ErrorEquals: ['States.ALL'], ResultPath: '$.silverError', Next: STATES.publishSilverFailure }]);
  const publish = d.States[STATES.publishSilverFailure];
  t.is(publish.Resource, 'arn:aws:states:::sns:publish');
  t.is(publish.Parameters.TopicArn, refs.silver.topicArn);
  t.regex(publish.Parameters['Message.$'], /States\.JsonToString\(\$\.silverError\)/);
  t.is(publish.Next, STATES.afterSilverFailure);
  t.is(publish.Catch[0].Next, STATES.afterSilverFailure, 'an alert that cannot be sent still fails the run');
  const after = d.States[STATES.afterSilverFailure];
  t.is(after.Choices[0].Next, STATES.collectFailures, 'endpoint failures of the same run are still alerted on their own topic');
  t.is(after.Default, STATES.silverFailed);
  t.like(d.States[STATES.silverFailed], { Type: 'Fail', Error: 'SilverLayerFailed' });
});

test('without silver refs the run ends at bronze as before', (t) => {
  const { silver: _silver, ...bronzeOnly } = refs;
  const d = structuredClone(buildDefinition(bronzeOnly, settings)) as Record<string, any>;
  t.is(d.States[STATES.writeManifest].Next, STATES.allSucceeded);
  t.false(STATES.silver in d.States);
});
