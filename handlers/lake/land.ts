import type { BronzeObject, RawObject } from '../contracts';
import type { HandlerDeps } from '../aws/ports';
import { getStream, getText, isMissing, metadataText, putFile, putText } from '../aws/s3';
import type { Codec } from '../parquet/codecs';
import { convertJsonFile } from '../parquet/convert';
import { youngGenerationBound } from '../parquet/young-generation';
import type { ColumnSpec } from '../parquet/infer';
import { readJsonFileItems } from '../parquet/json-items';
import { openJsonArrayFile } from '../wordpress/json-array-file';
import { deletionsKey, stateKey, tableKey } from './layout';
import { LINEAGE, idOf, mergeRows } from './merge';
import type { Identity } from './identity';
import { BY_ID, deletedKeyColumns, describeKey, inferIdentity } from './identity';
import { declaredText, itemTyper, seedColumns } from './declared';
import type { ListingDigests } from './listing';
import { projectionDigest } from './listing';
import type { EndpointState } from './state';
import { laterMark, modifiedInstant, toRanges } from './state';
import { loadState } from './state-store';
import type { StoredTable } from './table';
import { openTable } from './table';
import { inTempDir } from './temp-dir';

export interface LandContext {
  rawBucket: string;
  bronzeBucket: string;
  dataSource: string;
  codec?: Codec;
  rowGroupSize?: number;
  maxDepth?: number;
  /** @default no guard */
  deletionGuard?: DeletionGuard;
}

/** The most a run may delete of a table without being told to (see `deletionGuardError`). */
export interface DeletionGuard {
  maxPercent: number;
  maxRows: number;
}

/**
 * The error of a run that would delete more than the guard allows, or undefined. A plugin that
 * hides a collection from anonymous readers answers a valid `200 []`, and a page cache or a
 * maintenance mode a valid-looking subset: the merge would then empty the table a dashboard reads.
 * Both bounds must be passed, so a small table can lose a few rows and a big one a few percent.
 */
export function deletionGuardError(endpoint: string, deleted: number, rows: number, guard: DeletionGuard | undefined): string | undefined {
  if (!guard || rows === 0) return undefined;
  const percent = (deleted / rows) * 100;
  if (deleted <= guard.maxRows || percent <= guard.maxPercent) return undefined;
  return `${endpoint}: this run would delete ${deleted} of ${rows} rows (${percent.toFixed(1)}%), more than maxDeletePercent ${guard.maxPercent}% and maxDeleteRows ${guard.maxRows}; the table, its deletions and its state were kept. If the site really lost them, accept the deletions for this endpoint in the next run: npm start -- --accept-deletions ${endpoint} locally, or start an execution with the input {"acceptDeletions": ["${endpoint}"]} on AWS. If not, look for what hides them (a plugin restricting anonymous REST reads, a cache, a maintenance mode)`;
}

const NAME = /^[a-z0-9][a-z0-9_-]*$/;

/** What landed: the summary the state machine passes on, and the columns the catalog registers. */
export interface Landed {
  object: BronzeObject;
  columns: ColumnSpec[];
  /** Columns of this run's deletions file, when it wrote one. */
  deletionColumns?: ColumnSpec[];
}

/** The fixed columns of every `<name>_deletions` file, so all of a table's files share one schema. */
const DELETION_COLUMNS: ColumnSpec[] = [
  { name: 'detected_at', path: ['detected_at'], kind: 'timestamp_utc' },
  { name: 'run_id', path: ['run_id'], kind: 'string' },
  { name: 'mode', path: ['mode'], kind: 'string' },
];

/**
 * Merges one raw object of this run into its bronze table, then records the deletions and,
 * last, the state: the mark advances only once the table has landed, and a failure at any step
 * leaves the previous table and state in place (every object is replaced whole or not at all).
 */
export async function landEndpoint(deps: HandlerDeps, context: LandContext, object: RawObject): Promise<Landed> {
  const { rm } = require('node:fs/promises') as typeof import('node:fs/promises');
  const { createWriteStream } = require('node:fs') as typeof import('node:fs');
  const { pipeline } = require('node:stream/promises') as typeof import('node:stream/promises');
  const { join } = require('node:path') as typeof import('node:path');
  const started = performance.now();
  const endpoint = object.endpoint;
  // The name becomes an S3 key and a file name: refuse anything that could escape its folder.
  if (!NAME.test(endpoint)) throw new Error(`endpoint name ${JSON.stringify(endpoint)} is not [a-z0-9][a-z0-9_-]*`);
  if (!object.key) throw new Error('the event names no raw key for this endpoint');
  const mode = object.mode ?? 'full';
  const runId = object.runId ?? 'manual';
  if (mode === 'incremental' && !object.idsKey) throw new Error(`the incremental raw object ${object.key} names no id listing (idsKey)`);
  const key = tableKey(context.dataSource, endpoint);
  // /tmp is the only writable place on Lambda (512 MB by default, more with ephemeral storage).
  return inTempDir(`bronze-${endpoint}-`, async (dir) => {
    const download = async (bucket: string, from: string, to: string) => pipeline(await getStream(deps.s3, bucket, from), createWriteStream(to));
    // A fanned-out crawl lands as several raw parts: each is downloaded when the merge reaches
    // it and removed after, so /tmp holds one part at a time whatever the endpoint's size.
    const rawKeys = object.partsKey ? await partKeys(deps, context.rawBucket, object.partsKey) : [object.key];
    const partPath = (i: number) => join(dir, `items-${i}.json`);
    // The first is fetched before anything else is read: a raw object that is not there fails the merge at once.
    await download(context.rawBucket, rawKeys[0], partPath(0));
    // An unreadable state only loses the mark (raw then crawled in full anyway); this run rewrites it.
    // A replay's first object starts from nothing: what bronze holds is what it rebuilds.
    const { state, error: stateError } = object.rebuild ? { state: undefined, error: undefined } : await loadState(deps.s3, context.bronzeBucket, context.dataSource, endpoint);
    if (stateError) deps.log.warn('state unreadable; it is rewritten after this run', { endpoint, error: stateError });
    // Without the digests raw compared against (a state lost since), every id not fetched is left
    // out, and the next run fetches it again.
    const digests = listingDigester(object.projection, mode === 'incremental' ? (state?.listing ?? { fields: object.projection ?? [], hashes: {} }) : undefined);
    let listed: unknown[] | undefined;
    if (mode === 'incremental') {
      const idsPath = join(dir, 'ids.json');
      await download(context.rawBucket, object.idsKey!, idsPath);
      listed = [];
      for await (const item of readJsonFileItems(idsPath)) {
        listed.push(idOf(item));
        digests?.listed(item as Record<string, unknown>);
      }
    }
    const identity = await identityOf(object, mode, partPath(0));
    if (identity.kind === 'content') deps.log.warn(`${endpoint}: rows are identified by their content (no primaryKey configured and no unique id); name the key in the endpoint's spec, e.g. "primaryKey": ["object_id", "term_taxonomy_id"]`, { endpoint });
    const typed = typedItems(endpoint, identity, itemTyper(object.columns));
    let previous: StoredTable | undefined;
    const previousPath = join(dir, 'previous.parquet');
    try {
      if (!object.rebuild) {
        await download(context.bronzeBucket, key, previousPath);
        previous = await openTable(previousPath);
      }
    } catch (error) {
      // S3 answers 403 rather than 404 for a missing key unless ListBucket applies, so on a full
      // crawl any unreadable table is rebuilt from the crawl (losing only its lineage and this
      // run's deletion records, which the warning says); an incremental merge cannot do without it.
      if (mode === 'incremental') throw new Error(`an incremental run needs the current table s3://${context.bronzeBucket}/${key}, which could not be read (${(error as Error).message}); start a run with a full refresh ({ "fullRefresh": true }, or npm start -- --full-refresh) to rebuild it`, { cause: error });
      if (!isMissing(error) || state) deps.log.warn('current table unreadable; rebuilding it from this full crawl', { endpoint, key, error: (error as Error).message });
    }

    let maxModified: string | undefined;
    let allModified = true;
    let items = 0;
    async function* fetched(): AsyncGenerator<unknown> {
      for (const [i, rawKey] of rawKeys.entries()) {
        const itemsPath = partPath(i);
        if (i > 0) await download(context.rawBucket, rawKey, itemsPath);
        for await (const item of readJsonFileItems(itemsPath)) {
          const modified = modifiedInstant(item);
          if (modified === undefined) allModified = false;
          maxModified = laterMark(maxModified, modified);
          digests?.fetched(item as Record<string, unknown>);
          yield typed(item, items++);
        }
        await rm(itemsPath, { force: true });
      }
    }
    const mergedPath = join(dir, 'merged.json');
    const merged = openJsonArrayFile(mergedPath);
    const ids: unknown[] = [];
    let batch: string[] = [];
    const boundYoungGeneration = youngGenerationBound();
    // Before the first batch too: an incremental merge reads a row group of the table back in one
    // call first, and V8 grew the new space to 128 MiB during it (at 1024 MB's flags).
    boundYoungGeneration();
    let counts;
    try {
      counts = await mergeRows(
        {
          mode,
          // A full crawl replaces every row: only the keys, lineage and modification time of the old ones are needed.
          previous: previous && (() => previous!.records(mode === 'full' ? previousColumns(previous!.columns, identity) : undefined)),
          previousIds: previous && (() => previous!.column('id')),
          items: fetched,
          listed,
          identity,
          fetchedAt: object.fetchedAt,
          runId,
        },
        async (id, json) => {
          ids.push(id);
          batch.push(json);
          if (batch.length >= 500) {
            boundYoungGeneration();
            await merged.appendJson(batch);
            batch = [];
          }
        },
      );
      await merged.appendJson(batch);
      await merged.close();
    } catch (error) {
      merged.abort();
      throw error;
    }

    const refused = object.acceptDeletions ? undefined : deletionGuardError(endpoint, counts.deleted.length, previous?.rows ?? 0, context.deletionGuard);
    if (refused) throw new Error(refused);
    const parquetPath = join(dir, `${endpoint}.parquet`);
    const report = await convertJsonFile(mergedPath, parquetPath, { codec: context.codec, rowGroupSize: context.rowGroupSize, maxDepth: context.maxDepth, seed: seedColumns(previous?.columns, object.columns) });
    let recorded: string | undefined;
    let deletionsPath: string | undefined;
    let deletionColumns: ColumnSpec[] = [];
    if (counts.deleted.length > 0) {
      recorded = deletionsKey(context.dataSource, endpoint, runId);
      // The fetch that showed the rows gone, so a replay of the same raw records the same time.
      const detectedAt = object.fetchedAt ?? new Date().toISOString();
      const listPath = join(dir, 'deletions.json');
      const list = openJsonArrayFile(listPath);
      await list.append(counts.deleted.map((left) => ({ ...deletedKeyColumns(identity, left), detected_at: detectedAt, run_id: runId, mode })));
      await list.close();
      deletionsPath = join(dir, 'deletions.parquet');
      deletionColumns = (await convertJsonFile(listPath, deletionsPath, { codec: context.codec, seed: DELETION_COLUMNS })).schema;
    }

    const markAfter = mode === 'full' ? maxModified : laterMark(state?.mark, maxModified);
    const tracksModified = mode === 'full' ? items > 0 && allModified : true;
    const next: EndpointState = {
      version: 1,
      endpoint,
      ...(markAfter && { mark: markAfter }),
      tracksModified,
      lastFullAt: mode === 'full' ? object.fetchedAt : (state?.lastFullAt ?? object.fetchedAt),
      lastRunId: runId,
      updatedAt: new Date().toISOString(),
      rows: counts.rows,
      ...(tracksModified && { ids: toRanges(ids) }),
      ...(tracksModified && digests && { listing: digests.result() }),
      declared: declaredText(object),
    };

    // Table, deletions, then the state, which commits the run: the mark advances only once both
    // have landed. A failure after the table was replaced puts the previous one back (and empties
    // this run's deletions file), with PutObject alone: the function may not delete.
    const written = { table: false, deletions: false };
    try {
      if (!report.empty) {
        await putFile(deps.s3, context.bronzeBucket, key, parquetPath, {
          contentType: 'application/vnd.apache.parquet',
          metadata: { rows: String(report.rows), columns: String(report.columns), codec: report.codec, 'source-key': metadataText(object.key), 'run-id': metadataText(runId) },
        });
        written.table = true;
      }
      if (recorded && deletionsPath) {
        await putFile(deps.s3, context.bronzeBucket, recorded, deletionsPath, { contentType: 'application/vnd.apache.parquet', metadata: { rows: String(counts.deleted.length) } });
        written.deletions = true;
      }
      await putText(deps.s3, context.bronzeBucket, stateKey(context.dataSource, endpoint), `${JSON.stringify(next)}\n`);
    } catch (error) {
      const undone = await rollBack(deps, context, { written, tableKey: key, previousPath: previous ? previousPath : undefined, deletionsKey: recorded, deletionColumns, dir });
      throw new Error(`${(error as Error).message} (${undone})`, { cause: error });
    }

    const result: BronzeObject = {
      endpoint,
      key,
      rows: report.rows,
      columns: report.columns,
      bytes: report.bytes,
      empty: report.empty,
      ms: Math.round(performance.now() - started),
      runId,
      mode,
      items,
      upserted: counts.upserted,
      inserted: counts.inserted,
      unchanged: counts.unchanged,
      deleted: counts.deleted.length,
      restated: counts.restated,
      keyedBy: identity.kind === 'content' ? 'content' : identity.fields,
      ...(recorded && { deletionsKey: recorded }),
      rawKey: object.key,
      rawSha256: object.sha256,
      ...(state?.mark && { markBefore: state.mark }),
      ...(markAfter && { markAfter }),
    };
    deps.log.info(report.empty ? `${endpoint}: nothing to write (no rows, no table yet)` : `${endpoint}: merged into bronze`, {
      endpoint, mode, items, upserted: counts.upserted, inserted: counts.inserted, unchanged: counts.unchanged, deleted: counts.deleted.length, restated: counts.restated,
      rows: result.rows, columns: result.columns, bytes: result.bytes, ms: result.ms, rowGroups: report.rowGroups, codec: report.codec,
      source: `s3://${context.rawBucket}/${object.key}`, target: report.empty ? undefined : `s3://${context.bronzeBucket}/${key}`,
      markBefore: state?.mark, markAfter,
    });
    return { object: result, columns: report.schema, ...(recorded && { deletionColumns }) };
  });
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

/** The columns a full merge reads of the table: the key's, the lineage and `modified_gmt` (all of them for content identity). */
function previousColumns(columns: readonly ColumnSpec[], identity: Identity): string[] | undefined {
  if (identity.kind === 'content') return undefined;
  const wanted = [...identity.fields, 'modified_gmt', ...Object.values(LINEAGE)];
  return columns.filter((c) => c.path.length === 1 && wanted.includes(c.path[0])).map((c) => c.name);
}

/**
 * Types an item's declared columns; a value that does not fit fails the endpoint with the
 * endpoint, the row's key and the column in the error (nothing is replaced).
 */
function typedItems(endpoint: string, identity: Identity, typer: ((item: Record<string, unknown>) => Record<string, unknown>) | undefined) {
  return (item: unknown, index: number): unknown => {
    if (!typer || typeof item !== 'object' || item === null || Array.isArray(item)) return item;
    try {
      return typer(item as Record<string, unknown>);
    } catch (error) {
      const row = item as Record<string, unknown>;
      const where = identity.kind === 'key' ? `${describeKey(identity.fields)} = ${JSON.stringify(identity.fields.length === 1 ? row[identity.fields[0]] : identity.fields.map((f) => row[f]))}` : `row ${index}`;
      throw new Error(`endpoint ${endpoint}, row ${where}: ${(error as Error).message}`, { cause: error });
    }
  };
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

/** Puts back what a failed run had already replaced; says what it did, for the error text. */
async function rollBack(
  deps: HandlerDeps,
  context: LandContext,
  what: { written: { table: boolean; deletions: boolean }; tableKey: string; previousPath?: string; deletionsKey?: string; deletionColumns: ColumnSpec[]; dir: string },
): Promise<string> {
  const { join } = require('node:path') as typeof import('node:path');
  const { writeFile } = require('node:fs/promises') as typeof import('node:fs/promises');
  const done: string[] = [];
  try {
    if (what.written.deletions && what.deletionsKey) {
      const empty = join(what.dir, 'no-deletions.json');
      await writeFile(empty, '[]');
      await convertJsonFile(empty, join(what.dir, 'no-deletions.parquet'), { codec: context.codec, seed: what.deletionColumns });
      await putFile(deps.s3, context.bronzeBucket, what.deletionsKey, join(what.dir, 'no-deletions.parquet'), { contentType: 'application/vnd.apache.parquet', metadata: { rows: '0' } });
      done.push('this run\'s deletions emptied');
    }
    if (what.written.table && what.previousPath) {
      await putFile(deps.s3, context.bronzeBucket, what.tableKey, what.previousPath, { contentType: 'application/vnd.apache.parquet' });
      done.push('the previous table restored');
    } else if (what.written.table) {
      done.push('the new table stays, but without a state the next run rebuilds it in full');
    }
    return done.length > 0 ? done.join('; ') : 'nothing had been replaced';
  } catch (error) {
    deps.log.error('rollback failed', { tableKey: what.tableKey, error: (error as Error).message });
    return `rollback failed: ${(error as Error).message}; ${done.join('; ')}`;
  }
}
