import test from 'ava';
import { BRONZE_METRICS, METRICS_NAMESPACE, RAW_METRICS } from '../../handlers/metrics';
import { dashboardBody, searchExpression } from '../../pipeline/monitoring';
import { ACCOUNT, REGION, type Registered, loadProgram, ofType, runProgram, stackConfig } from '../helpers/pulumi-mocks';

/**
 * Monitoring under the Pulumi mocks: the alarms that do not depend on a run, where they report,
 * the key that lets CloudWatch report there, and the dashboard of the handlers' embedded metrics.
 */

const stack = (values: Record<string, string>) => stackConfig({ siteUrl: 'https://blog.example.com', ...values });

// The programs share Pulumi's runtime settings in this process, so each starts once the one
// before it has settled.
const CUSTOMER_KEY = `arn:aws:kms:${REGION}:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
const program = runProgram(stack({ alertEmail: 'data-team@wordpress-lakehouse.org' }), [], loadProgram);
const longer = program.then(() => runProgram(stack({ freshnessHours: '50' }), [], loadProgram));
const ownKey = longer.then(() => runProgram(stack({ snsKmsKeyId: CUSTOMER_KEY }), [], loadProgram));

const alarms = (resources: Registered[]) => Object.fromEntries(ofType(resources, 'aws:cloudwatch/metricAlarm:MetricAlarm').map((a) => [a.inputs.name as string, a.inputs]));
const stateMachineOf = (resources: Registered[]) => ofType(resources, 'aws:sfn/stateMachine:StateMachine')[0].state.arn as string;
const failureTopicOf = (resources: Registered[]) => ofType(resources, 'aws:sns/topic:Topic').find((x) => x.inputs.displayName === 'failure-stepfunction (dev)')!.state.arn as string;

test('the freshness alarm fires when no execution succeeded in 26 hours, counting hours without data as breaching', async (t) => {
  const { resources } = await program;
  const alarm = alarms(resources)['wordpress-lakehouse-dev-no-successful-run'];
  t.like(alarm, {
    namespace: 'AWS/States',
    metricName: 'ExecutionsSucceeded',
    statistic: 'Sum',
    period: 3600,
    evaluationPeriods: 26,
    datapointsToAlarm: 26,
    threshold: 1,
    comparisonOperator: 'LessThanThreshold',
    treatMissingData: 'breaching',
  });
  t.deepEqual(alarm.dimensions, { StateMachineArn: stateMachineOf(resources) });
  t.deepEqual(alarm.alarmActions, [failureTopicOf(resources)]);
  t.deepEqual(alarm.okActions, [failureTopicOf(resources)], 'the recovery is told too');
  t.true(alarm.period * alarm.evaluationPeriods <= 7 * 24 * 3600, "within CloudWatch's 7-day evaluation limit");
});

test('a failed, a timed-out and an aborted execution each raise their own alarm to the failure topic within five minutes', async (t) => {
  const { resources } = await program;
  const byName = alarms(resources);
  const expected = { 'run-failed': 'ExecutionsFailed', 'run-timed-out': 'ExecutionsTimedOut', 'run-aborted': 'ExecutionsAborted' };
  for (const [suffix, metricName] of Object.entries(expected)) {
    const alarm = byName[`wordpress-lakehouse-dev-${suffix}`];
    t.like(alarm, { namespace: 'AWS/States', metricName, statistic: 'Sum', period: 300, evaluationPeriods: 1, threshold: 1, comparisonOperator: 'GreaterThanOrEqualToThreshold', treatMissingData: 'notBreaching' }, suffix);
    t.deepEqual(alarm.dimensions, { StateMachineArn: stateMachineOf(resources) });
    t.deepEqual(alarm.alarmActions, [failureTopicOf(resources)]);
  }
  t.is(Object.keys(byName).length, 4, 'no other alarm');
  t.true(Object.keys(byName).every((name) => name.startsWith('wordpress-lakehouse-dev-')));
});

test('freshnessHours sets the window of the freshness alarm', async (t) => {
  const { resources } = await longer;
  t.like(alarms(resources)['wordpress-lakehouse-dev-no-successful-run'], { evaluationPeriods: 50, datapointsToAlarm: 50 });
});

test('the failure topic has a key of its own that CloudWatch may use for this stack\'s alarms only, and the state machine through SNS only', async (t) => {
  const { resources } = await program;
  const key = ofType(resources, 'aws:kms/key:Key').find((k) => k.name === 'orchestration-failure-stepfunction')!;
  t.like(key.inputs, { enableKeyRotation: true });
  const policy = JSON.parse(key.inputs.policy);
  const statement = (sid: string) => policy.Statement.find((s: { Sid: string }) => s.Sid === sid);
  t.like(statement('CloudWatchAlarms'), { Effect: 'Allow', Principal: { Service: 'cloudwatch.amazonaws.com' }, Action: ['kms:GenerateDataKey', 'kms:Decrypt'] });
  t.deepEqual(statement('CloudWatchAlarms').Condition, {
    StringEquals: { 'aws:SourceAccount': ACCOUNT },
    ArnLike: { 'aws:SourceArn': `arn:aws:cloudwatch:${REGION}:${ACCOUNT}:alarm:wordpress-lakehouse-dev-*` },
  });
  t.deepEqual(statement('AccountUseThroughSNS').Condition, { StringEquals: { 'kms:ViaService': `sns.${REGION}.amazonaws.com`, 'kms:CallerAccount': ACCOUNT } });
  t.false(policy.Statement.some((s: { Action: string[] }) => s.Action.some((a) => a.includes('*'))), 'no wildcard action, not even for administration');
  const alias = ofType(resources, 'aws:kms/alias:Alias')[0];
  t.is(alias.inputs.name, 'alias/wordpress-lakehouse-dev-failure-topic');
  const machinePolicy = JSON.parse(resources.find((r) => r.type === 'aws:iam/rolePolicy:RolePolicy' && r.name === 'orchestration-state-machine')!.inputs.policy);
  t.deepEqual(machinePolicy.Statement.find((s: { Sid: string }) => s.Sid === 'KMSActions'), {
    Sid: 'KMSActions',
    Effect: 'Allow',
    Action: ['kms:GenerateDataKey', 'kms:Decrypt'],
    Resource: [key.state.arn],
    Condition: { StringEquals: { 'kms:ViaService': `sns.${REGION}.amazonaws.com` } },
  });
});

test('a customer managed snsKmsKeyId is used as it is: no key of the stack\'s own, no KMS statement', async (t) => {
  const { resources } = await ownKey;
  t.is(ofType(resources, 'aws:kms/key:Key').length, 0);
  t.true(ofType(resources, 'aws:sns/topic:Topic').every((topic) => topic.inputs.kmsMasterKeyId === CUSTOMER_KEY));
  const machinePolicy = JSON.parse(resources.find((r) => r.type === 'aws:iam/rolePolicy:RolePolicy' && r.name === 'orchestration-state-machine')!.inputs.policy);
  t.false(machinePolicy.Statement.some((s: { Sid: string }) => s.Sid === 'KMSActions'));
});

test('the dashboard shows the alarms, the executions and, per endpoint, every figure the handlers emit', async (t) => {
  const { resources, outputs } = await program;
  const dashboard = ofType(resources, 'aws:cloudwatch/dashboard:Dashboard')[0];
  t.is(dashboard.inputs.dashboardName, 'wordpress-lakehouse-dev');
  t.is(outputs.dashboardName, 'wordpress-lakehouse-dev');
  const body = JSON.parse(dashboard.inputs.dashboardBody);
  const alarmArns = ofType(resources, 'aws:cloudwatch/metricAlarm:MetricAlarm').map((a) => a.state.arn);
  t.deepEqual([...body.widgets[0].properties.alarms].sort(), [...alarmArns].sort());
  const expressions = body.widgets.flatMap((w: any) => (w.properties.metrics ?? []).flat().filter((m: any) => typeof m === 'object').map((m: any) => m.expression));
  const expected = [
    ...Object.keys(RAW_METRICS).map((metric) => searchExpression('data_wordpressapi_raw-dev', metric)),
    ...Object.keys(BRONZE_METRICS).map((metric) => searchExpression('data_wordpressapi_bronze-dev', metric)),
  ];
  t.deepEqual(expressions, expected);
  t.true(body.widgets.every((w: any) => w.type !== 'metric' || w.properties.region === REGION));
});

test('a figure chart searches the handlers\' namespace for one function and one metric, one line per endpoint', (t) => {
  t.is(
    searchExpression('data_wordpressapi_raw-dev', 'items'),
    `SEARCH('{"${METRICS_NAMESPACE}",function,endpoint} function="data_wordpressapi_raw-dev" MetricName="items"', 'Maximum', 3600)`,
  );
  const body = dashboardBody({ stateMachineArn: `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:m`, rawFunctionName: 'r', bronzeFunctionName: 'b', alarmArns: [] });
  const charts = body.widgets.filter((w: any) => w.properties.metrics?.[0]?.[0]?.expression);
  t.is(charts.length, Object.keys(RAW_METRICS).length + Object.keys(BRONZE_METRICS).length);
  for (const chart of charts as any[]) t.is(chart.properties.metrics[0][0].label, "${PROP('Dim.endpoint')}", 'lines are named by endpoint');
  // CloudWatch lays widgets on a 24-column grid.
  t.true(body.widgets.every((w: any) => w.width >= 1 && w.width <= 24));
});
