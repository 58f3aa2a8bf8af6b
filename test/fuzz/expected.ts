import type { ColumnSpec } from '../../handlers/parquet/infer';

/**
 * What the converter promises to store for each row and column (handlers/parquet/infer.ts and
 * convert.ts), computed from JSON.parse of the input with none of the converter's code:
 * - a column's value is found by walking its path through own keys of objects; a missing key, a
 *   null, or a non-object on the way is null;
 * - `json` columns hold JSON.stringify of the value; `string` columns the string, or JSON.stringify
 *   of any other scalar; numbers, booleans as they parse; timestamps as epoch milliseconds of the
 *   wall-clock fields (naive) or of the instant (with `Z` or an offset);
 * - a list holds its elements, `string` elements stringified like a string column, nulls kept;
 * - text is stored as UTF-8, so a lone surrogate becomes U+FFFD.
 * And that no value is lost: every non-null value of a row is in a column at its path, inside a
 * `json` or list column above it, or is an empty object (or PHP's `[]` for one) where the path's
 * keys became columns of their own.
 * Rows none of which has a key, with no declared column, have no column to store: the promise is
 * an error instead of a file (refusalOf).
 */

/** The value at `path`, through own keys of plain objects only. */
export function valueAt(row: unknown, path: readonly string[]): unknown {
  let value = row;
  for (const key of path) {
    if (typeof value !== 'object' || value === null || Array.isArray(value) || !Object.hasOwn(value, key)) return null;
    value = (value as Record<string, unknown>)[key];
  }
  return value ?? null;
}

/** A string as UTF-8 stores it: lone surrogates as U+FFFD (String.prototype.toWellFormed, beyond this project's lib). */
function toWellFormed(text: string): string {
  return text.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');
}

/** Every string in a parsed value (keys too) as UTF-8 stores it: lone surrogates as U+FFFD. */
export function wellFormed(value: unknown): unknown {
  if (typeof value === 'string') return toWellFormed(value);
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map(wellFormed);
  const out: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) {
    Object.defineProperty(out, toWellFormed(key), { value: wellFormed(child), enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/** Milliseconds of an ISO date-time the converter typed as a timestamp: Date.parse, reading a zone-less text as UTC fields. */
function millis(text: string): number {
  const zoned = /(Z|[+-]\d\d:\d\d)$/.test(text);
  // Years before 100 and the 4-digit form: Date.parse reads ISO texts in full, never as two-digit years.
  const parsed = Date.parse(zoned ? text : `${text}Z`);
  if (Number.isNaN(parsed)) throw new Error(`the converter typed ${JSON.stringify(text)} as a timestamp, which Date.parse rejects`);
  return parsed;
}

function scalar(value: unknown, kind: string): unknown {
  switch (kind) {
    case 'json':
      return JSON.stringify(value);
    case 'string':
      return typeof value === 'string' ? value : JSON.stringify(value);
    case 'int64':
      // -0 parses as a safe integer; INT64 has no negative zero.
      return (value as number) + 0;
    case 'timestamp':
    case 'timestamp_utc':
      return millis(value as string);
    case 'date':
      // Readers give a DATE as the midnight (UTC) that starts it.
      return millis(`${value as string}T00:00:00`);
    default:
      return value;
  }
}

/** The value the converter promises for `row` (already wellFormed) in `column`. */
export function expectedValue(row: unknown, column: ColumnSpec): unknown {
  const value = valueAt(row, column.path);
  if (value === null) return null;
  if (column.kind !== 'list') return scalar(value, column.kind);
  return (value as unknown[]).map((item) => (item === null ? null : scalar(item, column.element ?? 'string')));
}

/** Paths of non-null values of `row` that no column holds: what the conversion lost. */
export function lostValues(row: Record<string, unknown>, schema: readonly ColumnSpec[]): string[] {
  const paths = new Set(schema.map((column) => JSON.stringify(column.path)));
  const under = (path: string[]) => schema.some((column) => column.path.length > path.length && path.every((key, i) => column.path[i] === key));
  const lost: string[] = [];
  const walk = (value: unknown, path: string[]) => {
    if (value === null || paths.has(JSON.stringify(path))) return;
    const isObject = typeof value === 'object' && !Array.isArray(value);
    if (isObject) {
      for (const [key, child] of Object.entries(value as Record<string, unknown>)) walk(child, [...path, key]);
      return;
    }
    if (Array.isArray(value) && value.length === 0 && under(path)) return;
    lost.push(`${JSON.stringify(path)} = ${JSON.stringify(value)?.slice(0, 80)}`);
  };
  for (const [key, child] of Object.entries(row)) walk(child, [key]);
  return lost;
}

/**
 * For rows none of which has a key (e.g. `[{}]`) and no declared column, what the converter's error
 * promises to say: the input, the row count, and that a Parquet file needs a column (arrow-rs
 * rejects a file of none; parquet-mr and Spark refuse such a schema). Undefined when a file is
 * promised.
 */
export function refusalOf(input: string, rows: readonly Record<string, unknown>[], declared: readonly ColumnSpec[]): string[] | undefined {
  if (rows.length === 0 || declared.length > 0 || rows.some((row) => Object.keys(row).length > 0)) return undefined;
  return [input, ` ${rows.length} row`, 'at least one column'];
}
