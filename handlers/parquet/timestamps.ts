/**
 * Strict ISO-8601 date-times, the only strings that become TIMESTAMP columns.
 *
 * WordPress sends `date`/`modified` as wall-clock time in the site's time zone without an offset,
 * and `date_gmt`/`modified_gmt` as UTC, also without an offset. Neither carries a zone we could
 * trust, so offset-less values are stored as they read: a Parquet TIMESTAMP with
 * `isAdjustedToUTC = false` (a "local" timestamp) holding the same wall-clock fields. No zone
 * conversion happens, so `date` and `date_gmt` still differ by the site's offset, as in the API.
 * Values that carry `Z` or `±hh:mm` are instants and are stored UTC-adjusted.
 *
 * Milliseconds are the finest unit hyparquet-writer converts from a Date, so a string with more
 * than three fractional digits stays a string rather than losing precision.
 */

const ISO = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))?(Z|[+-]\d{2}:\d{2})?$/;

export interface ParsedTimestamp {
  /** Milliseconds since the epoch of the wall-clock fields (naive) or of the instant (with offset). */
  millis: number;
  /** True when the text carried `Z` or an offset. */
  instant: boolean;
}

/** The timestamp a string denotes, or undefined when it is not a strict, valid ISO date-time. */
export function parseTimestamp(text: string): ParsedTimestamp | undefined {
  // Most strings are not date-times: the fixed `-` and `T` reject them before the regex runs.
  if (text.length < 19 || text.length > 29 || text.charCodeAt(4) !== 0x2d || text.charCodeAt(10) !== 0x54) return undefined;
  const m = ISO.exec(text);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number);
  const ms = m[7] ? Number(m[7].padEnd(3, '0')) : 0;
  // setUTCFullYear, unlike Date.UTC, does not map years 0..99 to 1900..1999.
  const check = new Date(0);
  check.setUTCFullYear(year, month - 1, day);
  check.setUTCHours(hour, minute, second, ms);
  const millis = check.getTime();
  // Dates roll 2024-02-30 over into March: a value that does not read back is not a date.
  if (check.getUTCFullYear() !== year || check.getUTCMonth() !== month - 1 || check.getUTCDate() !== day) return undefined;
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  const zone = m[8];
  if (!zone) return { millis, instant: false };
  if (zone === 'Z') return { millis, instant: true };
  const sign = zone.startsWith('-') ? -1 : 1;
  const [oh, om] = zone.slice(1).split(':').map(Number);
  if (oh > 23 || om > 59) return undefined;
  return { millis: millis - sign * (oh * 60 + om) * 60_000, instant: true };
}
