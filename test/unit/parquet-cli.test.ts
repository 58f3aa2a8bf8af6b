import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseArgs } from '../../handlers/parquet/cli';
import { convertCommand } from '../../bench/convert';
import { lambdaHeapFlags } from '../../bench/lambda-form';
import { parseConfig } from '../../pipeline/config';
import { BRONZE_PROCESS_ENVIRONMENT } from '../../pipeline/handler-options';

test('the CLI takes two paths and defaults to zstd with 10 000-row groups', (t) => {
  t.deepEqual(parseArgs(['in.json', 'out.parquet']), {
    input: 'in.json', output: 'out.parquet', codec: 'zstd', rowGroupSize: 10_000, maxDepth: 3, json: false,
  });
});

test('the CLI reads --codec, --row-group, --max-depth and --json in any position', (t) => {
  t.like(parseArgs(['--codec', 'snappy', 'in.json', '--row-group', '500', 'out.parquet', '--json', '--max-depth', '0']), {
    codec: 'snappy', rowGroupSize: 500, maxDepth: 0, json: true, input: 'in.json', output: 'out.parquet',
  });
});

const bad: Array<[string[], RegExp]> = [
  [['in.json'], /expected <in.json> and <out.parquet>, got 1 path/],
  [['a', 'b', 'c'], /got 3 path/],
  [['a', 'b', '--codec', 'gzip'], /--codec must be one of zstd, snappy, got "gzip"/],
  [['a', 'b', '--codec'], /--codec must be one of zstd, snappy, got ""/],
  [['a', 'b', '--row-group', '0'], /--row-group needs an integer >= 1, got "0"/],
  [['a', 'b', '--row-group', 'ten'], /--row-group needs an integer >= 1, got "ten"/],
  [['a', 'b', '--row-group'], /--row-group needs an integer >= 1, got nothing/],
  [['a', 'b', '--fast'], /unknown option --fast/],
];

for (const [argv, message] of bad) {
  test(`the CLI rejects ${JSON.stringify(argv.join(' '))} naming the argument`, (t) => {
    t.throws(() => parseArgs(argv), { message });
  });
}

const run = promisify(execFile);
const tsx = join(__dirname, '../../node_modules/.bin/tsx');
const cli = join(__dirname, '../../handlers/parquet/cli.ts');

test('the CLI exits 2 with the usage on bad arguments', async (t) => {
  const error = await t.throwsAsync(run(tsx, [cli, 'only-one.json']));
  t.is((error as { code?: number }).code, 2);
  t.regex((error as { stderr?: string }).stderr ?? '', /usage: npm run convert/);
});

test('the CLI converts a file and prints a machine-readable line with --json', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'cli-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'in.json'), JSON.stringify([{ id: 1, t: { r: 'x' } }, { id: 2 }]));
  const { stdout } = await run(tsx, [cli, join(dir, 'in.json'), join(dir, 'out.parquet'), '--json', '--codec', 'snappy']);
  const report = JSON.parse(stdout);
  t.like(report, { rows: 2, columns: 2, codec: 'snappy', empty: false });
  t.is(report.bytes, (await stat(join(dir, 'out.parquet'))).size);
  t.is(typeof report.ms, 'number');
});

test('the CLI says in one line that rows without any field make no Parquet file, and exits 1 having written nothing', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'cli-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const [input, output] = [join(dir, 'in.json'), join(dir, 'out.parquet')];
  await writeFile(input, '[{}]');
  const error = await t.throwsAsync(run(tsx, [cli, input, output, '--codec', 'snappy']));
  t.is((error as { code?: number }).code, 1);
  t.is((error as { stderr?: string }).stderr, `convert: ${input} holds 1 row and it has no field: a Parquet file needs at least one column, so no file was written\n`);
  t.deepEqual(await readdir(dir), ['in.json']);
});

test("npm run convert gives V8's old generation the limit the bronze Lambda has at its default memory", (t) => {
  // V8 grows the old generation by a factor it derives from that limit (up to 4x with this
  // machine's 4 GB default): at the function's limit the converter peaked 7-12 MiB lower.
  const oldSpace = (flags: string[]) => flags.find((flag) => flag.startsWith('--max-old-space-size='));
  const lambda = oldSpace(lambdaHeapFlags(parseConfig({ siteUrl: 'https://example.com' }).bronzeMemoryMb));
  t.truthy(lambda);
  t.is(oldSpace(convertCommand().flags), lambda);
});

test("npm run convert runs with the bronze function's environment", (t) => {
  // glibc reads MALLOC_MMAP_THRESHOLD_ when the process starts: the command has to set it.
  t.deepEqual(convertCommand().env, { ...BRONZE_PROCESS_ENVIRONMENT });
});
