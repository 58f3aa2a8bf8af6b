import { getFile } from '../aws/s3';
import { youngGenerationBound } from '../parquet/young-generation';
import type { ColumnSpec } from '../parquet/infer';
import { readJsonFileItems } from '../parquet/json-items';
import { writeJsonArrayFile } from '../wordpress/json-array-file';
import { itemTyper } from './declared';
import type { Identity } from './identity';
import { describeKey } from './identity';
import type { Landing } from './land';
import type { LandInputs, ListingDigester } from './land-read';
import { partPath } from './land-read';
import type { MergeCounts, MergeInput } from './merge';
import { LINEAGE, mergeRows } from './merge';
import { laterMark, modifiedInstant } from './state';

/** The merged table as a JSON array file for the converter, and what the state needs of the merge. */
export interface Merged {
  path: string;
  counts: MergeCounts;
  /** The ids of the merged rows, in table order. */
  ids: unknown[];
  /** Items this run fetched. */
  items: number;
  /** The latest `modified_gmt` among them, as an instant. */
  maxModified?: string;
  /** Every fetched item had a `modified_gmt`. */
  allModified: boolean;
}

/** Merges this run's raw items into the current table's rows (merge.ts), written to a JSON array file. */
export async function mergeIntoFile(landing: Landing, inputs: LandInputs): Promise<Merged> {
  const { join } = require('node:path') as typeof import('node:path');
  const { mode, runId, object } = landing;
  const { identity, previous } = inputs;
  const fetched = fetchedItems(landing, inputs.rawKeys, inputs.digests, typedItems(landing.endpoint, identity, itemTyper(object.columns)));
  const path = join(landing.dir, 'merged.json');
  const { counts, ids } = await writeMerge(path, {
    mode,
    // A full crawl replaces every row: only the keys, lineage and modification time of the old ones are needed.
    previous: previous && (() => previous.table.records(mode === 'full' ? previousColumns(previous.table.columns, identity) : undefined)),
    previousIds: previous && (() => previous.table.column('id')),
    items: fetched.items,
    listed: inputs.listed,
    identity,
    fetchedAt: object.fetchedAt,
    runId,
  });
  return { path, counts, ids, ...fetched.seen };
}

/**
 * The raw items of every part in order, typed, noting what the state keeps of them (the latest
 * modification time, whether all have one, their listing digests) as the merge reads them.
 */
function fetchedItems(landing: Landing, rawKeys: string[], digests: ListingDigester | undefined, typed: (item: unknown, index: number) => unknown) {
  const { rm } = require('node:fs/promises') as typeof import('node:fs/promises');
  const seen: Pick<Merged, 'items' | 'maxModified' | 'allModified'> = { items: 0, maxModified: undefined, allModified: true };
  async function* items(): AsyncGenerator<unknown> {
    for (const [i, rawKey] of rawKeys.entries()) {
      const itemsPath = partPath(landing.dir, i);
      if (i > 0) await getFile(landing.deps.s3, landing.context.rawBucket, rawKey, itemsPath);
      for await (const item of readJsonFileItems(itemsPath)) {
        const modified = modifiedInstant(item);
        if (modified === undefined) seen.allModified = false;
        seen.maxModified = laterMark(seen.maxModified, modified);
        digests?.fetched(item as Record<string, unknown>);
        yield typed(item, seen.items++);
      }
      await rm(itemsPath, { force: true });
    }
  }
  return { seen, items };
}

/** Runs the merge, its rows appended to `path` in batches of 500 with the young generation bounded between them. */
async function writeMerge(path: string, input: MergeInput): Promise<{ counts: MergeCounts; ids: unknown[] }> {
  const ids: unknown[] = [];
  let batch: string[] = [];
  const boundYoungGeneration = youngGenerationBound();
  // Before the first batch too: an incremental merge reads a row group of the table back in one
  // call first, and V8 grew the new space to 128 MiB during it (at 1024 MB's flags).
  boundYoungGeneration();
  const { result: counts } = await writeJsonArrayFile(path, async (merged) => {
    const mergeCounts = await mergeRows(input, async (id, json) => {
      ids.push(id);
      batch.push(json);
      if (batch.length >= 500) {
        boundYoungGeneration();
        await merged.appendJson(batch);
        batch = [];
      }
    });
    await merged.appendJson(batch);
    return mergeCounts;
  });
  return { counts, ids };
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
