import { fromBinary } from './binary';
import type { ColumnKind, ColumnSpec, ListElementKind } from './infer';
import { timestampParser } from './timestamps';

/**
 * The column kinds: where a column's value sits in a row, and what each kind stores of it. One
 * reader closure per kind, made once per column (the per-value work lives in closures made at run
 * time, see timestampParser).
 */

export type Physical = 'BOOLEAN' | 'INT32' | 'INT64' | 'DOUBLE' | 'BYTE_ARRAY';

/** A value as a column stores it: a binary string, a safe integer, a double or a boolean. */
export type Scalar = string | number | boolean;

export function physicalOf(kind: ColumnKind | ListElementKind): Physical {
  switch (kind) {
    case 'boolean':
      return 'BOOLEAN';
    case 'date':
      return 'INT32';
    case 'int64':
    case 'timestamp':
    case 'timestamp_utc':
      return 'INT64';
    case 'double':
      return 'DOUBLE';
    default:
      return 'BYTE_ARRAY';
  }
}

/** Throws the error of a value that does not fit the inferred schema: a row the inference did not see. */
export function misfit(spec: ColumnSpec, value: unknown, kind: string): never {
  throw new Error(`column ${spec.name} (${kind}) cannot hold ${JSON.stringify(fromBinary(value))}: it does not fit the inferred schema`);
}

/** The value at `path` (binary keys) in a row, or null. */
export function valueAt(path: readonly string[]): (row: Record<string, unknown>) => unknown {
  const { hasOwn } = Object;
  const { isArray } = Array;
  return (row) => {
    let value: unknown = row;
    for (const key of path) {
      // Own keys only: a JSON key `__proto__` or `constructor` must not reach Object.prototype.
      if (typeof value !== 'object' || value === null || isArray(value) || !hasOwn(value, key)) return null;
      value = (value as Record<string, unknown>)[key];
    }
    return value ?? null;
  };
}

/** The stored form of a non-null value of a column of `kind`; a value that does not fit throws. */
export function scalarReader(spec: ColumnSpec, kind: ColumnKind | ListElementKind): (value: unknown) => Scalar {
  const { isSafeInteger } = Number;
  const { stringify } = JSON;
  switch (kind) {
    case 'json':
      return (value) => stringify(value);
    case 'string':
      return (value) => (typeof value === 'string' ? value : stringify(value));
    case 'int64':
      return (value) => (typeof value === 'number' && isSafeInteger(value) ? value : misfit(spec, value, kind));
    case 'double':
      return (value) => (typeof value === 'number' ? value : misfit(spec, value, kind));
    case 'boolean':
      return (value) => (typeof value === 'boolean' ? value : misfit(spec, value, kind));
    case 'timestamp':
    case 'timestamp_utc': {
      const parseTimestamp = timestampParser();
      return (value) => {
        const ts = typeof value === 'string' ? parseTimestamp(value) : null;
        return ts ? ts.millis : misfit(spec, value, kind);
      };
    }
    case 'date': {
      // Days since the epoch of a `YYYY-MM-DD` text (a declared date column; see lake/declared.ts).
      const parseTimestamp = timestampParser();
      return (value) => {
        const ts = typeof value === 'string' && value.length === 10 ? parseTimestamp(`${value}T00:00:00`) : null;
        return ts ? ts.millis / 86_400_000 : misfit(spec, value, kind);
      };
    }
    default:
      // A list column reads its elements with its element kind's reader.
      throw new Error(`column ${spec.name}: no value reader for kind ${kind}`);
  }
}
