import type { HandlerDeps } from '../aws/ports';
import { getFile, getText, isMissing } from '../aws/s3';
import type { RawObject } from '../contracts';
import { readJsonFileItems } from '../parquet/json-items';
import type { Identity } from './identity';
import { BY_ID, inferIdentity } from './identity';
import type { Landing } from './land';
import type { ListingDigests } from './listing';
import { projectionDigest } from './listing';
import { idOf } from './merge';
import type { EndpointState } from './state';
import { loadState } from './state-store';
import type { StoredTable } from './table';
import { openTable } from './table';

export type ListingDigester = ReturnType<typeof listingDigester>;

/** What a landing has read before it merges. */
export interface LandInputs {
  /** The raw parts in merge order; the first is already at `partPath(dir, 0)`. */
  rawKeys: string[];
  state?: EndpointState;
  digests?: ListingDigester;
  /** Every id the site lists (incremental runs). */
  listed?: unknown[];
  identity: Identity;
  /** The current table, and where it was downloaded: what a failed run puts back. */
  previous?: { table: StoredTable; path: string };
}

export function partPath(dir: string, index: number): string {
  const { join } = require('node:path') as typeof import('node:path');
  return join(dir, `items-${index}.json`);
}

/** Downloads what the merge starts from, in an order that fails a run with no raw object first. */
export async function readInputs(landing: Landing): Promise<LandInputs> {
  const { deps, context, object, endpoint, mode, dir } = landing;
  // A fanned-out crawl lands as several raw parts: each is downloaded when the merge reaches
  // it and removed after, so /tmp holds one part at a time whatever the endpoint's size.
  const rawKeys = object.partsKey ? await partKeys(deps, context.rawBucket, object.partsKey) : [object.key];
  // The first is fetched before anything else is read: a raw object that is not there fails the merge at once.
  await getFile(deps.s3, context.rawBucket, rawKeys[0], partPath(dir, 0));
  const state = await stateBefore(landing);
  // Without the digests raw compared against (a state lost since), every id not fetched is left
  // out, and the next run fetches it again.
  const digests = listingDigester(object.projection, mode === 'incremental' ? (state?.listing ?? { fields: object.projection ?? [], hashes: {} }) : undefined);
  const listed = mode === 'incremental' ? await listedIds(landing, digests) : undefined;
  const identity = await identityOf(object, mode, partPath(dir, 0));
  if (identity.kind === 'content') deps.log.warn(`${endpoint}: rows are identified by their content (no primaryKey configured and no unique id); name the key in the endpoint's spec, e.g. "primaryKey": ["object_id", "term_taxonomy_id"]`, { endpoint });
  const previous = await currentTable(landing, state);
  return { rawKeys, state, digests, listed, identity, previous };
}

/**
 * The stored state. An unreadable one only loses the mark (raw then crawled in full anyway); this
 * run rewrites it. A replay's first object starts from nothing: what bronze holds is what it rebuilds.
 */
async function stateBefore({ deps, context, object, endpoint }: Landing): Promise<EndpointState | undefined> {
  if (object.rebuild) return undefined;
  const { state, error } = await loadState(deps.s3, context.bronzeBucket, context.dataSource, endpoint);
  if (error) deps.log.warn('state unreadable; it is rewritten after this run', { endpoint, error });
  return state;
}

/** An incremental run's id listing: the ids the merge keeps, each listed item digested. */
async function listedIds(landing: Landing, digests: ListingDigester | undefined): Promise<unknown[]> {
  const { join } = require('node:path') as typeof import('node:path');
  const idsPath = join(landing.dir, 'ids.json');
  await getFile(landing.deps.s3, landing.context.rawBucket, landing.object.idsKey!, idsPath);
  const listed: unknown[] = [];
  for await (const item of readJsonFileItems(idsPath)) {
    listed.push(idOf(item));
    digests?.listed(item as Record<string, unknown>);
  }
  return listed;
}

/** The table as it stands (none on a replay's first object, or when a full crawl cannot read it). */
async function currentTable({ deps, context, object, mode, key, dir, endpoint }: Landing, state: EndpointState | undefined): Promise<LandInputs['previous']> {
  if (object.rebuild) return undefined;
  const { join } = require('node:path') as typeof import('node:path');
  const path = join(dir, 'previous.parquet');
  try {
    await getFile(deps.s3, context.bronzeBucket, key, path);
    return { table: await openTable(path), path };
  } catch (error) {
    // S3 answers 403 rather than 404 for a missing key unless ListBucket applies, so on a full
    // crawl any unreadable table is rebuilt from the crawl (losing only its lineage and this
    // run's deletion records, which the warning says); an incremental merge cannot do without it.
    if (mode === 'incremental') throw new Error(`an incremental run needs the current table s3://${context.bronzeBucket}/${key}, which could not be read (${(error as Error).message}); start a run with a full refresh ({ "fullRefresh": true }, or npm start -- --full-refresh) to rebuild it`, { cause: error });
    if (!isMissing(error) || state) deps.log.warn('current table unreadable; rebuilding it from this full crawl', { endpoint, key, error: (error as Error).message });
    return undefined;
  }
}

/**
 * How this run's rows are matched to the table's: the configured key; `id` where it is known to
 * be one (a paginated collection, an incremental run); otherwise `id` if the items show it unique,
 * else their content.
 */
async function identityOf(object: RawObject, mode: 'full' | 'incremental', firstPart: string): Promise<Identity> {
  if (object.primaryKey) return { kind: 'key', fields: object.primaryKey, strict: true };
  if (mode === 'incremental' || object.partsKey || object.idKeyed) return BY_ID;
  return inferIdentity(readJsonFileItems(firstPart));
}

/**
 * The listing digests the state keeps (listing.ts). A full run digests every fetched item. An
 * incremental one starts from its listing, keeping an id's digest only where the listing shows
 * the same fields as the table (raw fetched the others), then digests what it fetched; an id
 * whose fields differ and whose item did not come (made private between listing and fetch) is
 * left out, so the next run fetches it again.
 */
function listingDigester(projection: string[] | undefined, before: ListingDigests | undefined) {
  if (!projection) return undefined;
  const digest = projectionDigest(projection);
  const hashes: Record<string, string> = {};
  const listedKeys = before ? new Set<string>() : undefined;
  return {
    listed(item: Record<string, unknown>) {
      const key = JSON.stringify(item.id);
      listedKeys!.add(key);
      const hash = digest(item);
      if (before!.hashes[key] === hash) hashes[key] = hash;
    },
    fetched(item: Record<string, unknown>) {
      if (item.id === undefined || item.id === null) return;
      const key = JSON.stringify(item.id);
      if (!listedKeys || listedKeys.has(key)) hashes[key] = digest(item);
    },
    result: (): ListingDigests => ({ fields: projection, hashes }),
  };
}

/** The raw keys of a fanned-out crawl's parts, in id order, from the list its join step stored. */
async function partKeys(deps: HandlerDeps, bucket: string, partsKey: string): Promise<string[]> {
  const text = await getText(deps.s3, bucket, partsKey);
  if (text === undefined) throw new Error(`the parts list s3://${bucket}/${partsKey} does not exist`);
  const parts = JSON.parse(text) as Array<{ index?: unknown; key?: unknown }>;
  if (!Array.isArray(parts) || parts.length === 0 || parts.some((part, i) => part?.index !== i || typeof part.key !== 'string')) {
    throw new Error(`the parts list s3://${bucket}/${partsKey} is not a [{ index, key }, ...] array in part order`);
  }
  return parts.map((part) => part.key as string);
}
