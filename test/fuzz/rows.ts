/**
 * Seeded random JSON arrays of objects in the shapes WordPress and custom endpoints produce, and
 * worse: keys whose types drift between rows and between row groups, nulls and missing keys, empty
 * and nested objects and arrays beyond maxDepth, PHP's `[]` for an empty object, unicode (literal and
 * as `\u` escapes, lone surrogates too), very long strings, integers at the 2^53 and int64 edges,
 * floats, booleans, every timestamp form handlers/parquet/timestamps.ts parses and near misses, and
 * keys that collide once sanitised (`a.b`, `a_b`, `A-B`) or are Object.prototype's names.
 *
 * The generator writes JSON text itself, so that number literals (`9223372036854775807`, `-0.0`,
 * `1E400`...) and escapes reach the converter as written; the expectation is computed from
 * JSON.parse of the same text (fuzz/expected.ts).
 */

import type { ColumnSpec } from '../../handlers/parquet/infer';
import { prng } from '../../local/demo-site/posts';

/** A case: the JSON text of the array and how to convert it. */
export interface FuzzCase {
  seed: number;
  text: string;
  rowGroupSize: number;
  maxDepth: number;
  codec: 'zstd' | 'snappy';
  /** Columns declared before the rows (an endpoint's `columns`): a `date` column, which only a declaration makes. */
  declared: ColumnSpec[];
}

type Pick = <T>(items: readonly T[]) => T;

const KEYS = [
  'id', 'title', 'Title', 'title.rendered', 'title__rendered', 'a-b', 'a_b', 'A B', 'date', 'date_gmt', 'modified', 'meta', 'acf',
  'tags', 'categories', 'count', 'price', 'flag', '__proto__', 'constructor', 'toString', '1st', 'é', 'ünï cödé', '日付', '', '_links', 'x'.repeat(70),
];
const INTS = ['0', '-1', '1', '2147483647', '-2147483648', '4294967296', '9007199254740991', '-9007199254740991', '9007199254740992', '9007199254740993', '9223372036854775807', '-9223372036854775808', '18446744073709551616', '-0'];
const FLOATS = ['0.1', '-0.0', '1.5', '1e308', '-1e308', '5e-324', '1E400', '2.5e-3', '123456789.125', '0.30000000000000004', '1.0'];
const TEXTS = ['', ' ', 'publish', 'draft', 'Tech &amp; Science', 'é', 'naïve café', '日本語のテキスト', 'Ελληνικά', 'مرحبا', '😀🎉', 'e\u0301', 'line\nbreak\ttab', 'nul\u0000byte', '"quoted" \\ back', '<p>html</p>', '1', 'true', 'null', '2024-01-01', '\u2028\u2029'];

/** Timestamp texts: every form the parser takes, and near misses that must stay strings. */
function timestamp(rng: () => number, pick: Pick): string {
  const n = (max: number, width: number) => String(Math.floor(rng() * max)).padStart(width, '0');
  const base = `${pick(['1970', '2024', '1969', '0001', '9999', '2000', '1900', n(10000, 4)])}-${pick(['01', '02', '12', n(12, 2)])}-${pick(['01', '28', '29', '30', '31', n(28, 2)])}`
    + `T${pick(['00', '23', n(24, 2)])}:${pick(['00', '59', n(60, 2)])}:${pick(['00', '59', n(60, 2)])}`;
  const fraction = pick(['', '', '.5', '.25', '.125', '.1234', '.', '.000']);
  const zone = pick(['', '', 'Z', '+00:00', '-05:30', '+14:00', '+23:59', '+24:00', 'z', '+0200']);
  const variant = rng();
  if (variant < 0.05) return base.replace('T', ' ');
  if (variant < 0.08) return base.slice(0, 16);
  return `${base}${fraction}${zone}`;
}

/** A string literal, its characters sometimes written as `\u` escapes (the converter's slower path). */
function stringLiteral(text: string, rng: () => number): string {
  const json = JSON.stringify(text);
  if (rng() < 0.8) return json;
  return json.replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function scalarText(type: string, rng: () => number, pick: Pick): string {
  switch (type) {
    case 'int':
      return rng() < 0.6 ? pick(INTS) : String(Math.floor((rng() - 0.5) * 2 ** (1 + rng() * 60)));
    case 'float':
      return rng() < 0.6 ? pick(FLOATS) : String((rng() - 0.5) * 10 ** Math.floor(rng() * 30 - 10));
    case 'bool':
      return rng() < 0.5 ? 'true' : 'false';
    case 'timestamp':
      return stringLiteral(timestamp(rng, pick), rng);
    case 'long':
      return stringLiteral(pick(TEXTS).repeat(1 + Math.floor(rng() * 3)) + 'ü'.repeat(Math.floor(rng() * 400_000)), rng);
    case 'surrogate':
      return pick(['"\\ud800"', '"a\\udfffb"', '"\\ud83d\\ude00"']);
    default:
      return stringLiteral(rng() < 0.7 ? pick(TEXTS) : `${pick(TEXTS)} ${Math.floor(rng() * 1e6)}`, rng);
  }
}

const SCALARS = ['int', 'float', 'bool', 'timestamp', 'string'];

/** A value of `type`, nested objects and arrays built from the same generator. */
function valueText(type: string, rng: () => number, pick: Pick, depth: number): string {
  switch (type) {
    case 'null':
      return 'null';
    case 'object': {
      if (depth > 6 || rng() < 0.1) return rng() < 0.5 ? '{}' : '[]';
      const keys = Array.from({ length: 1 + Math.floor(rng() * 3) }, () => pick(KEYS.slice(0, 14)));
      return `{${keys.map((key) => `${stringLiteral(key, rng)}:${valueText(rng() < 0.3 ? 'object' : pick(SCALARS), rng, pick, depth + 1)}`).join(',')}}`;
    }
    case 'list': {
      const element = pick(SCALARS);
      const length = Math.floor(rng() * 5);
      return `[${Array.from({ length }, () => (rng() < 0.1 ? 'null' : valueText(rng() < 0.1 ? pick(SCALARS) : element, rng, pick, depth + 1))).join(',')}]`;
    }
    case 'nested-list':
      return `[${valueText('list', rng, pick, depth + 1)},${valueText('object', rng, pick, depth + 1)}]`;
    default:
      return scalarText(type, rng, pick);
  }
}

const TYPES = [...SCALARS, 'null', 'object', 'list', 'nested-list', 'long', 'surrogate'];

/** The case of `seed`: a few keys, each with a type that may drift at a random row. */
export function fuzzCase(seed: number): FuzzCase {
  const rng = prng(seed);
  const pick: Pick = (items) => items[Math.floor(rng() * items.length)];
  const size = rng();
  const rows = size < 0.7 ? 1 + Math.floor(rng() * 40) : size < 0.93 ? 40 + Math.floor(rng() * 260) : 1000 + Math.floor(rng() * 800);
  const keys = [...new Set(Array.from({ length: 1 + Math.floor(rng() * 10) }, () => pick(KEYS)))];
  const columns = keys.map((key) => {
    const first = pick(TYPES.filter((type) => type !== 'long' || rng() < 0.2));
    return { key, first, then: rng() < 0.3 ? pick(TYPES.filter((type) => type !== 'long')) : first, at: Math.floor(rng() * rows), missing: rng() * 0.4, nulls: rng() * 0.3 };
  });
  // Declared dates draw from a generator of their own, so that adding them left every other value
  // of a seed (and the regressions' cases) as it was.
  const dates = prng(seed * 7919 + 1);
  const declared: ColumnSpec[] = dates() < 0.2 ? [{ name: 'published_on', path: ['published_on'], kind: 'date' }] : [];
  const date = () => new Date(Date.UTC(1900 + Math.floor(dates() * 300), 0, 1) + Math.floor(dates() * 366) * 86_400_000).toISOString().slice(0, 10);
  const items: string[] = [];
  for (let r = 0; r < rows; r++) {
    const fields: string[] = [];
    if (declared.length > 0 && dates() < 0.8) fields.push(`"published_on":${dates() < 0.1 ? 'null' : JSON.stringify(date())}`);
    for (const column of columns) {
      if (rng() < column.missing) continue;
      const type = rng() < column.nulls ? 'null' : r < column.at ? column.first : column.then;
      // A long string in about two rows of a case: the file stays a few megabytes.
      const kept = type === 'long' && rng() > 2 / rows ? 'string' : type;
      fields.push(`${stringLiteral(column.key, rng)}:${valueText(kept, rng, pick, 1)}`);
    }
    items.push(`{${fields.join(',')}}`);
  }
  const rowGroupSize = pick([1, 2, 3, 7, 50, Math.max(1, Math.floor(rows / 2)), 10_000]);
  return { seed, text: `[${items.join(rng() < 0.5 ? ',' : ',\n')}]`, rowGroupSize, maxDepth: pick([0, 1, 3, 3, 3]), codec: rng() < 0.8 ? 'zstd' : 'snappy', declared };
}
