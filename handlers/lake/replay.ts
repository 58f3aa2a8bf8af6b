import type { EndpointSpec, RawObject } from '../contracts';
import type { HandlerDeps } from '../aws/ports';
import { getMetadata, listKeys } from '../aws/s3';
import { mapLimit } from '../concurrency';
import type { ExtractContext } from './extract';
import { bronzeHints } from './extract';
import { rawIdsKey, rawPartsKey } from './layout';

/**
 * A replay rebuilds bronze from raw history alone, without one request to the site: the repair
 * after a converter or config change (`columns`, `primaryKey`), and the proof that bronze is a
 * function of raw. Raw lists what it keeps of an endpoint, the last full fetch and every later
 * fetch in the order they were made, and hands them to bronze as one run's objects; bronze lands
 * them one after the other, the first on an empty table. Every raw object carries what landing it
 * needs in its metadata (run id, fetch time, mode, mark, listing key, projection).
 */

const PART = /\.part-(\d{5})(?:-\d+)?\.json$/;

/** One fetch of the endpoint as raw keeps it, rebuilt as the raw object that fetch returned. */
async function fetchOf(deps: HandlerDeps, context: ExtractContext, spec: EndpointSpec, key: string): Promise<RawObject> {
  const { metadata, bytes } = await getMetadata(deps.s3, context.rawBucket, key);
  const fetchedAt = metadata['fetched-at'];
  const runId = metadata['run-id'];
  if (!fetchedAt || !runId) throw new Error(`s3://${context.rawBucket}/${key} carries no fetched-at or run-id metadata, so it cannot be replayed in order`);
  const mode = metadata.mode === 'incremental' ? 'incremental' : 'full';
  const partsKey = PART.test(key) ? rawPartsKey(context.dataSource, spec.name, fetchedAt, runId) : undefined;
  // A split crawl's projection is on its parts list, which the join step wrote.
  const projected = partsKey ? (await getMetadata(deps.s3, context.rawBucket, partsKey)).metadata.projection : metadata.projection;
  const projection = projected ? projected.split(',') : undefined;
  return {
    endpoint: spec.name,
    key,
    items: Number(metadata.items ?? 0),
    bytes,
    pages: Number(metadata.pages ?? 0),
    sha256: metadata.sha256 ?? '',
    sourceUrl: metadata['source-url'] ?? spec.url,
    fetchedAt,
    ms: 0,
    runId,
    mode,
    ...(metadata.mark && { markBefore: metadata.mark }),
    ...(mode === 'incremental' && { modifiedAfter: metadata['modified-after'], idsKey: metadata['ids-key'] ?? rawIdsKey(context.dataSource, spec.name, fetchedAt, runId) }),
    ...(partsKey && { partsKey }),
    ...bronzeHints(spec, context),
    ...(projection && { projection }),
  };
}

/**
 * The raw objects to replay for `spec`, oldest first: the last full fetch and every later one, or,
 * with `replay: 'all'`, every fetch from the first full one (then rows unchanged since an older
 * run keep its lineage too, at the cost of landing the whole history). A fanned-out crawl counts
 * once (by its first part; bronze reads the others from its parts list).
 */
export async function replayObjects(deps: HandlerDeps, context: ExtractContext, spec: EndpointSpec): Promise<RawObject[]> {
  const prefix = `${context.dataSource}/${spec.name}/ingest_date=`;
  const keys = (await listKeys(deps.s3, context.rawBucket, prefix)).filter((key) => key.endsWith('.json') && (!PART.test(key) || PART.exec(key)![1] === '00000'));
  const fetches = await mapLimit(keys, 8, (key) => fetchOf(deps, context, spec, key));
  fetches.sort((a, b) => a.fetchedAt.localeCompare(b.fetchedAt) || a.key.localeCompare(b.key));
  const full = (fetch: RawObject) => fetch.mode === 'full';
  const start = context.replay === 'all' ? fetches.findIndex(full) : fetches.findLastIndex(full);
  if (start < 0) throw new Error(`raw holds no full fetch of ${spec.name} under s3://${context.rawBucket}/${prefix}, and a replay starts from one: run a full refresh instead ({ "fullRefresh": true }, or npm start -- --full-refresh)`);
  const replayed = fetches.slice(start);
  replayed[0] = { ...replayed[0], rebuild: true };
  deps.log.info(`${spec.name}: replaying ${replayed.length} raw fetch(es) from ${replayed[0].fetchedAt}`, { endpoint: spec.name, fetches: replayed.length, from: replayed[0].key });
  return replayed;
}
