import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { basicAuthorization } from '../handlers/wordpress/auth';
import { ConfigError } from '../pipeline/config';
import { DEMO_SIZES, startDemoSite } from './demo-site';
import { probeSite } from './probe';
import { type EndpointReport, LOCAL_STACK, type LocalEvent, type LocalRunResult, localConfig, readStackConfig, runLocal } from './run';
import { runCli } from './run-cli';

const HELP = `Usage: npm start -- [options]

Runs the daily pipeline on this machine: the same state machine definition and handlers as on
AWS, an embedded S3 in <out>/.s3, parameters from Pulumi.<stack>.yaml, alerts in <out>/alerts.jsonl.

Options:
  --site URL          WordPress site to extract (default: the stack's siteUrl; when the stack has
                      none, as the dev stack, a demo blog generated and served on loopback)
  --endpoints a,b,c   endpoints to run (default: the stack's endpoints)
  --stack NAME        stack whose Pulumi.<stack>.yaml is read (default: ${LOCAL_STACK})
  --out DIR           output folder (default: .lakehouse)
  --concurrency N     endpoints and requests in flight, 1-40 (default: the stack's)
  --pages-per-task N  split a full crawl of more than N pages into parts of N pages, each its own
                      raw task (default: the stack's pagesPerTask)
  --full-refresh      crawl every endpoint in full and rebuild bronze from it (default: incremental
                      where the state allows, full every fullRefreshDays days)
  --replay            rebuild every bronze table, its deletions and state from raw history alone
                      (the last full fetch and every later one, in order), without a request to
                      the site: the repair after a converter or config change
  --replay-all        the same from the first fetch raw keeps: every row keeps the lineage the
                      runs gave it, at the cost of landing the whole history
  --accept-deletions a,b   let these endpoints delete more rows than maxDeletePercent and
                      maxDeleteRows allow, in this run only (the guard stops a run that would empty
                      a table because a plugin or cache hid the site's items)
  --help              this text

Environment: WORDPRESS_USERNAME and WORDPRESS_APPLICATION_PASSWORD send an application
password (https sites only).

Output: <out>/raw/<data source>/<name>/ingest_date=YYYY-MM-DD/<name>-<run id>.json (what the run
fetched), <out>/bronze/<data source>/<name>/<name>.parquet (the merged table), <name>_deletions/,
_state/ and _runs/<run id>.json (the manifest) beside it, <out>/runs/<run id>.json (summary) and
<out>/runs/<run id>.log.jsonl (handler logs). Later runs in the same --out are incremental.
Before the run, one request to <site>/wp-json/ checks that a WordPress answers there; when none
does, one line says why and what to do, and nothing runs.

Exit code: 0 when every endpoint succeeded, 1 when any failed, 2 on bad options or a site that
cannot be crawled.`;

class UsageError extends Error {}

function options(argv: string[]) {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        site: { type: 'string' },
        endpoints: { type: 'string' },
        stack: { type: 'string', default: LOCAL_STACK },
        out: { type: 'string', default: '.lakehouse' },
        concurrency: { type: 'string' },
        'pages-per-task': { type: 'string' },
        'full-refresh': { type: 'boolean', default: false },
        'accept-deletions': { type: 'string' },
        replay: { type: 'boolean', default: false },
        'replay-all': { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (error) {
    throw new UsageError(`${(error as Error).message}. Run npm start -- --help for the options.`);
  }
  let concurrency: number | undefined;
  if (parsed.concurrency !== undefined) {
    concurrency = Number(parsed.concurrency);
    if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 40) {
      throw new UsageError(`--concurrency must be a whole number from 1 to 40, got "${parsed.concurrency}". Fix: e.g. --concurrency 4`);
    }
  }
  let pagesPerTask: number | undefined;
  if (parsed['pages-per-task'] !== undefined) {
    pagesPerTask = Number(parsed['pages-per-task']);
    if (!Number.isInteger(pagesPerTask) || pagesPerTask < 1 || pagesPerTask > 100_000) {
      throw new UsageError(`--pages-per-task must be a whole number from 1 to 100000, got "${parsed['pages-per-task']}". Fix: e.g. --pages-per-task 300`);
    }
  }
  const endpoints = parsed.endpoints?.split(',').map((e) => e.trim()).filter(Boolean);
  if (parsed.endpoints !== undefined && !endpoints?.length) throw new UsageError('--endpoints is empty. Fix: e.g. --endpoints posts,pages');
  if (!/^[A-Za-z0-9_.-]+$/.test(parsed.stack!)) throw new UsageError(`--stack "${parsed.stack}" is not a stack name. Fix: e.g. --stack ${LOCAL_STACK}`);
  const acceptDeletions = parsed['accept-deletions']?.split(',').map((e) => e.trim()).filter(Boolean);
  if (parsed['accept-deletions'] !== undefined && !acceptDeletions?.length) throw new UsageError('--accept-deletions is empty. Fix: name the endpoints, e.g. --accept-deletions posts');
  return { help: parsed.help!, site: parsed.site, endpoints, stack: parsed.stack!, out: resolve(parsed.out!), concurrency, pagesPerTask, fullRefresh: parsed['full-refresh']!, acceptDeletions, replay: parsed['replay-all'] ? ('all' as const) : parsed.replay! };
}

/**
 * Live progress on stderr. A failure's cause is printed once, in the list after the table: an
 * alert shows only its subject here (its text repeats the causes; alerts.jsonl keeps it whole),
 * and the handlers' error lines stay in the run log.
 */
function progress(event: LocalEvent): void {
  if (event.kind === 'alert') {
    process.stderr.write(`ALERT ${event.subject} (message in alerts.jsonl)\n`);
    return;
  }
  const { line } = event;
  const endpoint = line.endpoint as string | undefined;
  if (line.message === 'page fetched' && endpoint) {
    const total = line.totalPages ? `/${line.totalPages}` : '';
    process.stderr.write(`  ${event.layer.padEnd(6)} ${endpoint.padEnd(14)} page ${line.page}${total}  items ${line.items}\n`);
  } else if (endpoint && line.level !== 'ERROR' && /extracted|merged|nothing to write/.test(String(line.message))) {
    const facts = ['mode', 'pages', 'idPages', 'items', 'upserted', 'deleted', 'rows', 'columns', 'bytes', 'ms', 'error'].filter((k) => line[k] !== undefined).map((k) => `${k} ${line[k]}`);
    process.stderr.write(`  ${event.layer.padEnd(6)} ${endpoint.padEnd(14)} ${line.message}: ${facts.join(', ')}\n`);
  }
}

function table(rows: EndpointReport[]): string {
  const header = ['endpoint', 'status', 'mode', 'pages', 'items', 'upserted', 'deleted', 'restated', 'raw bytes', 'rows', 'columns', 'parquet bytes', 'ms'];
  const cells = rows.map((r) => [
    r.endpoint,
    r.ok ? (r.empty ? 'ok (empty)' : 'ok') : 'FAILED',
    r.mode ?? '',
    r.pages ?? '',
    r.items ?? '',
    r.upserted ?? '',
    r.deleted ?? '',
    r.restated ?? '',
    r.bytes ?? '',
    r.rows ?? '',
    r.columns ?? '',
    r.parquetBytes ?? '',
    r.ms,
  ].map(String));
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]) => c.map((v, i) => (i <= 2 ? v.padEnd(widths[i]) : v.padStart(widths[i]))).join('  ');
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
}

type Options = ReturnType<typeof options>;

/** Why the run's site cannot be crawled (see ./probe.ts), or undefined when it can. */
async function siteProblem(opts: Options, stackConfig: Record<string, unknown>): Promise<string | undefined> {
  const config = localConfig(stackConfig, opts);
  // Custom endpoints may live anywhere: the probe speaks for the site's wp/v2 collections only.
  if (!config.endpoints.some((e) => e.url.startsWith(`${config.siteUrl}/wp-json/`))) return undefined;
  const username = process.env.WORDPRESS_USERNAME;
  const password = process.env.WORDPRESS_APPLICATION_PASSWORD;
  const authorization = username && password && config.siteUrl.startsWith('https:') ? basicAuthorization({ username, password }, config.siteUrl) : undefined;
  return probeSite(config.siteUrl, { userAgent: config.userAgent, authorization });
}

/** What the silver step built and skipped, or why it failed. */
function silverLine(silver: NonNullable<LocalRunResult['silver']>): string {
  if ('error' in silver) return `FAILED silver: ${silver.error}`;
  const built = silver.tables.map((t) => `${t.table} ${t.rows}`).join(', ');
  const skipped = silver.skipped.map((s) => `${s.table} (${s.reason})`).join(', ');
  return `silver: ${built || 'no table'}${skipped ? `; skipped: ${skipped}` : ''}`;
}

/** How to look at what the run wrote, and how to run it on a real site. */
function nextSteps(opts: Options, demo: boolean): string {
  const out = opts.out === resolve('.lakehouse') ? '' : ` --out ${JSON.stringify(opts.out)}`;
  const lines = [`Query it:  npm run query --${out} "SELECT count(*) FROM posts"   (or --tables; silver: "SELECT * FROM silver.posts LIMIT 5")`];
  if (demo) lines.push(`Your site: npm start -- --site https://your-wordpress.example   (or set wordpress-lakehouse:siteUrl in Pulumi.${opts.stack}.yaml)`);
  return lines.join('\n');
}

async function run(opts: Options): Promise<number> {
  const stackConfig = await readStackConfig(process.cwd(), opts.stack);
  // A replay reads raw history only: no site to serve or probe.
  const demo = !opts.replay && !opts.site && stackConfig['wordpress-lakehouse:siteUrl'] === undefined ? await startDemoSite() : undefined;
  try {
    if (demo) {
      const sizes = Object.entries(DEMO_SIZES).map(([name, n]) => `${n} ${name}`).join(', ');
      process.stdout.write(`Serving a demo WordPress site at ${demo.origin} (no siteUrl in Pulumi.${opts.stack}.yaml and no --site): ${sizes}, generated.\n`);
    }
    const site = demo?.origin ?? opts.site;
    const problem = opts.replay ? undefined : await siteProblem({ ...opts, site }, stackConfig);
    if (problem) {
      process.stderr.write(`error: ${problem}\n`);
      return 2;
    }
    const result = await runLocal({ projectDir: process.cwd(), ...opts, site, onEvent: progress });
    process.stdout.write(`\n${table(result.endpoints)}\n\nrun ${result.runId}: ${result.status}; summary ${result.summaryPath}\n`);
    const failed = result.endpoints.filter((e) => !e.ok);
    for (const f of failed) process.stdout.write(`FAILED ${f.endpoint}: ${f.error ?? 'see the run log'}\n`);
    if (result.silver) process.stdout.write(`${silverLine(result.silver)}\n`);
    const byContent = result.endpoints.filter((e) => e.keyedBy === 'content').map((e) => e.endpoint);
    if (byContent.length > 0) process.stdout.write(`\n${byContent.join(', ')}: rows are identified by their content (no primaryKey configured and no unique id), so a changed row counts as one deletion and one insertion. Name the key in the endpoint's spec, e.g. { name, url, primaryKey: [object_id, term_taxonomy_id] }.\n`);
    const restated = result.endpoints.filter((e) => (e.restated ?? 0) > 0).map((e) => `${e.endpoint} ${e.restated}`);
    if (restated.length > 0) process.stdout.write(`\nrestated: rows that changed while their modified_gmt stayed the same (${restated.join(', ')}); incremental runs list such changes, except rendered HTML of dynamic blocks, which only a full refresh sees.\n`);
    process.stdout.write(`\n${nextSteps(opts, Boolean(demo))}\n`);
    return result.status === 'SUCCEEDED' && failed.length === 0 ? 0 : 1;
  } finally {
    await demo?.close();
  }
}

async function main(): Promise<number> {
  let opts;
  try {
    opts = options(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    return 2;
  }
  if (opts.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  try {
    return await run(opts);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      return 2;
    }
    throw error;
  }
}

runCli(main);
