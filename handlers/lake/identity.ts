/**
 * What makes two rows of an endpoint the same row across runs: a key (`id` for WordPress
 * collections, or the endpoint's configured `primaryKey`), or, for an endpoint with neither, the
 * row's whole content. The merge matches previous rows to fetched items by it, so lineage, the
 * upserted/deleted counts and `<name>_deletions` mean the same thing for every endpoint.
 */

export type Identity =
  /**
   * Rows match on these top-level fields. `strict`: every row must have them, and no two rows the
   * same values (a configured key, or an `id` found unique); otherwise a row without them is kept
   * as a new row each run (a wp/v2 collection, whose crawl already drops repeated ids).
   */
  | { kind: 'key'; fields: string[]; strict: boolean }
  /** Rows match on their content: a changed row is one deletion and one insertion. */
  | { kind: 'content' };

/** WordPress' own collections: `id`, unique by construction (the crawl drops repeats). */
export const BY_ID: Identity = { kind: 'key', fields: ['id'], strict: false };

/** `id`, or `(object_id, term_taxonomy_id)`: how errors and logs name a key. */
export function describeKey(fields: readonly string[]): string {
  return fields.length === 1 ? fields[0] : `(${fields.join(', ')})`;
}

/** A row's text for an error message, cut to a readable length. */
function excerpt(row: unknown): string {
  const text = JSON.stringify(row);
  return text.length > 200 ? `${text.slice(0, 200)}...` : text;
}

/**
 * The key of a row under a key identity, as the JSON text of its value (one field) or of its
 * values (several), so 5 and "5" stay apart; undefined when a field is missing or null, which a
 * strict identity refuses with the field and the row.
 */
export function keyReader(identity: Extract<Identity, { kind: 'key' }>): { key(row: Record<string, unknown>, index: number): string | undefined; values(row: Record<string, unknown>): unknown } {
  const { fields, strict } = identity;
  const stringify = JSON.stringify;
  const single = fields.length === 1 ? fields[0] : undefined;
  const missing = (row: Record<string, unknown>, index: number, field: string): undefined => {
    if (!strict) return undefined;
    throw new Error(`row ${index} has no value for ${field}, part of the primary key ${describeKey(fields)}: ${excerpt(row)}. Every row needs the key's fields: fix primaryKey in the endpoint's spec, or leave it out to identify rows by content`);
  };
  const scalar = (value: unknown) => value === null || typeof value !== 'object';
  return {
    key(row, index) {
      if (single !== undefined) {
        const value = row[single];
        if (value === undefined || value === null) return missing(row, index, single);
        if (strict && !scalar(value)) throw new Error(`row ${index}: ${single}, the primary key, is ${excerpt(value)}, not a number or text: name scalar fields in primaryKey`);
        return stringify(value);
      }
      const values: unknown[] = [];
      for (const field of fields) {
        const value = row[field];
        if (value === undefined || value === null) return missing(row, index, field);
        if (!scalar(value)) throw new Error(`row ${index}: ${field}, part of the primary key ${describeKey(fields)}, is ${excerpt(value)}, not a number or text: name scalar fields in primaryKey`);
        values.push(value);
      }
      return stringify(values);
    },
    values: (row) => (single !== undefined ? row[single] : fields.map((field) => row[field])),
  };
}

/** The error of a strict key seen on two rows of one fetch. */
export function duplicateKey(fields: readonly string[], key: string): Error {
  return new Error(`the primary key ${describeKey(fields)} = ${key} is on more than one row of this fetch; nothing was replaced. Name fields that are unique together in primaryKey, or leave it out to identify rows by content`);
}

/**
 * Numbers repeated keys by occurrence (`h#0`, `h#1`...): with content identity two identical rows
 * are two rows, each matched to one identical previous row.
 */
export function occurrences(): (key: string) => string {
  const counts = new Map<string, number>();
  return (key) => {
    const n = counts.get(key) ?? 0;
    counts.set(key, n + 1);
    return `${key}#${n}`;
  };
}

/** The columns of a `<name>_deletions` row that say which row left: the key's fields, or the row's hash and content. */
export function deletedKeyColumns(identity: Identity, value: unknown): Record<string, unknown> {
  if (identity.kind === 'content') return value as Record<string, unknown>;
  if (identity.fields.length === 1) return { [identity.fields[0]]: value };
  const values = value as unknown[];
  return Object.fromEntries(identity.fields.map((field, i) => [field, values[i]]));
}

/**
 * The identity of an endpoint with no configured key, from its items: `id` when every item has a
 * scalar `id` and no two the same, otherwise the content.
 */
export async function inferIdentity(items: AsyncIterable<unknown>): Promise<Identity> {
  const seen = new Set<string>();
  for await (const item of items) {
    const id = (item as { id?: unknown } | null)?.id;
    if (id === undefined || id === null || typeof id === 'object') return { kind: 'content' };
    const key = JSON.stringify(id);
    if (seen.has(key)) return { kind: 'content' };
    seen.add(key);
  }
  return { kind: 'key', fields: ['id'], strict: true };
}
