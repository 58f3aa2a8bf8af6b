import test from 'ava';
import { aslProblems } from '../helpers/asl-checks';
import { ACCOUNT, type Registered, ofType, runProgram } from '../helpers/pulumi-mocks';

// asl-validator ships no types.
const validate = require('asl-validator') as (definition: unknown) => { isValid: boolean; errors: unknown[] };

const PASSWORD = 'abcd EFGH 1234 ijkl MNOP 5678';
const program = runProgram(
  {
    'aws:region': 'eu-west-2',
    'wordpress-lakehouse:siteUrl': 'https://blog.example.com',
    'wordpress-lakehouse:alertEmail': 'data-team@wordpress-lakehouse.org',
    'wordpress-lakehouse:auditTrail': 'true',
    'wordpress-lakehouse:noncurrentVersionDays': '14',
    'wordpress-lakehouse:mapConcurrency': '3',
    'wordpress-lakehouse:wordpressUsername': 'lakehouse-bot',
    'wordpress-lakehouse:wordpressPassword': PASSWORD,
  },
  ['wordpress-lakehouse:wordpressPassword'],
  () => require('../../index'),
);

const policyOf = (resources: Registered[], name: string) => {
  const found = resources.find((r) => r.type === 'aws:iam/rolePolicy:RolePolicy' && r.name === name);
  if (!found) throw new Error(`no RolePolicy ${name}`);
  return JSON.parse(found.inputs.policy) as { Statement: Array<{ Sid: string; Effect: string; Action: string[]; Resource: string[] }> };
};
const functionOf = (resources: Registered[], name: string) => {
  const found = ofType(resources, 'aws:lambda/function:Function').find((f) => f.inputs.name === name);
  if (!found) throw new Error(`no Function ${name}`);
  return found;
};
const allows = (doc: ReturnType<typeof policyOf>, action: string) => doc.Statement.filter((s) => s.Effect === 'Allow' && s.Action.includes(action)).flatMap((s) => s.Resource);

test('the program creates each resource of the pipeline exactly once', async (t) => {
  const { resources } = await program;
  const count = (type: string) => ofType(resources, type).length;
  t.is(count('wordpress-lakehouse:pipeline:RawLayer'), 1);
  t.is(count('wordpress-lakehouse:pipeline:BronzeLayer'), 1);
  t.is(count('wordpress-lakehouse:pipeline:SilverLayer'), 1);
  t.is(count('wordpress-lakehouse:pipeline:Orchestration'), 1);
  t.is(count('wordpress-lakehouse:pipeline:Catalog'), 1);
  t.is(count('aws:s3/bucket:Bucket'), 4);
  for (const type of ['BucketPublicAccessBlock', 'BucketOwnershipControls', 'BucketServerSideEncryptionConfiguration', 'BucketVersioning', 'BucketLifecycleConfiguration', 'BucketPolicy']) {
    const token = `aws:s3/${type[0].toLowerCase()}${type.slice(1)}:${type}`;
    t.is(count(token), 4, token);
  }
  t.is(count('aws:sns/topic:Topic'), 5);
  t.is(count('aws:sns/topicSubscription:TopicSubscription'), 5);
  t.is(count('aws:ssm/parameter:Parameter'), 7);
  t.is(count('aws:lambda/function:Function'), 3);
  t.is(count('aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig'), 3);
  t.is(count('aws:cloudwatch/logGroup:LogGroup'), 4);
  t.is(count('aws:iam/role:Role'), 5);
  // One inline policy per role, plus bronze-state-reader: the raw role's read of bronze's state.
  t.is(count('aws:iam/rolePolicy:RolePolicy'), 6);
  t.is(count('aws:iam/rolePolicyAttachment:RolePolicyAttachment'), 0, 'no managed (FullAccess) policies are attached');
  t.is(count('aws:sfn/stateMachine:StateMachine'), 1);
  t.is(count('aws:scheduler/schedule:Schedule'), 1);
  t.is(count('awsx:cloudtrail:Trail'), 1);
  t.is(count('aws:glue/catalogDatabase:CatalogDatabase'), 2, 'bronze\'s and silver\'s');
  t.is(count('aws:athena/workgroup:Workgroup'), 1);
  t.is(count('aws:athena/namedQuery:NamedQuery'), 5);
  t.is(count('aws:glue/crawler:Crawler'), 0, 'the bronze function registers its tables; no crawler');
});

test('every bucket is private, encrypted with a bucket key, TLS-only, owner-enforced, versioned and expires old versions', async (t) => {
  const { resources } = await program;
  const buckets = ofType(resources, 'aws:s3/bucket:Bucket');
  t.deepEqual(buckets.map((b) => b.name).sort(), ['bronze-bucket', 'catalog-results', 'raw-bucket', 'silver-bucket']);
  for (const bucket of buckets) {
    const of = (type: string) => resources.find((r) => r.type === type && r.inputs.bucket === bucket.state.bucket + '-id');
    const bpa = of('aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock')!;
    t.like(bpa.inputs, { blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true });
    const sse = of('aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration')!;
    t.is(sse.inputs.rules[0].applyServerSideEncryptionByDefault.sseAlgorithm, 'aws:kms');
    t.true(sse.inputs.rules[0].bucketKeyEnabled);
    t.is(of('aws:s3/bucketOwnershipControls:BucketOwnershipControls')!.inputs.rule.objectOwnership, 'BucketOwnerEnforced');
    t.is(of('aws:s3/bucketVersioning:BucketVersioning')!.inputs.versioningConfiguration.status, 'Enabled');
    const rules = of('aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration')!.inputs.rules;
    // The lake keeps old versions for the configured days, so a bad run can be rolled back; query
    // results are not worth keeping, and the lake's objects themselves never expire.
    const results = bucket.name === 'catalog-results';
    t.is(rules.find((r: any) => r.noncurrentVersionExpiration).noncurrentVersionExpiration.noncurrentDays, results ? 1 : 14, bucket.name);
    t.is(rules.find((r: any) => r.abortIncompleteMultipartUpload).abortIncompleteMultipartUpload.daysAfterInitiation, 1);
    t.is(rules.some((r: any) => r.expiration), results, `${bucket.name}: objects expire only in the results bucket`);
    const policy = JSON.parse(of('aws:s3/bucketPolicy:BucketPolicy')!.inputs.policy);
    t.is(policy.Statement.length, 1);
    t.like(policy.Statement[0], { Effect: 'Deny', Principal: '*', Condition: { Bool: { 'aws:SecureTransport': false } } });
    t.deepEqual(policy.Statement[0].Resource, [bucket.state.arn, `${bucket.state.arn}/*`]);
  }
});

test('every topic is encrypted and has the alert address subscribed', async (t) => {
  const { resources } = await program;
  const topics = ofType(resources, 'aws:sns/topic:Topic');
  t.deepEqual(topics.map((x) => x.inputs.displayName).sort(), ['data-lakehouse-bronze (dev)', 'data-lakehouse-raw (dev)', 'data-lakehouse-silver (dev)', 'failure-lambda (dev)', 'failure-stepfunction (dev)']);
  // The failure topic, which CloudWatch alarms publish to, has the stack's own key instead of the AWS managed one.
  const failureKey = ofType(resources, 'aws:kms/key:Key').find((k) => k.name === 'orchestration-failure-stepfunction')!;
  for (const topic of topics) {
    t.is(topic.inputs.kmsMasterKeyId, topic.inputs.displayName === 'failure-stepfunction (dev)' ? failureKey.state.arn : 'alias/aws/sns');
    const sub = resources.find((r) => r.type === 'aws:sns/topicSubscription:TopicSubscription' && r.inputs.topic === topic.state.arn);
    t.like(sub?.inputs, { protocol: 'email', endpoint: 'data-team@wordpress-lakehouse.org' });
  }
});

test('parameters keep the original hierarchy under /wordpress-lakehouse/dev and the password is a SecureString', async (t) => {
  const { resources } = await program;
  const params = Object.fromEntries(ofType(resources, 'aws:ssm/parameter:Parameter').map((p) => [p.inputs.name, p.inputs]));
  t.deepEqual(Object.keys(params).sort(), [
    '/wordpress-lakehouse/dev/s3/lakehouse/name/bronze',
    '/wordpress-lakehouse/dev/s3/lakehouse/name/raw',
    '/wordpress-lakehouse/dev/s3/lakehouse/name/silver',
    '/wordpress-lakehouse/dev/sns/data/lakehouse/bronze',
    '/wordpress-lakehouse/dev/sns/data/lakehouse/raw',
    '/wordpress-lakehouse/dev/wordpress/blog.example.com/api/credentials',
    '/wordpress-lakehouse/dev/wordpress/blog.example.com/api/endpoints',
  ]);
  // The AWS SDK marks every parameter value secret; mocks see a secret as { <signature>: ..., value }.
  const plain = (value: any): string => (typeof value === 'object' ? value.value : value);
  const endpoints = JSON.parse(plain(params['/wordpress-lakehouse/dev/wordpress/blog.example.com/api/endpoints'].value));
  t.is(endpoints.length, 7);
  t.deepEqual(endpoints[0], { name: 'posts', url: 'https://blog.example.com/wp-json/wp/v2/posts', paginate: true });
  const credentials = params['/wordpress-lakehouse/dev/wordpress/blog.example.com/api/credentials'];
  t.is(credentials.type, 'SecureString');
  t.deepEqual(JSON.parse(plain(credentials.value)), { username: 'lakehouse-bot', password: PASSWORD });
  for (const [name, p] of Object.entries<any>(params)) if (p !== credentials) t.is(p.type, 'String', name);
});

test('functions run nodejs24.x on arm64 with explicit memory, timeout, role, JSON logs and a zero-retry failure destination', async (t) => {
  const { resources } = await program;
  const functions = ofType(resources, 'aws:lambda/function:Function');
  t.deepEqual(functions.map((f) => f.inputs.name).sort(), ['data_wordpressapi_bronze-dev', 'data_wordpressapi_raw-dev', 'data_wordpressapi_silver-dev']);
  const failureLambda = ofType(resources, 'aws:sns/topic:Topic').find((x) => x.inputs.displayName === 'failure-lambda (dev)')!;
  for (const fn of functions) {
    t.is(fn.inputs.runtime, 'nodejs24.x');
    t.deepEqual(fn.inputs.architectures, ['arm64']);
    t.true(Number.isInteger(fn.inputs.memorySize));
    t.is(fn.inputs.timeout, 300);
    t.regex(fn.inputs.role, new RegExp(`^arn:aws:iam::${ACCOUNT}:role/`));
    t.is(fn.inputs.loggingConfig.logFormat, 'JSON');
    t.is(fn.inputs.loggingConfig.logGroup, `/aws/lambda/${fn.inputs.name}`);
    const group = resources.find((r) => r.type === 'aws:cloudwatch/logGroup:LogGroup' && r.inputs.name === `/aws/lambda/${fn.inputs.name}`);
    t.is(group?.inputs.retentionInDays, 90);
    const invokeConfig = resources.find((r) => r.type === 'aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig' && r.inputs.functionName === fn.inputs.name);
    t.is(invokeConfig?.inputs.maximumRetryAttempts, 0);
    t.is(invokeConfig?.inputs.destinationConfig.onFailure.destination, failureLambda.state.arn);
  }
});

test('the bronze function gets the /tmp its landings need, the raw function keeps the default', async (t) => {
  const { resources } = await program;
  t.deepEqual(functionOf(resources, 'data_wordpressapi_bronze-dev').inputs.ephemeralStorage, { size: 1024 });
  t.is(functionOf(resources, 'data_wordpressapi_raw-dev').inputs.ephemeralStorage, undefined);
});

test("the bronze function's process fixes glibc's mmap threshold, which the raw function leaves alone", async (t) => {
  const { resources } = await program;
  t.deepEqual(functionOf(resources, 'data_wordpressapi_bronze-dev').inputs.environment, { variables: { MALLOC_MMAP_THRESHOLD_: '131072' } });
  t.is(functionOf(resources, 'data_wordpressapi_raw-dev').inputs.environment, undefined);
});

test('no IAM policy allows a wildcard action, and only log delivery uses a * resource', async (t) => {
  const { resources } = await program;
  for (const policy of ofType(resources, 'aws:iam/rolePolicy:RolePolicy')) {
    const doc = JSON.parse(policy.inputs.policy);
    for (const s of doc.Statement) {
      t.truthy(s.Sid, `${policy.name}: every statement is named`);
      for (const action of s.Action) t.false(action.includes('*'), `${policy.name} ${s.Sid} allows ${action}`);
      if (s.Resource.includes('*')) t.is(s.Sid, 'CloudWatchLogDeliveryActions', `${policy.name} ${s.Sid} uses *`);
    }
  }
});

test('the raw function can write only raw objects and the bronze function only bronze ones', async (t) => {
  const { resources } = await program;
  const [raw, bronze] = ['raw', 'bronze'].map((layer) => resources.find((r) => r.type === 'aws:s3/bucket:Bucket' && r.name === `${layer}-bucket`)!.state.arn);
  const rawPolicy = policyOf(resources, 'raw-function');
  const bronzePolicy = policyOf(resources, 'bronze-function');
  t.deepEqual(allows(rawPolicy, 's3:PutObject'), [`${raw}/wordpress_api/*`]);
  // Raw reads back its own history only: a split crawl's id listing, a replay's objects and their metadata.
  t.deepEqual(allows(rawPolicy, 's3:GetObject'), [`${raw}/wordpress_api/*`]);
  t.deepEqual(allows(rawPolicy, 's3:ListBucket'), [raw]);
  const rawList = rawPolicy.Statement.find((s) => s.Action.includes('s3:ListBucket')) as { Condition?: unknown };
  t.deepEqual(rawList.Condition, { StringLike: { 's3:prefix': ['wordpress_api/*'] } });
  // Bronze reads back its own table and state to merge into them, and lists only its own bucket.
  t.deepEqual(allows(bronzePolicy, 's3:PutObject'), [`${bronze}/wordpress_api/*`]);
  t.deepEqual(allows(bronzePolicy, 's3:GetObject').sort(), [`${bronze}/wordpress_api/*`, `${raw}/wordpress_api/*`].sort());
  t.deepEqual(allows(bronzePolicy, 's3:ListBucket'), [bronze]);
  const bronzeList = bronzePolicy.Statement.find((s) => s.Action.includes('s3:ListBucket')) as { Condition?: unknown };
  t.deepEqual(bronzeList.Condition, { StringLike: { 's3:prefix': ['wordpress_api/*'] } });
  for (const doc of [rawPolicy, bronzePolicy]) t.deepEqual(allows(doc, 's3:DeleteObject'), []);
  t.true(allows(rawPolicy, 'ssm:GetParameters').some((arn) => arn.endsWith('/api/credentials')));
  t.false(allows(bronzePolicy, 'ssm:GetParameters').some((arn) => arn.endsWith('/api/credentials')));
  t.deepEqual(rawPolicy.Statement.map((s) => s.Sid), ['CloudWatchLogStreamActions', 'S3ObjectActions', 'S3RawReadActions', 'S3BucketActions', 'SNSActions', 'ParameterStoreActions']);
});

test('the raw role may read the state bronze keeps, and nothing else of bronze', async (t) => {
  const { resources } = await program;
  const bronze = resources.find((r) => r.type === 'aws:s3/bucket:Bucket' && r.name === 'bronze-bucket')!.state.arn;
  const rawRole = resources.find((r) => r.type === 'aws:iam/role:Role' && r.name === 'raw-function')!;
  const reader = resources.find((r) => r.type === 'aws:iam/rolePolicy:RolePolicy' && r.name === 'bronze-state-reader')!;
  t.is(reader.inputs.role, rawRole.state.name, 'attached to the raw role');
  const doc = policyOf(resources, 'bronze-state-reader');
  t.deepEqual(allows(doc, 's3:GetObject'), [`${bronze}/wordpress_api/_state/*`]);
  t.deepEqual(allows(doc, 's3:ListBucket'), [bronze]);
  const list = doc.Statement.find((s) => s.Action.includes('s3:ListBucket')) as { Condition?: unknown };
  t.deepEqual(list.Condition, { StringLike: { 's3:prefix': ['wordpress_api/_state/*'] } });
  t.deepEqual(allows(doc, 's3:PutObject'), []);
  t.deepEqual(allows(doc, 'ssm:GetParameters'), [resources.find((r) => r.type === 'aws:ssm/parameter:Parameter' && r.inputs.name === '/wordpress-lakehouse/dev/s3/lakehouse/name/bronze')!.state.arn]);
  t.deepEqual(doc.Statement.map((s) => s.Sid), ['S3StateReadActions', 'S3StateBucketActions', 'ParameterStoreActions']);
});

test('the state machine may invoke exactly the three functions and publish to its failure topic and the silver topic; the scheduler may only start it', async (t) => {
  const { resources } = await program;
  const sm = ofType(resources, 'aws:sfn/stateMachine:StateMachine')[0];
  const functions = ofType(resources, 'aws:lambda/function:Function').map((f) => f.state.arn).sort();
  const smPolicy = policyOf(resources, 'orchestration-state-machine');
  t.deepEqual(allows(smPolicy, 'lambda:InvokeFunction').sort(), [...functions, ...functions.map((a) => `${a}:*`)].sort());
  const failureTopic = ofType(resources, 'aws:sns/topic:Topic').find((x) => x.inputs.displayName === 'failure-stepfunction (dev)')!;
  const silverTopic = ofType(resources, 'aws:sns/topic:Topic').find((x) => x.inputs.displayName === 'data-lakehouse-silver (dev)')!;
  t.deepEqual(allows(smPolicy, 'sns:Publish'), [failureTopic.state.arn, silverTopic.state.arn]);
  const schedulerPolicy = policyOf(resources, 'orchestration-scheduler');
  t.deepEqual(schedulerPolicy.Statement.map((s) => [s.Action, s.Resource]), [[['states:StartExecution'], [sm.state.arn]]]);
  const schedulerRole = resources.find((r) => r.type === 'aws:iam/role:Role' && r.name === 'orchestration-scheduler')!;
  const trust = JSON.parse(schedulerRole.inputs.assumeRolePolicy);
  t.deepEqual(trust.Statement[0].Principal, { Service: 'scheduler.amazonaws.com' });
  t.deepEqual(trust.Statement[0].Condition, { StringEquals: { 'aws:SourceAccount': ACCOUNT } });
  const stateMachineRole = resources.find((r) => r.type === 'aws:iam/role:Role' && r.name === 'orchestration-state-machine')!;
  const smTrust = JSON.parse(stateMachineRole.inputs.assumeRolePolicy);
  t.deepEqual(smTrust.Statement[0].Principal, { Service: 'states.amazonaws.com' });
  t.deepEqual(smTrust.Statement[0].Condition, { StringEquals: { 'aws:SourceAccount': ACCOUNT } });
});

test('the deployed definition is valid, passes our checks and points at the real functions, topic and parameter', async (t) => {
  const { resources } = await program;
  const sm = ofType(resources, 'aws:sfn/stateMachine:StateMachine')[0];
  t.is(sm.inputs.name, 'WordPress_Raw_To_Bronze-dev');
  t.is(sm.inputs.type, 'STANDARD');
  const definition = JSON.parse(sm.inputs.definition);
  t.true(validate(structuredClone(definition)).isValid);
  t.deepEqual(aslProblems(definition), []);
  const text = sm.inputs.definition as string;
  for (const fn of ofType(resources, 'aws:lambda/function:Function')) t.true(text.includes(fn.state.arn));
  t.is(definition.States.ListEndpoints.Parameters.Name, '/wordpress-lakehouse/dev/wordpress/blog.example.com/api/endpoints');
  t.is(definition.States.PerEndpoint.MaxConcurrency, 3);
  t.like(sm.inputs.loggingConfiguration, { level: 'ERROR' });
});

test('the schedule runs daily at 07:00 Europe/London with no flexible window and retries', async (t) => {
  const { resources } = await program;
  const schedule = ofType(resources, 'aws:scheduler/schedule:Schedule')[0];
  const sm = ofType(resources, 'aws:sfn/stateMachine:StateMachine')[0];
  t.is(schedule.inputs.scheduleExpression, 'cron(0 7 * * ? *)');
  t.is(schedule.inputs.scheduleExpressionTimezone, 'Europe/London');
  t.deepEqual(schedule.inputs.flexibleTimeWindow, { mode: 'OFF' });
  t.is(schedule.inputs.target.arn, sm.state.arn);
  t.true(schedule.inputs.target.retryPolicy.maximumRetryAttempts > 0);
});

test('every AWS resource is created through a provider whose default tags name project, stack and layer', async (t) => {
  const { resources } = await program;
  const providers = ofType(resources, 'pulumi:providers:aws');
  t.deepEqual(providers.map((p) => p.name).sort(), ['aws-alerts', 'aws-audit', 'aws-bronze', 'aws-catalog', 'aws-monitoring', 'aws-orchestration', 'aws-raw', 'aws-silver']);
  for (const p of providers) {
    const tags = JSON.parse((p as Registered).inputs.defaultTags).tags;
    t.is(tags.project, 'wordpress-lakehouse');
    t.is(tags.stack, 'dev');
    t.is(`aws-${tags.layer}`, p.name);
  }
});

test('the audit trail records S3 data events on the three lake buckets, not on query results', async (t) => {
  const { resources } = await program;
  const trail = ofType(resources, 'awsx:cloudtrail:Trail')[0];
  const selector = trail.inputs.advancedEventSelectors[0].fieldSelectors.find((f: any) => f.field === 'resources.ARN');
  const buckets = ofType(resources, 'aws:s3/bucket:Bucket').filter((b) => b.name !== 'catalog-results').map((b) => `${b.state.arn}/`);
  t.is(buckets.length, 3);
  t.deepEqual([...selector.startsWiths].sort(), buckets.sort());
});

test('the stack exports bucket, topic, function, state machine, schedule and parameter names', async (t) => {
  const { outputs } = await program;
  t.like(outputs, {
    rawFunctionName: 'data_wordpressapi_raw-dev',
    bronzeFunctionName: 'data_wordpressapi_bronze-dev',
    scheduleName: 'WordPress_Raw_To_Bronze-dev',
  });
  for (const key of ['rawBucketName', 'bronzeBucketName', 'rawTopicArn', 'bronzeTopicArn', 'stateMachineArn', 'stateMachineFailureTopicArn', 'lambdaFailureTopic']) t.truthy(outputs[key], key);
  t.is((outputs.parameters as Record<string, string>).rawBucket, '/wordpress-lakehouse/dev/s3/lakehouse/name/raw');
});

test('the application password never reaches a Lambda archive, and each handler serializes small', async (t) => {
  const { serialized } = await program;
  t.is(serialized.length, 3);
  for (const text of serialized) {
    t.true(text.includes('/wordpress-lakehouse/dev/s3/lakehouse/name/bronze'), 'the handler carries its parameter names');
    t.false(text.includes(PASSWORD));
    t.false(text.includes('lakehouse-bot'));
    t.true(text.length < 400_000, `serialized handler is ${text.length} characters`);
  }
});
