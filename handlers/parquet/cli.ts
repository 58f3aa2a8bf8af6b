import { CODECS, type Codec } from './codecs';
import { convertJsonFile } from './convert';

/**
 * `npm run convert -- <in.json> <out.parquet> [--codec zstd|snappy] [--row-group N] [--max-depth N] [--json]`
 * converts one raw file the way the bronze function does, for inspection and benchmarks.
 */

const USAGE = 'usage: npm run convert -- <in.json> <out.parquet> [--codec zstd|snappy] [--row-group N] [--max-depth N] [--json]';

export interface CliArgs {
  input: string;
  output: string;
  codec: Codec;
  rowGroupSize: number;
  maxDepth: number;
  json: boolean;
}

/** Parses argv (without node and script); throws an Error naming the bad argument and the fix. */
export function parseArgs(argv: readonly string[]): CliArgs {
  const positional: string[] = [];
  const args = { codec: 'zstd' as Codec, rowGroupSize: 10_000, maxDepth: 3, json: false };
  const integer = (flag: string, value: string | undefined, min: number): number => {
    if (value === undefined || !/^\d+$/.test(value) || Number(value) < min) {
      throw new Error(`${flag} needs an integer >= ${min}, got ${value === undefined ? 'nothing' : JSON.stringify(value)} (e.g. ${flag} 10000)`);
    }
    return Number(value);
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--json') args.json = true;
    else if (arg === '--codec') {
      const value = argv[++i];
      if (!CODECS.includes(value as Codec)) throw new Error(`--codec must be one of ${CODECS.join(', ')}, got ${JSON.stringify(value ?? '')}`);
      args.codec = value as Codec;
    } else if (arg === '--row-group') args.rowGroupSize = integer(arg, argv[++i], 1);
    else if (arg === '--max-depth') args.maxDepth = integer(arg, argv[++i], 0);
    else if (arg.startsWith('--')) throw new Error(`unknown option ${arg}; the options are --codec, --row-group, --max-depth, --json`);
    else positional.push(arg);
  }
  if (positional.length !== 2) {
    throw new Error(`expected <in.json> and <out.parquet>, got ${positional.length} path(s): ${JSON.stringify(positional)}`);
  }
  return { input: positional[0], output: positional[1], ...args };
}

async function main(): Promise<void> {
  let args: CliArgs;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`convert: ${(error as Error).message}\n${USAGE}\n`);
    process.exit(2);
  }
  const { existsSync } = require('node:fs') as typeof import('node:fs');
  if (!existsSync(args.input)) {
    process.stderr.write(`convert: <in.json> ${args.input} does not exist; pass the path of a raw JSON file\n${USAGE}\n`);
    process.exit(2);
  }
  const report = await convertJsonFile(args.input, args.output, args);
  const { schema, ...summary } = report;
  if (args.json) {
    process.stdout.write(`${JSON.stringify({ input: args.input, output: args.output, ...summary, schema })}\n`);
  } else {
    const what = report.empty ? 'empty input, nothing written' : `${args.output}`;
    process.stdout.write(
      `${report.rows} rows, ${report.columns} columns, ${report.bytes} bytes, ${Math.round(report.ms)} ms, ${report.rowGroups} row groups, ${report.codec}: ${what}\n`,
    );
  }
}

if (require.main === module) {
  main().catch((error: Error) => {
    process.stderr.write(`convert: ${error.message}\n`);
    process.exit(1);
  });
}
