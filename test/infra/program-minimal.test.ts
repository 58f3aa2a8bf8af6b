import test from 'ava';
import { ofType, runProgram } from '../helpers/pulumi-mocks';

const program = runProgram(
  {
    'aws:region': 'us-east-1',
    'wordpress-lakehouse:siteUrl': 'http://blog.example.com',
    'wordpress-lakehouse:endpoints': JSON.stringify(['posts', { name: 'terms', url: 'http://blog.example.com/wp-json/mysql/v1/terms' }]),
    'wordpress-lakehouse:schedule': 'cron(30 5 * * ? *)',
    'wordpress-lakehouse:timezone': 'America/New_York',
    'wordpress-lakehouse:logRetentionDays': '30',
  },
  [],
  () => require('../../index'),
);

test('without alertEmail, credentials or auditTrail, no subscription, credentials parameter or trail is created', async (t) => {
  const { resources } = await program;
  t.is(ofType(resources, 'aws:sns/topicSubscription:TopicSubscription').length, 0);
  t.is(ofType(resources, 'aws:ssm/parameter:Parameter').length, 6);
  t.false(ofType(resources, 'aws:ssm/parameter:Parameter').some((p) => p.inputs.type === 'SecureString'));
  t.is(ofType(resources, 'awsx:cloudtrail:Trail').length, 0);
  const rawPolicy = JSON.parse(resources.find((r) => r.type === 'aws:iam/rolePolicy:RolePolicy' && r.name === 'raw-function')!.inputs.policy);
  t.false(JSON.stringify(rawPolicy).includes('credentials'));
});

test('schedule, time zone, retention and custom endpoints come from the stack config', async (t) => {
  const { resources, serialized } = await program;
  const schedule = ofType(resources, 'aws:scheduler/schedule:Schedule')[0];
  t.is(schedule.inputs.scheduleExpression, 'cron(30 5 * * ? *)');
  t.is(schedule.inputs.scheduleExpressionTimezone, 'America/New_York');
  for (const group of ofType(resources, 'aws:cloudwatch/logGroup:LogGroup')) t.is(group.inputs.retentionInDays, 30);
  const endpoints = ofType(resources, 'aws:ssm/parameter:Parameter').find((p) => p.inputs.name.endsWith('/api/endpoints'))!;
  const value = typeof endpoints.inputs.value === 'object' ? endpoints.inputs.value.value : endpoints.inputs.value;
  t.deepEqual(JSON.parse(value), [
    { name: 'posts', url: 'http://blog.example.com/wp-json/wp/v2/posts', paginate: true },
    { name: 'terms', url: 'http://blog.example.com/wp-json/mysql/v1/terms', paginate: false },
  ]);
  t.false(serialized.some((text) => text.includes('/api/credentials')), 'no credentials parameter is read when none is configured');
});
