import type { Row } from './derive';

/**
 * Bronze values as silver types them: WordPress' `0` for "none" (parent, featured_media, post)
 * becomes `null`, ids a custom endpoint sends as strings become numbers, `*_gmt` values (UTC
 * without a zone in the API) become instants, percent-encoded unicode slugs are decoded, and
 * objects bronze keeps as JSON text (deep or mixed ones, lake/table.ts) are read through.
 *
 * Made by a factory, once per build, for the reason text.ts gives.
 */

export interface BronzeValues {
  /** The value at `path`, reading through nested objects or the JSON text bronze keeps deep or mixed ones as. */
  at(row: Row, ...path: string[]): unknown;
  /** A positive id, or null for WordPress' 0, a missing key or a non-number. */
  idOf(value: unknown): number | null;
  intOf(value: unknown): number | null;
  /** The ids of a list column (a list, or the JSON text `[]` of one that was always empty). */
  idsOf(value: unknown): number[];
  /** `2024-03-01T09:30:00` (UTC by the API's `*_gmt` contract) as the instant `2024-03-01T09:30:00Z`. */
  utc(value: unknown): string | null;
  slugOf(value: unknown): string | null;
  bool(value: unknown): boolean | null;
}

export function bronzeValues(): BronzeValues {
  function at(row: Row, ...path: string[]): unknown {
    let value: unknown = row;
    for (const key of path) {
      if (typeof value === 'string' && value.startsWith('{')) {
        try {
          value = JSON.parse(value);
        } catch {
          return undefined;
        }
      }
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
      value = (value as Row)[key];
    }
    return value;
  }

  function idOf(value: unknown): number | null {
    const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
    return typeof n === 'number' && Number.isSafeInteger(n) && n > 0 ? n : null;
  }

  function intOf(value: unknown): number | null {
    const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
    return typeof n === 'number' && Number.isSafeInteger(n) ? n : null;
  }

  function idsOf(value: unknown): number[] {
    let items = value;
    if (typeof items === 'string') {
      try {
        items = JSON.parse(items);
      } catch {
        return [];
      }
    }
    return Array.isArray(items) ? items.map(idOf).filter((id): id is number => id !== null) : [];
  }

  function utc(value: unknown): string | null {
    if (typeof value !== 'string' || value === '') return null;
    return /(?:Z|[+-]\d\d:\d\d)$/.test(value) ? value : `${value}Z`;
  }

  function slugOf(value: unknown): string | null {
    if (typeof value !== 'string') return null;
    try {
      return decodeURIComponent(value);
    } catch {
      return value;
    }
  }

  const bool = (value: unknown) => (typeof value === 'boolean' ? value : null);

  return { at, idOf, intOf, idsOf, utc, slugOf, bool };
}
