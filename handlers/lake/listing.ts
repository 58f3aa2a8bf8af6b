/**
 * The listing of an incremental run, and what it is compared with. WordPress bumps
 * `post_modified` only in `wp_update_post`: post meta, the featured image, term assignments,
 * `stick_post` and a deleted term change what the API serves without a new `modified_gmt`, so a
 * `modified_after` delta misses them. Each run therefore lists every public item with the
 * collection's small fields (the projection, read from the route's own schema so custom
 * taxonomies and registered meta are covered), and bronze keeps a digest of those fields per id
 * as last landed; an item whose listed fields differ from its digest is fetched again.
 *
 * What no listing shows is server-rendered HTML that depends on other data (dynamic blocks): only
 * a full refresh sees it, and counts it (`restated`).
 */

import { idListsSorter } from './merge';

/** What the state keeps of the last landed listing: its fields, and a digest of them per id. */
export interface ListingDigests {
  fields: string[];
  /** JSON text of the id -> 16 hex digits of the projected fields. */
  hashes: Record<string, string>;
}

/**
 * The projection of a collection, from its schema (the route's OPTIONS answer): every top-level
 * property served in the `view` context but the rendered HTML objects (`{ rendered }`: title,
 * content, excerpt, guid, caption, description), which carry the bulk of an item and change only
 * through `wp_update_post` or through other data that no listing shows. Undefined when the answer
 * holds no schema with an `id`.
 */
export function projectionOf(answer: unknown): string[] | undefined {
  const properties = (answer as { schema?: { properties?: unknown } } | null)?.schema?.properties;
  if (typeof properties !== 'object' || properties === null || !Object.hasOwn(properties, 'id')) return undefined;
  const fields: string[] = [];
  for (const [name, property] of Object.entries(properties as Record<string, { context?: unknown; properties?: Record<string, unknown> } | null>)) {
    if (name.startsWith('_')) continue;
    const context = property?.context;
    if (Array.isArray(context) && !context.includes('view')) continue;
    if (property?.properties && Object.hasOwn(property.properties, 'rendered')) continue;
    fields.push(name);
  }
  return fields.sort();
}

/** The digest of an item's projected fields (from a full item or a listed one alike). */
export function projectionDigest(fields: readonly string[]): (item: Record<string, unknown>) => string {
  const { hash } = require('node:crypto') as typeof import('node:crypto');
  const stringify = JSON.stringify;
  const sortIdLists = idListsSorter();
  return (item) => {
    const picked: Record<string, unknown> = {};
    for (const field of fields) picked[field] = item[field] ?? null;
    return hash('sha256', stringify(sortIdLists(picked)), 'hex').slice(0, 16);
  };
}

/** Whether two projections list the same fields. */
export function sameFields(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((field, i) => field === b[i]);
}
