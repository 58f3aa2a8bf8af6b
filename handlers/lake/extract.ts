import type { EndpointSpec, RawObject } from '../contracts';
import type { HandlerDeps } from '../aws/ports';
import type { PutFileOptions } from '../aws/s3';
import { isPreconditionFailed, metadataText, metadataUrl, putFile } from '../aws/s3';
import type { CrawlOptions, CrawlResult } from '../wordpress/crawl';
import { crawlEndpoint } from '../wordpress/crawl';
import { writeJsonArrayFile } from '../wordpress/json-array-file';
import { readJsonFileItems } from '../parquet/json-items';
import { rawIdsKey, rawItemsKey } from './layout';
import { idOf } from './merge';
import { mapLimit } from '../concurrency';
import type { EndpointState } from './state';
import { fullRefreshReason, inRanges, modifiedAfter } from './state';
import { declaredText } from './declared';
import { projectionDigest, projectionOf } from './listing';
import { getJson } from '../wordpress/transport';
import { loadState } from './state-store';
import { inTempDir } from './temp-dir';

/** What one run's extraction of an endpoint needs besides the endpoint. */
export interface ExtractContext {
  rawBucket: string;
  /** Where bronze keeps the state (mark, ids) this run starts from. */
  bronzeBucket: string;
  dataSource: string;
  runId: string;
  fullRefresh: boolean;
  overlapMinutes: number;
  fullRefreshDays: number;
  /** Endpoints whose deletions this run accepts beyond the guard (the execution's `acceptDeletions`). */
  acceptDeletions: readonly string[];
  /**
   * Rebuild bronze from raw history instead of fetching (the execution's `replay`, lake/replay.ts):
   * from the last full fetch (`true`), or from the first fetch raw keeps (`"all"`).
   */
  replay?: 'last-full' | 'all';
}

/** Ids asked for in one `include=` request: WordPress' page size. */
const INCLUDE_CHUNK = 100;

/**
 * Extracts one endpoint into an immutable raw object of this run. A full crawl when there is no
 * usable state (or one is due); otherwise the items modified since the mark (minus the overlap),
 * plus a listing of every public id (`_fields=id`) and the items of listed ids that the table does
 * not hold and the delta did not bring (a draft published with an old modification time, a post
 * made public again). Bronze merges the object and drops the ids the listing no longer has.
 */
export async function extractEndpoint(deps: HandlerDeps, context: ExtractContext, spec: EndpointSpec, options: CrawlOptions): Promise<RawObject> {
  const started = Date.now();
  const fetchedAt = new Date(started).toISOString();
  const { state, reason, projection } = await crawlMode(deps, context, spec, fetchedAt, options);
  return inTempDir('wordpress-raw-', async (dir) => {
    const { crawl, incremental } = await crawlItems(context, spec, options, { state, reason, projection }, dir);
    const meta = {
      ...runMetadata(context.runId, fetchedAt, spec.url),
      items: String(crawl.items),
      pages: String(crawl.pages),
      ...(crawl.total !== undefined && { 'x-wp-total': String(crawl.total) }),
      sha256: crawl.sha256,
      mode: incremental ? 'incremental' : 'full',
      ...(state?.mark && { mark: state.mark }),
      ...(incremental && { 'modified-after': incremental.modifiedAfter }),
    };
    let idsKey: string | undefined;
    if (incremental) {
      idsKey = await putNew(deps, context.rawBucket, (attempt) => rawIdsKey(context.dataSource, spec.name, fetchedAt, context.runId, attempt), incremental.ids.path, {
        contentType: 'application/json; charset=utf-8',
        metadata: { ...meta, items: String(incremental.ids.items), pages: String(incremental.ids.pages), sha256: incremental.ids.sha256 },
      });
    }
    // What a replay needs to land this object again as bronze did (replay.ts): its listing, and the projection.
    const replayMeta = { ...(idsKey && { 'ids-key': idsKey }), ...(projection && projection.join(',').length <= 1024 && { projection: projection.join(',') }) };
    const key = await putNew(deps, context.rawBucket, (attempt) => rawItemsKey(context.dataSource, spec.name, fetchedAt, context.runId, attempt), crawl.path, { contentType: 'application/json; charset=utf-8', metadata: { ...meta, ...replayMeta } });

    const object: RawObject = {
      endpoint: spec.name,
      key,
      items: crawl.items,
      bytes: crawl.bytes,
      pages: crawl.pages,
      ...(crawl.total !== undefined && { total: crawl.total }),
      sha256: crawl.sha256,
      sourceUrl: spec.url,
      fetchedAt,
      ms: Date.now() - started,
      runId: context.runId,
      mode: incremental ? 'incremental' : 'full',
      ...(reason !== undefined && { reason }),
      ...(state?.mark && { markBefore: state.mark }),
      ...(incremental && { modifiedAfter: incremental.modifiedAfter, idsKey, listed: incremental.ids.items, idPages: incremental.ids.pages, unseen: incremental.unseen, restated: incremental.restated }),
      ...bronzeHints(spec, context),
      ...(projection && { projection }),
    };
    deps.log.info('endpoint extracted', {
      endpoint: spec.name,
      key,
      mode: object.mode,
      ...(reason !== undefined && { reason }),
      pages: crawl.pages,
      items: crawl.items,
      bytes: crawl.bytes,
      ms: object.ms,
      ...(crawl.total !== undefined && { total: crawl.total }),
      ...(crawl.duplicates > 0 && { duplicates: crawl.duplicates }),
      ...(!crawl.orderedById && spec.paginate && { orderedById: false }),
      ...(incremental && { modifiedAfter: incremental.modifiedAfter, listed: incremental.ids.items, idPages: incremental.ids.pages, listingBytes: incremental.ids.bytes, unseen: incremental.unseen, restated: incremental.restated }),
    });
    return object;
  });
}

/**
 * The run's items in one file: a full crawl, or the delta since the mark with the listed items it
 * lacks fetched again, beside the id listing.
 */
async function crawlItems(
  context: ExtractContext,
  spec: EndpointSpec,
  options: CrawlOptions,
  { state, reason, projection }: { state?: EndpointState; reason?: string; projection?: string[] },
  dir: string,
): Promise<{ crawl: CrawlResult; incremental?: { modifiedAfter: string; ids: CrawlResult; unseen: number; restated: number } }> {
  const { join } = require('node:path') as typeof import('node:path');
  const itemsPath = join(dir, `${spec.name}.json`);
  // Yesterday's row count sizes both a full crawl and the listing, so their pages need not
  // wait for page 1's X-WP-TotalPages.
  const sized: CrawlOptions = state?.rows ? { ...options, expectedPages: Math.ceil(state.rows / options.perPage) } : options;
  if (reason !== undefined) return { crawl: await crawlEndpoint(spec, itemsPath, sized) };
  const after = modifiedAfter(state!.mark!, context.overlapMinutes);
  const delta = await crawlEndpoint({ ...spec, url: withQuery(spec.url, { modified_after: after }) }, join(dir, 'delta.json'), options);
  const ids = await crawlEndpoint({ ...spec, url: withQuery(spec.url, { _fields: projection!.join(',') }) }, join(dir, 'ids.json'), sized);
  const refetch = await toRefetch(delta.path, ids.path, state!, projection!);
  const included = await fetchIncluded(spec, refetch.ids, dir, options);
  return {
    crawl: { ...(await concatenate([delta.path, ...included.paths], itemsPath)), pages: delta.pages + included.pages, total: delta.total, duplicates: delta.duplicates, orderedById: delta.orderedById },
    incremental: { modifiedAfter: after, ids, unseen: refetch.unseen, restated: refetch.restated },
  };
}

/**
 * What bronze needs to know of the spec and the run: the configured key and types, whether rows
 * are keyed by `id` without a look at them (a paginated collection, whose crawl drops repeated
 * ids), and whether the run accepts the endpoint's deletions beyond the guard.
 */
export function bronzeHints(spec: EndpointSpec, context: Pick<ExtractContext, 'acceptDeletions'>): Pick<RawObject, 'primaryKey' | 'columns' | 'idKeyed' | 'acceptDeletions'> {
  return {
    ...(spec.primaryKey && { primaryKey: spec.primaryKey }),
    ...(spec.columns && { columns: spec.columns }),
    ...(!spec.primaryKey && spec.paginate && { idKeyed: true }),
    ...(context.acceptDeletions.includes(spec.name) && { acceptDeletions: true }),
  };
}

/**
 * The listed ids to fetch with `include=`: those the table does not hold (a draft published with
 * an old modification time, a post made public again) and those whose projected fields differ
 * from what the table holds (`restated`), minus what the delta brought.
 */
async function toRefetch(deltaPath: string, listingPath: string, state: EndpointState, projection: string[]): Promise<{ ids: unknown[]; unseen: number; restated: number }> {
  const have = new Set<unknown>();
  for await (const item of readJsonFileItems(deltaPath)) have.add(idOf(item));
  const digest = projectionDigest(projection);
  const hashes = state.listing!.hashes;
  const ids: unknown[] = [];
  let unseen = 0;
  for await (const item of readJsonFileItems(listingPath)) {
    const id = idOf(item);
    if (id === undefined || id === null || have.has(id)) continue;
    if (!(typeof id === 'number' && inRanges(state.ids ?? [], id))) {
      unseen++;
      ids.push(id);
    } else if (hashes[JSON.stringify(id)] !== digest(item as Record<string, unknown>)) {
      ids.push(id);
    }
  }
  return { ids, unseen, restated: ids.length - unseen };
}

/** Whether this run's crawl of the endpoint is full (and why) or incremental, from the stored state. */
export async function crawlMode(deps: HandlerDeps, context: ExtractContext, spec: EndpointSpec, now: string, options: CrawlOptions): Promise<{ state?: EndpointState; reason?: string; projection?: string[] }> {
  const { state, error: stateError } = await loadState(deps.s3, context.bronzeBucket, context.dataSource, spec.name);
  if (stateError) deps.log.warn('state unreadable, crawling in full', { endpoint: spec.name, error: stateError });
  const projection = spec.paginate ? await projectionFor(deps, spec, options) : undefined;
  const reason = spec.primaryKey && !(spec.primaryKey.length === 1 && spec.primaryKey[0] === 'id')
    ? 'primaryKey is not id (incremental runs match rows on id)'
    : fullRefreshReason(state, { requested: context.fullRefresh, paginated: spec.paginate, fullRefreshDays: context.fullRefreshDays, now, stateError, declared: declaredText(spec), projection });
  return { state, reason, projection };
}

/**
 * The collection's projection (listing.ts), from its schema: WordPress answers OPTIONS on a route
 * with it, and honours `_method=OPTIONS` on a GET (WP_REST_Server::serve_request), which keeps
 * the request on the transport's retries and checks. Undefined, with a warning, when the answer
 * holds no schema: the run is then full.
 */
async function projectionFor(deps: HandlerDeps, spec: EndpointSpec, options: CrawlOptions): Promise<string[] | undefined> {
  try {
    const projection = projectionOf((await getJson(withQuery(spec.url, { _method: 'OPTIONS' }), options)).body);
    if (!projection) deps.log.warn("the route's OPTIONS answer holds no schema; crawling in full", { endpoint: spec.name });
    return projection;
  } catch (error) {
    deps.log.warn("the route's schema could not be read; crawling in full", { endpoint: spec.name, error: (error as Error).message });
    return undefined;
  }
}

/**
 * The items of `ids`, asked for with `include=` a hundred at a time, several requests in flight
 * (the crawl's limiter bounds them): one JSON array file per request, in the order of `ids`.
 */
export async function fetchIncluded(spec: EndpointSpec, ids: readonly unknown[], dir: string, options: CrawlOptions): Promise<{ paths: string[]; pages: number }> {
  const { join } = require('node:path') as typeof import('node:path');
  const starts: number[] = [];
  for (let i = 0; i < ids.length; i += INCLUDE_CHUNK) starts.push(i);
  const parts = await mapLimit(starts, options.pageConcurrency, (i) =>
    crawlEndpoint({ ...spec, url: withQuery(spec.url, { include: ids.slice(i, i + INCLUDE_CHUNK).join(',') }) }, join(dir, `include-${i}.json`), options),
  );
  return { paths: parts.map((part) => part.path), pages: parts.reduce((sum, part) => sum + part.pages, 0) };
}

/** The metadata every raw object of a run carries: which run, when it fetched, and from where. */
export function runMetadata(runId: string, fetchedAt: string, sourceUrl?: string): Record<string, string> {
  return { ...(sourceUrl !== undefined && { 'source-url': metadataUrl(sourceUrl) }), 'fetched-at': fetchedAt, 'run-id': metadataText(runId).slice(0, 256) };
}

/**
 * Uploads to the first of `keyOf(1), keyOf(2)...` that is free (a retried task of the same run
 * finds its first key taken): raw objects are written with If-None-Match, never overwritten.
 */
export async function putNew(deps: HandlerDeps, bucket: string, keyOf: (attempt: number) => string, path: string, options: PutFileOptions): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    const key = keyOf(attempt);
    try {
      await putFile(deps.s3, bucket, key, path, { ...options, ifNoneMatch: true });
      return key;
    } catch (error) {
      if (!isPreconditionFailed(error) || attempt >= 20) throw error;
    }
  }
}

export function withQuery(url: string, params: Record<string, string>): string {
  const out = new URL(url);
  for (const [name, value] of Object.entries(params)) out.searchParams.set(name, value);
  return out.href;
}

/** One JSON array file of the items of `parts`, each id once (the first part wins). */
export async function concatenate(parts: string[], path: string) {
  const seen = new Set<unknown>();
  const { summary } = await writeJsonArrayFile(path, async (file) => {
    for (const part of parts) {
      for await (const item of readJsonFileItems(part)) {
        const id = idOf(item);
        if (id !== undefined && id !== null) {
          if (seen.has(id)) continue;
          seen.add(id);
        }
        await file.append([item]);
      }
    }
  });
  return summary;
}
