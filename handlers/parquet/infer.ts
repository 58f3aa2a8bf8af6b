import { binaryString, realString } from './binary';
import { sanitizeColumnName, uniqueNames } from './names';
import { timestampParser } from './timestamps';

/**
 * Type inference over every row (pass 1 of a conversion). Each JSON path collects what it has
 * seen; the column types are decided only once all rows are in, so the schema does not depend
 * on which rows come first, and every value of the file fits it without loss.
 */

export type ScalarKind = 'boolean' | 'int64' | 'double' | 'string' | 'date' | 'timestamp' | 'timestamp_utc';
export type ListElementKind = 'boolean' | 'int64' | 'double' | 'string';
export type ColumnKind = ScalarKind | 'json' | 'list';

export interface ColumnSpec {
  /** Unique Athena-safe name. */
  name: string;
  /** JSON keys from the row down to the value. */
  path: string[];
  kind: ColumnKind;
  /** Element type of a `list` column. */
  element?: ListElementKind;
}

export interface InferOptions {
  /**
   * Objects at a path of at most this many keys are flattened into columns; deeper objects are
   * kept whole as JSON text. 0 keeps every top-level object as JSON.
   * @default 3
   */
  maxDepth?: number;
  /**
   * Rows hold keys and strings in binary form (binary.ts). Paths given to `seed` and answered by
   * `columns` are real text either way.
   * @default false
   */
  binary?: boolean;
}

interface Seen {
  boolean: boolean;
  int: boolean;
  double: boolean;
  string: boolean;
  /** Every string so far is an offset-less ISO date-time. */
  naive: boolean;
  /** Every string so far is an ISO date-time with `Z` or an offset. */
  instant: boolean;
  /**
   * Declared a date (an endpoint's `columns`): never inferred, since a text that reads as a date
   * in one row may be a code or a label in the next; set only by a seed of kind `date`.
   */
  date: boolean;
  object: boolean;
  emptyArray: boolean;
  /** A non-empty array. */
  array: boolean;
  /** An array holding an object or an array. */
  nestedArray: boolean;
  children: Map<string, Seen>;
  /** What the elements of scalar arrays were. */
  element?: Seen;
}

function seen(): Seen {
  return {
    boolean: false, int: false, double: false, string: false, naive: true, instant: true, date: false,
    object: false, emptyArray: false, array: false, nestedArray: false, children: new Map(),
  };
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Counts what observing changed, so that the schema is computed again only when it can differ. */
interface Tracker {
  changes: number;
}

type Flag = 'boolean' | 'int' | 'double' | 'string' | 'object' | 'emptyArray' | 'array' | 'nestedArray';

function hasScalar(node: Seen): boolean {
  return node.boolean || node.int || node.double || node.string;
}

/** The narrowest type that holds every scalar seen: int+double widen to double, any other mix to string. */
function scalarKind(node: Seen): ScalarKind {
  const kinds = [node.boolean, node.int || node.double, node.string].filter(Boolean).length;
  if (kinds !== 1) return 'string';
  if (node.boolean) return 'boolean';
  if (node.double) return 'double';
  if (node.int) return 'int64';
  if (node.date) return 'date';
  if (node.naive) return 'timestamp';
  if (node.instant) return 'timestamp_utc';
  return 'string';
}

interface Draft {
  path: string[];
  kind: ColumnKind;
  element?: ListElementKind;
}

function resolve(node: Seen, path: string[], depth: number, maxDepth: number, out: Draft[]): void {
  const scalar = hasScalar(node);
  if (node.object) {
    // PHP encodes an empty associative array as `[]`, so WordPress sends `meta: []` where it
    // means "an object with no keys": an empty array next to objects is an empty object.
    const struct = !scalar && !node.array && depth <= maxDepth && node.children.size > 0;
    if (!struct) {
      out.push({ path, kind: 'json' });
      return;
    }
    for (const [key, child] of node.children) resolve(child, [...path, key], depth + 1, maxDepth, out);
    return;
  }
  if (node.array || node.emptyArray) {
    // A list that was always empty has no element type to declare; JSON text keeps the `[]`.
    if (scalar || node.nestedArray || !node.element) {
      out.push({ path, kind: 'json' });
      return;
    }
    const kind = scalarKind(node.element);
    const element: ListElementKind = kind === 'timestamp' || kind === 'timestamp_utc' || kind === 'date' ? 'string' : kind;
    out.push({ path, kind: 'list', element });
    return;
  }
  // Always null or missing: still a column, typed as the most general scalar.
  out.push({ path, kind: scalar ? scalarKind(node) : 'string' });
}

/** Marks `node` as having held every value of a column of `kind`, so the type never narrows. */
function seedNode(node: Seen, kind: ColumnKind, element: ListElementKind | undefined): void {
  switch (kind) {
    case 'boolean':
      node.boolean = true;
      return;
    case 'int64':
      node.int = true;
      return;
    case 'double':
      node.double = true;
      return;
    case 'timestamp':
      node.string = true;
      node.instant = false;
      return;
    case 'timestamp_utc':
      node.string = true;
      node.naive = false;
      return;
    case 'date':
      node.string = true;
      node.date = true;
      return;
    case 'string':
      node.string = true;
      node.naive = false;
      node.instant = false;
      return;
    case 'json':
      // An object next to a scalar is what resolve() keeps as JSON text.
      node.object = true;
      node.string = true;
      node.naive = false;
      node.instant = false;
      return;
    case 'list':
      node.array = true;
      seedNode((node.element ??= seen()), element ?? 'string', undefined);
      return;
  }
}

/** Collects rows one at a time, then decides the columns. */
export interface SchemaInference {
  /**
   * Starts from an earlier schema (the table's, before a merge): its columns come first, in its
   * order and with its names, and no column narrows or disappears, whatever the rows hold.
   */
  seed(columns: readonly ColumnSpec[]): void;
  observe(row: Record<string, unknown>): void;
  /** Columns in first-seen order, with unique sanitized names. */
  columns(): ColumnSpec[];
  /** Grows whenever observing or seeding changes what was seen: the same count, the same columns. */
  version(): number;
}

/** A schema inference over rows, from nothing or from a seed; the per-value work is valueObserver's. */
export function createSchemaInference(options: InferOptions = {}): SchemaInference {
  const maxDepth = options.maxDepth ?? 3;
  const toRows = options.binary ? binaryString : (key: string) => key;
  const fromRows = options.binary ? realString : (key: string) => key;
  const root = seen();
  const tracker: Tracker = { changes: 0 };
  const observe = valueObserver(maxDepth, tracker);
  return {
    seed(columns) {
      for (const column of columns) seedNode(pathNode(root, column.path.map(toRows)), column.kind, column.element);
      tracker.changes++;
    },
    observe(row) {
      observe(root, row, 0);
    },
    version: () => tracker.changes,
    columns() {
      const drafts: Draft[] = [];
      for (const [key, child] of root.children) resolve(child, [key], 1, maxDepth, drafts);
      for (const draft of drafts) draft.path = draft.path.map(fromRows);
      const names = uniqueNames(drafts.map((d) => sanitizeColumnName(d.path)));
      return drafts.map((d, i) => ({ name: names[i], ...d }));
    },
  };
}

/** The node of `path` under `root`, made (as objects' children) where missing. */
function pathNode(root: Seen, path: readonly string[]): Seen {
  let node = root;
  for (const key of path) {
    node.object = true;
    let next = node.children.get(key);
    if (!next) node.children.set(key, (next = seen()));
    node = next;
  }
  return node;
}

/**
 * Records a value, and everything under it, in the node of its path, counting in `tracker` what
 * that changed. The per-value work lives in closures made here, with the built-ins they call read
 * into locals, not in module-level functions: in the Lambda, Pulumi's closure serializer emits a
 * module-level function as a wrapper that rebuilds a `with` scope and a closure on every call (see
 * timestampParser).
 */
function valueObserver(maxDepth: number, tracker: Tracker): (node: Seen, value: unknown, depth: number) => void {
  const parseTimestamp = timestampParser();
  const { isArray } = Array;
  const { isSafeInteger } = Number;

  const set = (node: Seen, flag: Flag): void => {
    if (node[flag]) return;
    node[flag] = true;
    tracker.changes++;
  };

  const observeScalar = (node: Seen, value: unknown): void => {
    switch (typeof value) {
      case 'boolean':
        set(node, 'boolean');
        return;
      case 'number':
        // Beyond 2^53 JSON.parse has already rounded the integer; DOUBLE says so honestly.
        set(node, isSafeInteger(value) ? 'int' : 'double');
        return;
      case 'string': {
        set(node, 'string');
        // Once a path has held a string that is no timestamp, no later string can make it one:
        // skipping the parse keeps HTML bodies from going through the date-time check.
        if (!node.naive && !node.instant) return;
        const ts = parseTimestamp(value);
        if (node.naive && (!ts || ts.instant)) {
          node.naive = false;
          tracker.changes++;
        }
        if (node.instant && (!ts || !ts.instant)) {
          node.instant = false;
          tracker.changes++;
        }
        return;
      }
    }
  };

  const observe = (node: Seen, value: unknown, depth: number): void => {
    if (value == null) return;
    if (isArray(value)) {
      if (value.length === 0) {
        set(node, 'emptyArray');
        return;
      }
      set(node, 'array');
      for (const item of value) {
        if (typeof item === 'object' && item !== null) {
          set(node, 'nestedArray');
        } else if (item !== null) {
          if (!node.element) {
            node.element = seen();
            tracker.changes++;
          }
          observeScalar(node.element, item);
        }
      }
      return;
    }
    if (typeof value === 'object') {
      set(node, 'object');
      if (depth > maxDepth) return;
      for (const key in value) {
        const child = (value as Record<string, unknown>)[key];
        let next = node.children.get(key);
        if (!next) {
          node.children.set(key, (next = seen()));
          tracker.changes++;
        }
        observe(next, child, depth + 1);
      }
      return;
    }
    observeScalar(node, value);
  };
  return observe;
}

/** Shortcut for tests and small inputs: the columns of an in-memory array of rows. */
export function inferColumns(rows: Iterable<Record<string, unknown>>, options?: InferOptions): ColumnSpec[] {
  const inference = createSchemaInference(options);
  for (const row of rows) inference.observe(row);
  return inference.columns();
}
