import test from 'ava';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { LOCAL_STACK, localConfig, readStackConfig } from '../../local/run';
import { ConfigError } from '../../pipeline/config';
import { loadProgram, ofType, refusedProgram, runProgram, stackConfig } from '../helpers/pulumi-mocks';

const ROOT = resolve(__dirname, '../..');
// Every case runs the program afresh in this process, so the cases share Pulumi's runtime
// settings and must run one at a time.

/** A stack file's `config:` map as Pulumi hands it to the program: structured values as JSON text. */
const asPulumiConfig = (config: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(config).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]));

const PUBLIC_SITE = 'https://blog.wordpress-lakehouse.org';

async function refusal(t: import('ava').ExecutionContext, values: Record<string, string>, key: string) {
  const { error, resources } = await refusedProgram(stackConfig(values), loadProgram);
  t.true(error instanceof ConfigError, String(error));
  const configError = error as ConfigError;
  t.is(configError.key, key);
  t.true(configError.message.startsWith(`Config wordpress-lakehouse:${key} `));
  t.regex(configError.message, /Fix: /);
  t.is(resources.length, 0, 'refused before any resource is declared');
  return configError.message;
}

// [site, what the error says]: no Lambda reaches these, in a VPC or not.
const neverReachable: Array<[string, RegExp]> = [
  ['http://127.0.0.1:8080', /loopback/],
  ['http://127.3.4.5', /loopback/],
  ['http://[::1]:8080', /loopback/],
  ['http://[::ffff:127.0.0.1]:8080', /loopback/],
  ['http://0.0.0.0:8080', /unspecified/],
  ['http://[::]:8080', /unspecified/],
  ['http://169.254.169.254', /link-local/],
  ['http://[fe80::1]', /link-local/],
  ['http://localhost:8080', /localhost/],
  ['http://LocalHost.:8080', /localhost/],
  ['http://wordpress.localhost', /localhost/],
  ['https://your-wordpress.example', /\.example/],
  ['https://blog.invalid', /\.invalid/],
];

// Reachable only from a network that routes or resolves them.
const privateSites: Array<[string, RegExp]> = [
  ['http://10.0.0.5', /RFC 1918/],
  ['http://172.16.4.2', /RFC 1918/],
  ['http://172.31.255.255', /RFC 1918/],
  ['http://192.168.1.10:8080', /RFC 1918/],
  ['http://[::ffff:192.168.1.10]', /RFC 1918/],
  ['http://100.64.0.1', /100\.64\/10/],
  ['http://100.127.255.254', /100\.64\/10/],
  ['http://[fd00::5]', /fc00::\/7/],
  ['http://[fc12:3456::1]', /fc00::\/7/],
  ['http://wordpress.local', /\.local/],
  ['http://blog.test', /\.test/],
  ['http://wp.corp.internal', /\.internal/],
  ['http://wp.home.arpa', /\.home\.arpa/],
  ['http://wordpress:8080', /single-label/],
];

for (const [siteUrl, what] of neverReachable) {
  test.serial(`the program refuses siteUrl ${siteUrl}, even with allowPrivateSite`, async (t) => {
    t.regex(await refusal(t, { siteUrl }, 'siteUrl'), what);
    const message = await refusal(t, { siteUrl, allowPrivateSite: 'true' }, 'siteUrl');
    t.regex(message, what);
    t.notRegex(message, /allowPrivateSite/, 'the fix does not offer a key that cannot help');
  });
}

for (const [siteUrl, what] of privateSites) {
  test.serial(`the program refuses the private siteUrl ${siteUrl} unless allowPrivateSite is true, and then deploys it`, async (t) => {
    const message = await refusal(t, { siteUrl }, 'siteUrl');
    t.regex(message, what);
    t.regex(message, /pulumi config set allowPrivateSite true/);
    const { resources } = await runProgram(stackConfig({ siteUrl, allowPrivateSite: 'true' }), [], loadProgram);
    const endpoints = ofType(resources, 'aws:ssm/parameter:Parameter').find((p) => p.inputs.name.endsWith('/api/endpoints'))!;
    const value = typeof endpoints.inputs.value === 'object' ? endpoints.inputs.value.value : endpoints.inputs.value;
    t.is(JSON.parse(value)[0].url, `${new URL(siteUrl).origin}/wp-json/wp/v2/posts`);
  });
}

test.serial('the program refuses a custom endpoint on loopback, naming the endpoint', async (t) => {
  const endpoints = JSON.stringify(['posts', { name: 'stats', url: 'http://127.0.0.1:9000/wp-json/custom/v1/stats' }]);
  t.regex(await refusal(t, { siteUrl: PUBLIC_SITE, endpoints }, 'endpoints'), /item 1 \(stats\) url host "127\.0\.0\.1" is loopback/);
});

const placeholderAddresses = [
  'data-team@example.com',
  'data-team@EXAMPLE.COM',
  'ops@mail.example.org',
  'ops@example.net',
  'data-team@your-company.example',
  'ops@corp.test',
  'ops@mail.invalid',
  'ops@wp.localhost',
  'ops@corp.local',
  'ops@corp.internal',
];

for (const alertEmail of placeholderAddresses) {
  test.serial(`the program refuses alertEmail ${alertEmail}, even with allowPrivateSite`, async (t) => {
    t.regex(await refusal(t, { siteUrl: PUBLIC_SITE, alertEmail }, 'alertEmail'), /nobody reads/);
    t.regex(await refusal(t, { siteUrl: PUBLIC_SITE, alertEmail, allowPrivateSite: 'true' }, 'alertEmail'), /reserved/);
  });
}

// Public hosts and addresses, including the neighbours of every refused range and name.
const admitted: Array<[string, string]> = [
  ['https://blog.wordpress-lakehouse.org', 'data-team@wordpress-lakehouse.org'],
  ['http://93.184.215.14', 'ops@notexample.com'],
  ['http://[2606:4700:4700::1111]:8080', 'ops@example.co.uk'],
  ['http://172.32.0.1', 'ops@example.company.com'],
  ['http://100.128.0.1', 'ops@testing.org'],
  ['https://localhost.wordpress-lakehouse.org', 'ops@local-news.org'],
  ['https://news.example.com', 'ops@examples.com'],
];

for (const [siteUrl, alertEmail] of admitted) {
  test.serial(`the program deploys siteUrl ${siteUrl} alerting ${alertEmail}`, async (t) => {
    const { resources } = await runProgram(stackConfig({ siteUrl, alertEmail }), [], loadProgram);
    t.is(ofType(resources, 'aws:lambda/function:Function').length, 3);
    const subscriptions = ofType(resources, 'aws:sns/topicSubscription:TopicSubscription');
    t.is(subscriptions.length, 5);
    t.true(subscriptions.every((s) => s.inputs.endpoint === alertEmail));
  });
}

test.serial("npm start's default stack is the local one: it names no site (npm start serves its demo site), which the program refuses", async (t) => {
  const local = await readStackConfig(ROOT, LOCAL_STACK);
  t.false('wordpress-lakehouse:siteUrl' in local);
  t.is(localConfig(local, { site: 'http://localhost:8081' }).siteUrl, 'http://localhost:8081');
  const { error } = await refusedProgram(asPulumiConfig(local), loadProgram);
  t.is((error as ConfigError).key, 'siteUrl');
});

test.serial('the shipped prod stack cannot deploy until both placeholders are replaced', async (t) => {
  const prod = asPulumiConfig(await readStackConfig(ROOT, 'prod'));
  const site = await refusedProgram(prod, loadProgram);
  t.is((site.error as ConfigError).key, 'siteUrl');
  t.regex((site.error as ConfigError).message, /placeholder/);
  const email = await refusedProgram({ ...prod, 'wordpress-lakehouse:siteUrl': PUBLIC_SITE }, loadProgram);
  t.is((email.error as ConfigError).key, 'alertEmail');
});

test('the workflow deploys stacks that have a stack file, never the local one, and tests without the fixture WordPress', (t) => {
  const workflow = parseYaml(readFileSync(join(ROOT, '.github/workflows/pulumi.yml'), 'utf8'));
  const stacks: string[] = workflow.jobs.pulumi.strategy.matrix.stack;
  t.true(stacks.length > 0);
  t.false(stacks.includes(LOCAL_STACK));
  for (const name of stacks) t.notThrows(() => readFileSync(join(ROOT, `Pulumi.${name}.yaml`)), `Pulumi.${name}.yaml`);
  t.false(JSON.stringify(workflow).includes('REQUIRE_WORDPRESS'));
});
