import type { Input } from '@pulumi/pulumi';

/**
 * IAM policy documents, pure: inputs are ARNs (plain strings in tests and in the IAM simulation,
 * Outputs in the program), one statement per service with a named Sid as in the original
 * pipeline, and no wildcard actions.
 */
export interface Statement {
  Sid: string;
  Effect: 'Allow' | 'Deny';
  Action: string[];
  /** Absent only in trust policies, whose subject is the role itself. */
  Resource?: Input<string>[];
  Principal?: Record<string, Input<string> | Input<string>[]> | '*';
  Condition?: Record<string, Record<string, Input<string> | Input<string>[] | boolean>>;
}

export interface PolicyDocument {
  Version: '2012-10-17';
  Statement: Statement[];
}

const doc = (...statements: Statement[]): PolicyDocument => ({ Version: '2012-10-17', Statement: statements });

/** The log group is created by the program, so a function only needs to write streams into it. */
function logStatement(logGroupArn: Input<string>): Statement {
  return {
    Sid: 'CloudWatchLogStreamActions',
    Effect: 'Allow',
    Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
    Resource: [interpolate(logGroupArn, ':*')],
  };
}

/**
 * ListBucket on `bucketArn`, narrowed to the keys under `prefix`: what makes a missing object a 404
 * rather than a 403, without letting the function list anything else.
 */
function listUnder(sid: string, bucketArn: Input<string>, prefix: string): Statement {
  return { Sid: sid, Effect: 'Allow', Action: ['s3:ListBucket'], Resource: [bucketArn], Condition: { StringLike: { 's3:prefix': [`${prefix}/*`] } } };
}

/**
 * ARN + suffix for either a string or an Output. Kept here (not pulumi.interpolate) so the module
 * stays usable without a Pulumi engine, e.g. by the IAM simulation tests.
 */
export function interpolate(value: Input<string>, suffix: string): Input<string> {
  return mapInput(value, (v) => `${v}${suffix}`);
}

function mapInput(value: Input<string>, f: (v: string) => string): Input<string> {
  if (typeof value === 'string') return f(value);
  const maybe = value as { apply?: (g: (v: string) => string) => Input<string> };
  if (typeof maybe.apply === 'function') return maybe.apply(f);
  return (value as Promise<string>).then(f);
}

export interface RawPolicyArgs {
  logGroupArn: Input<string>;
  rawBucketArn: Input<string>;
  dataSource: string;
  /** The raw layer's topic and the failure-lambda topic (on-failure destination). */
  topicArns: Input<string>[];
  /** The parameters the raw function reads: raw bucket, raw topic, endpoints, credentials. */
  parameterArns: Input<string>[];
}

/**
 * The raw function writes raw objects under its prefix, and only with If-None-Match: a write
 * without it is refused, so raw history cannot be overwritten even by this role (S3 answers 412 to
 * a conditional write over an existing key). The handlers never use multipart uploads, whose
 * CreateMultipartUpload and UploadPart cannot carry the header: they are refused too. It reads back
 * its own history under the prefix: the id listing a split crawl's parts are cut from, and, for a
 * replay, the list of an endpoint's raw objects and their metadata (lake/replay.ts).
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes-enforce.html
 */
export function rawFunctionPolicy(args: RawPolicyArgs): PolicyDocument {
  return doc(
    logStatement(args.logGroupArn),
    {
      Sid: 'S3ObjectActions',
      Effect: 'Allow',
      Action: ['s3:PutObject'],
      Resource: [interpolate(args.rawBucketArn, `/${args.dataSource}/*`)],
      Condition: { Null: { 's3:if-none-match': 'false' } },
    },
    { Sid: 'S3RawReadActions', Effect: 'Allow', Action: ['s3:GetObject'], Resource: [interpolate(args.rawBucketArn, `/${args.dataSource}/*`)] },
    listUnder('S3BucketActions', args.rawBucketArn, args.dataSource),
    { Sid: 'SNSActions', Effect: 'Allow', Action: ['sns:Publish'], Resource: args.topicArns },
    { Sid: 'ParameterStoreActions', Effect: 'Allow', Action: ['ssm:GetParameters', 'ssm:GetParameter'], Resource: args.parameterArns },
  );
}

export interface StateReaderPolicyArgs {
  bronzeBucketArn: Input<string>;
  dataSource: string;
  /** The bronze bucket name parameter. */
  bronzeBucketParameterArn: Input<string>;
}

/**
 * What the raw function may read of bronze: the state (high-water marks and id sets) that bronze
 * writes after each landed run, and nothing of the tables. Declared by BronzeLayer, which owns
 * the bucket (RawLayer is built first). ListBucket, narrowed to the state prefix, makes a
 * missing state a 404 rather than a 403.
 */
export function stateReaderPolicy(args: StateReaderPolicyArgs): PolicyDocument {
  return doc(
    { Sid: 'S3StateReadActions', Effect: 'Allow', Action: ['s3:GetObject'], Resource: [interpolate(args.bronzeBucketArn, `/${args.dataSource}/_state/*`)] },
    listUnder('S3StateBucketActions', args.bronzeBucketArn, `${args.dataSource}/_state`),
    { Sid: 'ParameterStoreActions', Effect: 'Allow', Action: ['ssm:GetParameters', 'ssm:GetParameter'], Resource: [args.bronzeBucketParameterArn] },
  );
}

export interface BronzePolicyArgs {
  logGroupArn: Input<string>;
  rawBucketArn: Input<string>;
  bronzeBucketArn: Input<string>;
  dataSource: string;
  topicArns: Input<string>[];
  parameterArns: Input<string>[];
  /** The stack's Glue catalog, database and `table/<database>/*` ARNs. */
  glue: { catalog: Input<string>; database: Input<string>; tables: Input<string> };
}

/**
 * The bronze function reads raw objects under the prefix, reads and replaces its own tables,
 * state and manifests under the prefix, and deletes nothing. ListBucket on its own bucket makes a
 * missing table or state a 404 rather than a 403.
 */
export function bronzeFunctionPolicy(args: BronzePolicyArgs): PolicyDocument {
  return doc(
    logStatement(args.logGroupArn),
    { Sid: 'S3ObjectActions', Effect: 'Allow', Action: ['s3:PutObject', 's3:GetObject'], Resource: [interpolate(args.bronzeBucketArn, `/${args.dataSource}/*`)] },
    { Sid: 'S3RawObjectReadActions', Effect: 'Allow', Action: ['s3:GetObject'], Resource: [interpolate(args.rawBucketArn, `/${args.dataSource}/*`)] },
    listUnder('S3BucketActions', args.bronzeBucketArn, args.dataSource),
    // Glue authorizes a table call on the catalog, the database and the table together; nothing
    // beyond this stack's database, and no deletes.
    { Sid: 'GlueTableActions', Effect: 'Allow', Action: ['glue:GetTable', 'glue:CreateTable', 'glue:UpdateTable'], Resource: [args.glue.catalog, args.glue.database, args.glue.tables] },
    { Sid: 'SNSActions', Effect: 'Allow', Action: ['sns:Publish'], Resource: args.topicArns },
    { Sid: 'ParameterStoreActions', Effect: 'Allow', Action: ['ssm:GetParameters', 'ssm:GetParameter'], Resource: args.parameterArns },
  );
}

export interface SilverPolicyArgs {
  logGroupArn: Input<string>;
  bronzeBucketArn: Input<string>;
  silverBucketArn: Input<string>;
  dataSource: string;
  /** The failure-lambda topic (on-failure destination of asynchronous invocations). */
  failureTopicArn: Input<string>;
  /** The bronze and silver bucket name parameters. */
  parameterArns: Input<string>[];
  /** The silver Glue database's catalog, database and `table/<database>/*` ARNs. */
  glue: { catalog: Input<string>; database: Input<string>; tables: Input<string> };
}

/**
 * The silver function reads the bronze tables' Parquet (not their state or manifests), writes
 * its own tables under the prefix, and deletes nothing. ListBucket on bronze, narrowed to the
 * prefix, makes a missing bronze table a 404 (skipped) rather than a 403 (a failure).
 */
export function silverFunctionPolicy(args: SilverPolicyArgs): PolicyDocument {
  return doc(
    logStatement(args.logGroupArn),
    { Sid: 'S3BronzeTableReadActions', Effect: 'Allow', Action: ['s3:GetObject'], Resource: [interpolate(args.bronzeBucketArn, `/${args.dataSource}/*.parquet`)] },
    listUnder('S3BronzeBucketActions', args.bronzeBucketArn, args.dataSource),
    { Sid: 'S3ObjectActions', Effect: 'Allow', Action: ['s3:PutObject'], Resource: [interpolate(args.silverBucketArn, `/${args.dataSource}/*`)] },
    { Sid: 'GlueTableActions', Effect: 'Allow', Action: ['glue:GetTable', 'glue:CreateTable', 'glue:UpdateTable'], Resource: [args.glue.catalog, args.glue.database, args.glue.tables] },
    { Sid: 'SNSActions', Effect: 'Allow', Action: ['sns:Publish'], Resource: [args.failureTopicArn] },
    { Sid: 'ParameterStoreActions', Effect: 'Allow', Action: ['ssm:GetParameters', 'ssm:GetParameter'], Resource: args.parameterArns },
  );
}

export interface StateMachinePolicyArgs {
  functionArns: Input<string>[];
  failureTopicArn: Input<string>;
  /** The silver topic, which the state machine publishes silver failures on. @default none */
  silverTopicArn?: Input<string>;
  /**
   * The customer managed key of the failure topic, when the stack made one (see
   * alarmTopicKeyPolicy): publishing to an encrypted topic needs the key, through SNS only.
   * @default none (an AWS managed key, whose policy already lets SNS use it for the account)
   */
  failureTopicKey?: { arn: Input<string>; region: Input<string> };
  endpointsParameterArn: Input<string>;
  /** The state machine's own ARN, built from its name (the role exists before the machine). */
  stateMachineArn: Input<string>;
  /** The Distributed Map's label: its child executions are `execution:<machine>/<label>:<id>`. */
  mapLabel: string;
}

/**
 * Step Functions invokes exactly the pipeline's functions (and their versions), reads the endpoint
 * list, publishes to its failure topic (and silver's failures to the silver topic), and runs its Distributed Map: child executions of this
 * machine only, started, watched and stopped (when the map run fails or is aborted). Log delivery is the one place AWS requires `*`:
 * CreateLogDelivery and friends are not resource-scoped (see the Step Functions guide,
 * "IAM policies for logging to CloudWatch Logs").
 */
export function stateMachinePolicy(args: StateMachinePolicyArgs): PolicyDocument {
  return doc(
    { Sid: 'LambdaInvokeActions', Effect: 'Allow', Action: ['lambda:InvokeFunction'], Resource: args.functionArns.flatMap((arn) => [arn, interpolate(arn, ':*')]) },
    { Sid: 'SNSActions', Effect: 'Allow', Action: ['sns:Publish'], Resource: [args.failureTopicArn, ...(args.silverTopicArn ? [args.silverTopicArn] : [])] },
    ...(args.failureTopicKey ? [viaSnsStatement(args.failureTopicKey.arn, args.failureTopicKey.region)] : []),
    { Sid: 'ParameterStoreActions', Effect: 'Allow', Action: ['ssm:GetParameter'], Resource: [args.endpointsParameterArn] },
    { Sid: 'DistributedMapStartActions', Effect: 'Allow', Action: ['states:StartExecution'], Resource: [args.stateMachineArn] },
    {
      Sid: 'DistributedMapChildActions',
      Effect: 'Allow',
      Action: ['states:DescribeExecution', 'states:StopExecution'],
      Resource: [childExecutions(args.stateMachineArn, args.mapLabel)],
    },
    {
      Sid: 'CloudWatchLogDeliveryActions',
      Effect: 'Allow',
      Action: [
        'logs:CreateLogDelivery',
        'logs:GetLogDelivery',
        'logs:UpdateLogDelivery',
        'logs:DeleteLogDelivery',
        'logs:ListLogDeliveries',
        'logs:PutResourcePolicy',
        'logs:DescribeResourcePolicies',
        'logs:DescribeLogGroups',
      ],
      Resource: ['*'],
    },
  );
}

/** What a publisher to an encrypted topic needs of its key: data keys, asked for by SNS on its behalf only. */
function viaSnsStatement(keyArn: Input<string>, region: Input<string>): Statement {
  return {
    Sid: 'KMSActions',
    Effect: 'Allow',
    Action: ['kms:GenerateDataKey', 'kms:Decrypt'],
    Resource: [keyArn],
    Condition: { StringEquals: { 'kms:ViaService': mapInput(region, (r) => `sns.${r}.amazonaws.com`) } },
  };
}

/** `arn:...:execution:<machine>/<label>:*`, the executions a Distributed Map starts, from the machine's ARN. */
function childExecutions(stateMachineArn: Input<string>, label: string): Input<string> {
  return mapInput(stateMachineArn, (arn) => `${arn.replace(':stateMachine:', ':execution:')}/${label}:*`);
}

export interface AlarmTopicKeyPolicyArgs {
  partition: string;
  account: string;
  region: string;
  /** Names of the alarms that may publish to the topic start with this (Monitoring's alarm names). */
  alarmNamePrefix: string;
}

/** What administering a key takes, named one by one (the console's default policy grants `kms:*`). */
const KEY_ADMINISTRATION_ACTIONS = [
  'kms:DescribeKey', 'kms:GetKeyPolicy', 'kms:PutKeyPolicy', 'kms:ListKeyPolicies', 'kms:GetKeyRotationStatus', 'kms:EnableKeyRotation',
  'kms:DisableKeyRotation', 'kms:ListResourceTags', 'kms:TagResource', 'kms:UntagResource', 'kms:UpdateKeyDescription', 'kms:EnableKey',
  'kms:DisableKey', 'kms:ScheduleKeyDeletion', 'kms:CancelKeyDeletion', 'kms:CreateAlias', 'kms:UpdateAlias', 'kms:DeleteAlias',
  'kms:ListGrants', 'kms:RevokeGrant',
];

/**
 * The key policy of the failure topic's own key. CloudWatch alarms publish to an encrypted topic
 * only if the key lets cloudwatch.amazonaws.com make data keys, which the AWS managed key for SNS
 * never does (its policy is AWS's), so alarms on such a topic would deploy and never arrive:
 * https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services
 * The account administers the key through IAM (a policy without that would lock everyone out of
 * it) and uses it through SNS only; CloudWatch only for this stack's alarms. In a key policy,
 * `Resource: "*"` is the key itself.
 */
export function alarmTopicKeyPolicy(args: AlarmTopicKeyPolicyArgs): PolicyDocument {
  const account = { AWS: `arn:${args.partition}:iam::${args.account}:root` };
  const dataKeys = ['kms:GenerateDataKey', 'kms:Decrypt'];
  return doc(
    { Sid: 'KeyAdministration', Effect: 'Allow', Principal: account, Action: KEY_ADMINISTRATION_ACTIONS, Resource: ['*'] },
    {
      Sid: 'AccountUseThroughSNS',
      Effect: 'Allow',
      Principal: account,
      Action: dataKeys,
      Resource: ['*'],
      Condition: { StringEquals: { 'kms:ViaService': `sns.${args.region}.amazonaws.com`, 'kms:CallerAccount': args.account } },
    },
    {
      Sid: 'CloudWatchAlarms',
      Effect: 'Allow',
      Principal: { Service: 'cloudwatch.amazonaws.com' },
      Action: dataKeys,
      Resource: ['*'],
      Condition: {
        StringEquals: { 'aws:SourceAccount': args.account },
        ArnLike: { 'aws:SourceArn': `arn:${args.partition}:cloudwatch:${args.region}:${args.account}:alarm:${args.alarmNamePrefix}*` },
      },
    },
  );
}

/** The scheduler may start this one state machine and nothing else. */
export function schedulerPolicy(stateMachineArn: Input<string>): PolicyDocument {
  return doc({ Sid: 'StepFunctionsActions', Effect: 'Allow', Action: ['states:StartExecution'], Resource: [stateMachineArn] });
}

/** Trust policy for a role assumed by one AWS service, optionally pinned to this account (confused deputy). */
export function assumeRolePolicy(service: string, sourceAccount?: Input<string>): PolicyDocument {
  const statement: Statement = { Sid: 'AssumeRole', Effect: 'Allow', Action: ['sts:AssumeRole'], Principal: { Service: service } };
  if (sourceAccount) statement.Condition = { StringEquals: { 'aws:SourceAccount': sourceAccount } };
  return doc(statement);
}

/** Refuses every request that does not use TLS, for every principal. */
export function tlsOnlyBucketPolicy(bucketArn: Input<string>): PolicyDocument {
  return doc({
    Sid: 'DenyInsecureTransport',
    Effect: 'Deny',
    Principal: '*',
    Action: ['s3:*'],
    Resource: [bucketArn, interpolate(bucketArn, '/*')],
    Condition: { Bool: { 'aws:SecureTransport': false } },
  });
}
