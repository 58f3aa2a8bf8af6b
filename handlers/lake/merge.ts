/**
 * The merge of one run into a table: previous rows + this run's items, the latest version of
 * each id winning, ids that left the site dropped, and lineage on every row. Rows stream through
 * (the table is read one row group at a time and written to a file); what is held in memory is
 * one entry per id (an id and a short hash), plus, for an incremental run, that run's items.
 */

import type { Identity } from './identity';
import { BY_ID, duplicateKey, keyReader, occurrences } from './identity';

/** Lineage columns added to every row. */
export const LINEAGE = { ingestedAt: '_ingested_at', runId: '_run_id', hash: '_row_hash' } as const;

export interface MergeInput {
  mode: 'full' | 'incremental';
  /** Rows of the current table (rebuilt JSON, lineage included), in table order; none on the first run. */
  previous?: () => AsyncIterable<Record<string, unknown>>;
  /** Ids of the current table, in table order (a cheap one-column read). */
  previousIds?: () => Promise<unknown[]>;
  /** This run's items: the whole endpoint (full) or the delta (incremental). */
  items: () => AsyncIterable<unknown>;
  /** Incremental runs: every id the site lists now; a table id not among them was deleted. */
  listed?: Iterable<unknown>;
  /**
   * What matches a previous row to an item (full runs; incremental runs match on `id`).
   * @default BY_ID
   */
  identity?: Identity;
  fetchedAt: string;
  runId: string;
}

export interface MergeCounts {
  /** Rows whose version comes from this run: new ids and changed items. */
  upserted: number;
  /** Of those, ids the table did not have. */
  inserted: number;
  /** Items fetched again unchanged (the overlap, or a full crawl of a quiet endpoint). */
  unchanged: number;
  /** Of the upserted, rows that changed while their `modified_gmt` stayed the same. */
  restated: number;
  rows: number;
  /** What identifies each row that left: its key's value (values, for several fields), or `{ row_hash, row }`. */
  deleted: unknown[];
}

/** Hands one row of the new table on: its id, and the row as JSON text (one line, lineage included). */
type Emit = (id: unknown, json: string) => Promise<void>;

/** A stable short digest of an item as fetched: equal digests mean an unchanged version. */
export function rowHash(item: Record<string, unknown>): string {
  return rowText().digest(item, JSON.stringify(item));
}

/**
 * Top-level lists of integers in ascending order, or the item itself when they all are: WordPress
 * serves a post's term ids in the order of their names, and terms of the same name (two
 * "Europe" categories) come in either order from one request to the next, so the same post must
 * not read as changed. Such lists are sets of ids; nothing else is reordered.
 */
export function idListsSorter(): (item: Record<string, unknown>) => Record<string, unknown> {
  const { isArray } = Array;
  const { isSafeInteger } = Number;
  const unsorted = (value: unknown): value is number[] => {
    if (!isArray(value) || value.length < 2) return false;
    let ascending = true;
    for (let i = 0; i < value.length; i++) {
      if (!isSafeInteger(value[i])) return false;
      if (i > 0 && value[i] < value[i - 1]) ascending = false;
    }
    return !ascending;
  };
  return (item) => {
    let copy: Record<string, unknown> | undefined;
    for (const key in item) {
      const value = item[key];
      if (unsorted(value)) (copy ??= { ...item })[key] = [...value].sort((a, b) => a - b);
    }
    return copy ?? item;
  };
}

/**
 * The per-row work of a merge, made once per merge as closures: Pulumi's closure serializer turns
 * every module-level function into a wrapper that builds a `with` scope at each call, which the
 * bronze Lambda would otherwise pay several times a row.
 */
function rowText() {
  const { hash } = require('node:crypto') as typeof import('node:crypto');
  const stringify = JSON.stringify;
  const hasOwn = Object.hasOwn;
  const sortIdLists = idListsSorter();
  const { ingestedAt: AT, runId: RUN, hash: HASH } = LINEAGE;
  return {
    /** The key two ids match on: JSON text, so 5 and "5" stay apart and any JSON id works. */
    key: (id: unknown): string | undefined => (id === undefined || id === null ? undefined : stringify(id)),
    /** The row hash of an item, from its JSON text (JSON.stringify of the item) unless its id lists need sorting. */
    digest(item: Record<string, unknown>, json: string): string {
      const canonical = sortIdLists(item);
      return hash('sha256', canonical === item ? json : stringify(canonical), 'hex').slice(0, 32);
    },
    /**
     * The row's JSON text: what JSON.stringify writes for the item's fields followed by its
     * lineage, built from the item's own text (`json`) instead of a copy of the item serialised
     * a second time. Object spread and JSON.stringify list own keys in the same order, so the
     * text is the same; an item that carries lineage fields of its own, or lineage that is not
     * text (an event without fetchedAt: JSON.stringify leaves the field out), takes the long way.
     */
    withLineage(item: Record<string, unknown>, json: string, rowHash: string, ingestedAt: string, runId: string): string {
      if (typeof ingestedAt !== 'string' || typeof runId !== 'string' || hasOwn(item, AT) || hasOwn(item, RUN) || hasOwn(item, HASH)) {
        const { [AT]: _a, [RUN]: _r, [HASH]: _h, ...fields } = item;
        return stringify({ ...fields, [AT]: ingestedAt, [RUN]: runId, [HASH]: rowHash });
      }
      const lineage = `${stringify(AT)}:${stringify(ingestedAt)},${stringify(RUN)}:${stringify(runId)},${stringify(HASH)}:"${rowHash}"}`;
      return json.length > 2 ? `${json.slice(0, -1)},${lineage}` : `{${lineage}`;
    },
  };
}

/** An item's `id`, or undefined (a JSON document without one). */
export function idOf(row: unknown): unknown {
  return (row as { id?: unknown } | null)?.id;
}

/** Numeric ids in numeric order, anything else after them by text. */
export function compareIds(a: unknown, b: unknown): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'number') return -1;
  if (typeof b === 'number') return 1;
  const x = JSON.stringify(a);
  const y = JSON.stringify(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

function asObject(item: unknown, index: number): Record<string, unknown> {
  if (typeof item !== 'object' || item === null || Array.isArray(item)) {
    throw new Error(`item ${index} is ${Array.isArray(item) ? 'an array' : JSON.stringify(item)}, not an object`);
  }
  return item as Record<string, unknown>;
}

/** Runs the merge, handing every row of the new table to `emit` in order. */
export async function mergeRows(input: MergeInput, emit: Emit): Promise<MergeCounts> {
  return input.mode === 'full' ? mergeFull(input, emit) : mergeIncremental(input, emit);
}

/**
 * A full crawl is the table: every item becomes a row. A row whose item is unchanged keeps the
 * lineage of the run that delivered that version, so `_run_id` says when a row last changed.
 * Previous rows and items are matched by the input's identity (lake/identity.ts).
 */
async function mergeFull(input: MergeInput, emit: Emit): Promise<MergeCounts> {
  const text = rowText();
  const identity = input.identity ?? BY_ID;
  const keyed = identity.kind === 'key' ? keyReader(identity) : undefined;
  // The table was checked when it was written, perhaps under another identity: read it leniently.
  const keyedBefore = identity.kind === 'key' ? keyReader({ ...identity, strict: false }) : undefined;
  const previousKey = identity.kind === 'content' ? occurrences() : undefined;
  // What a deletion records, kept per previous row until the crawl shows it is still there.
  type Before = { left: unknown; hash: unknown; ingestedAt: unknown; runId: unknown; modified: unknown };
  const before = new Map<string, Before>();
  if (input.previous) {
    let index = 0;
    for await (const row of input.previous()) {
      const key = keyedBefore ? keyedBefore.key(row, index++) : previousKey!(String(row[LINEAGE.hash]));
      if (key === undefined) continue;
      const left = keyedBefore ? keyedBefore.values(row) : { row_hash: row[LINEAGE.hash], row: withoutLineage(row) };
      before.set(key, { left, hash: row[LINEAGE.hash], ingestedAt: row[LINEAGE.ingestedAt], runId: row[LINEAGE.runId], modified: row.modified_gmt });
    }
  }
  const counts: MergeCounts = { upserted: 0, inserted: 0, unchanged: 0, restated: 0, rows: 0, deleted: [] };
  const stringify = JSON.stringify;
  const itemKey = identity.kind === 'content' ? occurrences() : undefined;
  const seen = identity.kind === 'key' && identity.strict ? new Set<string>() : undefined;
  let index = 0;
  for await (const raw of input.items()) {
    const item = asObject(raw, index);
    const json = stringify(item);
    const hash = text.digest(item, json);
    const key = keyed ? keyed.key(item, index) : itemKey!(hash);
    index++;
    if (seen && key !== undefined) {
      if (seen.has(key)) throw duplicateKey((identity as { fields: string[] }).fields, key);
      seen.add(key);
    }
    const old = key === undefined ? undefined : before.get(key);
    if (key !== undefined) before.delete(key);
    const id = item.id;
    if (old && old.hash === hash && typeof old.ingestedAt === 'string' && typeof old.runId === 'string') {
      counts.unchanged++;
      await emit(id, text.withLineage(item, json, hash, old.ingestedAt, old.runId));
    } else {
      counts.upserted++;
      if (!old) counts.inserted++;
      else if (isRestated(item, old.modified)) counts.restated++;
      await emit(id, text.withLineage(item, json, hash, input.fetchedAt, input.runId));
    }
    counts.rows++;
  }
  counts.deleted = [...before.values()].map((entry) => entry.left);
  return counts;
}

/** A changed item whose modification time is the one the table had: WordPress changed it without saying so. */
function isRestated(item: Record<string, unknown>, previousModified: unknown): boolean {
  return typeof item.modified_gmt === 'string' && item.modified_gmt === previousModified;
}

function withoutLineage(row: Record<string, unknown>): string {
  const { [LINEAGE.ingestedAt]: _a, [LINEAGE.runId]: _r, [LINEAGE.hash]: _h, ...fields } = row;
  return JSON.stringify(fields);
}

/**
 * An incremental run changes only what it fetched: the table is streamed through in its order,
 * a row replaced where the delta has a new version of its id, dropped where the listing no
 * longer has it, and the delta's new ids slotted in by id (the table stays in id order).
 */
async function mergeIncremental(input: MergeInput, emit: Emit): Promise<MergeCounts> {
  if (!input.listed) throw new Error('an incremental merge needs the id listing of this run');
  const text = rowText();
  const stringify = JSON.stringify;
  const listed = new Set<string>();
  for (const id of input.listed) {
    const key = text.key(id);
    if (key !== undefined) listed.add(key);
  }
  type Fetched = { item: Record<string, unknown>; json: string; hash: string };
  const delta = new Map<string, Fetched>();
  const keyless: Fetched[] = [];
  let index = 0;
  for await (const raw of input.items()) {
    const item = asObject(raw, index++);
    const json = stringify(item);
    const fetched = { item, json, hash: text.digest(item, json) };
    const key = text.key(item.id);
    if (key === undefined) keyless.push(fetched);
    else delta.set(key, fetched);
  }
  const existing = new Set<string>();
  for (const id of input.previousIds ? await input.previousIds() : []) {
    const key = text.key(id);
    if (key !== undefined) existing.add(key);
  }
  // New ids, in id order; items the listing no longer has were deleted after the delta was read.
  const fresh = [...delta.entries()].filter(([key]) => !existing.has(key) && listed.has(key)).map(([, fetched]) => fetched).sort((a, b) => compareIds(a.item.id, b.item.id));
  const counts: MergeCounts = { upserted: 0, inserted: 0, unchanged: 0, restated: 0, rows: 0, deleted: [] };
  const upsert = ({ item, json, hash }: Fetched) => emit(item.id, text.withLineage(item, json, hash, input.fetchedAt, input.runId));
  let next = 0;
  const insert = async (fetched: Fetched) => {
    counts.upserted++;
    counts.inserted++;
    counts.rows++;
    await upsert(fetched);
  };
  if (input.previous) {
    for await (const row of input.previous()) {
      const id = idOf(row);
      const key = text.key(id);
      if (key === undefined) {
        counts.rows++;
        await emit(id, stringify(row));
        continue;
      }
      while (next < fresh.length && compareIds(fresh[next].item.id, id) < 0) await insert(fresh[next++]);
      const update = delta.get(key);
      if (!listed.has(key)) {
        counts.deleted.push(id);
        continue;
      }
      counts.rows++;
      if (update && update.hash !== row[LINEAGE.hash]) {
        counts.upserted++;
        if (isRestated(update.item, row.modified_gmt)) counts.restated++;
        await upsert(update);
      } else {
        if (update) counts.unchanged++;
        await emit(id, stringify(row));
      }
    }
  }
  for (; next < fresh.length; next++) await insert(fresh[next]);
  for (const fetched of keyless) await insert(fetched);
  return counts;
}
