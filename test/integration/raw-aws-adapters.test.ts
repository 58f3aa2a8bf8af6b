import test from 'ava';
import { GetObjectCommand, PutObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import type { PutObjectCommandInput } from '@aws-sdk/client-s3';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { GetParametersCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { snsNotifier, ssmParameterReader } from '../../handlers/aws/clients';
import type { RawSummary } from '../../handlers/contracts';
import type { RawOptions } from '../../handlers/raw';
import { rawCallbackFactory } from '../../handlers/raw';
import { generateItems, startWordPressFixture } from '../../local/demo-site/rest-server';

// The mocks patch the clients' prototypes, so tests that install them run one at a time.
const names = { rawBucket: '/p/raw-bucket', bronzeBucket: '/p/bronze-bucket', rawTopicArn: '/p/raw-topic', bronzeTopicArn: '/p/bronze-topic', endpoints: '/p/endpoints' };
const options: RawOptions = { functionName: 'data_wordpressapi_raw-dev', layer: 'raw', parameterNames: names, retryBaseDelayMs: 1, maxRetries: 1 };

test.serial('the SSM reader asks for at most 10 names a call, decrypted, and leaves out missing and blank values', async (t) => {
  const ssm = mockClient(SSMClient);
  t.teardown(() => ssm.restore());
  ssm.on(GetParametersCommand).callsFake(async (input: { Names: string[] }) => ({
    Parameters: input.Names.filter((n) => !n.endsWith('missing')).map((Name) => ({ Name, Value: Name.endsWith('blank') ? '  ' : `value of ${Name}` })),
  }));
  const wanted = [...Array.from({ length: 11 }, (_, i) => `/p/${i}`), '/p/missing', '/p/blank'];
  const values = await ssmParameterReader(new SSMClient({ region: 'eu-west-1' })).get(wanted);
  const calls = ssm.commandCalls(GetParametersCommand);
  t.deepEqual(calls.map((c) => c.args[0].input.Names!.length), [10, 3]);
  t.true(calls.every((c) => c.args[0].input.WithDecryption === true));
  t.is(values.size, 11);
  t.is(values.get('/p/10'), 'value of /p/10');
  t.false(values.has('/p/missing') || values.has('/p/blank'));
});

test.serial('the SNS notifier publishes to the topic with a subject SNS accepts', async (t) => {
  const sns = mockClient(SNSClient);
  t.teardown(() => sns.restore());
  sns.on(PublishCommand).resolves({ MessageId: '1' });
  await snsNotifier(() => new SNSClient({ region: 'eu-west-1' })).publish('arn:aws:sns:eu-west-1:1:raw', `data_wordpressapi_raw: Failed \u2014 ${'x'.repeat(200)}\nsecond line`, 'the message');
  const input = sns.commandCalls(PublishCommand)[0].args[0].input;
  t.is(input.TopicArn, 'arn:aws:sns:eu-west-1:1:raw');
  t.is(input.Message, 'the message');
  t.is(input.Subject!.length, 100);
  t.regex(input.Subject!, /^data_wordpressapi_raw: Failed   x+$/);
});

test.serial('the handler from the callback factory reads SSM and bronze state, writes S3 once per key, alerts SNS and logs under the Lambda name, invocation after invocation', async (t) => {
  const wp = await startWordPressFixture({ collections: { posts: { items: generateItems(150) } } });
  const ssm = mockClient(SSMClient);
  const sns = mockClient(SNSClient);
  const s3 = mockClient(S3Client);
  const previous = { region: process.env.AWS_REGION, name: process.env.AWS_LAMBDA_FUNCTION_NAME };
  process.env.AWS_REGION = 'eu-west-1';
  process.env.AWS_LAMBDA_FUNCTION_NAME = 'data_wordpressapi_raw-dev-1234567';
  t.teardown(async () => {
    ssm.restore();
    sns.restore();
    s3.restore();
    for (const [key, value] of [['AWS_REGION', previous.region], ['AWS_LAMBDA_FUNCTION_NAME', previous.name]] as const) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
    await wp.close();
  });
  const parameters: Record<string, string> = {
    [names.rawBucket]: 'raw-bucket',
    [names.bronzeBucket]: 'bronze-bucket',
    [names.rawTopicArn]: 'arn:aws:sns:eu-west-1:1:raw',
    [names.endpoints]: JSON.stringify([
      { name: 'posts', url: `${wp.api}/wp/v2/posts`, paginate: true },
      { name: 'gone', url: `${wp.api}/wp/v2/gone`, paginate: true },
    ]),
  };
  ssm.on(GetParametersCommand).callsFake(async (input: { Names: string[] }) => ({ Parameters: input.Names.filter((n) => parameters[n]).map((Name) => ({ Name, Value: parameters[Name] })) }));
  sns.on(PublishCommand).resolves({ MessageId: '1' });
  // No state yet: GetObject answers NoSuchKey, as S3 does when ListBucket applies.
  s3.on(GetObjectCommand).rejects(new S3ServiceException({ name: 'NoSuchKey', $fault: 'client', $metadata: { httpStatusCode: 404 }, message: 'The specified key does not exist.' }));
  const uploaded: Array<{ key?: string; text: string; metadata?: Record<string, string> }> = [];
  const refused: string[] = [];
  s3.on(PutObjectCommand).callsFake(async (input: PutObjectCommandInput) => {
    const chunks: Buffer[] = [];
    for await (const chunk of input.Body as AsyncIterable<Buffer>) chunks.push(chunk);
    // S3's conditional write: If-None-Match: * on a key that exists answers 412.
    if (input.IfNoneMatch === '*' && uploaded.some((u) => u.key === input.Key)) {
      refused.push(input.Key!);
      throw new S3ServiceException({ name: 'PreconditionFailed', $fault: 'client', $metadata: { httpStatusCode: 412 }, message: 'At least one of the pre-conditions you specified did not hold' });
    }
    uploaded.push({ key: input.Key, text: Buffer.concat(chunks).toString('utf8'), metadata: input.Metadata });
    return {};
  });

  const lines: string[] = [];
  const write = process.stdout.write;
  process.stdout.write = ((chunk: string) => lines.push(String(chunk)) > 0) as typeof process.stdout.write;
  let first, second, retried: RawSummary;
  try {
    const handler = rawCallbackFactory(options)();
    first = (await handler({})) as RawSummary;
    second = (await handler({ endpoint: 'posts', runId: 'exec-2' })) as RawSummary;
    // A retried task of the same execution: the same run id, so the same first key.
    retried = (await handler({ endpoint: 'posts', runId: 'exec-2' })) as RawSummary;
  } finally {
    process.stdout.write = write;
  }
  t.deepEqual(first.succeeded, ['posts']);
  t.is(first.failed[0].endpoint, 'gone');
  t.regex(first.failed[0].error, /HTTP 404 Not Found: rest_no_route/);
  t.deepEqual(second.succeeded, ['posts']);
  t.deepEqual(retried.succeeded, ['posts']);
  const partition = (o: { fetchedAt: string }) => `wordpress_api/posts/ingest_date=${o.fetchedAt.slice(0, 10)}`;
  // Without a run id (a manual invocation) the run is named by its start time.
  t.regex(first.objects[0].key, /^wordpress_api\/posts\/ingest_date=\d{4}-\d{2}-\d{2}\/posts-manual-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}-\d{3}Z\.json$/);
  t.is(second.objects[0].key, `${partition(second.objects[0])}/posts-exec-2.json`);
  t.is(retried.objects[0].key, `${partition(retried.objects[0])}/posts-exec-2-2.json`);
  t.deepEqual(refused, [second.objects[0].key]);
  t.deepEqual(uploaded.map((u) => u.key), [first.objects[0].key, second.objects[0].key, retried.objects[0].key]);
  t.is(JSON.parse(uploaded[0].text).length, 150);
  t.like(uploaded[0].metadata, { items: '150', mode: 'full' });
  t.is(uploaded[1].metadata?.['run-id'], 'exec-2');
  const puts = s3.commandCalls(PutObjectCommand).map((c) => c.args[0].input);
  t.true(puts.every((input) => input.Bucket === 'raw-bucket' && input.IfNoneMatch === '*'), 'raw history is never overwritten');
  // The state is read from bronze for every endpoint, and nothing else of bronze.
  const gets = s3.commandCalls(GetObjectCommand).map((c) => `${c.args[0].input.Bucket}/${c.args[0].input.Key}`);
  t.deepEqual([...new Set(gets)].sort(), ['bronze-bucket/wordpress_api/_state/gone.json', 'bronze-bucket/wordpress_api/_state/posts.json']);
  const published = sns.commandCalls(PublishCommand).map((c) => c.args[0].input);
  t.is(published.length, 1);
  t.is(published[0].Subject, 'data_wordpressapi_raw-dev-1234567: Ran With Failures');
  const logs = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  t.true(logs.every((l) => l.function === 'data_wordpressapi_raw-dev-1234567' && l.layer === 'raw'));
  t.deepEqual(logs.filter((l) => String(l.message).startsWith('WordPress API Raw process complete')).map((l) => l.message), [
    'WordPress API Raw process complete: 1 Successful | 1 Failed',
    'WordPress API Raw process complete: 1 Successful | 0 Failed',
    'WordPress API Raw process complete: 1 Successful | 0 Failed',
  ]);
});

test('the callback factory serializes with packages required at run time, not copied into the closure', async (t) => {
  const pulumi = require('@pulumi/pulumi') as typeof import('@pulumi/pulumi');
  const serialized = await pulumi.runtime.serializeFunction(rawCallbackFactory(options), { isFactoryFunction: true });
  t.regex(serialized.text, /require\("ky"\)/);
  t.regex(serialized.text, /require\("@aws-sdk\/client-s3"\)/);
  t.notRegex(serialized.text, /sindresorhus|class Ky\b|SmithyException/);
  // The handlers' own code serializes to about 200 000 characters; a package copied by value under
  // a name the patterns above miss would add its whole graph (the S3 client alone is megabytes).
  t.true(serialized.text.length < 300_000, `closure is ${serialized.text.length} characters`);
  t.true(serialized.text.includes('data_wordpressapi_raw-dev'));
});
