import test from 'ava';
import { ACCOUNT, REGION, type Registered, ofType, runProgram } from '../helpers/pulumi-mocks';

/**
 * The SilverLayer component alone under the Pulumi mocks, given the bronze pieces it is wired to
 * as plain ARNs and names: what it creates, how its function is configured and serialized.
 */

const BRONZE_BUCKET = 'arn:aws:s3:::bronze-bucket-a1b2c3d';
const BRONZE_PARAMETER = { name: '/wordpress-lakehouse/dev/s3/lakehouse/name/bronze', arn: `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/wordpress-lakehouse/dev/s3/lakehouse/name/bronze` };
const FAILURE_LAMBDA = `arn:aws:sns:${REGION}:${ACCOUNT}:alerts-failure-lambda-a1b2c3d`;

const program = runProgram(
  {
    'aws:region': REGION,
    'wordpress-lakehouse:siteUrl': 'https://blog.example.com',
    'wordpress-lakehouse:alertEmail': 'data-team@wordpress-lakehouse.org',
    'wordpress-lakehouse:bronzeMemoryMb': '1536',
  },
  [],
  () => {
    const { parseConfig } = require('../../pipeline/config') as typeof import('../../pipeline/config');
    const { SilverLayer } = require('../../pipeline/silver-layer') as typeof import('../../pipeline/silver-layer');
    const pulumi = require('@pulumi/pulumi') as typeof import('@pulumi/pulumi');
    const silver = new SilverLayer('silver', {
      config: parseConfig(pulumi.runtime.allConfig()),
      stack: 'dev',
      bronzeBucketArn: BRONZE_BUCKET,
      bronzeBucketParameter: BRONZE_PARAMETER,
      lambdaFailureTopicArn: FAILURE_LAMBDA,
      bronzeDatabaseName: 'wordpress_lakehouse_dev',
    });
    return { bucket: silver.bucket.bucket, topic: silver.topic.arn, functionName: silver.function.name, database: silver.database.name };
  },
);

const one = (resources: Registered[], type: string) => {
  const found = ofType(resources, type);
  if (found.length !== 1) throw new Error(`${found.length} resources of type ${type}`);
  return found[0];
};

test('the silver layer has its own hardened bucket, topic, parameter, Glue database, role, log group and function', async (t) => {
  const { resources, outputs } = await program;
  t.is(ofType(resources, 'wordpress-lakehouse:pipeline:SilverLayer').length, 1);
  for (const type of ['BucketPublicAccessBlock', 'BucketOwnershipControls', 'BucketServerSideEncryptionConfiguration', 'BucketVersioning', 'BucketLifecycleConfiguration', 'BucketPolicy']) {
    one(resources, `aws:s3/${type[0].toLowerCase()}${type.slice(1)}:${type}`);
  }
  const bucket = one(resources, 'aws:s3/bucket:Bucket');
  t.is(outputs.bucket, bucket.state.bucket);
  t.like(one(resources, 'aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock').inputs, { blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true });
  t.is(one(resources, 'aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration').inputs.rules[0].applyServerSideEncryptionByDefault.sseAlgorithm, 'aws:kms');
  const topic = one(resources, 'aws:sns/topic:Topic');
  t.is(topic.inputs.displayName, 'data-lakehouse-silver (dev)');
  t.is(topic.inputs.kmsMasterKeyId, 'alias/aws/sns');
  t.is(one(resources, 'aws:sns/topicSubscription:TopicSubscription').inputs.endpoint, 'data-team@wordpress-lakehouse.org');
  const parameter = one(resources, 'aws:ssm/parameter:Parameter').inputs;
  t.like(parameter, { name: '/wordpress-lakehouse/dev/s3/lakehouse/name/silver', type: 'String' });
  // The mocks hand an input that was an unknown Output over wrapped, with its value inside.
  t.is(typeof parameter.value === 'object' ? parameter.value.value : parameter.value, bucket.state.bucket);
  t.is(outputs.database, 'wordpress_lakehouse_dev_silver');
  t.is(one(resources, 'aws:cloudwatch/logGroup:LogGroup').inputs.name, '/aws/lambda/data_wordpressapi_silver-dev');
  t.is(ofType(resources, 'aws:iam/rolePolicyAttachment:RolePolicyAttachment').length, 0, 'no managed (FullAccess) policies');
});

test('the function is named for the stack, sized like bronze, and reports async failures to failure-lambda', async (t) => {
  const { resources, outputs } = await program;
  const fn = one(resources, 'aws:lambda/function:Function');
  t.is(outputs.functionName, 'data_wordpressapi_silver-dev');
  t.like(fn.inputs, { runtime: 'nodejs24.x', architectures: ['arm64'], memorySize: 1536, timeout: 300 });
  t.deepEqual(fn.inputs.environment.variables, { MALLOC_MMAP_THRESHOLD_: '131072' });
  t.like(fn.inputs.loggingConfig, { logFormat: 'JSON', logGroup: '/aws/lambda/data_wordpressapi_silver-dev' });
  const invoke = one(resources, 'aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig');
  t.is(invoke.inputs.maximumRetryAttempts, 0);
  t.is(invoke.inputs.destinationConfig.onFailure.destination, FAILURE_LAMBDA);
  const role = one(resources, 'aws:iam/role:Role');
  t.is(fn.inputs.role, role.state.arn);
});

test('the serialized handler captures parameter names and the database, and requires its packages inside', async (t) => {
  const { serialized } = await program;
  t.is(serialized.length, 1);
  const [text] = serialized;
  t.true(text.includes('/wordpress-lakehouse/dev/s3/lakehouse/name/silver'));
  t.true(text.includes(BRONZE_PARAMETER.name));
  t.true(text.includes('wordpress_lakehouse_dev_silver'));
  t.regex(text, /require\("htmlparser2"\)/);
  t.regex(text, /require\("@aws-sdk\/client-glue"\)/);
  t.false(text.includes('__pulumi'), 'no Pulumi resource or Output was captured');
});

test('the role\'s policy has no wildcard action and names no bucket but bronze (read) and silver (write)', async (t) => {
  const { resources } = await program;
  const policy = JSON.parse(one(resources, 'aws:iam/rolePolicy:RolePolicy').inputs.policy) as { Statement: Array<{ Sid: string; Action: string[]; Resource: string[] }> };
  const bucket = one(resources, 'aws:s3/bucket:Bucket').state.arn as string;
  for (const statement of policy.Statement) {
    for (const action of statement.Action) t.false(action.includes('*'), `${statement.Sid}: ${action}`);
  }
  const s3 = policy.Statement.filter((s) => s.Action.some((a) => a.startsWith('s3:')));
  t.deepEqual(s3.map((s) => [s.Action, s.Resource]), [
    [['s3:GetObject'], [`${BRONZE_BUCKET}/wordpress_api/*.parquet`]],
    [['s3:ListBucket'], [BRONZE_BUCKET]],
    [['s3:PutObject'], [`${bucket}/wordpress_api/*`]],
  ]);
});
