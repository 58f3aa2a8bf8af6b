import type { SchemaElement } from 'hyparquet-writer';
import { fromBinary } from './binary';
import type { ColumnKind, ColumnSpec, ListElementKind } from './infer';
import { isPlainObject } from './infer';
import { parseTimestamp } from './timestamps';

/**
 * From inferred columns to what hyparquet-writer takes: an explicit Parquet schema (so nothing is
 * guessed from a row group's values, and every row group of a file has the same schema) and the
 * values of each column in the form the writer stores without converting them again.
 */

function leaf(name: string, kind: ColumnKind | ListElementKind): SchemaElement {
  const repetition_type = 'OPTIONAL';
  switch (kind) {
    case 'boolean':
      return { name, type: 'BOOLEAN', repetition_type };
    case 'int64':
      return { name, type: 'INT64', repetition_type };
    case 'double':
      return { name, type: 'DOUBLE', repetition_type };
    case 'timestamp':
      // No converted_type: the legacy TIMESTAMP_MILLIS annotation means UTC-adjusted.
      return { name, type: 'INT64', repetition_type, logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: false, unit: 'MILLIS' } };
    case 'timestamp_utc':
      return {
        name, type: 'INT64', repetition_type, converted_type: 'TIMESTAMP_MILLIS',
        logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: true, unit: 'MILLIS' },
      };
    case 'json':
      return { name, type: 'BYTE_ARRAY', repetition_type, converted_type: 'JSON' };
    default:
      return { name, type: 'BYTE_ARRAY', repetition_type, converted_type: 'UTF8' };
  }
}

/**
 * The Parquet schema of the columns: every column nullable, lists as standard 3-level LISTs.
 *
 * `forWriting` declares JSON columns as UTF8: their values arrive as UTF-8 bytes of the JSON
 * text, which hyparquet-writer writes as they are for UTF8 but would stringify again for JSON.
 * Both annotate BYTE_ARRAY, so pages, dictionaries and byte-ordered statistics are the same; the
 * file's footer must still say JSON (see openParquet).
 */
export function parquetSchema(columns: readonly ColumnSpec[], forWriting = false): SchemaElement[] {
  const schema: SchemaElement[] = [{ name: 'root', num_children: columns.length }];
  for (const column of columns) {
    if (column.kind === 'list') {
      schema.push(
        { name: column.name, repetition_type: 'OPTIONAL', converted_type: 'LIST', num_children: 1 },
        { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
        leaf('element', column.element ?? 'string'),
      );
    } else {
      schema.push(leaf(column.name, forWriting && column.kind === 'json' ? 'string' : column.kind));
    }
  }
  return schema;
}

function at(row: Record<string, unknown>, path: readonly string[]): unknown {
  let value: unknown = row;
  for (const key of path) {
    // Own keys only: a JSON key `__proto__` or `constructor` must not reach Object.prototype.
    if (!isPlainObject(value) || !Object.hasOwn(value, key)) return null;
    value = value[key];
  }
  return value ?? null;
}

/** Size of the buffers strings are encoded into. */
const SLAB = 1 << 20;

/** Writes a string's UTF-8 bytes and answers a view of them. */
export interface Utf8Encoder {
  (text: string): Uint8Array;
  /** Strings arrive in binary form (binary.ts): their bytes are copied, not encoded. */
  binary: boolean;
}

/**
 * Encodes strings as UTF-8 into shared 1 MiB buffers and answers a view of each: one copy per
 * value, no allocation per value, and the JS strings (UTF-16 for most non-English text) die young
 * instead of living until their row group is written.
 *
 * @param binary - The strings are in binary form: each character is one byte already.
 */
export function utf8Encoder(binary = false): Utf8Encoder {
  const encoding = binary ? 'latin1' : 'utf8';
  // A UTF-16 code unit takes at most 3 UTF-8 bytes; a binary character is one byte.
  const most = binary ? 1 : 3;
  let slab = Buffer.allocUnsafeSlow(SLAB);
  let used = 0;
  const encode = (text: string) => {
    if (used + text.length * most > slab.length) {
      slab = Buffer.allocUnsafeSlow(Math.max(SLAB, text.length * most));
      used = 0;
    }
    const written = slab.write(text, used, encoding);
    const bytes = new Uint8Array(slab.buffer, slab.byteOffset + used, written);
    used += written;
    return bytes;
  };
  return Object.assign(encode, { binary });
}

/**
 * The value in the form hyparquet-writer stores as it is: strings and JSON as UTF-8 bytes, INT64
 * and timestamps as the bigint it would derive (from a Date, for timestamps), so no Date is made.
 */
function convert(value: unknown, kind: ColumnKind | ListElementKind, name: string, utf8: Utf8Encoder): unknown {
  if (value === null || value === undefined) return null;
  switch (kind) {
    case 'json':
      return utf8(JSON.stringify(value));
    case 'string':
      return utf8(typeof value === 'string' ? value : JSON.stringify(value));
    case 'int64':
      if (typeof value !== 'number' || !Number.isSafeInteger(value)) break;
      return BigInt(value);
    case 'double':
      if (typeof value !== 'number') break;
      return value;
    case 'boolean':
      if (typeof value !== 'boolean') break;
      return value;
    case 'timestamp':
    case 'timestamp_utc': {
      const ts = typeof value === 'string' ? parseTimestamp(value) : undefined;
      if (!ts) break;
      return BigInt(ts.millis);
    }
    case 'list':
      break;
  }
  throw new Error(`column ${name} (${kind}) cannot hold ${JSON.stringify(utf8.binary ? fromBinary(value) : value)}: it does not fit the inferred schema`);
}

/** Appends the values of one column for `rows` to `out`: filled column by column, no per-row arrays. */
export function appendColumn(out: unknown[], rows: readonly Record<string, unknown>[], column: ColumnSpec, utf8: Utf8Encoder): void {
  const { path, kind, name } = column;
  const element = column.element ?? 'string';
  for (let r = 0; r < rows.length; r++) {
    const value = at(rows[r], path);
    if (kind !== 'list' || value === null) out.push(convert(value, kind, name, utf8));
    else if (!Array.isArray(value)) out.push(convert(value, 'list', name, utf8));
    else out.push(value.map((item) => convert(item, element, name, utf8)));
  }
}
