import type { SchemaElement } from 'hyparquet-writer';
import type { ColumnKind, ColumnSpec, ListElementKind } from './infer';

/**
 * From inferred columns to the file's Parquet schema: explicit, so nothing is guessed from a row
 * group's values and every row group of a file has the same schema.
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
    case 'date':
      return { name, type: 'INT32', repetition_type, converted_type: 'DATE', logical_type: { type: 'DATE' } };
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
