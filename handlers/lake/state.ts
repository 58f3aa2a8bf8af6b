/**
 * The per-endpoint state that makes a run incremental, stored by bronze once a run has landed
 * (so the mark only ever advances past data that is in the table) and read by raw at the start
 * of the next run. Pure: parsing, the mark arithmetic and the compact id set.
 */
import type { ListingDigests } from './listing';
import { sameFields } from './listing';

export interface EndpointState {
  version: 1;
  endpoint: string;
  /**
   * The greatest `modified_gmt` in the table, as an ISO instant (`...Z`); undefined when the
   * endpoint's items carry no modification time.
   */
  mark?: string;
  /** Every item of the last full crawl had a `modified_gmt`: the endpoint can be fetched by delta. */
  tracksModified: boolean;
  /** Fetch time of the last full crawl that landed. */
  lastFullAt: string;
  lastRunId: string;
  updatedAt: string;
  /** Rows in the table after the last run. */
  rows: number;
  /** The table's ids as sorted, inclusive `[first, last]` ranges of integers (tracked endpoints only). */
  ids?: Array<[number, number]>;
  /** The projected fields of the table's rows as last listed or fetched (tracked endpoints only; listing.ts). */
  listing?: ListingDigests;
  /** The endpoint's `primaryKey` and `columns` the table was built with (declared.ts), `''` when none. */
  declared?: string;
}

/** Why a run is full, or undefined when it may be incremental. */
export function fullRefreshReason(
  state: EndpointState | undefined,
  options: {
    requested: boolean;
    paginated: boolean;
    fullRefreshDays: number;
    now: string;
    stateError?: string;
    /** The endpoint's `declared` text now. */
    declared: string;
    /** The collection's projection now (listing.ts); undefined when its schema could not be read. */
    projection?: readonly string[];
  },
): string | undefined {
  if (options.requested) return 'full refresh requested';
  if (!options.paginated) return 'not a paginated collection';
  if (options.stateError) return `state unreadable (${options.stateError})`;
  if (!state) return 'first run (no state)';
  if (!state.tracksModified) return 'items carry no modified_gmt';
  if (!state.mark) return 'no high-water mark';
  if ((state.declared ?? '') !== options.declared) return 'primaryKey or columns changed since the table was built';
  if (!options.projection) return "the route's schema (OPTIONS) could not be read, so changes WordPress makes without a new modified_gmt cannot be listed";
  if (!state.listing) return 'no listing digests in the state yet';
  if (!sameFields(state.listing.fields, options.projection)) return `the collection's fields changed (${fieldChange(state.listing.fields, options.projection)})`;
  if (options.fullRefreshDays === 0) return 'fullRefreshDays is 0';
  const age = Date.parse(options.now) - Date.parse(state.lastFullAt);
  if (!(age < options.fullRefreshDays * 86_400_000)) return `last full crawl ${state.lastFullAt} is ${options.fullRefreshDays} or more days old`;
  return undefined;
}

function fieldChange(before: readonly string[], now: readonly string[]): string {
  const added = now.filter((field) => !before.includes(field));
  const removed = before.filter((field) => !now.includes(field));
  return [added.length > 0 && `new: ${added.join(', ')}`, removed.length > 0 && `gone: ${removed.join(', ')}`].filter(Boolean).join('; ');
}

/** Checks a stored state document; throws with what is wrong, so raw can fall back to a full crawl. */
export function parseState(text: string, endpoint: string): EndpointState {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new Error(`not JSON (${(error as Error).message})`);
  }
  const s = value as Partial<EndpointState> | null;
  if (!s || typeof s !== 'object' || s.version !== 1) throw new Error('not a version 1 state document');
  if (s.endpoint !== endpoint) throw new Error(`it belongs to endpoint ${JSON.stringify(s.endpoint)}`);
  if (typeof s.tracksModified !== 'boolean' || typeof s.lastFullAt !== 'string' || Number.isNaN(Date.parse(s.lastFullAt))) {
    throw new Error('tracksModified or lastFullAt is missing or invalid');
  }
  if (s.mark !== undefined && (typeof s.mark !== 'string' || !/Z$/.test(s.mark) || Number.isNaN(Date.parse(s.mark)))) {
    throw new Error(`mark ${JSON.stringify(s.mark)} is not an ISO instant`);
  }
  if (s.ids !== undefined && (!Array.isArray(s.ids) || !s.ids.every((r) => Array.isArray(r) && r.length === 2 && Number.isSafeInteger(r[0]) && Number.isSafeInteger(r[1]) && r[0] <= r[1]))) {
    throw new Error('ids is not a list of [first, last] integer ranges');
  }
  if (s.listing !== undefined && (typeof s.listing !== 'object' || s.listing === null || !Array.isArray(s.listing.fields) || typeof s.listing.hashes !== 'object' || s.listing.hashes === null)) {
    throw new Error('listing is not { fields, hashes }');
  }
  return s as EndpointState;
}

/**
 * `modified_gmt` as an instant. WordPress sends it without an offset, in UTC; anything else
 * (missing, `0000-00-00...` of a draft, garbage) is undefined.
 */
export function modifiedInstant(item: unknown): string | undefined {
  const value = (item as { modified_gmt?: unknown } | null)?.modified_gmt;
  if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/.test(value)) return undefined;
  const millis = Date.parse(`${value}Z`);
  return Number.isNaN(millis) ? undefined : new Date(millis).toISOString().replace('.000Z', 'Z');
}

/** The later of two instants (either may be missing). */
export function laterMark(a: string | undefined, b: string | undefined): string | undefined {
  if (!a) return b;
  if (!b) return a;
  return Date.parse(b) > Date.parse(a) ? b : a;
}

/**
 * The `modified_after` of an incremental request: the mark minus the overlap, as an instant with
 * `Z`. WordPress (5.7+, WP_REST_Posts_Controller::get_items) compares it with `post_modified`, the
 * site's local time, after WP_Date_Query::build_mysql_datetime() has parsed it with
 * date_create($value, wp_timezone()) and converted it to the site's zone. An explicit `Z` is
 * therefore honoured in any site time zone, whereas an offset-less value would be read as local
 * time and be off by the site's UTC offset. The overlap also covers the hour that repeats when
 * the site's clocks go back (post_modified is ambiguous there) and clock skew between requests.
 */
export function modifiedAfter(mark: string, overlapMinutes: number): string {
  return new Date(Date.parse(mark) - overlapMinutes * 60_000).toISOString().replace('.000Z', 'Z');
}

/** Sorted inclusive ranges of the integer ids among `ids` (others are left out). */
export function toRanges(ids: Iterable<unknown>): Array<[number, number]> {
  const sorted = [...new Set([...ids].filter((id): id is number => Number.isSafeInteger(id)))].sort((a, b) => a - b);
  const ranges: Array<[number, number]> = [];
  for (const id of sorted) {
    const last = ranges.at(-1);
    if (last && id === last[1] + 1) last[1] = id;
    else ranges.push([id, id]);
  }
  return ranges;
}

/** Whether `id` is in the ranges (binary search). */
export function inRanges(ranges: ReadonlyArray<readonly [number, number]>, id: number): boolean {
  let lo = 0;
  let hi = ranges.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (id < ranges[mid][0]) hi = mid - 1;
    else if (id > ranges[mid][1]) lo = mid + 1;
    else return true;
  }
  return false;
}
