import type { SchemaElement } from 'hyparquet-writer';
import type { ColumnKind, ColumnSpec, ListElementKind } from './infer';
import { isPlainObject } from './infer';
import { parseTimestamp } from './timestamps';

/**
 * From inferred columns to what hyparquet-writer takes: an explicit Parquet schema (so nothing is
 * guessed from a row group's values, and every row group of a file has the same schema) and, per
 * row, the value of each column in the form the writer converts.
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

/** The Parquet schema of the columns: every column nullable, lists as standard 3-level LISTs. */
export function parquetSchema(columns: readonly ColumnSpec[]): SchemaElement[] {
  const schema: SchemaElement[] = [{ name: 'root', num_children: columns.length }];
  for (const column of columns) {
    if (column.kind === 'list') {
      schema.push(
        { name: column.name, repetition_type: 'OPTIONAL', converted_type: 'LIST', num_children: 1 },
        { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
        leaf('element', column.element ?? 'string'),
      );
    } else {
      schema.push(leaf(column.name, column.kind));
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

function convert(value: unknown, kind: ColumnKind | ListElementKind, name: string): unknown {
  if (value === null || value === undefined) return null;
  switch (kind) {
    case 'json':
      // hyparquet-writer stringifies JSON columns itself.
      return value;
    case 'string':
      return typeof value === 'string' ? value : JSON.stringify(value);
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
      return new Date(ts.millis);
    }
    case 'list':
      break;
  }
  throw new Error(`column ${name} (${kind}) cannot hold ${JSON.stringify(value)}: the input changed between the two passes`);
}

/** A function that turns one row into one value per column, in column order. */
export function rowExtractor(columns: readonly ColumnSpec[]): (row: Record<string, unknown>) => unknown[] {
  return (row) =>
    columns.map((column) => {
      const value = at(row, column.path);
      if (column.kind !== 'list' || value === null) return convert(value, column.kind, column.name);
      if (!Array.isArray(value)) return convert(value, 'list', column.name);
      const element = column.element ?? 'string';
      return value.map((item) => convert(item, element, column.name));
    });
}
