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

export interface ParsedTimestamp {
  /** Milliseconds since the epoch of the wall-clock fields (naive) or of the instant (with offset). */
  millis: number;
  /** True when the text carried `Z` or an offset. */
  instant: boolean;
}

/**
 * A function answering the timestamp a string denotes, or undefined when it is not a strict, valid
 * ISO date-time. The converter makes one per conversion and calls it for every value of a
 * timestamp column, instead of calling module-level functions: Pulumi's closure serializer emits
 * each module-level function as a wrapper that rebuilds a `with` scope and a closure on every call,
 * while functions made at run time are plain closures (the serialized converter ran 4x slower than
 * the same code bundled).
 */
export function timestampParser(): (text: string) => ParsedTimestamp | undefined {
  const floor = Math.floor;
  /** The value of the ASCII digits of `text` from `at` to `at + count`, or -1 if any is not a digit. */
  function digits(text: string, at: number, count: number): number {
    let value = 0;
    for (let i = at; i < at + count; i++) {
      const d = text.charCodeAt(i) - 0x30;
      if (d < 0 || d > 9) return -1;
      value = value * 10 + d;
    }
    return value;
  }

  /** Days from 1970-01-01 to a proleptic Gregorian date (Hinnant's days_from_civil), as Date counts them. */
  function daysFromCivil(year: number, month: number, day: number): number {
    const y = month <= 2 ? year - 1 : year;
    const era = floor(y / 400);
    const yoe = y - era * 400;
    const doy = floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
    const doe = yoe * 365 + floor(yoe / 4) - floor(yoe / 100) + doy;
    return era * 146097 + doe - 719468;
  }

  function daysInMonth(year: number, month: number): number {
    if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
    return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
  }

  return function parseTimestamp(text: string): ParsedTimestamp | undefined {
    // `YYYY-MM-DDTHH:MM:SS`, then `.f`..`.fff`, then `Z` or `±hh:mm`: read by hand, once per value
    // of every timestamp column, where a regex and a Date per value were a tenth of a conversion.
    const length = text.length;
    if (length < 19 || length > 29 || text.charCodeAt(4) !== 0x2d || text.charCodeAt(7) !== 0x2d || text.charCodeAt(10) !== 0x54
      || text.charCodeAt(13) !== 0x3a || text.charCodeAt(16) !== 0x3a) return;
    const year = digits(text, 0, 4);
    const month = digits(text, 5, 2);
    const day = digits(text, 8, 2);
    const hour = digits(text, 11, 2);
    const minute = digits(text, 14, 2);
    const second = digits(text, 17, 2);
    if (year < 0 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return;
    if (hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59) return;
    let at = 19;
    let ms = 0;
    if (text.charCodeAt(at) === 0x2e) {
      let count = 0;
      while (count < 3 && at + 1 + count < length) {
        const d = text.charCodeAt(at + 1 + count) - 0x30;
        if (d < 0 || d > 9) break;
        ms = ms * 10 + d;
        count++;
      }
      if (count === 0) return;
      ms *= count === 1 ? 100 : count === 2 ? 10 : 1;
      at += 1 + count;
    }
    const millis = ((daysFromCivil(year, month, day) * 24 + hour) * 60 + minute) * 60_000 + second * 1000 + ms;
    if (at === length) return { millis, instant: false };
    const zone = text.charCodeAt(at);
    if (zone === 0x5a && at + 1 === length) return { millis, instant: true };
    if ((zone !== 0x2b && zone !== 0x2d) || at + 6 !== length || text.charCodeAt(at + 3) !== 0x3a) return;
    const oh = digits(text, at + 1, 2);
    const om = digits(text, at + 4, 2);
    if (oh < 0 || om < 0 || oh > 23 || om > 59) return;
    const sign = zone === 0x2d ? -1 : 1;
    return { millis: millis - sign * (oh * 60 + om) * 60_000, instant: true };
  };
}
