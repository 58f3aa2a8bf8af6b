import type { EndpointSpec, RawObject } from '../contracts';
import type { HandlerDeps } from '../aws/ports';
import type { PutFileOptions } from '../aws/s3';
import { isPreconditionFailed, metadataText, metadataUrl, putFile } from '../aws/s3';
import type { CrawlOptions, CrawlResult } from '../wordpress/crawl';
import { crawlEndpoint } from '../wordpress/crawl';
import { openJsonArrayFile } from '../wordpress/json-array-file';
import { readJsonFileItems } from '../parquet/json-items';
import { rawIdsKey, rawItemsKey } from './layout';
import { idOf } from './merge';
import { mapLimit } from '../concurrency';
import type { EndpointState } from './state';
import { fullRefreshReason, inRanges, modifiedAfter } from './state';
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
  const { join } = require('node:path') as typeof import('node:path');
  const started = Date.now();
  const fetchedAt = new Date(started).toISOString();
  const { state, reason } = await crawlMode(deps, context, spec, fetchedAt);
  return inTempDir('wordpress-raw-', async (dir) => {
    const itemsPath = join(dir, `${spec.name}.json`);
    let crawl: CrawlResult;
    let incremental: { modifiedAfter: string; ids: CrawlResult; unseen: number } | undefined;
    // Yesterday's row count sizes both a full crawl and the id listing, so their pages need not
    // wait for page 1's X-WP-TotalPages.
    const sized: CrawlOptions = state?.rows ? { ...options, expectedPages: Math.ceil(state.rows / options.perPage) } : options;
    if (reason !== undefined) {
      crawl = await crawlEndpoint(spec, itemsPath, sized);
    } else {
      const after = modifiedAfter(state!.mark!, context.overlapMinutes);
      const delta = await crawlEndpoint({ ...spec, url: withQuery(spec.url, { modified_after: after }) }, join(dir, 'delta.json'), options);
      const ids = await crawlEndpoint({ ...spec, url: withQuery(spec.url, { _fields: 'id' }) }, join(dir, 'ids.json'), sized);
      const have = new Set(await idsOf(delta.path));
      const unseen = (await idsOf(ids.path)).filter((id) => !have.has(id) && !(typeof id === 'number' && inRanges(state!.ids ?? [], id)));
      const included = await fetchIncluded(spec, unseen, dir, options);
      crawl = { ...(await concatenate([delta.path, ...included.paths], itemsPath)), pages: delta.pages + included.pages, total: delta.total, duplicates: delta.duplicates, orderedById: delta.orderedById };
      incremental = { modifiedAfter: after, ids, unseen: unseen.length };
    }

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
    const key = await putNew(deps, context.rawBucket, (attempt) => rawItemsKey(context.dataSource, spec.name, fetchedAt, context.runId, attempt), crawl.path, { contentType: 'application/json; charset=utf-8', metadata: meta });

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
      ...(incremental && { modifiedAfter: incremental.modifiedAfter, idsKey, listed: incremental.ids.items, idPages: incremental.ids.pages, unseen: incremental.unseen }),
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
      ...(incremental && { modifiedAfter: incremental.modifiedAfter, listed: incremental.ids.items, idPages: incremental.ids.pages, unseen: incremental.unseen }),
    });
    return object;
  });
}

/** Whether this run's crawl of the endpoint is full (and why) or incremental, from the stored state. */
export async function crawlMode(deps: HandlerDeps, context: ExtractContext, spec: EndpointSpec, now: string): Promise<{ state?: EndpointState; reason?: string }> {
  const { state, error: stateError } = await loadState(deps.s3, context.bronzeBucket, context.dataSource, spec.name);
  if (stateError) deps.log.warn('state unreadable, crawling in full', { endpoint: spec.name, error: stateError });
  return { state, reason: fullRefreshReason(state, { requested: context.fullRefresh, paginated: spec.paginate, fullRefreshDays: context.fullRefreshDays, now, stateError }) };
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

async function idsOf(path: string): Promise<unknown[]> {
  const ids: unknown[] = [];
  for await (const item of readJsonFileItems(path)) {
    const id = idOf(item);
    if (id !== undefined && id !== null) ids.push(id);
  }
  return ids;
}

/** One JSON array file of the items of `parts`, each id once (the first part wins). */
export async function concatenate(parts: string[], path: string) {
  const file = openJsonArrayFile(path);
  const seen = new Set<unknown>();
  try {
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
    return await file.close();
  } catch (error) {
    file.abort();
    throw error;
  }
}
