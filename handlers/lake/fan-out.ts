import type { EndpointSpec, FanOutPlan, PartResult, PartTask, RawObject, RawPlan } from '../contracts';
import type { HandlerDeps } from '../aws/ports';
import { getStream } from '../aws/s3';
import type { CrawlOptions } from '../wordpress/crawl';
import { crawlEndpoint } from '../wordpress/crawl';
import { writeJsonArrayFile } from '../wordpress/json-array-file';
import { getJson } from '../wordpress/transport';
import { readJsonFileItems, readJsonItems } from '../parquet/json-items';
import type { ExtractContext } from './extract';
import { bronzeHints, concatenate, crawlMode, fetchIncluded, putNew, runMetadata, withQuery } from './extract';
import { rawIdsKey, rawPartKey, rawPartsKey } from './layout';
import { idOf } from './merge';
import { inTempDir } from './temp-dir';

/**
 * A full crawl too big for one invocation, split into parts the state machine runs as tasks of
 * their own. Page numbers are no stable unit for that: an item deleted or published while the
 * crawl runs shifts every later page, so a part defined by pages could lose or repeat items at its
 * edges. The plan step lists every public id first (`_fields=id`, about 1 KB a page), and each
 * part fetches a fixed slice of that listing with `include=` (100 ids a request). An item deleted
 * after the listing is simply absent; one added after it is new to the next run's id listing and
 * fetched then; nothing is fetched twice.
 */

export interface FanOutContext extends ExtractContext {
  /** Pages (of `perPage` items) one part task fetches; an endpoint of more pages is split. */
  pagesPerTask: number;
  perPage: number;
}

/**
 * Most parts one endpoint may have: every part's result travels in the state machine's payload
 * (256 KiB) and its events in the child execution's history (25 000 events).
 */
export const MAX_PARTS = 500;

/**
 * Seconds a page of 100 full items may take: the real WordPress fixture served a posts page in
 * 0.45 s of wall time with 4 in flight on a loaded 2-core machine (issue 11's measurement, so
 * about 1.8 s each); 2 s leaves room for a slower host.
 */
export const PAGE_SECONDS = 2;

/**
 * The pages one part may hold so that fetching it takes at most half the function's timeout at
 * `concurrency` requests in flight: the other half is the margin for retries and slow pages.
 */
export function defaultPagesPerTask(timeoutSeconds: number, concurrency: number): number {
  return Math.max(1, Math.floor((timeoutSeconds * 0.5 * concurrency) / PAGE_SECONDS));
}

function isId(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0;
}

/**
 * Decides whether this run's crawl of `spec` is split. Incremental runs, unpaginated endpoints
 * and endpoints of at most `pagesPerTask` pages are not (the usual raw step runs); otherwise the
 * ids are listed, stored in raw in ascending order, and cut into parts.
 */
export async function planEndpoint(deps: HandlerDeps, context: FanOutContext, spec: EndpointSpec, options: CrawlOptions): Promise<RawPlan> {
  const { join } = require('node:path') as typeof import('node:path');
  const fetchedAt = new Date().toISOString();
  const single = (why: string): RawPlan => {
    deps.log.info('endpoint crawled in one task', { endpoint: spec.name, why });
    return { endpoint: spec.name, single: why, failed: [] };
  };
  if (context.replay) return single('replay of raw history');
  const { state, reason, projection } = await crawlMode(deps, context, spec, fetchedAt, options);
  if (reason === undefined) return single('incremental run');
  if (!spec.paginate) return single('not a paginated collection');
  // Yesterday's size answers without a request when it is far below a split: a site does not
  // double overnight, and pagesPerTask keeps half the timeout in reserve.
  const perTask = context.pagesPerTask * context.perPage;
  if (state && state.rows <= perTask / 2) return single(`${state.rows} rows last run, at most half of a part (${perTask})`);

  const probe = await getJson(withQuery(spec.url, { _fields: 'id', per_page: String(context.perPage), page: '1' }), options);
  const header = probe.headers.get('x-wp-totalpages');
  const totalPages = Number(header);
  if (header === null || !Number.isSafeInteger(totalPages)) return single(`X-WP-TotalPages is ${header === null ? 'not sent' : JSON.stringify(header)}`);
  if (totalPages <= context.pagesPerTask) return single(`${totalPages} page(s), at most pagesPerTask (${context.pagesPerTask})`);

  return inTempDir('wordpress-plan-', async (dir) => {
    // The probe told the listing's size: its pages need not wait for page 1 again.
    const listing = await crawlEndpoint({ ...spec, url: withQuery(spec.url, { _fields: 'id' }) }, join(dir, 'ids.json'), { ...options, expectedPages: totalPages });
    const ids: number[] = [];
    for await (const item of readJsonFileItems(listing.path)) {
      const id = idOf(item);
      if (!isId(id)) return single(`id ${JSON.stringify(id)} is not a positive integer, which include= needs`);
      ids.push(id);
    }
    ids.sort((a, b) => a - b);
    const count = Math.ceil(ids.length / perTask);
    if (count > MAX_PARTS) {
      const needed = Math.ceil(ids.length / (MAX_PARTS * context.perPage));
      const error = `${ids.length} ids at pagesPerTask ${context.pagesPerTask} need ${count} parts, more than the ${MAX_PARTS} one run can carry; set pagesPerTask to at least ${needed} (and rawTimeoutSeconds to match)`;
      deps.log.error('endpoint cannot be split', { endpoint: spec.name, error });
      return { endpoint: spec.name, failed: [{ endpoint: spec.name, error }] };
    }
    const file = await writeIds(join(dir, 'sorted.json'), ids);
    const idsKey = await putNew(deps, context.rawBucket, (attempt) => rawIdsKey(context.dataSource, spec.name, fetchedAt, context.runId, attempt), file.path, {
      contentType: 'application/json; charset=utf-8',
      metadata: { ...runMetadata(context.runId, fetchedAt, spec.url), items: String(ids.length), pages: String(listing.pages), sha256: file.sha256, mode: 'full' },
    });
    const parts = Array.from({ length: count }, (_, index) => ({ index, offset: index * perTask, count: Math.min(perTask, ids.length - index * perTask) }));
    const plan: FanOutPlan = {
      endpoint: spec.name,
      fetchedAt,
      reason,
      ...(state?.mark && { markBefore: state.mark }),
      idsKey,
      listed: ids.length,
      idPages: listing.pages + 1,
      pagesPerTask: context.pagesPerTask,
      parts,
      ...(projection && { projection }),
    };
    deps.log.info('endpoint split into parts', { endpoint: spec.name, reason, totalPages, listed: ids.length, idPages: plan.idPages, parts: count, pagesPerTask: context.pagesPerTask, idsKey });
    return { endpoint: spec.name, fanOut: plan, failed: [] };
  });
}

/** The listing as stored: `[{ "id": 1 }, ...]`, the shape of a `_fields=id` answer. */
async function writeIds(path: string, ids: readonly number[]) {
  const { summary } = await writeJsonArrayFile(path, async (file) => {
    for (let i = 0; i < ids.length; i += 10_000) await file.append(ids.slice(i, i + 10_000).map((id) => ({ id })));
  });
  return summary;
}

/** The ids of one part: its slice of the stored listing, read as a stream. */
async function partIds(deps: HandlerDeps, bucket: string, task: PartTask): Promise<number[]> {
  const ids: number[] = [];
  let index = 0;
  for await (const item of readJsonItems(await getStream(deps.s3, bucket, task.idsKey))) {
    if (index >= task.offset + task.count) break;
    if (index++ < task.offset) continue;
    const id = idOf(item);
    if (!isId(id)) throw new Error(`the id listing ${task.idsKey} holds ${JSON.stringify(id)} at ${index - 1}, not a positive integer`);
    ids.push(id);
  }
  if (ids.length !== task.count) throw new Error(`the id listing ${task.idsKey} ends at ${index} ids; part ${task.index} needs ids ${task.offset}..${task.offset + task.count - 1}`);
  return ids;
}

/** Fetches one part into its own immutable raw object; throws on any failure (the endpoint then fails whole). */
export async function fetchPart(deps: HandlerDeps, context: FanOutContext, spec: EndpointSpec, task: PartTask, options: CrawlOptions): Promise<PartResult> {
  const { join } = require('node:path') as typeof import('node:path');
  const started = Date.now();
  const ids = await partIds(deps, context.rawBucket, task);
  return inTempDir(`wordpress-part-${task.index}-`, async (dir) => {
    const included = await fetchIncluded(spec, ids, dir, options);
    const file = await concatenate(included.paths, join(dir, 'part.json'));
    const key = await putNew(deps, context.rawBucket, (attempt) => rawPartKey(context.dataSource, spec.name, task.fetchedAt, context.runId, task.index, attempt), file.path, {
      contentType: 'application/json; charset=utf-8',
      metadata: { ...runMetadata(context.runId, task.fetchedAt, spec.url), items: String(file.items), pages: String(included.pages), sha256: file.sha256, mode: 'full', part: String(task.index) },
    });
    const result: PartResult = { index: task.index, key, items: file.items, pages: included.pages, bytes: file.bytes, sha256: file.sha256 };
    deps.log.info('part extracted', { endpoint: spec.name, ...result, asked: ids.length, missing: ids.length - file.items, ms: Date.now() - started });
    return result;
  });
}

/**
 * Records the landed parts of a plan as one raw object (the list of parts, stored in raw) once
 * every part is there; bronze then merges them as one crawl.
 */
export async function joinParts(deps: HandlerDeps, context: FanOutContext, spec: EndpointSpec, plan: FanOutPlan, results: PartResult[]): Promise<RawObject> {
  const { createHash } = require('node:crypto') as typeof import('node:crypto');
  const { writeFile } = require('node:fs/promises') as typeof import('node:fs/promises');
  const { join } = require('node:path') as typeof import('node:path');
  const parts = [...results].sort((a, b) => a.index - b.index);
  const missing = plan.parts.filter((task) => parts[task.index]?.index !== task.index).map((task) => task.index);
  if (missing.length > 0 || parts.length !== plan.parts.length) {
    throw new Error(`${spec.name}: ${parts.length} part result(s) for a plan of ${plan.parts.length}; missing part(s) ${missing.join(', ') || 'none'}`);
  }
  const items = parts.reduce((sum, part) => sum + part.items, 0);
  // One digest for the crawl, over the parts' digests in order: it changes when any part does.
  const sha256 = createHash('sha256').update(parts.map((part) => part.sha256).join('\n')).digest('hex');
  return inTempDir('wordpress-join-', async (dir) => {
    const path = join(dir, 'parts.json');
    await writeFile(path, `${JSON.stringify(parts)}\n`);
    const partsKey = await putNew(deps, context.rawBucket, (attempt) => rawPartsKey(context.dataSource, spec.name, plan.fetchedAt, context.runId, attempt), path, {
      contentType: 'application/json; charset=utf-8',
      metadata: { ...runMetadata(context.runId, plan.fetchedAt), items: String(items), parts: String(parts.length), sha256, ...(plan.projection && plan.projection.join(',').length <= 1024 && { projection: plan.projection.join(',') }) },
    });
    const object: RawObject = {
      endpoint: spec.name,
      key: parts[0].key,
      items,
      bytes: parts.reduce((sum, part) => sum + part.bytes, 0),
      pages: parts.reduce((sum, part) => sum + part.pages, 0),
      sha256,
      sourceUrl: spec.url,
      fetchedAt: plan.fetchedAt,
      ms: Date.now() - Date.parse(plan.fetchedAt),
      runId: context.runId,
      mode: 'full',
      ...(plan.reason !== undefined && { reason: plan.reason }),
      ...(plan.markBefore && { markBefore: plan.markBefore }),
      listed: plan.listed,
      idPages: plan.idPages,
      partsKey,
      parts: parts.length,
      ...bronzeHints(spec, context),
      ...(plan.projection && { projection: plan.projection }),
    };
    deps.log.info('endpoint extracted', { endpoint: spec.name, key: partsKey, mode: 'full', parts: parts.length, items, listed: plan.listed, missing: plan.listed - items, pages: object.pages, idPages: plan.idPages, bytes: object.bytes, ms: object.ms });
    return object;
  });
}
