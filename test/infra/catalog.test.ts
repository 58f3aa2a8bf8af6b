import test from 'ava';
import { catalogDatabaseName } from '../../pipeline/catalog';
import { NAMED_QUERIES } from '../../pipeline/named-queries';
import { ACCOUNT, REGION, type Registered, loadProgram, ofType, runProgram, stackConfig } from '../helpers/pulumi-mocks';

const stack = (values: Record<string, string>) => stackConfig({ siteUrl: 'https://blog.wordpress-lakehouse.org', ...values });

// The two programs share Pulumi's runtime settings in this process, so the second starts only
// once the first has settled.
const defaults = runProgram(stack({}), [], loadProgram);
const configured = defaults.then(() => runProgram(stack({ athenaBytesScannedCutoffMb: '200', athenaResultsExpirationDays: '30' }), [], loadProgram));

type Program = Awaited<typeof defaults>;
const one = (resources: Registered[], type: string) => {
  const found = ofType(resources, type);
  if (found.length !== 1) throw new Error(`${found.length} resources of type ${type}`);
  return found[0];
};
const resultsBucket = (p: Program) => p.resources.find((r) => r.type === 'aws:s3/bucket:Bucket' && r.name === 'catalog-results')!;
const ofBucket = (p: Program, type: string) => p.resources.find((r) => r.type === type && r.inputs.bucket === `${resultsBucket(p).state.bucket}-id`)!;

test('the Glue database is named for the stack in the only characters Athena takes unquoted', async (t) => {
  const { resources } = await defaults;
  const database = resources.find((r) => r.type === 'aws:glue/catalogDatabase:CatalogDatabase' && r.name === 'catalog-database')!;
  t.is(database.inputs.name, 'wordpress_lakehouse_dev');
  t.is(catalogDatabaseName('dev'), database.inputs.name, 'the name the bronze function is given is the one deployed');
  for (const name of ['Prod-EU', 'staging.2', 'feature_x'].map(catalogDatabaseName)) t.regex(name, /^wordpress_lakehouse_[a-z0-9_]+$/);
  t.is(catalogDatabaseName('Prod-EU.2'), 'wordpress_lakehouse_prod_eu_2');
  t.not(catalogDatabaseName('prod'), catalogDatabaseName('dev'), 'two stacks of one account have a database each');
  t.true(catalogDatabaseName('s'.repeat(400)).length <= 255, "Glue's limit on a database name");
});

test('the workgroup runs engine v3 with its settings enforced, CloudWatch metrics and a 1 GiB scan cutoff by default', async (t) => {
  const p = await defaults;
  const workgroup = one(p.resources, 'aws:athena/workgroup:Workgroup');
  t.is(workgroup.inputs.name, 'wordpress-lakehouse-dev');
  const configuration = workgroup.inputs.configuration;
  t.is(configuration.engineVersion.selectedEngineVersion, 'Athena engine version 3');
  t.true(configuration.enforceWorkgroupConfiguration, 'clients cannot send results elsewhere or lift the cutoff');
  t.true(configuration.publishCloudwatchMetricsEnabled);
  t.is(configuration.bytesScannedCutoffPerQuery, 1024 * 1024 * 1024);
  t.deepEqual(configuration.resultConfiguration, {
    outputLocation: `s3://${resultsBucket(p).state.bucket}/results/`,
    encryptionConfiguration: { encryptionOption: 'SSE_S3' },
  });
});

test('the bytes-scanned cutoff comes from athenaBytesScannedCutoffMb, in MiB', async (t) => {
  const { resources } = await configured;
  t.is(one(resources, 'aws:athena/workgroup:Workgroup').inputs.configuration.bytesScannedCutoffPerQuery, 200 * 1024 * 1024);
});

test('the results bucket is private, encrypted and TLS-only, and forgets results after 7 days by default', async (t) => {
  const p = await defaults;
  const bucket = resultsBucket(p);
  t.like(ofBucket(p, 'aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock').inputs, { blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true });
  const sse = ofBucket(p, 'aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration').inputs.rules[0];
  t.is(sse.applyServerSideEncryptionByDefault.sseAlgorithm, 'aws:kms');
  t.is(ofBucket(p, 'aws:s3/bucketOwnershipControls:BucketOwnershipControls').inputs.rule.objectOwnership, 'BucketOwnerEnforced');
  const policy = JSON.parse(ofBucket(p, 'aws:s3/bucketPolicy:BucketPolicy').inputs.policy);
  t.deepEqual(policy.Statement.map((s: any) => [s.Effect, s.Principal, s.Condition]), [['Deny', '*', { Bool: { 'aws:SecureTransport': false } }]]);
  t.deepEqual(policy.Statement[0].Resource, [bucket.state.arn, `${bucket.state.arn}/*`]);
  const rules = ofBucket(p, 'aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration').inputs.rules;
  t.like(rules.find((r: any) => r.id === 'expire-objects'), { status: 'Enabled', filter: {}, expiration: { days: 7 } });
});

test('the results expire after athenaResultsExpirationDays, and the lake buckets never expire their objects', async (t) => {
  const p = await configured;
  const lifecycle = (bucket: Registered) => p.resources.find((r) => r.type === 'aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration' && r.inputs.bucket === `${bucket.state.bucket}-id`)!;
  t.like(lifecycle(resultsBucket(p)).inputs.rules.find((r: any) => r.id === 'expire-objects'), { expiration: { days: 30 } });
  const lake = ofType(p.resources, 'aws:s3/bucket:Bucket').filter((b) => b !== resultsBucket(p));
  t.deepEqual(lake.map((b) => b.name).sort(), ['bronze-bucket', 'raw-bucket', 'silver-bucket']);
  for (const bucket of lake) t.false(lifecycle(bucket).inputs.rules.some((r: any) => r.expiration), bucket.name);
});

test('each example query is a named query of the workgroup over its layer\'s database', async (t) => {
  const { resources } = await defaults;
  const queries = ofType(resources, 'aws:athena/namedQuery:NamedQuery');
  t.is(queries.length, 5);
  t.deepEqual(
    queries.map((q) => [q.inputs.name, q.inputs.database, q.inputs.workgroup, q.inputs.query]).sort(),
    NAMED_QUERIES.map((q) => [q.name, q.layer === 'silver' ? 'wordpress_lakehouse_dev_silver' : 'wordpress_lakehouse_dev', 'wordpress-lakehouse-dev', q.sql]).sort(),
  );
  t.true(NAMED_QUERIES.some((q) => q.layer === 'bronze') && NAMED_QUERIES.some((q) => q.layer === 'silver'));
});

test("the bronze and silver roles' Glue statements name exactly this stack's catalog and their own database and tables, and no wildcard action", async (t) => {
  const { resources } = await defaults;
  const prefix = `arn:aws:glue:${REGION}:${ACCOUNT}`;
  for (const [role, database] of [['bronze-function', 'wordpress_lakehouse_dev'], ['silver-function', 'wordpress_lakehouse_dev_silver']]) {
    const doc = JSON.parse(resources.find((r) => r.type === 'aws:iam/rolePolicy:RolePolicy' && r.name === role)!.inputs.policy);
    t.deepEqual(doc.Statement.find((s: any) => s.Sid === 'GlueTableActions'), {
      Sid: 'GlueTableActions',
      Effect: 'Allow',
      Action: ['glue:GetTable', 'glue:CreateTable', 'glue:UpdateTable'],
      Resource: [`${prefix}:catalog`, `${prefix}:database/${database}`, `${prefix}:table/${database}/*`],
    });
  }
  t.deepEqual(ofType(resources, 'aws:glue/catalogDatabase:CatalogDatabase').map((d) => d.state.arn).sort(), [`${prefix}:database/wordpress_lakehouse_dev`, `${prefix}:database/wordpress_lakehouse_dev_silver`]);
  // No other statement of any role reaches Glue or Athena.
  const others = ofType(resources, 'aws:iam/rolePolicy:RolePolicy')
    .flatMap((r) => JSON.parse(r.inputs.policy).Statement.map((s: any) => [r.name, s]))
    .filter(([, s]) => s.Sid !== 'GlueTableActions' && [s.Action].flat().some((a: string) => /^(glue|athena):/.test(a)));
  t.deepEqual(others, []);
});

test('the stack outputs name the database, the workgroup and the results bucket', async (t) => {
  const p = await defaults;
  t.like(p.outputs, { catalogDatabase: 'wordpress_lakehouse_dev', athenaWorkgroup: 'wordpress-lakehouse-dev', athenaResultsBucket: resultsBucket(p).state.bucket });
});
