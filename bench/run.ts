import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseConfig } from '../pipeline/config';
import { buildDefinition } from '../pipeline/state-machine';
import { BRONZE_PROCESS_ENVIRONMENT, stateMachineSettings } from '../pipeline/handler-options';
import type { ArtifactResult, Landing } from './artifacts';
import { SITE_NODE_OPTIONS, SITE_POSTS, ZIP_METHOD, benchArtifacts } from './artifacts';
import type { ConvertResults } from './convert';
import { benchConvert, convertCommandText, envText } from './convert';
import { lambdaHeapFlags } from './lambda-form';
import type { Day2Results } from './day2';
import { benchDay2 } from './day2';
import type { FanOutResults, FanOutTask } from './fan-out';
import { benchFanOut } from './fan-out';
import type { ExtractResults } from './extract';
import { benchExtractInChild } from './extract';
import { RSS_METHOD } from './proc';

/**
 * `npm run bench [-- --rows 1000,10000,50000] [--runs 3] [--pages 100] [--latency 100]
 *   [--codec zstd|snappy] [--no-drift] [--day2-posts 50000] [--landing-posts 1171,10000,50000] [--fanout-sizes 100000,1000000] [--pages-per-task 200] [--only convert,extract,artifacts,day2,fanout] [--quick]`
 * Prints a table (ours vs the references, with targets) and writes bench/results/latest.json.
 */

const ROOT = resolve(__dirname, '..');
const USAGE = 'usage: npm run bench -- [--rows 1000,10000,50000] [--runs 3] [--pages 100] [--latency 100] [--codec zstd|snappy] [--no-drift] [--day2-posts 50000] [--landing-posts 1171,10000,50000] [--fanout-sizes 100000,1000000] [--pages-per-task 200] [--only convert,extract,artifacts,day2,fanout] [--quick]';

/** Prices used for the cost proxy (us-east-1, on-demand, as published by AWS). */
const LAMBDA_ARM64_USD_PER_GB_S = 0.0000133334;
const LAMBDA_USD_PER_REQUEST = 0.2 / 1e6;
const SFN_STANDARD_USD_PER_TRANSITION = 0.000025;
/** Lambda allocates CPU in proportion to memory: one full vCPU at 1769 MB. */
const MB_PER_VCPU = 1769;

interface Args {
  rows: number[];
  runs: number;
  pages: number;
  latencyMs: number;
  codec: 'zstd' | 'snappy';
  drift: boolean;
  only: Set<string>;
  coldRuns: number;
  day2Posts: number;
  /** Sites the bronze handler lands, day 1 and day 2, in the artifacts section. */
  landingPosts: number[];
  /** Posts and comments of the fan-out stand-in. */
  fanOut: { posts: number; comments: number; pagesPerTask: number };
}

function parseArgs(argv: string[]): Args {
  const args: Args = { rows: [1000, 10000, 50000], runs: 3, pages: 100, latencyMs: 100, codec: 'zstd', drift: true, only: new Set(['convert', 'extract', 'artifacts', 'day2', 'fanout']), coldRuns: 5, day2Posts: 50_000, landingPosts: [SITE_POSTS, 10_000, 50_000], fanOut: { posts: 100_000, comments: 1_000_000, pagesPerTask: 200 } };
  const list = (flag: string, value: string | undefined) => {
    const items = (value ?? '').split(',').map((v) => Number(v.trim()));
    if (items.length === 0 || items.some((n) => !Number.isInteger(n) || n < 1)) throw new Error(`${flag} needs positive integers separated by commas, got ${JSON.stringify(value ?? '')}`);
    return items;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--quick') Object.assign(args, { rows: [1000, 5000], runs: 1, pages: 28, coldRuns: 2, day2Posts: 5000, landingPosts: [SITE_POSTS, 5000], fanOut: { posts: 5000, comments: 20_000, pagesPerTask: 20 } });
    else if (arg === '--fanout-sizes') {
      const [posts, comments] = list(arg, argv[++i]);
      args.fanOut = { ...args.fanOut, posts, comments: comments ?? args.fanOut.comments };
    } else if (arg === '--pages-per-task') args.fanOut = { ...args.fanOut, pagesPerTask: list(arg, argv[++i])[0] };
    else if (arg === '--day2-posts') args.day2Posts = list(arg, argv[++i])[0];
    else if (arg === '--landing-posts') args.landingPosts = list(arg, argv[++i]).sort((a, b) => a - b);
    else if (arg === '--rows') args.rows = list(arg, argv[++i]).sort((a, b) => a - b);
    else if (arg === '--runs') args.runs = list(arg, argv[++i])[0];
    else if (arg === '--pages') args.pages = Math.max(7, list(arg, argv[++i])[0]);
    else if (arg === '--latency') args.latencyMs = list(arg, argv[++i])[0];
    else if (arg === '--codec') {
      const value = argv[++i];
      if (value !== 'zstd' && value !== 'snappy') throw new Error(`--codec must be zstd or snappy, got ${JSON.stringify(value ?? '')}`);
      args.codec = value;
    } else if (arg === '--no-drift') args.drift = false;
    else if (arg === '--only') {
      const parts = (argv[++i] ?? '').split(',').filter(Boolean);
      const bad = parts.filter((p) => !['convert', 'extract', 'artifacts', 'day2', 'fanout'].includes(p));
      if (parts.length === 0 || bad.length > 0) throw new Error(`--only takes convert, extract, artifacts, day2 and/or fanout, got ${JSON.stringify(parts.join(','))}`);
      args.only = new Set(parts);
    } else throw new Error(`unknown argument ${arg}`);
  }
  return args;
}

interface Row {
  section: string;
  metric: string;
  ours: string;
  reference: string;
  ratio: string;
  target: string;
  verdict: '' | 'pass' | 'MISS';
}

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
const kib = (bytes: number) => `${(bytes / 1024).toFixed(0)} KiB`;
const ms = (v: number) => (v >= 10000 ? `${(v / 1000).toFixed(1)} s` : `${v.toFixed(0)} ms`);
const x = (v: number) => `${v.toFixed(2)}x`;
const verdict = (ok: boolean): Row['verdict'] => (ok ? 'pass' : 'MISS');

/** The issue 13 targets for the conversion, each a ratio to DuckDB measured in the same run. */
const CONVERT_TARGETS = { throughput: 1.0, rss: 0.5, growth: 1.1, bytes: 1.0 };

function conversionRows(c: ConvertResults): Row[] {
  const rows: Row[] = [];
  const s = c.startup;
  const t = CONVERT_TARGETS;
  rows.push({ section: 'convert', metric: `startup (1-row file, npm run convert: ${convertCommandText()})`, ours: ms(s.oursMs), reference: ms(s.duckdbMs), ratio: x(s.oursMs / s.duckdbMs), target: 'info', verdict: '' });
  rows.push({ section: 'convert', metric: 'startup before (node --require tsx/cjs handlers/parquet/cli.ts)', ours: ms(s.oursTsxMs), reference: '', ratio: '', target: 'info', verdict: '' });
  for (const variant of ['wordpress', 'drift'] as const) {
    const cases = c.cases.filter((k) => k.variant === variant);
    if (cases.length === 0) continue;
    for (const k of cases) {
      const label = `${variant} ${k.rows} rows (${(k.inputBytes / 1e6).toFixed(0)} MB)`;
      rows.push({ section: 'convert', metric: `${label}: process wall`, ours: ms(k.ours.wallMs), reference: ms(k.duckdb.wallMs), ratio: x(k.ours.wallMs / k.duckdb.wallMs), target: 'info', verdict: '' });
      rows.push({ section: 'convert', metric: `${label}: conversion (net)`, ours: ms(k.ours.netMs), reference: ms(k.duckdb.netMs), ratio: x(k.ours.netMs / k.duckdb.netMs), target: 'info', verdict: '' });
      const tput = k.ours.rowsPerSec / k.duckdb.rowsPerSec;
      rows.push({ section: 'convert', metric: `${label}: net rows/s`, ours: k.ours.rowsPerSec.toFixed(0), reference: k.duckdb.rowsPerSec.toFixed(0), ratio: x(tput), target: `>= ${x(t.throughput)}`, verdict: verdict(tput >= t.throughput) });
      const rss = k.ours.peakRss / k.duckdb.peakRss;
      rows.push({ section: 'convert', metric: `${label}: peak RSS (whole process)`, ours: mib(k.ours.peakRss), reference: mib(k.duckdb.peakRss), ratio: x(rss), target: `<= ${x(t.rss)}`, verdict: verdict(rss <= t.rss) });
      const lambdaTput = k.lambda.rowsPerSec / k.duckdb.rowsPerSec;
      rows.push({ section: 'convert', metric: `${label}: net rows/s, the bronze Lambda's serialized converter (${c.lambdaMemoryMb} MB heap flags)`, ours: k.lambda.rowsPerSec.toFixed(0), reference: k.duckdb.rowsPerSec.toFixed(0), ratio: x(lambdaTput), target: `>= ${x(t.throughput)}`, verdict: verdict(lambdaTput >= t.throughput) });
      const lambdaRss = k.lambda.peakRss / k.duckdb.peakRss;
      rows.push({ section: 'convert', metric: `${label}: peak RSS, the bronze Lambda's serialized converter (${c.lambdaMemoryMb} MB heap flags)`, ours: mib(k.lambda.peakRss), reference: mib(k.duckdb.peakRss), ratio: x(lambdaRss), target: `<= ${x(t.rss)}`, verdict: verdict(lambdaRss <= t.rss) });
      const size = k.ours.outputBytes / k.duckdb.outputBytes;
      rows.push({ section: 'convert', metric: `${label}: output (${c.codec})`, ours: kib(k.ours.outputBytes), reference: kib(k.duckdb.outputBytes), ratio: `${size.toFixed(4)}x`, target: `<= ${x(t.bytes)}`, verdict: verdict(size <= t.bytes) });
    }
    if (cases.length >= 2) {
      const [a, b] = cases.slice(-2);
      const growth = b.ours.peakRss / a.ours.peakRss;
      const refGrowth = b.duckdb.peakRss / a.duckdb.peakRss;
      rows.push({
        section: 'convert',
        metric: `${variant}: peak RSS growth ${a.rows} -> ${b.rows} rows`,
        ours: x(growth),
        reference: x(refGrowth),
        ratio: '',
        target: `<= ${x(t.growth)}`,
        verdict: verdict(growth <= t.growth),
      });
      const lambdaGrowth = b.lambda.peakRss / a.lambda.peakRss;
      rows.push({
        section: 'convert',
        metric: `${variant}: peak RSS growth ${a.rows} -> ${b.rows} rows, the bronze Lambda's serialized converter (${c.lambdaMemoryMb} MB heap flags)`,
        ours: x(lambdaGrowth),
        reference: x(refGrowth),
        ratio: '',
        target: `<= ${x(t.growth)}`,
        verdict: verdict(lambdaGrowth <= t.growth),
      });
    }
  }
  return rows;
}

function day2Rows(d: Day2Results): Row[] {
  const label = `${d.posts} posts, ${d.changed} edited, ${d.restated} re-categorised without a new modified_gmt, ${d.deleted} deleted`;
  const side = (metric: string, pick: (s: Day2Results['full']) => number, format: (v: number) => string, target = 'info', pass?: (ratio: number) => boolean): Row => {
    const ratio = pick(d.incremental) / pick(d.full);
    return { section: 'day 2', metric: `${label}: ${metric}`, ours: format(pick(d.incremental)), reference: `full ${format(pick(d.full))}`, ratio: x(ratio), target, verdict: pass ? verdict(pass(ratio)) : '' };
  };
  const count = (v: number) => v.toFixed(0);
  const p = (s: Day2Results['full']) => s.posts;
  const same = p(d.incremental).rows === p(d.full).rows && p(d.incremental).upserted === p(d.full).upserted && p(d.incremental).deleted === p(d.full).deleted;
  return [
    side('requests of full items', (s) => s.itemRequests, count, '<= 0.10x', (r) => r <= 0.1),
    side('all requests (incl. the listing of projected fields)', (s) => s.requests, count),
    {
      section: 'day 2',
      metric: `${label}: listing bytes (projected fields / ids alone) against the full crawl's raw items`,
      ours: `${mib(d.incremental.listingBytes ?? 0)} / ${mib(d.incremental.idListingBytes ?? 0)}`,
      reference: `full ${mib(d.full.posts.bytes ?? 0)}`,
      ratio: x((d.incremental.listingBytes ?? 0) / (d.full.posts.bytes ?? 1)),
      target: 'info',
      verdict: '',
    },
    side('wall time (whole run, child process)', (s) => s.ms, ms, '< 1.00x', (r) => r < 1),
    side('peak RSS (whole run, child process)', (s) => s.peakRss, mib),
    {
      section: 'day 2',
      metric: `${label}: replay of raw history afterwards (npm start -- --replay: day 1 full + day 2 incremental landed again): wall time, peak RSS, rows`,
      ours: `${ms(d.replay.ms)}, ${mib(d.replay.peakRss)}, ${d.replay.posts.rows}`,
      reference: `incremental run ${ms(d.incremental.ms)}`,
      ratio: x(d.replay.ms / d.incremental.ms),
      target: 'same rows',
      verdict: verdict(d.replay.posts.rows === d.incremental.posts.rows),
    },
    {
      section: 'day 2',
      metric: `${label}: rows / upserted / deleted`,
      ours: `${p(d.incremental).rows} / ${p(d.incremental).upserted} / ${p(d.incremental).deleted}`,
      reference: `full ${p(d.full).rows} / ${p(d.full).upserted} / ${p(d.full).deleted}`,
      ratio: '',
      target: 'equal',
      verdict: verdict(same),
    },
  ];
}

function fanOutRows(f: FanOutResults): Row[] {
  const label = `${f.posts} posts + ${f.comments} comments, pagesPerTask ${f.pagesPerTask}`;
  const row = (metric: string, ours: string, target = 'info', pass?: boolean): Row => ({ section: 'fan-out', metric: `${label}: ${metric}`, ours, reference: '', ratio: '', target, verdict: pass === undefined ? '' : verdict(pass) });
  const parts = (name: string) => f.tasks.filter((t) => t.state === 'FetchPart' && t.endpoint === name);
  const peak = (tasks: FanOutTask[]) => Math.max(...tasks.map((t) => t.peakRss));
  const byState = [...new Set(f.tasks.map((t) => t.state))].map((state) => `${state} ${f.tasks.filter((t) => t.state === state).length}`).join(', ');
  const rows = [
    row('wall time (whole run, child process)', ms(f.ms)),
    row('tasks by state', byState),
    row('requests: pages / _fields=id / include=', `${f.requests.pages} / ${f.requests.ids} / ${f.requests.include}`),
    row('peak RSS of the whole run (child process)', mib(f.peakRss)),
  ];
  for (const name of ['posts', 'comments']) {
    const bronze = f.tasks.filter((t) => t.state === 'data_wordpressapi_bronze' && t.endpoint === name);
    rows.push(
      row(`${name}: parts, peak RSS of the largest part task / of bronze`, `${parts(name).length}, ${mib(peak(parts(name)))} / ${mib(peak(bronze))}`),
      row(`${name}: every id exactly once (rows, distinct, min, max, sum)`, `${f.tables[name].rows} rows in ${f.tables[name].rowGroups} row groups`, 'exact', f.exact[name]),
    );
  }
  return rows;
}

/** Extraction's target: wall time within 10% of `ceil(P / c) x latency` (issue 13). */
const EXTRACT_TARGET = 1.1;

function extractionRows(e: ExtractResults): Row[] {
  const c = e.configured;
  const run = (label: string, r: typeof c, target: boolean): Row => ({
    section: 'extract',
    metric: label,
    ours: `${ms(r.ms)} (${r.pagesPerSec.toFixed(1)} p/s)`,
    reference: `ideal ${ms(r.idealMs)}`,
    ratio: x(r.ms / r.idealMs),
    target: target ? `<= ${x(EXTRACT_TARGET)} ideal` : 'info',
    verdict: target ? verdict(r.ms / r.idealMs <= EXTRACT_TARGET) : '',
  });
  const { single } = e;
  return [
    run(`${e.pages} pages / 7 endpoints, ${e.latencyMs} ms per request, concurrency ${c.concurrency} (median of ${e.runs.length})`, c, true),
    {
      section: 'extract',
      metric: 'same: requests in flight at the server (mean / max), connections opened, CPU per page',
      ours: `${c.meanInFlight.toFixed(2)} / ${c.maxInFlight}, ${c.connections}, ${c.cpuMsPerPage.toFixed(1)} ms`,
      reference: `${c.concurrency} / ${c.concurrency}, 0 (kept alive from the warm-up), 0 ms`,
      ratio: '',
      target: 'info',
      verdict: '',
    },
    ...(e.sharedThread ? [run('same, fixture and S3 stand-in on the crawler\'s thread (the setup before they had a thread of their own)', e.sharedThread, false)] : []),
    ...(e.serialized ? [run('same, runRaw as the raw Lambda carries it (serialized by Pulumi)', e.serialized, false)] : []),
    ...(e.serialized ? [{ section: 'extract', metric: 'same: CPU per page, serialized / TypeScript module', ours: `${e.serialized.cpuMsPerPage.toFixed(1)} ms`, reference: `${c.cpuMsPerPage.toFixed(1)} ms`, ratio: x(e.serialized.cpuMsPerPage / c.cpuMsPerPage), target: 'info', verdict: '' } satisfies Row] : []),
    ...(e.sequential ? [run('same, sequential (concurrency 1)', e.sequential, false)] : []),
    run(`${single.endpoint} alone (${single.pages} pages, one Map task), no state: pages wait for page 1`, single.cold, false),
    run(`${single.endpoint} alone, yesterday's row count in the state: ${single.sized.beforePage1} pages sent before page 1 answered`, single.sized, false),
  ];
}

/** Lambda's smallest memory size, which issue 13 asks to be enough for the fixture site's posts. */
const LAMBDA_MIN_MB = 128;

/**
 * Share of a function's memory a landing may peak at, in its own process with that memory's heap
 * flags, for the memory to count as enough. The third left is for what a bare Node process does
 * not have (the Lambda runtime's own client, about 20-30 MiB), run-to-run spread (5-10% here),
 * and posts longer than the generated ones (6.5 KB on average): an incremental run reads a row
 * group of the table back whole, so its peak grows with the bytes of 10 000 rows.
 */
const BRONZE_FIT = 2 / 3;

/** The site size the default bronze memory is derived for: the largest landing of a full run. */
const DERIVED_FOR_POSTS = 50_000;

/** Each landing's two days, with the site size and day they belong to. */
function landingRuns(landings: Landing[]) {
  return landings.flatMap((l) => [{ posts: l.posts, day: 1, ...l.day1 }, { posts: l.posts, day: 2, ...l.day2 }]);
}

/**
 * What a row deriving a default from the landings concludes: the default if the landings fit in
 * it and not in half of it. The default is derived for sites up to DERIVED_FOR_POSTS posts
 * (pipeline/config.ts); smaller landings (--quick) only inform.
 */
function derivedDefault(site: NonNullable<ArtifactResult['site']>, defaultMb: number, fits: boolean, halfFits: boolean): Pick<Row, 'ours' | 'target' | 'verdict'> {
  const sized = Math.max(...site.landings.map((l) => l.posts)) >= DERIVED_FOR_POSTS;
  return {
    ours: halfFits ? `${defaultMb / 2} MB or less` : fits ? `${defaultMb} MB` : `more than ${defaultMb} MB`,
    target: sized ? '= default' : `info (the default is derived from ${DERIVED_FOR_POSTS} posts)`,
    verdict: sized ? verdict(fits && !halfFits) : '',
  };
}

/**
 * The bronze memory the landings call for: the default bronzeMemoryMb if every landing fits in it
 * and the largest site's landings do not fit in half of it (the next power of two down).
 */
function memoryRow(site: NonNullable<ArtifactResult['site']>): Row {
  const fits = (memoryMb: number) => {
    const runs = landingRuns(site.landings.filter((l) => l.memoryMb === memoryMb));
    const worst = runs.reduce((a, b) => (b.peakRss > a.peakRss ? b : a));
    return { ok: runs.every((run) => !run.error && run.peakRss <= BRONZE_FIT * memoryMb * 2 ** 20), worst, failed: runs.some((run) => run.error) };
  };
  const memory = site.atDefault.memoryMb;
  const at = fits(memory);
  const half = site.landings.some((l) => l.memoryMb === memory / 2) ? fits(memory / 2) : undefined;
  const share = (f: ReturnType<typeof fits>, mb: number) => `${mib(f.worst.peakRss)} at ${mb} MB (${((100 * f.worst.peakRss) / (mb * 2 ** 20)).toFixed(0)}%, day ${f.worst.day} of ${f.worst.posts} posts)${f.failed ? ', A LANDING FAILED' : ''}`;
  return {
    section: 'artifact',
    metric: `bronze memory derived from the landings: the smallest power of two whose landings peak at <= ${(BRONZE_FIT * 100).toFixed(0)}% of it, each with its own heap flags; largest peak ${share(at, memory)}${half ? `, ${share(half, memory / 2)}` : ''}`,
    reference: `default bronzeMemoryMb ${memory} MB`,
    ratio: '',
    ...derivedDefault(site, memory, at.ok, half?.ok ?? false),
  };
}

/**
 * The bronze /tmp the landings call for, by the memory's rule: the default bronzeTmpMb if every
 * landing's temp folder peaks at BRONZE_FIT of it and the largest does not at half of it (or the
 * default is Lambda's 512 MB minimum).
 */
function tmpRow(site: NonNullable<ArtifactResult['site']>): Row {
  const tmpMb = parseConfig({ siteUrl: 'https://example.com' }).bronzeTmpMb;
  const runs = landingRuns(site.landings);
  const worst = runs.reduce((a, b) => (b.peakTmpBytes > a.peakTmpBytes ? b : a));
  const fits = (mb: number) => runs.every((run) => !run.error && run.peakTmpBytes <= BRONZE_FIT * mb * 2 ** 20);
  return {
    section: 'artifact',
    metric: `bronze /tmp derived from the landings: the smallest power of two (512 MB at least) whose landings' temp folders peak at <= ${(BRONZE_FIT * 100).toFixed(0)}% of it; largest peak ${mib(worst.peakTmpBytes)} (day ${worst.day} of ${worst.posts} posts)`,
    reference: `default bronzeTmpMb ${tmpMb} MB`,
    ratio: x(worst.peakTmpBytes / (tmpMb * 2 ** 20)),
    ...derivedDefault(site, tmpMb, fits(tmpMb), tmpMb > 512 && fits(tmpMb / 2)),
  };
}

function artifactRows(a: ArtifactResult[]): Row[] {
  return a.flatMap((r): Row[] => [
    ...(r.site
      ? [{
          section: 'artifact',
          metric: `bronze: is ${LAMBDA_MIN_MB} MB enough? Peak RSS of the handler's own Node process landing ${r.site.posts} posts (${(r.site.rawBytes / 1e6).toFixed(1)} MB raw, fixture site size) with a ${LAMBDA_MIN_MB} MB function's heap flags${r.site.error ? ' (HANDLER FAILED)' : ''}`,
          ours: `${mib(r.site.peakRss)}: ${r.site.peakRss <= LAMBDA_MIN_MB * 2 ** 20 && !r.site.error ? 'yes' : 'no'}`,
          reference: `Lambda ${LAMBDA_MIN_MB} MB`,
          ratio: x(r.site.peakRss / (LAMBDA_MIN_MB * 2 ** 20)),
          target: 'info',
          verdict: '',
        } satisfies Row, {
          section: 'artifact',
          metric: `bronze: the same, with the heap flags of the default bronzeMemoryMb (${r.site.atDefault.memoryMb} MB)${r.site.atDefault.error ? ' (HANDLER FAILED)' : ''}`,
          ours: mib(r.site.atDefault.peakRss),
          reference: `${r.site.atDefault.memoryMb} MB`,
          ratio: x(r.site.atDefault.peakRss / (r.site.atDefault.memoryMb * 2 ** 20)),
          target: 'info',
          verdict: '',
        } satisfies Row,
        ...r.site.landings.map((l): Row => ({
          section: 'artifact',
          metric: `bronze: land ${l.posts} posts (${(l.rawBytes / 1e6).toFixed(0)} MB raw) with ${l.memoryMb} MB's heap flags, day 1 (full) / day 2 (incremental, ${l.day2.edited} edited, ${l.day2.deleted} deleted): merge + convert time, peak RSS, peak /tmp${l.day1.error || l.day2.error ? ' (HANDLER FAILED)' : ''}`,
          ours: `${ms(l.day1.landMs)} / ${ms(l.day2.landMs)}; ${mib(l.day1.peakRss)} / ${mib(l.day2.peakRss)}; ${mib(l.day1.peakTmpBytes)} / ${mib(l.day2.peakTmpBytes)}`,
          reference: `${l.memoryMb} MB`,
          ratio: x(Math.max(l.day1.peakRss, l.day2.peakRss) / (l.memoryMb * 2 ** 20)),
          target: 'info',
          verdict: '',
        })),
        ...(r.site.landings.length > 0 ? [memoryRow(r.site), tmpRow(r.site)] : [])]
      : []),
    {
      section: 'artifact',
      metric: `${r.name}: zipped archive (${r.files} files; ${r.codePaths.join(', ') || 'no packages'})`,
      ours: kib(r.zippedBytes),
      reference: '',
      ratio: '',
      target: '< 1024 KiB',
      verdict: verdict(r.zippedBytes < 1024 * 1024),
    },
    {
      section: 'artifact',
      metric: `${r.name}: import + first invocation${r.coldStart.error ? ' (HANDLER FAILED)' : ''}`,
      ours: `${ms(r.coldStart.importAndInvokeMs)} (${ms(r.coldStart.importMs)} + ${ms(r.coldStart.invokeMs)})`,
      reference: `node boot ${ms(r.coldStart.bootMs)}`,
      ratio: '',
      target: '< 300 ms',
      verdict: verdict(r.coldStart.importAndInvokeMs < 300 && !r.coldStart.error),
    },
  ]);
}

/** States entered on the success path, following `Next` and a Choice's `Default`. */
function successPathStates(states: Record<string, any>, start: string): string[] {
  const seen: string[] = [];
  let name: string | undefined = start;
  while (name && seen.length < 100) {
    seen.push(name);
    const state: any = states[name];
    if (state.End || state.Type === 'Succeed' || state.Type === 'Fail') break;
    name = state.Type === 'Choice' ? state.Default : state.Next;
  }
  return seen;
}

interface CostSite {
  posts: number;
  endpoints: number;
  rawSeconds: number;
  bronzeSeconds: number;
  bronzeSecondsCpuShare: number;
  rawGbS: number;
  bronzeGbS: number;
  bronzeGbSCpuShare: number;
  transitions: number;
  usd: number;
  usdCpuShare: number;
}

function costProxy(convert?: ConvertResults, extract?: ExtractResults, artifacts?: ArtifactResult[]): { assumptions: string[]; sites: CostSite[]; rows: Row[] } | undefined {
  if (!convert || !extract || !artifacts) return undefined;
  const config = parseConfig({ siteUrl: 'https://example.com' });
  const definition = buildDefinition({ rawFunctionArn: 'raw', bronzeFunctionArn: 'bronze', failureTopicArn: 'topic', endpointsParameterName: 'p' }, stateMachineSettings(config));
  const top = successPathStates(definition.States as Record<string, any>, definition.StartAt);
  const processor = (definition.States as any).PerEndpoint.ItemProcessor;
  const perEndpoint = successPathStates(processor.States, processor.StartAt);
  const endpoints = config.endpoints.length;
  const msPerPage = extract.configured.ms / extract.pages;
  const largest = convert.cases.filter((k) => k.variant === 'wordpress').at(-1)!;
  // The bronze function merges before it converts: its rate is the largest day-2 landing's, at the
  // default memory's flags, when the artifacts section measured one.
  const landing = artifacts.find((a) => a.site)?.site?.landings.filter((l) => l.memoryMb === config.bronzeMemoryMb && !l.day2.error).at(-1);
  const bronzeRate = landing ? { rowsPerSec: landing.day2.rows / (landing.day2.landMs / 1000), what: `the bronze handler's day-2 landing of ${landing.posts} posts (merge and conversion, ${landing.day2.rows} rows in ${ms(landing.day2.landMs)})` } : { rowsPerSec: largest.ours.rowsPerSec, what: `our converter's net rate at ${largest.rows} rows (the merge before it left out)` };
  const cold = Object.fromEntries(artifacts.map((a) => [a.name, a.coldStart.importAndInvokeMs / 1000]));
  const cpuShare = Math.min(1, config.bronzeMemoryMb / MB_PER_VCPU);
  const assumptions = [
    `Lambda arm64 $${LAMBDA_ARM64_USD_PER_GB_S}/GB-s + $0.20 per 1M requests; Step Functions Standard $${SFN_STANDARD_USD_PER_TRANSITION} per state transition (us-east-1 list prices).`,
    `Memory from pipeline/config.ts defaults: raw ${config.rawMemoryMb} MB, bronze ${config.bronzeMemoryMb} MB; ${endpoints} default endpoints, each a plan, a raw and a bronze invocation (the Map; no endpoint of these sites is split at the default pagesPerTask); raw and bronze each billed as a cold start at the measured import + first invocation, the plan (a state read, on a warm raw container) at its request price only.`,
    `Transitions from the ASL success path: ${top.length} top-level (${top.join(' > ')}) + ${perEndpoint.length} per endpoint (${perEndpoint.join(' > ')}).`,
    `Site of N posts: posts are 40% of its pages at 100 per page, the other endpoints as in the extraction bench; raw time = pages x ${msPerPage.toFixed(1)} ms/page measured at ${extract.latencyMs} ms latency (latency-bound, so not scaled for Lambda's CPU share).`,
    `Bronze time = post rows / ${bronzeRate.rowsPerSec.toFixed(0)} rows/s (${bronzeRate.what}, on this machine's full core; other endpoints' rows are small and left out). Lambda gives ${config.bronzeMemoryMb} MB only ${(cpuShare * 100).toFixed(0)}% of a vCPU, so a CPU-share-adjusted figure divides by that share too (x86 here vs arm64 there is not adjusted).`,
  ];
  const sites = [1000, 50000].map((posts): CostSite => {
    const pages = Math.ceil(Math.ceil(posts / 100) / 0.4);
    const rawSeconds = pages * (msPerPage / 1000) + endpoints * cold.raw;
    const convertSeconds = posts / bronzeRate.rowsPerSec;
    const bronzeSeconds = convertSeconds + endpoints * cold.bronze;
    const bronzeSecondsCpuShare = convertSeconds / cpuShare + endpoints * cold.bronze;
    const rawGbS = rawSeconds * (config.rawMemoryMb / 1024);
    const bronzeGbS = bronzeSeconds * (config.bronzeMemoryMb / 1024);
    const bronzeGbSCpuShare = bronzeSecondsCpuShare * (config.bronzeMemoryMb / 1024);
    const transitions = top.length + endpoints * perEndpoint.length;
    const fixed = transitions * SFN_STANDARD_USD_PER_TRANSITION + 3 * endpoints * LAMBDA_USD_PER_REQUEST;
    return {
      posts, endpoints, rawSeconds, bronzeSeconds, bronzeSecondsCpuShare, rawGbS, bronzeGbS, bronzeGbSCpuShare, transitions,
      usd: (rawGbS + bronzeGbS) * LAMBDA_ARM64_USD_PER_GB_S + fixed,
      usdCpuShare: (rawGbS + bronzeGbSCpuShare) * LAMBDA_ARM64_USD_PER_GB_S + fixed,
    };
  });
  const rows = sites.map((s): Row => ({
    section: 'cost',
    metric: `${s.posts} posts/day: raw ${s.rawGbS.toFixed(2)} + bronze ${s.bronzeGbS.toFixed(2)} GB-s (CPU-share ${s.bronzeGbSCpuShare.toFixed(2)}), ${s.transitions} transitions`,
    ours: `$${s.usd.toFixed(5)}`,
    reference: `$${s.usdCpuShare.toFixed(5)} adj.`,
    ratio: '',
    target: 'info (per daily run)',
    verdict: '',
  }));
  return { assumptions, sites, rows };
}

function table(rows: Row[]): string {
  const header: Row = { section: 'bench', metric: 'metric', ours: 'ours', reference: 'reference', ratio: 'ours/ref', target: 'target', verdict: '' };
  const all = [header, ...rows];
  const keys = ['section', 'metric', 'ours', 'reference', 'ratio', 'target', 'verdict'] as const;
  const width = Object.fromEntries(keys.map((k) => [k, Math.max(...all.map((r) => String(r[k]).length))]));
  const line = (r: Row) => `| ${keys.map((k) => String(r[k] || (k === 'verdict' && r === header ? 'pass/miss' : '')).padEnd(k === 'verdict' ? Math.max(9, width[k]) : width[k])).join(' | ')} |`;
  const rule = `|${keys.map((k) => '-'.repeat((k === 'verdict' ? Math.max(9, width[k]) : width[k]) + 2)).join('|')}|`;
  return [line(header), rule, ...rows.map(line)].join('\n');
}

async function main(): Promise<void> {
  let args: Args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`bench: ${(error as Error).message}\n${USAGE}\n`);
    process.exit(2);
  }
  if (Number(process.versions.node.split('.')[0]) < 24) process.stderr.write(`bench: warning: Node ${process.version}; run through npm (node_modules/.bin/node is Node 24)\n`);
  const started = performance.now();
  const log = (line: string) => process.stderr.write(`[${((performance.now() - started) / 1000).toFixed(0).padStart(4)} s] ${line}\n`);
  const tmp = mkdtempSync(join(tmpdir(), 'wordpress-lakehouse-bench-'));
  const machine = {
    nproc: cpus().length,
    cpu: /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? cpus()[0]?.model ?? 'unknown',
    node: process.version,
    memoryGiB: Number((require('node:os').totalmem() / 2 ** 30).toFixed(1)),
    // Other work on the machine skews every timing; recorded so a noisy run can be recognised.
    loadAverageAtStart: require('node:os').loadavg()[0] as number,
  };
  log(`machine: ${machine.nproc} CPU(s), ${machine.cpu}, Node ${machine.node}; rss: ${RSS_METHOD}`);
  let convert: ConvertResults | undefined;
  let extract: ExtractResults | undefined;
  let artifacts: ArtifactResult[] | undefined;
  let day2: Day2Results | undefined;
  let fanOut: FanOutResults | undefined;
  try {
    if (args.only.has('artifacts')) artifacts = await benchArtifacts({ tmp, runs: args.coldRuns, landingPosts: args.landingPosts, log });
    if (args.only.has('extract')) extract = await benchExtractInChild({ pages: args.pages, latencyMs: args.latencyMs, concurrency: parseConfig({ siteUrl: 'https://example.com' }).requestConcurrency, runs: args.runs, sequential: true, sharedThread: true, serialized: true, tmp, log });
    if (args.only.has('convert')) convert = await benchConvert({ rows: args.rows, runs: args.runs, codec: args.codec, drift: args.drift, tmp, log });
    if (args.only.has('day2')) day2 = await benchDay2({ posts: args.day2Posts, tmp, log });
    if (args.only.has('fanout')) fanOut = await benchFanOut({ ...args.fanOut, tmp, log });
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  const cost = costProxy(convert, extract, artifacts);
  const rows = [...(convert ? conversionRows(convert) : []), ...(extract ? extractionRows(extract) : []), ...(artifacts ? artifactRows(artifacts) : []), ...(day2 ? day2Rows(day2) : []), ...(fanOut ? fanOutRows(fanOut) : []), ...(cost?.rows ?? [])];
  const notes = [
    `Machine: ${machine.nproc} CPU(s), ${machine.cpu}, ${machine.memoryGiB} GiB, Node ${machine.node}; 1-min load average ${machine.loadAverageAtStart.toFixed(2)} at start, ${require('node:os').loadavg()[0].toFixed(2)} at end. Total ${((performance.now() - started) / 1000).toFixed(0)} s.`,
    ...(convert
      ? [
          `Conversion: ${args.runs} alternating A/B run(s) per size, medians. Each side is its own process: ours = ${convertCommandText()}, i.e. npm run convert (the esbuild bundle of handlers/parquet/cli.ts in dist/; the tsx loader used before: ${ms(convert.startup.oursTsxMs)} per 1-row run vs ${ms(convert.startup.oursMs)}), serialized = bench/lambda-convert.cjs running convertJsonFile as the bronze Lambda carries it (bench/lambda-form.ts: compiled by tsc, serialized by pulumi.runtime.serializeFunction; run with the heap flags the Lambda runtime gives the default bronzeMemoryMb of ${convert.lambdaMemoryMb} MB, ${lambdaHeapFlags(convert.lambdaMemoryMb).join(' ')}, and the function's environment, ${envText(BRONZE_PROCESS_ENVIRONMENT)}; the file it writes must equal ours byte for byte), DuckDB = bench/duckdb-convert.cjs (COPY ... read_json_auto ... FORMAT parquet, COMPRESSION ${convert.codec}; DuckDB uses all ${machine.nproc} cores; ours parses on one thread and compresses pages on libuv's thread pool). net = the conversion time each child reports for the work alone (ours: convertJsonFile; DuckDB: the COPY statement), so process start, module load and DuckDB's instance creation are out of rows/s; startup = a whole 1-row conversion. Peak RSS: ${RSS_METHOD}.`,
        ]
      : []),
    ...(extract
      ? [
          `Extraction: runRaw in a Node process of its own (as the raw Lambda runs it, not in the bench's process), all 7 endpoints in one invocation, loopback fixture holding each response ${extract.latencyMs} ms (keep-alive, answers serialised once) and the S3 stand-in on a worker thread (a remote site and S3 have machines of their own), requests counted at the fixture; ideal = ceil(P / concurrency) x latency; one warm-up run, then ${extract.runs.length} run(s), median: ${extract.runs.map((r) => ms(r.ms)).join(', ')}. CPU per page is the whole process's (crawler, fixture, S3 stand-in). Pages per endpoint: ${JSON.stringify(extract.pagesPerEndpoint)}.`,
        ]
      : []),
    ...(artifacts ? [`Bronze at 128 MB: the bronze archive's handler in its own Node 24 process (bench/cold-start.cjs, SDK through NODE_PATH, S3 stand-in) lands ${SITE_POSTS} generated posts with bodies of 200 B-20 KB (the fixture site's count and range), with NODE_OPTIONS=${SITE_NODE_OPTIONS} (the heap limits the Lambda runtime derives for 128 MB), and again with the default bronzeMemoryMb's; peak RSS by ${RSS_METHOD.split(' (')[0]}.`, `Bronze landings: the same process lands generated posts (${args.landingPosts.join(', ')}) into an empty lake (day 1, a full crawl), then the next day's incremental run (1% of the posts edited, 0.1% deleted: the delta, the id listing, and the table read back from the stand-in), each size with the default memory's heap flags and the largest also with half that memory's; the time is the handler's own (merge and conversion).`] : []),
    ...(artifacts ? [`Artifacts: pulumi.runtime.serializeFunction + computeCodePaths as CallbackFunction does, zipped with ${ZIP_METHOD}. Cold start: a fresh Node process (${args.coldRuns} runs, medians) with the heap flags the runtime gives the function's default memory, the AWS SDK resolvable through NODE_PATH (as the runtime provides it) and AWS_ENDPOINT_URL at a loopback SSM/S3 stand-in. ${artifacts.map((a) => `${a.name}: ${a.coldStart.what}${a.coldStart.error ? ` -- FAILED: ${a.coldStart.error}` : ''}`).join(' ')}`] : []),
    ...(day2 ? [`Day 2: npm start's pipeline (runLocal: embedded S3, the deployed ASL) on one endpoint, posts, against the loopback fixture (no added latency), each run a child process; incremental = modified_after delta + _fields=id listing + include= for unseen ids, then the merge; full = --full-refresh on a copy of the same day-1 lake. Peak RSS includes tsx and the embedded S3 on both sides.`] : []),
    ...(fanOut ? [`Fan-out: npm start's pipeline against bench/big-site.ts (posts and comments generated from their ids, about 4 KB and 1 KB of JSON each, no added latency), a first (full) run with mapConcurrency 1 and fanOutConcurrency 1 so tasks run one at a time; a task's peak RSS is the process RSS sampled every 20 ms while it ran (the process holds the embedded S3 and tsx too). Fingerprint: each table's id column read back row group by row group.`] : []),
    ...(cost?.assumptions.map((a) => `Cost: ${a}`) ?? []),
  ];
  const output = `${table(rows)}\n\n${notes.map((n) => `- ${n}`).join('\n')}\n`;
  process.stdout.write(output);
  mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
  writeFileSync(
    join(ROOT, 'bench/results/latest.json'),
    `${JSON.stringify({ date: new Date().toISOString(), machine, args: { ...args, only: [...args.only] }, rssMethod: RSS_METHOD, zipMethod: ZIP_METHOD, convert, extract, artifacts, day2, fanOut, cost, table: rows, notes }, null, 2)}\n`,
  );
  log('wrote bench/results/latest.json');
}

main().catch((error: Error) => {
  process.stderr.write(`bench: ${error.stack ?? error.message}\n`);
  process.exit(1);
});
