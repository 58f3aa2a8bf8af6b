import test from 'ava';
import { inferColumns, type ColumnSpec } from '../../handlers/parquet/infer';
import { sanitizeColumnName, uniqueNames } from '../../handlers/parquet/names';
import { timestampParser } from '../../handlers/parquet/timestamps';

type Expected = Record<string, string>;

/** `name: kind` (or `name: list<element>`) of every column, in order. */
function shape(columns: ColumnSpec[]): Expected {
  return Object.fromEntries(columns.map((c) => [c.name, c.kind === 'list' ? `list<${c.element}>` : c.kind]));
}

const cases: Array<{ title: string; rows: Record<string, unknown>[]; expected: Expected; maxDepth?: number }> = [
  {
    title: 'nested objects become columns joined with two underscores',
    rows: [{ id: 1, title: { rendered: 'Hello' }, _links: { self: [{ href: 'x' }] } }],
    expected: { id: 'int64', title__rendered: 'string', _links__self: 'json' },
  },
  {
    title: 'a field missing from some rows or always null is a nullable column, not an error',
    rows: [{ a: 1 }, { a: null, b: 'x' }, { c: null }],
    expected: { a: 'int64', b: 'string', c: 'string' },
  },
  {
    title: 'integers and doubles in one column widen to double',
    rows: [{ n: 1 }, { n: 2.5 }],
    expected: { n: 'double' },
  },
  {
    title: 'an integer beyond 2^53 makes the column double, since JSON.parse already rounded it',
    rows: [{ n: 1 }, { n: 2 ** 53 + 2 }],
    expected: { n: 'double' },
  },
  {
    title: 'any scalar mixed with strings widens to string',
    rows: [{ v: 1 }, { v: 'one' }, { v: true }],
    expected: { v: 'string' },
  },
  {
    title: 'an object in one row and a scalar in another keeps the column as JSON text',
    rows: [{ v: { a: 1 } }, { v: 3 }],
    expected: { v: 'json' },
  },
  {
    title: 'meta that is [] in some rows and an object in others is flattened, [] meaning empty',
    rows: [{ meta: [] }, { meta: { reading_time: 3, subtitle: '' } }, { meta: {} }],
    expected: { meta__reading_time: 'int64', meta__subtitle: 'string' },
  },
  {
    title: 'meta that is always [] (pages, terms, users) is one JSON column holding []',
    rows: [{ meta: [] }, { meta: [] }],
    expected: { meta: 'json' },
  },
  {
    title: 'lists of scalars become LIST columns and lists of objects JSON text',
    rows: [{ tags: [1, 2], names: ['a'], flags: [], links: [{ href: 'x' }] }, { tags: [], names: ['b', 'c'], flags: [], links: [] }],
    expected: { tags: 'list<int64>', names: 'list<string>', flags: 'json', links: 'json' },
  },
  {
    title: 'a list mixing numbers and strings is a list of strings',
    rows: [{ v: [1, 'a'] }],
    expected: { v: 'list<string>' },
  },
  {
    title: 'a value that is a list in one row and a scalar in another is JSON text',
    rows: [{ v: [1] }, { v: 1 }],
    expected: { v: 'json' },
  },
  {
    title: 'offset-less ISO date-times are local timestamps and ones with Z are UTC timestamps',
    rows: [{ date: '2024-06-01T10:00:00', date_gmt: '2024-06-01T08:00:00', at: '2024-06-01T08:00:00Z', ms: '2024-06-01T08:00:00.123' }],
    expected: { date: 'timestamp', date_gmt: 'timestamp', at: 'timestamp_utc', ms: 'timestamp' },
  },
  {
    title: 'a string column with one non-date value stays a string',
    rows: [{ d: '2024-06-01T10:00:00' }, { d: 'yesterday' }, { e: '2024-06-01' }, { f: '2024-02-30T00:00:00' }],
    expected: { d: 'string', e: 'string', f: 'string' },
  },
  {
    title: 'naive and offset date-times mixed in one column stay strings',
    rows: [{ d: '2024-06-01T10:00:00' }, { d: '2024-06-01T10:00:00+02:00' }],
    expected: { d: 'string' },
  },
  {
    title: 'names are lowercased, other characters become underscores and a leading digit is prefixed',
    rows: [{ 'wp:featuredmedia': 1, 'Author Name': 'x', '24': 'y', 'é': 1 }],
    expected: { _24: 'string', wp_featuredmedia: 'int64', author_name: 'string', _: 'int64' },
  },
  {
    title: 'names that collide after sanitizing get deterministic suffixes',
    rows: [{ Title: 1, title: 'x', 'ti-tle': true, a: { b: 1 }, a__b: 2 }],
    expected: { title: 'int64', title_2: 'string', ti_tle: 'boolean', a__b: 'int64', a__b_2: 'int64' },
  },
  {
    title: 'objects deeper than maxDepth are kept as JSON text',
    rows: [{ a: { b: { c: { d: 1 } } } }],
    maxDepth: 2,
    expected: { a__b__c: 'json' },
  },
  {
    title: 'maxDepth 0 keeps every top-level object whole',
    rows: [{ title: { rendered: 'x' }, id: 1 }],
    maxDepth: 0,
    expected: { title: 'json', id: 'int64' },
  },
  {
    title: 'unicode keys and values are kept, only the column name is sanitized',
    rows: [{ 'título': 'Ünïcödé 😀 &amp; 中文', emoji: '👍🏽' }],
    expected: { t_tulo: 'string', emoji: 'string' },
  },
  {
    title: 'types are decided over all rows, not the first ones',
    rows: [...Array.from({ length: 2000 }, (_, i) => ({ n: i })), { n: 0.5 }],
    expected: { n: 'double' },
  },
];

for (const { title, rows, expected, maxDepth } of cases) {
  test(`inference: ${title}`, (t) => {
    t.deepEqual(shape(inferColumns(rows, { maxDepth })), expected);
  });
}

test('a column keeps the path of JSON keys it was flattened from', (t) => {
  const [column] = inferColumns([{ 'Title': { 'Rendered': 'x' } }]);
  t.deepEqual(column, { name: 'title__rendered', path: ['Title', 'Rendered'], kind: 'string' });
});

test('sanitizing an empty path or key yields a usable name', (t) => {
  t.is(sanitizeColumnName(['']), '_');
  t.is(sanitizeColumnName(['1a', 'B']), '_1a__b');
});

test('unique names skip suffixes that are already taken', (t) => {
  t.deepEqual(uniqueNames(['a', 'a_2', 'a', 'a']), ['a', 'a_2', 'a_3', 'a_4']);
});

const timestamps: Array<[string, number | undefined, boolean?]> = [
  ['2024-06-01T10:00:00', Date.UTC(2024, 5, 1, 10), false],
  ['2024-06-01T10:00:00.5', Date.UTC(2024, 5, 1, 10, 0, 0, 500), false],
  ['2024-06-01T10:00:00Z', Date.UTC(2024, 5, 1, 10), true],
  ['2024-06-01T10:00:00+02:00', Date.UTC(2024, 5, 1, 8), true],
  ['2024-06-01T10:00:00-05:30', Date.UTC(2024, 5, 1, 15, 30), true],
  ['2024-06-01T10:00:00.1234', undefined],
  ['2024-06-01 10:00:00', undefined],
  ['2024-06-01', undefined],
  ['2023-02-29T00:00:00', undefined],
  ['2024-06-01T24:00:00', undefined],
  ['0050-01-01T00:00:00', new Date('0050-01-01T00:00:00Z').getTime(), false],
  ['2000-02-29T23:59:59', Date.UTC(2000, 1, 29, 23, 59, 59), false],
  ['1900-02-29T00:00:00', undefined],
  ['2024-13-01T00:00:00', undefined],
  ['2024-00-10T00:00:00', undefined],
  ['2024-06-01T10:00:60', undefined],
  ['2024-06-01T10:60:00', undefined],
  ['2024-06-01T10:00:00.12Z', Date.UTC(2024, 5, 1, 10, 0, 0, 120), true],
  ['2024-06-01T10:00:00.Z', undefined],
  ['2024-06-01T00:30:00+23:59', Date.UTC(2024, 4, 31, 0, 31), true],
  ['2024-06-01T10:00:00+24:00', undefined],
  ['2024-06-01T10:00:00+0200', undefined],
  ['2024-06-01T10:00:00z', undefined],
  ['2024-06-0aT10:00:00', undefined],
  ['not a date', undefined],
];

for (const [text, millis, instant] of timestamps) {
  test(`the timestamp parser reads ${JSON.stringify(text)} as ${millis === undefined ? 'not a date' : new Date(millis).toISOString()}`, (t) => {
    const parsed = timestampParser()(text);
    t.is(parsed?.millis, millis);
    if (millis !== undefined) t.is(parsed?.instant, instant);
  });
}
