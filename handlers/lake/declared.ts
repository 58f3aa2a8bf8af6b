import type { ColumnKind, ColumnSpec } from '../parquet/infer';
import { timestampParser } from '../parquet/timestamps';

/**
 * An endpoint's declared `primaryKey` and `columns`: custom endpoints built on `$wpdb->get_results`
 * send every value as a JSON string and are keyed by whatever their table's key is, so neither the
 * key nor the types can be inferred. Pure: checking the spec, and typing each fetched item.
 */

export type DeclaredType = 'bigint' | 'double' | 'boolean' | 'string' | 'date' | 'timestamp';

const TYPES: readonly DeclaredType[] = ['bigint', 'double', 'boolean', 'string', 'date', 'timestamp'];

export interface DeclaredKeys {
  primaryKey?: string[];
  columns?: Record<string, DeclaredType>;
}

/**
 * Checks `primaryKey` (a field name or a list of names) and `columns` (field -> type) of one
 * endpoint entry; throws `<label>: <problem>. Fix: <fix>`.
 */
export function checkDeclared(entry: { primaryKey?: unknown; columns?: unknown }, label: string): DeclaredKeys {
  const out: DeclaredKeys = {};
  const { primaryKey, columns } = entry;
  if (primaryKey !== undefined) {
    const fields = typeof primaryKey === 'string' ? [primaryKey] : primaryKey;
    if (!Array.isArray(fields) || fields.length === 0 || !fields.every((f) => typeof f === 'string' && f !== '') || new Set(fields).size !== fields.length) {
      throw new Error(`${label}: primaryKey is ${JSON.stringify(primaryKey)}. Fix: set a field name or a list of distinct field names, e.g. "term_id" or ["object_id", "term_taxonomy_id"]`);
    }
    out.primaryKey = fields as string[];
  }
  if (columns !== undefined) {
    if (typeof columns !== 'object' || columns === null || Array.isArray(columns) || Object.keys(columns).length === 0) {
      throw new Error(`${label}: columns is ${JSON.stringify(columns)}. Fix: map field names to types, e.g. { "term_id": "bigint", "date": "date" }`);
    }
    for (const [field, type] of Object.entries(columns)) {
      if (!TYPES.includes(type as DeclaredType)) throw new Error(`${label}: columns.${field} is ${JSON.stringify(type)}. Fix: use one of ${TYPES.join(', ')}`);
    }
    out.columns = columns as Record<string, DeclaredType>;
  }
  return out;
}

/** The declaration as text, stored in the state: a change means the table must be rebuilt in full. */
export function declaredText(spec: DeclaredKeys): string {
  return spec.primaryKey || spec.columns ? JSON.stringify({ primaryKey: spec.primaryKey, columns: spec.columns }) : '';
}

const KIND: Record<DeclaredType, ColumnKind> = { bigint: 'int64', double: 'double', boolean: 'boolean', string: 'string', date: 'date', timestamp: 'timestamp' };

/** The declared columns as a converter seed: they take their declared kind whatever the rows hold. */
export function declaredColumns(columns: Record<string, DeclaredType> | undefined): ColumnSpec[] {
  return Object.entries(columns ?? {}).map(([field, type]) => ({ name: field, path: [field], kind: KIND[type] }));
}

/**
 * The converter's seed: the current table's columns, a declared column taking its declared kind
 * (a declaration changed since the table was written wins; the run is then a full one, see
 * state.ts), and declared columns the table lacks after them.
 */
export function seedColumns(previous: readonly ColumnSpec[] | undefined, columns: Record<string, DeclaredType> | undefined): ColumnSpec[] | undefined {
  const declared = declaredColumns(columns);
  if (declared.length === 0) return previous ? [...previous] : undefined;
  const byField = new Map(declared.map((c) => [c.path[0], c]));
  const seed = (previous ?? []).map((c) => (c.path.length === 1 && byField.has(c.path[0]) ? { ...c, kind: byField.get(c.path[0])!.kind, element: undefined } : c));
  const present = new Set(seed.filter((c) => c.path.length === 1).map((c) => c.path[0]));
  return [...seed, ...declared.filter((c) => !present.has(c.path[0]))];
}

/**
 * A function that types the declared fields of an item in place and returns it; a value that does
 * not fit throws naming the column, the type and the value (the caller adds the endpoint and key).
 * MySQL's zero dates (`0000-00-00`, `0000-00-00 00:00:00`), which `$wpdb` returns for unset
 * dates, become null.
 */
export function itemTyper(columns: Record<string, DeclaredType> | undefined): ((item: Record<string, unknown>) => Record<string, unknown>) | undefined {
  const entries = Object.entries(columns ?? {});
  if (entries.length === 0) return undefined;
  const parse = timestampParser();
  const INTEGER = /^\s*[-+]?\d+\s*$/;
  const DECIMAL = /^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/;
  const DATE_TIME = /^(\d{4}-\d{2}-\d{2})(?:[ T](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?))?\s*(Z|[+-]\d{2}:?\d{2})?$/;
  const misfit = (field: string, type: string, value: unknown): never => {
    throw new Error(`column ${field} is declared ${type} but holds ${JSON.stringify(value)}; fix the value at the source or the type in the endpoint's columns`);
  };
  /** A date-time text as `YYYY-MM-DDTHH:MM:SS[.fff]`, in UTC when it carried an offset; null for a zero date. */
  const dateTime = (field: string, type: string, text: string): string | null => {
    const match = DATE_TIME.exec(text.trim());
    if (!match) return misfit(field, type, text);
    if (match[1] === '0000-00-00') return null;
    const time = match[2] === undefined ? '00:00:00' : match[2].length === 5 ? `${match[2]}:00` : match[2];
    const offset = match[3] === undefined ? '' : match[3] === 'Z' ? 'Z' : `${match[3].slice(0, 3)}:${match[3].slice(-2)}`;
    const parsed = parse(`${match[1]}T${time}${offset}`);
    if (!parsed) return misfit(field, type, text);
    const iso = new Date(parsed.millis).toISOString();
    return iso.endsWith('.000Z') ? iso.slice(0, 19) : iso.slice(0, 23);
  };
  const convert: Record<DeclaredType, (field: string, value: unknown) => unknown> = {
    bigint: (field, value) => {
      const number = typeof value === 'string' && INTEGER.test(value) ? Number(value) : value;
      return typeof number === 'number' && Number.isSafeInteger(number) ? number : misfit(field, 'bigint', value);
    },
    double: (field, value) => {
      const number = typeof value === 'string' && DECIMAL.test(value) ? Number(value) : value;
      return typeof number === 'number' && Number.isFinite(number) ? number : misfit(field, 'double', value);
    },
    boolean: (field, value) => {
      if (typeof value === 'boolean') return value;
      const text = String(value).trim().toLowerCase();
      if ((typeof value === 'number' || typeof value === 'string') && (text === '1' || text === 'true')) return true;
      if ((typeof value === 'number' || typeof value === 'string') && (text === '0' || text === 'false')) return false;
      return misfit(field, 'boolean', value);
    },
    string: (field, value) => (typeof value === 'string' ? value : typeof value === 'number' || typeof value === 'boolean' ? String(value) : misfit(field, 'string', value)),
    date: (field, value) => {
      if (typeof value !== 'string') return misfit(field, 'date', value);
      const text = dateTime(field, 'date', value);
      // A date with a time of day other than midnight would lose it: that is a timestamp.
      if (text !== null && text.length !== 19) return misfit(field, 'date', value);
      if (text !== null && !text.endsWith('T00:00:00')) return misfit(field, 'date', value);
      return text === null ? null : text.slice(0, 10);
    },
    timestamp: (field, value) => (typeof value === 'string' ? dateTime(field, 'timestamp', value) : misfit(field, 'timestamp', value)),
  };
  return (item) => {
    for (const [field, type] of entries) {
      const value = item[field];
      if (value !== undefined && value !== null) item[field] = convert[type](field, value);
    }
    return item;
  };
}
