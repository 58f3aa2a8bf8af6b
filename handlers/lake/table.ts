import type { ColumnSpec, ListElementKind } from '../parquet/infer';
import { COLUMNS_METADATA_KEY } from '../parquet/convert';

/**
 * Reading the current bronze table back (hyparquet), one row group at a time, as the JSON rows
 * it was written from: the merge feeds them through the same inference and writer as new items,
 * so an unchanged row is stored exactly as a fresh crawl would store it.
 */

export interface StoredTable {
  /** The columns the table was written with (its file metadata). */
  columns: ColumnSpec[];
  rows: number;
  /**
   * Every row, in file order, rebuilt as the nested JSON object it came from; with `only`, just
   * those top-level columns are read (the others are not decoded at all).
   */
  records(only?: readonly string[]): AsyncGenerator<Record<string, unknown>>;
  /** The values of one top-level column, in file order, read without the others. */
  column(name: string): Promise<unknown[]>;
}

function decompressors() {
  const { zstdDecompressSync } = require('node:zlib') as typeof import('node:zlib');
  return { ZSTD: (input: Uint8Array) => new Uint8Array(zstdDecompressSync(input)) };
}

/** Opens a Parquet file written by the bronze converter; throws naming the file when it is not one. */
export async function openTable(path: string): Promise<StoredTable> {
  // On Node, hyparquet's entry point (src/node.js) adds file access to the reader.
  const { asyncBufferFromFile, parquetMetadataAsync, parquetRead } = require('hyparquet') as typeof import('hyparquet') & { asyncBufferFromFile(path: string): Promise<import('hyparquet').AsyncBuffer> };
  const file = await asyncBufferFromFile(path);
  const metadata = await parquetMetadataAsync(file);
  const entry = metadata.key_value_metadata?.find((kv) => kv.key === COLUMNS_METADATA_KEY);
  if (!entry?.value) throw new Error(`${path} has no ${COLUMNS_METADATA_KEY} metadata: it was not written by this pipeline's bronze step`);
  const columns = JSON.parse(entry.value) as ColumnSpec[];
  const compressors = decompressors();
  const groups: Array<[number, number]> = [];
  let start = 0;
  for (const group of metadata.row_groups) {
    const end = start + Number(group.num_rows);
    groups.push([start, end]);
    start = end;
  }
  // Rows as arrays in the order asked: hyparquet's object rows are built by assignment, which
  // drops a column named `__proto__`.
  const read = async (rowStart: number, rowEnd: number, names: string[]) => {
    let rows: unknown[][] = [];
    await parquetRead({ file, metadata, compressors, rowStart, rowEnd, columns: names, rowFormat: 'array', onComplete: (done) => { rows = done as unknown[][]; } });
    return rows;
  };
  return {
    columns,
    rows: Number(metadata.num_rows),
    async *records(only) {
      const wanted = only ? columns.filter((c) => only.includes(c.name)) : columns;
      for (const [rowStart, rowEnd] of groups) {
        for (const row of await read(rowStart, rowEnd, wanted.map((c) => c.name))) yield toRecord(row, wanted);
      }
    },
    async column(name) {
      const column = columns.find((c) => c.name === name);
      if (!column) return [];
      const values: unknown[] = [];
      for (const [rowStart, rowEnd] of groups) {
        for (const [value] of await read(rowStart, rowEnd, [name])) values.push(toJson(value ?? null, column.kind, column.element));
      }
      return values;
    },
  };
}

/** One stored row as nested JSON: every column's path set, nulls included, so no column is lost. */
function toRecord(row: readonly unknown[], columns: readonly ColumnSpec[]): Record<string, unknown> {
  const record: Record<string, unknown> = {};
  for (let i = 0; i < columns.length; i++) {
    const column = columns[i];
    let target = record;
    for (const key of column.path.slice(0, -1)) {
      const next = Object.hasOwn(target, key) ? target[key] : undefined;
      if (typeof next === 'object' && next !== null && !Array.isArray(next)) target = next as Record<string, unknown>;
      else if (key === '__proto__') target = defineOwn(target, key, {}) as Record<string, unknown>;
      else target = (target[key] = {}) as Record<string, unknown>;
    }
    const last = column.path.at(-1)!;
    const value = toJson(row[i] ?? null, column.kind, column.element);
    if (last === '__proto__') defineOwn(target, last, value);
    else target[last] = value;
  }
  return record;
}

/** An own `__proto__` property, as JSON.parse makes one: an assignment would set the prototype instead. */
function defineOwn(target: Record<string, unknown>, key: string, value: unknown): unknown {
  Object.defineProperty(target, key, { value, writable: true, enumerable: true, configurable: true });
  return value;
}

/** A value as read by hyparquet, back to the JSON value the converter stored it from. */
function toJson(value: unknown, kind: ColumnSpec['kind'] | ListElementKind, element?: ListElementKind): unknown {
  if (value === null || value === undefined) return null;
  switch (kind) {
    case 'int64':
      return Number(value as bigint);
    case 'timestamp': {
      // Stored as wall-clock fields without a zone: written back without one, and without
      // milliseconds when there are none (WordPress' own format).
      const text = (value as Date).toISOString();
      return text.endsWith('.000Z') ? text.slice(0, 19) : text.slice(0, 23);
    }
    case 'timestamp_utc':
      return (value as Date).toISOString().replace('.000Z', 'Z');
    case 'date':
      return (value as Date).toISOString().slice(0, 10);
    case 'list':
      return (value as unknown[]).map((item) => toJson(item, element ?? 'string'));
    default:
      return value;
  }
}
