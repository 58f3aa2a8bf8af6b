import { fromBinary } from './binary';
import type { ColumnKind, ColumnSpec, ListElementKind } from './infer';
import { timestampParser } from './timestamps';

/**
 * The column kinds: where a column's value sits in a row, and what each kind stores of it. The
 * readers are closures made once per column (per-value work lives in closures made at run time, see
 * timestampParser).
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

/**
 * The stored form of a non-null value of a column of `kind`; a value that does not fit throws. One
 * function with a case per kind, not a function per kind: every column's writer calls it from the
 * same place, which a closure per kind made megamorphic (the Lambda form took 7-11% more CPU, median
 * of 7 alternating runs of bench/lambda-ab.ts on 10k posts).
 */
export function scalarReader(spec: ColumnSpec, kind: ColumnKind | ListElementKind): (value: unknown) => Scalar {
  const { isSafeInteger } = Number;
  const { stringify } = JSON;
  const parseTimestamp = timestampParser();
  return (value) => {
    switch (kind) {
      case 'json':
        return stringify(value);
      case 'string':
        return typeof value === 'string' ? value : stringify(value);
      case 'int64':
        if (typeof value === 'number' && isSafeInteger(value)) return value;
        break;
      case 'double':
        if (typeof value === 'number') return value;
        break;
      case 'boolean':
        if (typeof value === 'boolean') return value;
        break;
      case 'timestamp':
      case 'timestamp_utc': {
        if (typeof value !== 'string') break;
        const ts = parseTimestamp(value);
        if (ts) return ts.millis;
        break;
      }
      case 'date': {
        // Days since the epoch of a `YYYY-MM-DD` text (a declared date column; see lake/declared.ts).
        if (typeof value !== 'string' || value.length !== 10) break;
        const ts = parseTimestamp(`${value}T00:00:00`);
        if (ts) return ts.millis / 86_400_000;
        break;
      }
    }
    return misfit(spec, value, kind);
  };
}
