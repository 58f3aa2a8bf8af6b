import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Simulation, runSimulation } from '@cloud-copilot/iam-simulate';
import { MAP_LABEL } from '../../pipeline/state-machine';
import { ACCOUNT, REGION, type Registered, ofType, runProgram } from '../helpers/pulumi-mocks';

/**
 * The IAM the program generates, evaluated offline by @cloud-copilot/iam-simulate (AGPL, a
 * devDependency used only here): every AWS call the handlers were seen making
 * (test/data/aws-calls.json, recorded by the Lambda parity test) is allowed by its function's
 * policy, and a list of calls outside each role's job is denied. Then the resource policies of
 * the mocked program, and a secret scan of everything it registered.
 */

const PASSWORD = 'Qm4n Rk7t Wz2p Lx9v Hc3d Fy6b';
const USERNAME = 'lakehouse-bot';
const program = runProgram(
  {
    'aws:region': REGION,
    'wordpress-lakehouse:siteUrl': 'https://blog.example.com',
    'wordpress-lakehouse:alertEmail': 'data-team@wordpress-lakehouse.org',
    'wordpress-lakehouse:wordpressUsername': USERNAME,
    'wordpress-lakehouse:wordpressPassword': PASSWORD,
  },
  ['wordpress-lakehouse:wordpressPassword'],
  () => require('../../index'),
);

interface Call {
  function: string;
  service?: string;
  action: string;
  resource: string;
  context?: Record<string, string>;
}

const RECORDED: Call[] = JSON.parse(readFileSync(join(__dirname, '..', 'data', 'aws-calls.json'), 'utf8'));

/** The pieces of the mocked program a simulation needs, by role. */
async function world() {
  const { resources } = await program;
  const policy = (name: string) => {
    const found = resources.find((r) => r.type === 'aws:iam/rolePolicy:RolePolicy' && r.name === name);
    if (!found) throw new Error(`no RolePolicy ${name}`);
    return JSON.parse(found.inputs.policy);
  };
  const role = (name: string) => resources.find((r) => r.type === 'aws:iam/role:Role' && r.name === name)!.state.arn as string;
  const bucket = (layer: string) => resources.find((r) => r.type === 'aws:s3/bucket:Bucket' && r.name === `${layer}-bucket`)!;
  const bucketPolicy = (b: Registered) => JSON.parse(resources.find((r) => r.type === 'aws:s3/bucketPolicy:BucketPolicy' && r.inputs.bucket === `${b.state.bucket}-id`)!.inputs.policy);
  const topic = (display: string) => ofType(resources, 'aws:sns/topic:Topic').find((x) => x.inputs.displayName === `${display} (dev)`)!.state.arn as string;
  const fn = (layer: string) => ofType(resources, 'aws:lambda/function:Function').find((f) => f.inputs.name === `data_wordpressapi_${layer}-dev`)!.state.arn as string;
  const sm = ofType(resources, 'aws:sfn/stateMachine:StateMachine')[0].state.arn as string;
  const logGroup = (layer: string) => `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:/aws/lambda/data_wordpressapi_${layer}-dev`;
  // Every inline policy of each role: the raw role also carries bronze-state-reader (declared
  // by BronzeLayer, which owns the bucket it reads).
  const roles = {
    raw: { arn: role('raw-function'), policies: { 'raw-function': policy('raw-function'), 'bronze-state-reader': policy('bronze-state-reader') } },
    bronze: { arn: role('bronze-function'), policies: { 'bronze-function': policy('bronze-function') } },
    silver: { arn: role('silver-function'), policies: { 'silver-function': policy('silver-function') } },
    stateMachine: { arn: role('orchestration-state-machine'), policies: { 'orchestration-state-machine': policy('orchestration-state-machine') } },
    scheduler: { arn: role('orchestration-scheduler'), policies: { 'orchestration-scheduler': policy('orchestration-scheduler') } },
  };
  const physical = (name: string) => resources.find((r) => r.type === 'aws:iam/role:Role' && r.name === name)!.state.name as string;
  const attached = resources.filter((r) => r.type === 'aws:iam/rolePolicy:RolePolicy').map((r) => [r.name, r.inputs.role] as const);
  const raw = bucket('raw');
  const bronze = bucket('bronze');
  const silver = bucket('silver');
  const results = resources.find((r) => r.type === 'aws:s3/bucket:Bucket' && r.name === 'catalog-results')!;
  const bucketPolicies: Record<string, unknown> = Object.fromEntries([raw, bronze, silver, results].map((b) => [b.state.bucket, bucketPolicy(b)]));
  // KMS authorizes a request only if the key's own policy allows it too (here by delegating to IAM).
  const keyPolicies: Record<string, unknown> = Object.fromEntries(ofType(resources, 'aws:kms/key:Key').map((k) => [k.state.arn, JSON.parse(k.inputs.policy)]));
  // As IAM names Glue resources: the account's catalog, and this stack's database and its tables.
  const database = resources.find((r) => r.type === 'aws:glue/catalogDatabase:CatalogDatabase' && r.name === 'catalog-database')!.state.name as string;
  const glueArn = (path: string) => `arn:aws:glue:${REGION}:${ACCOUNT}:${path}`;
  const glue = { catalog: glueArn('catalog'), database: glueArn(`database/${database}`), table: (name: string, db = database) => glueArn(`table/${db}/${name}`), arn: glueArn };
  return {
    resources, roles, physical, attached, raw: raw.state.arn as string, bronze: bronze.state.arn as string, silver: silver.state.arn as string, results: results.state.arn as string, bucketPolicies, keyPolicies, sm, fn, logGroup, glue,
    topics: { raw: topic('data-lakehouse-raw'), bronze: topic('data-lakehouse-bronze'), silver: topic('data-lakehouse-silver'), lambda: topic('failure-lambda'), stateMachine: topic('failure-stepfunction') },
  };
}

type World = Awaited<ReturnType<typeof world>>;
type RoleName = keyof World['roles'];

/** One request by a role, with the bucket's (or key's) own policy as the resource policy for S3 (KMS) and TLS on unless said otherwise. */
async function simulate(w: World, role: RoleName, action: string, resource: string, context: Record<string, string> = {}) {
  const bucketName = action.startsWith('s3:') ? resource.replace(/^arn:aws:s3:::/, '').split('/')[0] : undefined;
  const simulation: Simulation = {
    identityPolicies: Object.entries(w.roles[role].policies).map(([name, policy]) => ({ name, policy })),
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    resourcePolicy: (bucketName ? w.bucketPolicies[bucketName] : action.startsWith('kms:') ? w.keyPolicies[resource] : undefined) as Simulation['resourcePolicy'],
    request: {
      action,
      principal: w.roles[role].arn,
      resource: { resource, accountId: ACCOUNT },
      contextVariables: { 'aws:SecureTransport': 'true', ...context },
    },
  } as Simulation;
  const result = await runSimulation(simulation, {});
  if (result.resultType === 'error') throw new Error(`simulation error for ${role} ${action} ${resource}: ${JSON.stringify(result.errors)}`);
  return result.overallResult as string;
}

test('every inline policy the simulation gives a role is attached to that role, and no other policy is', async (t) => {
  const w = await world();
  // The mocks give a Role's id as `<physical name>-id`; the state reader names the role by name.
  const roleOf = (input: string) => (Object.keys(w.roles) as RoleName[]).find((role) => {
    const name = w.physical(role === 'stateMachine' ? 'orchestration-state-machine' : role === 'scheduler' ? 'orchestration-scheduler' : `${role}-function`);
    return input === name || input === `${name}-id`;
  });
  const simulated = Object.entries(w.roles).flatMap(([role, r]) => Object.keys(r.policies).map((name) => [name, role]));
  t.deepEqual(w.attached.map(([name, role]) => [name, roleOf(role)]).sort(), simulated.sort());
});

test('every AWS call the handlers make (test/data/aws-calls.json) is allowed by the policy of its function', async (t) => {
  const w = await world();
  t.true(RECORDED.length >= 10, 'the recorded call list is not empty');
  t.deepEqual([...new Set(RECORDED.map((c) => c.function))].sort(), ['bronze', 'raw']);
  for (const call of RECORDED) {
    // The recording names resources as the mocks do (raw-bucket-a1b2c3d...), which is what these policies hold.
    t.is(await simulate(w, call.function as RoleName, call.action, call.resource, call.context), 'Allowed', `${call.function} ${call.action} ${call.resource}`);
  }
});

test('the calls outside the handlers are allowed too: logs, the credentials parameter, the state machine and the scheduler', async (t) => {
  const w = await world();
  const allowed: Array<[RoleName, string, string, Record<string, string>?]> = [
    ['raw', 'logs:PutLogEvents', `${w.logGroup('raw')}:log-stream:2026/01/01/[$LATEST]abc`],
    ['bronze', 'logs:CreateLogStream', `${w.logGroup('bronze')}:log-stream:2026/01/01/[$LATEST]abc`],
    ['raw', 'ssm:GetParameters', `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/wordpress-lakehouse/dev/wordpress/blog.example.com/api/credentials`],
    ['raw', 'sns:Publish', w.topics.lambda],
    // What lets S3 answer 404 rather than 403 for a state that does not exist yet.
    ['raw', 's3:ListBucket', w.bronze, { 's3:prefix': 'wordpress_api/_state/posts.json' }],
    ['bronze', 's3:ListBucket', w.bronze, { 's3:prefix': 'wordpress_api/posts/posts.parquet' }],
    ['stateMachine', 'lambda:InvokeFunction', w.fn('raw')],
    ['stateMachine', 'lambda:InvokeFunction', `${w.fn('bronze')}:$LATEST`],
    ['stateMachine', 'sns:Publish', w.topics.stateMachine],
    ['stateMachine', 'ssm:GetParameter', `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/wordpress-lakehouse/dev/wordpress/blog.example.com/api/endpoints`],
    ['scheduler', 'states:StartExecution', w.sm],
    // The Distributed Map: child executions of this machine, and the id listing a part reads.
    ['stateMachine', 'states:StartExecution', w.sm],
    ['stateMachine', 'states:DescribeExecution', `${w.sm.replace(':stateMachine:', ':execution:')}/${MAP_LABEL}:0a1b2c3d-run`],
    ['stateMachine', 'states:StopExecution', `${w.sm.replace(':stateMachine:', ':execution:')}/${MAP_LABEL}:0a1b2c3d-run`],
    ['raw', 's3:GetObject', `${w.raw}/wordpress_api/_ids/posts/ingest_date=2026-01-01/posts-run.json`],
    // A replay lists an endpoint's raw history and reads its objects' metadata (HeadObject is GetObject).
    ['raw', 's3:GetObject', `${w.raw}/wordpress_api/posts/ingest_date=2026-01-01/posts-run.json`],
    ['raw', 's3:ListBucket', w.raw, { 's3:prefix': 'wordpress_api/posts/ingest_date=' }],
  ];
  for (const [role, action, resource, context] of allowed) t.is(await simulate(w, role, action, resource, context), 'Allowed', `${role} ${action} ${resource}`);
});

test('calls outside each role\'s job are denied', async (t) => {
  const w = await world();
  const param = (stack: string, path: string) => `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/wordpress-lakehouse/${stack}/${path}`;
  const denied: Array<[RoleName, string, string, Record<string, string>?, string?]> = [
    // Layers stay in their lane.
    ['raw', 's3:PutObject', `${w.bronze}/wordpress_api/posts/posts.parquet`, {}, 'raw writing bronze'],
    ['raw', 's3:PutObject', `${w.bronze}/wordpress_api/_state/posts.json`, {}, 'raw writing bronze\'s state'],
    ['bronze', 's3:PutObject', `${w.raw}/wordpress_api/posts/ingest_date=2026-01-01/posts-run.json`, {}, 'bronze writing raw'],
    ['bronze', 's3:PutObject', `${w.raw}/wordpress_api/_ids/posts/ingest_date=2026-01-01/posts-run.json`, {}, 'bronze writing a raw id listing'],
    ['raw', 's3:GetObject', `${w.raw}/other_source/posts/ingest_date=2026-01-01/posts-run.json`, {}, 'raw reading another prefix\'s history'],
    // Raw reads bronze's state only: not a table, its deletions or the run manifests.
    ['raw', 's3:GetObject', `${w.bronze}/wordpress_api/posts/posts.parquet`, {}, 'raw reading a bronze table'],
    ['raw', 's3:GetObject', `${w.bronze}/wordpress_api/posts_deletions/posts_deletions-run.parquet`, {}, 'raw reading bronze deletions'],
    ['raw', 's3:GetObject', `${w.bronze}/wordpress_api/_runs/run.json`, {}, 'raw reading a run manifest'],
    ['raw', 's3:GetObject', `${w.bronze}/other_source/_state/posts.json`, {}, 'raw reading another prefix\'s state'],
    ['raw', 's3:ListBucket', w.bronze, { 's3:prefix': 'wordpress_api/posts/' }, 'raw listing a bronze table'],
    ['raw', 's3:ListBucket', w.bronze, {}, 'raw listing the whole bronze bucket'],
    ['raw', 's3:ListBucket', w.raw, { 's3:prefix': 'other_source/' }, 'raw listing another prefix of raw'],
    ['raw', 's3:ListBucket', w.raw, {}, 'raw listing the whole raw bucket'],
    // Other prefixes.
    ['raw', 's3:PutObject', `${w.raw}/other_source/posts/posts.json`, {}, 'raw writing another prefix'],
    ['raw', 's3:PutObject', `${w.raw}/posts.json`, {}, 'raw writing the bucket root'],
    ['bronze', 's3:GetObject', `${w.raw}/other_source/posts/posts.json`, {}, 'bronze reading another prefix'],
    ['bronze', 's3:GetObject', `${w.bronze}/other_source/posts/posts.parquet`, {}, 'bronze reading another prefix of its own bucket'],
    ['bronze', 's3:ListBucket', w.bronze, { 's3:prefix': 'other_source/' }, 'bronze listing another prefix'],
    ['bronze', 's3:ListBucket', w.bronze, {}, 'bronze listing the whole bucket'],
    ['bronze', 's3:ListBucket', w.raw, { 's3:prefix': 'wordpress_api/' }, 'bronze listing raw (it reads the keys the raw summary names)'],
    ['bronze', 's3:PutObject', `${w.bronze}/other_source/posts/posts.parquet`, {}, 'bronze writing another prefix'],
    // Deleting or reconfiguring storage.
    ['raw', 's3:DeleteObject', `${w.raw}/wordpress_api/posts/ingest_date=2026-01-01/posts-run.json`, {}, 'raw deleting raw history'],
    ['raw', 's3:DeleteObject', `${w.bronze}/wordpress_api/_state/posts.json`, {}, 'raw deleting bronze\'s state'],
    ['bronze', 's3:DeleteObject', `${w.bronze}/wordpress_api/posts/posts.parquet`, {}, 'bronze deleting a table'],
    ['bronze', 's3:DeleteObject', `${w.raw}/wordpress_api/posts/ingest_date=2026-01-01/posts-run.json`, {}, 'bronze deleting raw history'],
    ['raw', 's3:DeleteObjectVersion', `${w.raw}/wordpress_api/posts/ingest_date=2026-01-01/posts-run.json`, {}, 'raw deleting a version'],
    ['bronze', 's3:DeleteObjectVersion', `${w.bronze}/wordpress_api/_state/posts.json`, {}, 'bronze deleting a version of the state'],
    ['bronze', 's3:PutBucketPolicy', w.bronze, {}, 'bronze changing the bucket policy'],
    // TLS only, even for allowed writes.
    ['raw', 's3:PutObject', `${w.raw}/wordpress_api/posts/ingest_date=2026-01-01/posts-run.json`, { 'aws:SecureTransport': 'false' }, 'raw writing over plain http'],
    ['raw', 's3:GetObject', `${w.bronze}/wordpress_api/_state/posts.json`, { 'aws:SecureTransport': 'false' }, 'raw reading the state over plain http'],
    // Other topics.
    ['raw', 'sns:Publish', w.topics.bronze, {}, 'raw publishing to the bronze topic'],
    ['bronze', 'sns:Publish', w.topics.raw, {}, 'bronze publishing to the raw topic'],
    ['raw', 'sns:Publish', w.topics.stateMachine, {}, 'raw publishing to failure-stepfunction'],
    ['stateMachine', 'sns:Publish', w.topics.raw, {}, 'state machine publishing to the raw topic'],
    ['bronze', 'sns:Publish', `arn:aws:sns:${REGION}:${ACCOUNT}:someone-elses-topic`, {}, 'bronze publishing elsewhere'],
    // Other stacks' parameters, and the password outside raw.
    ['raw', 'ssm:GetParameters', param('prod', 's3/lakehouse/name/raw'), {}, 'raw reading another stack\'s parameter'],
    ['raw', 'ssm:GetParameters', param('prod', 'wordpress/blog.example.com/api/credentials'), {}, 'raw reading another stack\'s credentials'],
    ['bronze', 'ssm:GetParameters', param('prod', 's3/lakehouse/name/bronze'), {}, 'bronze reading another stack\'s parameter'],
    ['bronze', 'ssm:GetParameters', param('dev', 'wordpress/blog.example.com/api/credentials'), {}, 'bronze reading the credentials'],
    ['stateMachine', 'ssm:GetParameter', param('dev', 'wordpress/blog.example.com/api/credentials'), {}, 'state machine reading the credentials'],
    ['stateMachine', 'ssm:GetParameter', param('prod', 'wordpress/blog.example.com/api/endpoints'), {}, 'state machine reading another stack\'s endpoints'],
    ['raw', 'ssm:PutParameter', param('dev', 'wordpress/blog.example.com/api/endpoints'), {}, 'raw changing the endpoints'],
    ['raw', 'ssm:GetParameters', param('prod', 's3/lakehouse/name/bronze'), {}, 'raw reading another stack\'s bronze bucket parameter'],
    ['raw', 'ssm:GetParameters', param('dev', 'sns/data/lakehouse/bronze'), {}, 'raw reading the bronze topic parameter'],
    // Orchestration reaches only its own targets.
    ['scheduler', 'states:StartExecution', `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:WordPress_Raw_To_Bronze-prod`, {}, 'scheduler starting another stack\'s machine'],
    ['scheduler', 'states:StartExecution', `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:Payroll`, {}, 'scheduler starting another machine'],
    ['scheduler', 'lambda:InvokeFunction', w.fn('raw'), {}, 'scheduler invoking a function'],
    ['stateMachine', 'lambda:InvokeFunction', `arn:aws:lambda:${REGION}:${ACCOUNT}:function:data_wordpressapi_raw-prod`, {}, 'state machine invoking another stack\'s function'],
    ['stateMachine', 'lambda:InvokeFunction', `arn:aws:lambda:${REGION}:${ACCOUNT}:function:anything-else`, {}, 'state machine invoking another function'],
    ['raw', 'lambda:InvokeFunction', w.fn('bronze'), {}, 'raw invoking bronze'],
    ['raw', 'logs:PutLogEvents', `${w.logGroup('bronze')}:log-stream:x`, {}, 'raw writing bronze\'s logs'],
    // The Distributed Map's grants reach this machine's child executions only.
    ['stateMachine', 'states:StartExecution', `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:WordPress_Raw_To_Bronze-prod`, {}, 'state machine starting another stack\'s machine'],
    ['stateMachine', 'states:StopExecution', `${w.sm.replace(':stateMachine:', ':execution:')}:the-daily-run`, {}, 'state machine stopping a top-level execution'],
    ['stateMachine', 'states:StopExecution', `arn:aws:states:${REGION}:${ACCOUNT}:execution:Payroll/${MAP_LABEL}:x`, {}, 'state machine stopping another machine\'s child execution'],
    ['stateMachine', 'states:DescribeExecution', `arn:aws:states:${REGION}:${ACCOUNT}:execution:WordPress_Raw_To_Bronze-prod/${MAP_LABEL}:x`, {}, 'state machine reading another stack\'s child execution'],
    ['stateMachine', 'states:DeleteStateMachine', w.sm, {}, 'state machine deleting itself'],
    ['stateMachine', 'states:UpdateStateMachine', w.sm, {}, 'state machine changing itself'],
    ['raw', 's3:GetObject', `${w.raw}/other_source/_ids/posts/ingest_date=2026-01-01/posts-run.json`, {}, 'raw reading another prefix\'s id listing'],
  ];
  for (const [role, action, resource, context, why] of denied) {
    t.not(await simulate(w, role, action, resource, context), 'Allowed', why);
  }
  t.is(await simulate(w, 'raw', 's3:PutObject', `${w.raw}/wordpress_api/posts/posts.json`, { 'aws:SecureTransport': 'false' }), 'ExplicitlyDenied', 'the bucket policy\'s TLS deny wins over the role\'s allow');
});

test('the raw role may write a raw object only with If-None-Match, so it cannot replace a stored fetch', async (t) => {
  const w = await world();
  const fetch = `${w.raw}/wordpress_api/posts/ingest_date=2026-01-01/posts-run.json`;
  t.is(await simulate(w, 'raw', 's3:PutObject', fetch, { 's3:if-none-match': '*' }), 'Allowed', 'a conditional write of a new fetch');
  t.is(await simulate(w, 'raw', 's3:PutObject', fetch), 'ImplicitlyDenied', 'a write without If-None-Match, which would replace an existing object');
  const listing = `${w.raw}/wordpress_api/_ids/posts/ingest_date=2026-01-01/posts-run.json`;
  t.is(await simulate(w, 'raw', 's3:PutObject', listing, { 's3:if-none-match': '*' }), 'Allowed', 'a conditional write of an id listing');
  t.is(await simulate(w, 'raw', 's3:PutObject', listing), 'ImplicitlyDenied', 'an unconditional write of an id listing');
  // Everything the handlers were seen writing to raw carried the header.
  const rawWrites = RECORDED.filter((call) => call.function === 'raw' && call.action === 's3:PutObject');
  t.true(rawWrites.length > 0);
  t.deepEqual(rawWrites.filter((call) => call.context?.['s3:if-none-match'] !== '*'), []);
});

test('the failure topic\'s own key: the state machine may make data keys through SNS only, the functions not at all', async (t) => {
  const w = await world();
  const key = ofType(w.resources, 'aws:kms/key:Key').find((k) => k.name === 'orchestration-failure-stepfunction')!.state.arn as string;
  // KMS adds kms:CallerAccount to every request itself.
  const viaSns = { 'kms:ViaService': `sns.${REGION}.amazonaws.com`, 'kms:CallerAccount': ACCOUNT };
  t.is(await simulate(w, 'stateMachine', 'kms:GenerateDataKey', key, viaSns), 'Allowed', 'publishing to the encrypted failure topic');
  t.is(await simulate(w, 'stateMachine', 'kms:Decrypt', key, viaSns), 'Allowed');
  t.not(await simulate(w, 'stateMachine', 'kms:GenerateDataKey', key, { 'kms:CallerAccount': ACCOUNT }), 'Allowed', 'the key used directly, not through SNS');
  t.not(await simulate(w, 'stateMachine', 'kms:Decrypt', key, { ...viaSns, 'kms:ViaService': `s3.${REGION}.amazonaws.com` }), 'Allowed', 'the key through another service');
  t.not(await simulate(w, 'stateMachine', 'kms:ScheduleKeyDeletion', key, { 'kms:CallerAccount': ACCOUNT }), 'Allowed', 'deleting the key');
  for (const role of ['raw', 'bronze', 'scheduler'] as const) t.not(await simulate(w, role, 'kms:GenerateDataKey', key, viaSns), 'Allowed', role);
  // CloudWatch, publishing an alarm, may make data keys for this stack's alarms and no others.
  const alarm = (name: string) => ({ 'aws:SourceAccount': ACCOUNT, 'aws:SourceArn': `arn:aws:cloudwatch:${REGION}:${ACCOUNT}:alarm:${name}` });
  const byCloudWatch = async (context: Record<string, string>) => {
    const simulation = {
      identityPolicies: [], serviceControlPolicies: [], resourceControlPolicies: [],
      resourcePolicy: w.keyPolicies[key],
      request: { action: 'kms:GenerateDataKey', principal: 'cloudwatch.amazonaws.com', resource: { resource: key, accountId: ACCOUNT }, contextVariables: { 'aws:SecureTransport': 'true', ...context } },
    } as unknown as Simulation;
    const result = await runSimulation(simulation, {});
    return result.resultType === 'error' ? JSON.stringify(result.errors) : result.overallResult;
  };
  t.is(await byCloudWatch(alarm('wordpress-lakehouse-dev-run-failed')), 'Allowed');
  t.not(await byCloudWatch(alarm('wordpress-lakehouse-prod-run-failed')), 'Allowed', "another stack's alarm");
  t.not(await byCloudWatch(alarm('someone-elses-alarm')), 'Allowed', 'an alarm outside the project');
});

test('the bronze role may read, create and update the tables of its stack\'s Glue database, and do nothing else in Glue', async (t) => {
  const w = await world();
  t.is(w.glue.database, `arn:aws:glue:${REGION}:${ACCOUNT}:database/wordpress_lakehouse_dev`);
  // Glue authorizes a table call on the catalog, the database and the table: each must be allowed.
  for (const action of ['glue:GetTable', 'glue:CreateTable', 'glue:UpdateTable']) {
    for (const resource of [w.glue.catalog, w.glue.database, w.glue.table('posts'), w.glue.table('posts_deletions')]) {
      t.is(await simulate(w, 'bronze', action, resource), 'Allowed', `bronze ${action} ${resource}`);
    }
  }
  const denied: Array<[RoleName, string, string, string]> = [
    ['bronze', 'glue:DeleteTable', w.glue.table('posts'), 'bronze deleting a table'],
    ['bronze', 'glue:BatchDeleteTable', w.glue.table('posts'), 'bronze deleting tables in a batch'],
    ['bronze', 'glue:DeleteTableVersion', w.glue.table('posts'), 'bronze deleting a table version'],
    ['bronze', 'glue:GetTable', w.glue.table('posts', 'wordpress_lakehouse_prod'), 'bronze reading another stack\'s table'],
    ['bronze', 'glue:UpdateTable', w.glue.table('posts', 'wordpress_lakehouse_prod'), 'bronze changing another stack\'s table'],
    ['bronze', 'glue:CreateTable', w.glue.arn('database/wordpress_lakehouse_prod'), 'bronze creating a table in another database'],
    ['bronze', 'glue:CreateDatabase', w.glue.catalog, 'bronze creating a database'],
    ['bronze', 'glue:DeleteDatabase', w.glue.database, 'bronze deleting its database'],
    ['bronze', 'glue:UpdateDatabase', w.glue.database, 'bronze changing its database'],
    ['bronze', 'glue:GetTables', w.glue.database, 'bronze listing the tables (not granted: it names each one)'],
    ['bronze', 'glue:BatchCreatePartition', w.glue.table('posts'), 'bronze adding partitions (the tables have none)'],
    ['bronze', 'athena:StartQueryExecution', ofType(w.resources, 'aws:athena/workgroup:Workgroup')[0].state.arn, 'bronze running queries'],
    ['raw', 'glue:GetTable', w.glue.table('posts'), 'raw reading the catalog'],
    ['raw', 'glue:CreateTable', w.glue.table('posts'), 'raw creating a table'],
    ['stateMachine', 'glue:GetTable', w.glue.table('posts'), 'the state machine reading the catalog'],
    ['bronze', 's3:PutObject', `${w.results}/results/query.csv`, 'bronze writing Athena results'],
    ['raw', 's3:GetObject', `${w.results}/results/query.csv`, 'raw reading Athena results'],
  ];
  for (const [role, action, resource, why] of denied) t.not(await simulate(w, role, action, resource), 'Allowed', why);
  // Granted by name only: no glue:Get*, glue:*Table or glue:* that a new Glue API would fall under.
  const glueActions = Object.values(w.roles).flatMap((r) => Object.values(r.policies)).flatMap((doc: any) => doc.Statement.flatMap((s: any) => [s.Action].flat()).filter((a: string) => a.startsWith('glue:')));
  t.deepEqual([...new Set(glueActions)].sort(), ['glue:CreateTable', 'glue:GetTable', 'glue:UpdateTable']);
});

test('the silver role may do what the silver handler does, and reads bronze and writes silver only', async (t) => {
  const w = await world();
  const param = (path: string) => `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/wordpress-lakehouse/dev/${path}`;
  const silverDb = 'wordpress_lakehouse_dev_silver';
  // What handlers/silver/build.ts calls: the two bucket parameters, each bronze table (a missing
  // one answered 404 through ListBucket), each silver table written and catalogued; its logs;
  // the failure-lambda destination of an asynchronous invocation.
  const allowed: Array<[string, string, Record<string, string>?]> = [
    ['ssm:GetParameters', param('s3/lakehouse/name/bronze')],
    ['ssm:GetParameters', param('s3/lakehouse/name/silver')],
    ...['posts', 'pages', 'comments', 'categories', 'tags', 'users', 'media', 'genres'].map((name): [string, string] => ['s3:GetObject', `${w.bronze}/wordpress_api/${name}/${name}.parquet`]),
    ['s3:ListBucket', w.bronze, { 's3:prefix': 'wordpress_api/pages/pages.parquet' }],
    ...['posts', 'pages', 'comments', 'terms', 'post_terms', 'authors', 'media'].map((name): [string, string] => ['s3:PutObject', `${w.silver}/wordpress_api/${name}/${name}.parquet`]),
    ...['glue:GetTable', 'glue:CreateTable', 'glue:UpdateTable'].flatMap((action) =>
      [w.glue.catalog, w.glue.arn(`database/${silverDb}`), w.glue.table('posts', silverDb)].map((resource): [string, string] => [action, resource])),
    ['logs:CreateLogStream', `${w.logGroup('silver')}:log-stream:2026/01/01/[$LATEST]abc`],
    ['logs:PutLogEvents', `${w.logGroup('silver')}:log-stream:2026/01/01/[$LATEST]abc`],
    ['sns:Publish', w.topics.lambda],
  ];
  for (const [action, resource, context] of allowed) t.is(await simulate(w, 'silver', action, resource, context), 'Allowed', `silver ${action} ${resource}`);
  const denied: Array<[string, string, Record<string, string>, string]> = [
    ['s3:PutObject', `${w.bronze}/wordpress_api/posts/posts.parquet`, {}, 'silver writing a bronze table'],
    ['s3:PutObject', `${w.bronze}/wordpress_api/_state/posts.json`, {}, 'silver writing bronze state'],
    ['s3:DeleteObject', `${w.bronze}/wordpress_api/posts/posts.parquet`, {}, 'silver deleting a bronze table'],
    ['s3:GetObject', `${w.bronze}/wordpress_api/_state/posts.json`, {}, 'silver reading bronze state'],
    ['s3:GetObject', `${w.bronze}/wordpress_api/_runs/run.json`, {}, 'silver reading a run manifest'],
    ['s3:GetObject', `${w.bronze}/other_source/posts/posts.parquet`, {}, 'silver reading another prefix of bronze'],
    ['s3:ListBucket', w.bronze, { 's3:prefix': 'other_source/' }, 'silver listing another prefix of bronze'],
    ['s3:ListBucket', w.bronze, {}, 'silver listing the whole bronze bucket'],
    ['s3:GetObject', `${w.raw}/wordpress_api/posts/ingest_date=2026-01-01/posts-run.json`, {}, 'silver reading raw'],
    ['s3:PutObject', `${w.raw}/wordpress_api/posts/ingest_date=2026-01-01/posts-run.json`, {}, 'silver writing raw'],
    ['s3:PutObject', `${w.silver}/other_source/posts/posts.parquet`, {}, 'silver writing another prefix'],
    ['s3:PutObject', `${w.silver}/posts.parquet`, {}, 'silver writing the bucket root'],
    ['s3:DeleteObject', `${w.silver}/wordpress_api/posts/posts.parquet`, {}, 'silver deleting its own table'],
    ['s3:GetObject', `${w.silver}/wordpress_api/posts/posts.parquet`, {}, 'silver reading silver (it only writes)'],
    ['s3:PutObject', `${w.silver}/wordpress_api/posts/posts.parquet`, { 'aws:SecureTransport': 'false' }, 'silver writing over plain http'],
    ['glue:GetTable', w.glue.table('posts'), {}, 'silver reading a bronze catalog table'],
    ['glue:UpdateTable', w.glue.table('posts'), {}, 'silver changing a bronze catalog table'],
    ['glue:DeleteTable', w.glue.table('posts', silverDb), {}, 'silver deleting a table'],
    ['glue:CreateDatabase', w.glue.catalog, {}, 'silver creating a database'],
    ['sns:Publish', w.topics.silver, {}, 'silver publishing on its topic (the state machine does)'],
    ['sns:Publish', w.topics.bronze, {}, 'silver publishing on the bronze topic'],
    ['ssm:GetParameters', param('wordpress/blog.example.com/api/credentials'), {}, 'silver reading the credentials'],
    ['ssm:GetParameters', param('s3/lakehouse/name/raw'), {}, 'silver reading the raw bucket parameter'],
    ['lambda:InvokeFunction', w.fn('bronze'), {}, 'silver invoking bronze'],
  ];
  for (const [action, resource, context, why] of denied) t.not(await simulate(w, 'silver', action, resource, context), 'Allowed', why);
  // The state machine invokes silver and publishes its failures; bronze and raw do neither.
  t.is(await simulate(w, 'stateMachine', 'lambda:InvokeFunction', w.fn('silver')), 'Allowed');
  t.is(await simulate(w, 'stateMachine', 'sns:Publish', w.topics.silver), 'Allowed');
  t.not(await simulate(w, 'bronze', 's3:PutObject', `${w.silver}/wordpress_api/posts/posts.parquet`), 'Allowed', 'bronze writing silver');
  t.not(await simulate(w, 'raw', 's3:GetObject', `${w.silver}/wordpress_api/posts/posts.parquet`), 'Allowed', 'raw reading silver');
});

/** Every policy document a resource carries, with where it came from. */
function documents(resources: Registered[]): Array<{ where: string; doc: { Statement: Array<Record<string, any>> } }> {
  const found: Array<{ where: string; doc: { Statement: Array<Record<string, any>> } }> = [];
  for (const r of resources) {
    for (const key of ['policy', 'assumeRolePolicy', 'accessPolicy', 'keyPolicy']) {
      const text = r.inputs[key];
      if (typeof text === 'string' && text.trim().startsWith('{')) found.push({ where: `${r.type} ${r.name}.${key}`, doc: JSON.parse(text) });
    }
  }
  return found;
}

const principals = (p: unknown): string[] => (p === undefined ? [] : typeof p === 'string' ? [p] : Object.values(p as Record<string, string | string[]>).flat());

test('no resource or trust policy grants Principal "*" (or AWS "*") except as a Deny', async (t) => {
  const { resources } = await program;
  const docs = documents(resources);
  t.true(docs.filter((d) => d.where.includes('bucketPolicy')).length === 4, 'the raw, bronze, silver and Athena results bucket policies were found');
  t.true(docs.filter((d) => d.where.endsWith('assumeRolePolicy')).length === 5, 'all five trust policies were found');
  for (const { where, doc } of docs) {
    for (const s of doc.Statement) {
      if (principals(s.Principal).includes('*')) t.is(s.Effect, 'Deny', `${where} ${s.Sid}: a "*" principal may only be denied`);
      if (s.Effect === 'Allow' && s.Principal) t.true(principals(s.Principal).every((p) => /\.amazonaws\.com$/.test(p) || p.startsWith(`arn:aws:iam::${ACCOUNT}:`)), `${where} ${s.Sid}: trusts only AWS services or this account`);
    }
  }
  for (const permission of ofType(resources, 'aws:lambda/permission:Permission')) {
    t.not(permission.inputs.principal, '*', `${permission.name}: no public invoke`);
    t.truthy(permission.inputs.sourceArn, `${permission.name}: scoped to a source`);
  }
  for (const topic of ofType(resources, 'aws:sns/topic:Topic')) t.falsy(topic.inputs.policy, `${topic.name}: no inline topic policy (the default allows only this account)`);
});

test('each role trusts exactly one AWS service, and the scheduler\'s trust is pinned to this account', async (t) => {
  const { resources } = await program;
  const trusts = Object.fromEntries(ofType(resources, 'aws:iam/role:Role').map((r) => [r.name, JSON.parse(r.inputs.assumeRolePolicy)]));
  const services = Object.fromEntries(Object.entries(trusts).map(([name, doc]) => [name, doc.Statement.map((s: any) => [s.Effect, s.Action, s.Principal.Service])]));
  t.deepEqual(services, {
    'raw-function': [['Allow', ['sts:AssumeRole'], 'lambda.amazonaws.com']],
    'bronze-function': [['Allow', ['sts:AssumeRole'], 'lambda.amazonaws.com']],
    'silver-function': [['Allow', ['sts:AssumeRole'], 'lambda.amazonaws.com']],
    'orchestration-state-machine': [['Allow', ['sts:AssumeRole'], 'states.amazonaws.com']],
    'orchestration-scheduler': [['Allow', ['sts:AssumeRole'], 'scheduler.amazonaws.com']],
  });
  t.deepEqual(trusts['orchestration-scheduler'].Statement[0].Condition, { StringEquals: { 'aws:SourceAccount': ACCOUNT } });
});

test('anonymous requests to any bucket are refused: the only "*" statement denies plain http, and nothing allows the public', async (t) => {
  const w = await world();
  const { anonymousPrincipal } = await import('@cloud-copilot/iam-simulate');
  t.is(Object.keys(w.bucketPolicies).length, 4);
  for (const [name, policy] of Object.entries(w.bucketPolicies)) {
    const result = await runSimulation({
      identityPolicies: [], serviceControlPolicies: [], resourceControlPolicies: [],
      resourcePolicy: policy as Simulation['resourcePolicy'],
      request: { principal: anonymousPrincipal, action: 's3:GetObject', resource: { resource: `arn:aws:s3:::${name}/wordpress_api/posts/posts.json`, accountId: ACCOUNT }, contextVariables: { 'aws:SecureTransport': 'true' } },
      additionalSettings: { s3: { blockPublicAccess: true } },
    } as unknown as Simulation, {});
    t.is(result.resultType === 'error' ? JSON.stringify(result.errors) : result.overallResult, 'ImplicitlyDenied', name);
  }
});

test('the password is in no registered resource except its SecureString parameter, and in no serialized handler', async (t) => {
  const { resources, serialized, outputs } = await program;
  const forms = [PASSWORD, encodeURIComponent(PASSWORD), Buffer.from(`${USERNAME}:${PASSWORD}`).toString('base64'), JSON.stringify(PASSWORD).slice(1, -1)];
  const credentials = resources.filter((r) => r.type === 'aws:ssm/parameter:Parameter' && String(r.inputs.name).endsWith('/api/credentials'));
  t.is(credentials.length, 1);
  t.is(credentials[0].inputs.type, 'SecureString');
  for (const r of resources) {
    if (r === credentials[0]) continue;
    const text = JSON.stringify({ inputs: r.inputs, state: r.state });
    for (const form of forms) t.false(text.includes(form), `${r.type} ${r.name} carries the password`);
  }
  t.is(serialized.length, 3);
  for (const text of serialized) for (const form of forms) t.false(text.includes(form), 'a serialized handler carries the password');
  const exported = JSON.stringify(outputs);
  for (const form of forms) t.false(exported.includes(form), 'a stack output carries the password');
});
