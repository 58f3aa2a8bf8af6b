import test, { type ExecutionContext } from 'ava';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { zstdDecompressSync } from 'node:zlib';
import { parquetMetadata, parquetReadObjects } from 'hyparquet';
import { DuckDBInstance } from '@duckdb/node-api';
import { convertJsonFile } from '../../handlers/parquet/convert';
import type { Codec } from '../../handlers/parquet/codecs';
import type { ColumnSpec } from '../../handlers/parquet/infer';
import { inferColumns } from '../../handlers/parquet/infer';
import { openJsonArrayFile } from '../../handlers/wordpress/json-array-file';
import { posts } from '../../local/demo-site/posts';

const html = `<p>Caf\u00e9 &amp; &#8220;quoted&#8221; \ud83d\ude00 \u4e2d\u6587 \u05e9\u05dc\u05d5\u05dd</p>\n`.repeat(250);

/** Rows with everything WordPress throws at us: drift, nulls, meta {} vs [], lists, dates, big bodies. */
function rows(count: number): Record<string, unknown>[] {
  return Array.from({ length: count }, (_, i) => ({
    id: i + 1,
    date: `2024-0${(i % 9) + 1}-1${i % 10}T0${i % 10}:30:00`,
    date_gmt: `2024-0${(i % 9) + 1}-1${i % 10}T0${i % 10}:30:00`,
    fetched: '2024-06-01T08:00:00.250Z',
    title: { rendered: i % 7 === 0 ? '' : `Post ${i} \u2013 &#8217;${'\ud83c\udf89'.repeat(i % 3)}` },
    content: { rendered: i % 500 === 0 ? html : `<p>${i}</p>`, protected: i % 11 === 0 },
    meta: i % 3 === 0 ? [] : i % 3 === 1 ? { reading_time: i, subtitle: null } : {},
    score: i % 4 === 0 ? 0.5 : i,
    categories: i % 5 === 0 ? [] : [i, i + 1],
    tags: i % 6 === 0 ? null : ['a', `t${i}`],
    _links: { self: [{ href: `http://x/${i}` }], 'wp:term': [{ taxonomy: 'category', embeddable: true }] },
    ...(i % 2 === 0 ? { sometimes: 'here' } : {}),
    mixed: i % 10 === 0 ? 'ten' : i,
    shape: i % 8 === 0 ? { a: 1 } : 'scalar',
    never: null,
    deep: { a: { b: { c: { d: i } } } },
    huge: 2 ** 53 + 2 * i,
    'Title': 'collides with title__ after sanitizing? no: with title',
  }));
}

/** What a reader must give back for `column` of `row`, in a form both readers normalize to. */
function expected(row: Record<string, unknown>, column: ColumnSpec): unknown {
  let value: unknown = row;
  for (const key of column.path) {
    value = value && typeof value === 'object' && !Array.isArray(value) && Object.hasOwn(value, key) ? (value as Record<string, unknown>)[key] : null;
  }
  if (value === null || value === undefined) return null;
  switch (column.kind) {
    case 'timestamp':
      return Date.parse(`${value}Z`);
    case 'timestamp_utc':
      return Date.parse(value as string);
    case 'string':
      return typeof value === 'string' ? value : JSON.stringify(value);
    case 'list':
      return (value as unknown[]).map((v) => (v !== null && column.element === 'string' && typeof v !== 'string' ? JSON.stringify(v) : v));
    default:
      return value;
  }
}

/** Both readers parse JSON columns themselves (hyparquet by default, DuckDB's to_json inlines them). */
function normalize(value: unknown, column: ColumnSpec): unknown {
  if (value === null || value === undefined) return null;
  switch (column.kind) {
    case 'timestamp':
    case 'timestamp_utc':
      if (value instanceof Date) return value.getTime();
      // DuckDB's JSON: "2024-01-01 10:00:00.25" (naive) or "...+00" (UTC-adjusted).
      return Date.parse(`${String(value).replace(' ', 'T').replace(/\+00$/, '')}Z`);
    case 'int64':
      return Number(value);
    case 'list':
      return (value as unknown[]).map((v) => (typeof v === 'bigint' ? Number(v) : v));
    default:
      return value;
  }
}

async function readHyparquet(file: string): Promise<Record<string, unknown>[]> {
  const buffer = await readFile(file);
  const arrayBuffer = buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength);
  return parquetReadObjects({ file: arrayBuffer, compressors: { ZSTD: (input: Uint8Array) => new Uint8Array(zstdDecompressSync(input)) } });
}

async function readDuckdb(file: string): Promise<Record<string, unknown>[]> {
  const db = await DuckDBInstance.create(':memory:');
  const connection = await db.connect();
  try {
    // to_json keeps BIGINTs as numbers, lists as arrays and JSON columns as JSON.
    const reader = await connection.runAndReadAll(`SELECT to_json(t)::VARCHAR AS j FROM read_parquet('${file.replace(/'/g, "''")}') t`);
    return reader.getRowObjects().map((r) => JSON.parse(String(r.j)));
  } finally {
    connection.closeSync();
    db.closeSync();
  }
}

/** Every row and every column of `output`, read back by hyparquet and by DuckDB, equals `data`. */
async function readsBack(t: ExecutionContext, output: string, data: readonly Record<string, unknown>[], schema: readonly ColumnSpec[]): Promise<void> {
  for (const [source, read] of [['hyparquet', readHyparquet], ['duckdb', readDuckdb]] as const) {
    const back = await read(output);
    t.is(back.length, data.length, `${source} row count`);
    for (const column of schema) {
      t.deepEqual(back.map((r) => normalize(r[column.name], column)), data.map((r) => expected(r, column)), `${source}: column ${column.name} (${column.kind})`);
    }
  }
}

async function fixture(t: { teardown(fn: () => Promise<void>): void }, data: unknown): Promise<{ dir: string; input: string; output: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'parquet-roundtrip-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const input = join(dir, 'in.json');
  await writeFile(input, JSON.stringify(data));
  return { dir, input, output: join(dir, 'out.parquet') };
}

for (const codec of ['zstd', 'snappy'] as Codec[]) {
  test(`${codec}: every value read back by hyparquet and by DuckDB equals the input, over several row groups`, async (t) => {
    const data = rows(2500);
    const { input, output } = await fixture(t, data);
    const report = await convertJsonFile(input, output, { codec, rowGroupSize: 1000 });
    t.like(report, { rows: 2500, empty: false, rowGroups: 3, codec });
    t.is(report.bytes, (await stat(output)).size);

    const buffer = await readFile(output);
    const metadata = parquetMetadata(buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength));
    t.deepEqual(metadata.row_groups.map((g) => Number(g.num_rows)), [1000, 1000, 500]);
    t.true(metadata.row_groups[0].columns.every((c) => c.meta_data?.codec === codec.toUpperCase()));
    t.true(metadata.row_groups[0].columns.every((c) => c.meta_data?.statistics !== undefined), 'statistics are written');

    await readsBack(t, output, data, report.schema);
  });
}

for (const rowGroupSize of [300, 500]) {
  test(`drifting WordPress posts in row groups of ${rowGroupSize}: every value read back by hyparquet and by DuckDB equals the input`, async (t) => {
    // Small groups end many chunks, whose small pages once shared Node's 64 KiB buffer pool with
    // a page buffer reused from it: one post's link was read back as the previous post's.
    const data = [...posts(3000, 20240601, { drift: true })];
    const { input, output } = await fixture(t, data);
    const report = await convertJsonFile(input, output, { rowGroupSize });
    await readsBack(t, output, data, report.schema);
  });
}

test('the written schema has the expected Parquet types for each inferred kind', async (t) => {
  const { input, output } = await fixture(t, rows(20));
  const report = await convertJsonFile(input, output, { codec: 'snappy' });
  const kinds = Object.fromEntries(report.schema.map((c) => [c.name, c.kind === 'list' ? `list<${c.element}>` : c.kind]));
  t.like(kinds, {
    id: 'int64', date: 'timestamp', fetched: 'timestamp_utc', title__rendered: 'string', content__protected: 'boolean',
    meta__reading_time: 'int64', meta__subtitle: 'string', score: 'double', categories: 'list<int64>', tags: 'list<string>',
    _links__self: 'json', _links__wp_term: 'json', mixed: 'string', shape: 'json', never: 'string', deep__a__b__c: 'json',
    huge: 'double', title: 'string',
  });
  const db = await DuckDBInstance.create(':memory:');
  const connection = await db.connect();
  const described = await connection.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet('${output}')`);
  const types = Object.fromEntries(described.getRowObjects().map((r) => [String(r.column_name), String(r.column_type)]));
  connection.closeSync();
  db.closeSync();
  t.like(types, { id: 'BIGINT', date: 'TIMESTAMP', fetched: 'TIMESTAMP WITH TIME ZONE', categories: 'BIGINT[]', tags: 'VARCHAR[]', _links__self: 'JSON', content__protected: 'BOOLEAN', score: 'DOUBLE' });
});

test('an empty array reports empty and writes no file', async (t) => {
  const { input, output } = await fixture(t, []);
  const report = await convertJsonFile(input, output);
  t.like(report, { rows: 0, columns: 0, bytes: 0, empty: true });
  t.false(existsSync(output));
});

test('rows none of which has a field are refused, naming the input and the row count, and nothing is written: a Parquet file needs a column', async (t) => {
  const { dir, input, output } = await fixture(t, [{}, {}, {}]);
  await writeFile(output, 'previous');
  // Groups of 2: one is on disk when the end shows there is no column.
  await t.throwsAsync(convertJsonFile(input, output, { rowGroupSize: 2 }), {
    message: `${input} holds 3 rows and none has a field: a Parquet file needs at least one column, so no file was written`,
  });
  t.is(await readFile(output, 'utf8'), 'previous');
  t.deepEqual((await readdir(dir)).sort(), ['in.json', 'out.parquet']);
  // A declared column is a column: the same rows make a file.
  t.like(await convertJsonFile(input, output, { seed: [{ name: 'id', path: ['id'], kind: 'int64' }] }), { rows: 3, columns: 1, empty: false });
});

test('a failed conversion leaves neither a partial file nor a changed previous file', async (t) => {
  const { dir, input, output } = await fixture(t, [{ a: 1 }]);
  await writeFile(output, 'previous');
  await writeFile(input, '[{"a":1},{"a":2},"not an object"]');
  await t.throwsAsync(convertJsonFile(input, output), { message: /item 2 of .* is "not an object", not an object/ });
  t.is(await readFile(output, 'utf8'), 'previous');
  t.deepEqual((await readdir(dir)).filter((name) => name.includes('.partial')), []);
});

test('a conversion that fails after row groups were written leaves no partial or spill file, and the previous file as it was', async (t) => {
  const { dir, input, output } = await fixture(t, []);
  await writeFile(output, 'previous');
  // Two row groups written and a third being spilled when the bad item is read.
  await writeRawLayout(input, [...rows(2500), 'not an object']);
  await t.throwsAsync(convertJsonFile(input, output, { rowGroupSize: 1000 }), { message: /item 2500 of .* is "not an object", not an object/ });
  t.is(await readFile(output, 'utf8'), 'previous');
  t.deepEqual((await readdir(dir)).sort(), ['in.json', 'out.parquet']);
});

test('a bad row group size is refused before any work', async (t) => {
  const { input, output } = await fixture(t, [{ a: 1 }]);
  await t.throwsAsync(convertJsonFile(input, output, { rowGroupSize: 0 }), { message: /rowGroupSize must be a positive integer/ });
});

/** The raw layer's layout: one item per line, as openJsonArrayFile writes it. */
async function writeRawLayout(path: string, data: readonly unknown[]): Promise<void> {
  const file = openJsonArrayFile(path);
  for (let i = 0; i < data.length; i += 100) await file.append(data.slice(i, i + 100));
  await file.close();
}

/** Rows whose schema changes after the first row groups: a column appears, another widens. */
function drifting(count: number): Record<string, unknown>[] {
  return rows(count).map((row, i) => ({
    ...row,
    ...(i >= count - 300 && { late: { x: i } }),
    score: i === count - 100 ? 'not a number' : row.score,
  }));
}

/** Rows whose schema changes inside the first row group: columns appear (one nested in an existing object), then one widens. */
function earlyDrift(count: number, widen: boolean): Record<string, unknown>[] {
  return rows(count).map((row, i) => ({
    ...row,
    ...(i >= 400 && { added: `a${i}` }),
    content: i >= 600 ? { ...(row.content as object), raw: `<p>${i}</p>` } : row.content,
    ...(widen && { mixed: i === 800 ? 1.5 : row.mixed }),
    id: widen && i === 900 ? `id-${i}` : row.id,
  }));
}

/** Rows whose types widen after the first row group more often than the converter starts again for. */
function manyChanges(count: number): Record<string, unknown>[] {
  return rows(count).map((row, i) => ({
    ...row,
    id: i === 1100 ? `id-${i}` : row.id,
    huge: i === 1300 ? 'big' : row.huge,
    date: i === 1500 ? 'not a date' : row.date,
    score: i === 1700 ? true : row.score,
    ...(i === 1900 && { categories: 'none' }),
  }));
}

const layouts = [
  ['one line (the character scanner)', async (path: string, data: readonly unknown[]) => writeFile(path, JSON.stringify(data))],
  ['one item per line (batched JSON.parse)', writeRawLayout],
] as const;

const shapes = [
  ['a stable schema', rows(2500)],
  ['a schema that changes after the first row group', drifting(2500)],
  ['columns that appear inside the first row group', earlyDrift(2500, false)],
  ['columns that appear and types that widen inside the first row group', earlyDrift(2500, true)],
  ['five widenings after the first row group (inference first, then a last read)', manyChanges(2500)],
] as const;

for (const [layout, write] of layouts) {
  for (const [what, data] of shapes) {
    test(`${layout}, ${what}: the schema is the whole input's and every value reads back`, async (t) => {
      const { dir, input, output } = await fixture(t, []);
      await write(input, data);
      const report = await convertJsonFile(input, output, { rowGroupSize: 1000 });
      t.deepEqual((await readdir(dir)).filter((name) => name.includes('.partial')), [], 'a dropped first attempt leaves no file');
      t.deepEqual(report.schema, inferColumns(data), 'the schema a full inference pass gives');
      t.like(report, { rows: 2500, rowGroups: 3 });
      const buffer = await readFile(output);
      const metadata = parquetMetadata(buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength));
      t.deepEqual(metadata.row_groups[0].columns.map((c) => c.meta_data?.path_in_schema[0]), report.schema.map((c) => c.name), 'chunks in schema order');
      const back = await readDuckdb(output);
      for (const column of report.schema) {
        t.deepEqual(back.map((r) => normalize(r[column.name], column)), data.map((r) => expected(r, column)), `column ${column.name} (${column.kind})`);
      }
    });
  }
}

/** Every non-ASCII UTF-16 unit as a `\uXXXX` escape, as PHP's json_encode writes WordPress's answers. */
function escapeNonAscii(json: string): string {
  return json.replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

test('literal UTF-8, \\u escapes (in some lines only) and a pretty-printed file with a byte-order mark give the same file, non-ASCII keys kept as their paths', async (t) => {
  const data = rows(1500).map((row, i) => ({ ...row, 'título': `Größe ${i} \u00e9\u4e2d`, 'ñ': { 'ü': i % 2 === 0 ? 'ja' : 'nein' } }));
  const { dir, input } = await fixture(t, []);
  await writeRawLayout(input, data);
  const escaped = join(dir, 'escaped.json');
  const lines = (await readFile(input, 'utf8')).split('\n');
  await writeFile(escaped, lines.map((line, i) => (i % 3 === 0 ? escapeNonAscii(line) : line)).join('\n'));
  const pretty = join(dir, 'pretty.json');
  await writeFile(pretty, `\ufeff${JSON.stringify(data, null, 2)}`);

  const outputs: Buffer[] = [];
  for (const file of [input, escaped, pretty]) {
    const output = `${file}.parquet`;
    const report = await convertJsonFile(file, output, { rowGroupSize: 1000 });
    t.deepEqual(report.schema, inferColumns(data), `${file}: the schema a full inference pass gives`);
    t.true(report.schema.some((c) => c.path.join('.') === 'título' && c.name === 't_tulo' && c.kind === 'string'), 'a non-ASCII key keeps its path');
    t.true(report.schema.some((c) => c.path.join('.') === 'ñ.ü' && c.kind === 'string'), 'a non-ASCII nested key flattens');
    outputs.push(await readFile(output));
  }
  t.true(outputs[0].equals(outputs[1]), 'escaped lines write the same bytes');
  t.true(outputs[0].equals(outputs[2]), 'the pretty-printed file writes the same bytes');
  const back = await readDuckdb(`${input}.parquet`);
  for (const column of inferColumns(data)) {
    t.deepEqual(back.map((r) => normalize(r[column.name], column)), data.map((r) => expected(r, column)), `column ${column.name} (${column.kind})`);
  }
});

test('a lone surrogate escape is stored as U+FFFD, in string and in JSON columns alike', async (t) => {
  const { input, output } = await fixture(t, []);
  await writeFile(input, '[{"id":1,"s":"a\\ud800b","j":{"x":["c\\udc00"]}},\n{"id":2,"s":"ok","j":"text"}]');
  const report = await convertJsonFile(input, output);
  t.deepEqual(report.schema.map((c) => [c.name, c.kind]), [['id', 'int64'], ['s', 'string'], ['j', 'json']]);
  const back = await readHyparquet(output);
  t.is(back[0].s, 'a\ufffdb');
  t.deepEqual(back[0].j, { x: ['c\ufffd'] });
  t.is(back[1].j, 'text');
});

/**
 * Rows that drive the column writer through its less common paths: a list column and a string
 * column that fill several 2 MiB pages in one row group, a column whose dictionary pays, one whose
 * dictionary is dropped at the first look after its values went into pages, one dropped past the
 * dictionary's byte limit, booleans, a column that is always null, doubles, lists of every
 * element type with null elements, and one value larger than a page.
 */
function writerPaths(count: number): Record<string, unknown>[] {
  const block = (i: number, bytes: number) => `${i}:`.padEnd(bytes, String.fromCharCode(97 + (i % 26)));
  return Array.from({ length: count }, (_, i) => ({
    id: i + 1,
    body: block(i, 3000 + (i % 7) * 100),
    words: i % 9 === 0 ? null : i % 11 === 0 ? [] : Array.from({ length: 1 + (i % 5) }, (_, k) => (k === 2 && i % 3 === 0 ? null : block(i * 5 + k, 700))),
    status: ['publish', 'draft', 'private'][i % 3],
    // Distinct values of 5-6 KB, each twice: through the first look, then past the 4 MiB limit.
    chunk: block(Math.floor(i / 2), 5000 + (Math.floor(i / 2) % 5) * 200),
    flag: i % 4 === 0,
    nothing: null,
    ratio: i % 2 === 0 ? 0.5 : -1.25 * (1 + (i % 4)),
    // Lists of each other element type, with null elements, empty and null lists.
    votes: i % 13 === 0 ? null : i % 17 === 0 ? [] : [i % 2 === 0, null, i % 3 === 0],
    scores: i % 7 === 0 ? [] : [i / 4, null, -i],
    parents: i % 5 === 0 ? null : [i, null, 2 ** 40 + i],
    // One value larger than a page.
    ...(i === 1234 && { huge: 'x'.repeat(5 << 20) }),
  }));
}

test('the column writer round-trips multi-page columns, kept and dropped dictionaries, booleans, all-null and doubles', async (t) => {
  const data = writerPaths(3000);
  const { input, output } = await fixture(t, []);
  await writeRawLayout(input, data);
  const report = await convertJsonFile(input, output, { rowGroupSize: 2000 });
  t.like(report, { rows: 3000, rowGroups: 2 });
  const kinds = Object.fromEntries(report.schema.map((c) => [c.name, c.element ? `${c.kind}<${c.element}>` : c.kind]));
  t.like(kinds, { words: 'list<string>', votes: 'list<boolean>', scores: 'list<double>', parents: 'list<int64>', flag: 'boolean', ratio: 'double', huge: 'string', nothing: 'string' });
  const buffer = await readFile(output);
  const metadata = parquetMetadata(buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength));
  const chunk = (name: string) => metadata.row_groups[0].columns.find((c) => c.meta_data?.path_in_schema[0] === name)!;
  t.true(chunk('status').meta_data!.encodings.includes('RLE_DICTIONARY'), 'a dictionary that pays is kept');
  t.false(chunk('body').meta_data!.encodings.includes('RLE_DICTIONARY'), 'a dictionary of distinct values is dropped');
  t.false(chunk('chunk').meta_data!.encodings.includes('RLE_DICTIONARY'), 'a dictionary past its byte limit is dropped');
  for (const name of ['body', 'words', 'chunk']) {
    t.true(Number(chunk(name).offset_index_length ?? 0) > 0, `${name} has several pages, so an offset index`);
  }
  t.like(chunk('ratio').meta_data!.statistics, { min_value: -5, max_value: 0.5, null_count: 0n });
  t.like(chunk('nothing').meta_data!.statistics, { null_count: 2000n });
  await readsBack(t, output, data, report.schema);
});
