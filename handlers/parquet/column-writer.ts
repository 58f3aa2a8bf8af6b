import { fromBinary } from './binary';
import type { ColumnKind, ColumnSpec, ListElementKind } from './infer';
import { timestampParser } from './timestamps';

/**
 * One column chunk, written as its rows arrive: each value goes straight from the parsed row into
 * its page (a string is copied as its bytes: rows are in binary form, binary.ts), and a page that
 * is full is handed to the compressor at once, which runs on libuv's thread pool while the next
 * rows are parsed. A row group is therefore held as its compressed pages, not as its values, and
 * the file (parquet-file.ts) keeps those in a spill file until the group is written.
 *
 * Dictionary encoding is tried for every non-boolean column and kept while it pays, as
 * hyparquet-writer decides it (distinct bytes at most half of the plain bytes, a first look that
 * rejects columns above 90%): here the first look is the first 1000 values (hyparquet-writer
 * samples the whole chunk, which a streaming writer has not seen), and a dictionary is also
 * dropped past DICTIONARY_LIMIT bytes so that its memory is bounded. A dropped dictionary's values
 * are written again as plain pages, so a chunk has one encoding. Pages are DATA_PAGE_V2 with
 * RLE levels, as hyparquet-writer writes them; the footer is hyparquet-writer's own.
 */

export type Physical = 'BOOLEAN' | 'INT32' | 'INT64' | 'DOUBLE' | 'BYTE_ARRAY';

/**
 * A compressed page as the file holds it until its row group is written: its bytes, or where in a
 * spill file they are (parquet-file.ts).
 */
export type Stored = Uint8Array | { readonly offset: number; readonly length: number };

/** A page's compressed form, when the compressor is done with it; `bytes` is the compressor's until then. */
export type Compress = (bytes: Uint8Array) => Promise<Stored>;

/** A buffer of `size` bytes, possibly one the compressor is done with. */
export type Allocate = (size: number) => Buffer;

interface Page {
  levels: Uint8Array;
  repetitionBytes: number;
  definitionBytes: number;
  data: Promise<Stored>;
  /** Bytes of the page's values before compression. */
  plainBytes: number;
  encoding: string;
  values: number;
  nulls: number;
  rows: number;
  firstRow: number;
}

/** What a finished chunk holds, with offsets relative to its first byte. */
export interface FinishedChunk {
  /** Its parts in file order: headers and levels as bytes, compressed pages as stored. */
  bytes: Stored[];
  size: number;
  uncompressed: number;
  dictionaryOffset?: number;
  dataOffset: number;
  /** Start of each data page and its size, for the offset index. */
  pages: { offset: number; size: number; firstRow: number }[];
  encodings: string[];
  encodingStats: { page_type: string; encoding: string; count: number }[];
  values: number;
  statistics: { min_value?: unknown; max_value?: unknown; null_count: bigint; nan_count?: bigint };
}

/** A growable byte buffer (a closure, not a class: the Lambda closure serializer drops class fields). */
interface Bytes {
  buffer: Buffer;
  length: number;
  ensure(more: number): void;
  byte(value: number): void;
  /** The bytes so far, handed over: the next write gets a buffer of the same capacity. */
  take(): Uint8Array;
}

/**
 * @param most - Capacity that doubling stops at (a page); a larger need still grows it.
 * @param allocate - Where every buffer comes from.
 */
function growable(size: number, most = Infinity, allocate: Allocate = (n) => Buffer.allocUnsafe(n)): Bytes {
  const none = Buffer.alloc(0);
  /** The capacity of the buffer last taken. */
  let capacity = size;
  const self: Bytes = {
    buffer: allocate(size),
    length: 0,
    ensure(more) {
      if (self.length + more <= self.buffer.length) return;
      if (self.buffer === none && more <= capacity) {
        self.buffer = allocate(capacity);
        return;
      }
      const next = allocate(Math.max(self.length + more, Math.min(Math.max(self.buffer.length, capacity) * 2, most)));
      self.buffer.copy(next, 0, 0, self.length);
      self.buffer = next;
    },
    byte(value) {
      if (self.length === self.buffer.length) self.ensure(1);
      self.buffer[self.length++] = value;
    },
    take() {
      const taken = self.buffer.subarray(0, self.length);
      // The next buffer waits for the next write: a row group's end takes every column's page at
      // once, and by the next group's first row the compressor has handed most of them back.
      if (self.buffer !== none) capacity = self.buffer.length;
      self.buffer = none;
      self.length = 0;
      return taken;
    },
  };
  return self;
}

function bitWidth(max: number): number {
  return max === 0 ? 0 : 32 - Math.clz32(max);
}

function written(writer: { buffer: ArrayBuffer; offset: number }): Uint8Array {
  return new Uint8Array(writer.buffer, 0, writer.offset).slice();
}

/** The RLE/bit-packed hybrid encoding of `values` (no length prefix). */
function rle(values: ArrayLike<number>, width: number): Uint8Array {
  const { ByteWriter } = require('hyparquet-writer/src/bytewriter.js') as { ByteWriter: typeof import('hyparquet-writer').ByteWriter };
  const { writeRleBitPackedHybrid } = require('hyparquet-writer/src/encoding.js') as {
    writeRleBitPackedHybrid(writer: InstanceType<typeof ByteWriter>, values: ArrayLike<number>, bitWidth: number): number;
  };
  const writer = new ByteWriter(Math.max(64, values.length >> 2));
  writeRleBitPackedHybrid(writer, values, width);
  return written(writer);
}

function pageHeader(header: Record<string, unknown>): Uint8Array {
  const { ByteWriter } = require('hyparquet-writer/src/bytewriter.js') as { ByteWriter: typeof import('hyparquet-writer').ByteWriter };
  const { writePageHeader } = require('hyparquet-writer/src/datapage.js') as {
    writePageHeader(writer: InstanceType<typeof ByteWriter>, header: Record<string, unknown>): void;
  };
  const writer = new ByteWriter(64);
  writePageHeader(writer, header);
  return written(writer);
}

type Scalar = string | number | boolean;

function physicalOf(kind: ColumnKind | ListElementKind): Physical {
  switch (kind) {
    case 'boolean':
      return 'BOOLEAN';
    case 'date':
      return 'INT32';
    case 'int64':
    case 'timestamp':
    case 'timestamp_utc':
      return 'INT64';
    case 'double':
      return 'DOUBLE';
    default:
      return 'BYTE_ARRAY';
  }
}

/** Writes the values of one column, row by row, into pages of one column chunk at a time. */
export interface ColumnWriter {
  readonly spec: ColumnSpec;
  readonly physical: Physical;
  /** Appends the column's value of each row. */
  addRows(rows: readonly Record<string, unknown>[]): void;
  /** Appends `count` rows that lack the column (it appeared after them). */
  addNulls(count: number): void;
  /** Ends the chunk (the row group's end): its pages compressed, in file order, and its metadata. */
  finish(): Promise<FinishedChunk>;
}

/**
 * Every per-value step is a closure made here, and the constants and built-ins it reads are locals:
 * in the Lambda, a module-level function is a wrapper that rebuilds a `with` scope on every call,
 * and reading a module-level constant or a global inside that scope is a dynamic lookup (see
 * timestampParser).
 * @param path - The column's path in the rows' (binary) form.
 */
export function columnWriter(spec: ColumnSpec, path: readonly string[], compress: Compress, allocate: Allocate): ColumnWriter {
  /**
   * Value bytes of a data page before it is cut (at a row boundary): zstd's window at the default
   * level, so a page is compressed with all of itself as context. hyparquet-writer's 1 MiB pages made
   * files 0.2% larger than DuckDB's at 50k posts; 2 MiB ones 0.05% smaller, 4 MiB ones larger again.
   */
  const PAGE_BYTES = 2 << 20;
  /** A dictionary with more distinct bytes is dropped for plain pages. */
  const DICTIONARY_LIMIT = 4 << 20;
  /** Values seen before the first look at whether a dictionary can pay. */
  const FIRST_LOOK = 1000;
  const { hasOwn } = Object;
  const { isArray } = Array;
  const { isSafeInteger } = Number;
  const { stringify } = JSON;
  const { floor } = Math;
  const parseTimestamp = timestampParser();
  const list = spec.kind === 'list';
  const kind: ColumnKind | ListElementKind = list ? spec.element ?? 'string' : spec.kind;
  const physical = physicalOf(kind);
  const maxDefinition = list ? 3 : 1;

  // The chunk: every slot's levels, and what its pages hold.
  const definitions = growable(4096);
  const repetitions = growable(4096);
  let rowCount = 0;
  let pages: Page[] = [];
  let nulls = 0;
  let min: Scalar | null = null;
  let max: Scalar | null = null;

  // The page being filled (plain), from this slot and row.
  let pageSlot = 0;
  let pageRow = 0;
  // A page is cut once it holds PAGE_BYTES, so it rarely needs more than that and one value.
  const plain = growable(4096, PAGE_BYTES + (64 << 10), allocate);
  let booleans: number[] = [];

  // The dictionary while it is tried: distinct values, and each non-null slot's index.
  let dictionary: Map<Scalar, number> | undefined;
  let distinct: Scalar[] = [];
  let distinctBytes = 0;
  let indexes = new Int32Array(1024);
  let indexCount = 0;
  let valueBytes = 0;
  let looked = false;

  function startChunk(): void {
    definitions.length = 0;
    repetitions.length = 0;
    rowCount = 0;
    pages = [];
    nulls = 0;
    min = max = null;
    pageSlot = pageRow = 0;
    plain.length = 0;
    booleans = [];
    dictionary = physical === 'BOOLEAN' ? undefined : new Map();
    distinct = [];
    distinctBytes = indexCount = valueBytes = 0;
    looked = false;
  }

  /** The value at this column's path in `row`, or null. */
  function at(row: Record<string, unknown>): unknown {
    let value: unknown = row;
    for (const key of path) {
      // Own keys only: a JSON key `__proto__` or `constructor` must not reach Object.prototype.
      if (typeof value !== 'object' || value === null || isArray(value) || !hasOwn(value, key)) return null;
      value = (value as Record<string, unknown>)[key];
    }
    return value ?? null;
  }

  function misfit(value: unknown, kind: string): never {
    throw new Error(`column ${spec.name} (${kind}) cannot hold ${JSON.stringify(fromBinary(value))}: it does not fit the inferred schema`);
  }

  /** The value as the column stores it: a binary string, a safe integer, a double or a boolean. */
  function scalar(value: unknown, kind: ColumnKind | ListElementKind): Scalar {
    switch (kind) {
      case 'json':
        return stringify(value);
      case 'string':
        return typeof value === 'string' ? value : stringify(value);
      case 'int64':
        if (typeof value === 'number' && isSafeInteger(value)) return value;
        break;
      case 'double':
        if (typeof value === 'number') return value;
        break;
      case 'boolean':
        if (typeof value === 'boolean') return value;
        break;
      case 'timestamp':
      case 'timestamp_utc': {
        if (typeof value !== 'string') break;
        const ts = parseTimestamp(value);
        if (ts) return ts.millis;
        break;
      }
      case 'date': {
        // Days since the epoch of a `YYYY-MM-DD` text (a declared date column; see lake/declared.ts).
        if (typeof value !== 'string' || value.length !== 10) break;
        const ts = parseTimestamp(`${value}T00:00:00`);
        if (ts) return ts.millis / 86_400_000;
        break;
      }
    }
    return misfit(value, kind);
  }

  /** Appends the column's value of each row. */
  function addRows(batch: readonly Record<string, unknown>[]): void {
    for (let r = 0; r < batch.length; r++) {
      const value = at(batch[r]);
      if (!list) {
        if (value === null) slot(0, 0, null);
        else slot(1, 0, scalar(value, kind));
      } else if (value === null) {
        slot(0, 0, null);
      } else if (!isArray(value)) {
        misfit(value, 'list');
      } else if (value.length === 0) {
        slot(1, 0, null);
      } else {
        for (let i = 0; i < value.length; i++) {
          const item = value[i];
          if (item == null) slot(2, i === 0 ? 0 : 1, null);
          else slot(3, i === 0 ? 0 : 1, scalar(item, kind));
        }
      }
      rowCount++;
      if (!dictionary && plain.length >= PAGE_BYTES) cutPage();
    }
  }

  /** Appends `count` rows that lack the column (it appeared after them). */
  function addNulls(count: number): void {
    for (let r = 0; r < count; r++) {
      slot(0, 0, null);
      rowCount++;
    }
  }

  function slot(definition: number, repetition: number, value: Scalar | null): void {
    definitions.byte(definition);
    if (list) repetitions.byte(repetition);
    if (value === null) {
      nulls++;
      return;
    }
    if (min === null || value < min) min = value;
    if (max === null || value > max) max = value;
    if (dictionary) index(value);
    else write(value);
  }

  function sizeOf(value: Scalar): number {
    return physical === 'BYTE_ARRAY' ? 4 + (value as string).length : 8;
  }

  function index(value: Scalar): void {
    const map = dictionary!;
    let position = map.get(value) ?? -1;
    const size = sizeOf(value);
    valueBytes += size;
    if (position < 0) {
      position = distinct.length;
      map.set(value, position);
      distinct.push(value);
      distinctBytes += size;
    }
    if (indexCount === indexes.length) {
      const grown = new Int32Array(Math.max(1024, indexes.length * 2));
      grown.set(indexes);
      indexes = grown;
    }
    indexes[indexCount++] = position;
    if (distinctBytes > DICTIONARY_LIMIT) {
      dropDictionary();
    } else if (!looked && indexCount >= FIRST_LOOK) {
      looked = true;
      if (distinctBytes > 0.9 * valueBytes) dropDictionary();
    }
  }

  /** Slot `s` (s > 0) begins a new row: every slot of a flat column does, a list's first element does. */
  function startsRow(s: number): boolean {
    return !list || repetitions.buffer[s] === 0;
  }

  /** Gives up on the dictionary: the values so far become plain pages. */
  function dropDictionary(): void {
    const values = distinct;
    const indexed = indexes;
    dictionary = undefined;
    distinct = [];
    indexes = new Int32Array(0);
    indexCount = 0;
    // Replayed slot by slot, so pages are cut at the row boundaries plain writing would cut.
    const levels = definitions.buffer;
    let next = 0;
    let row = 0;
    for (let s = 0; s < definitions.length; s++) {
      if (s > 0 && startsRow(s)) {
        row++;
        if (plain.length >= PAGE_BYTES) cutPage(s, row);
      }
      if (levels[s] === maxDefinition) write(values[indexed[next++]]);
    }
  }

  function write(value: Scalar): void {
    switch (physical) {
      case 'BYTE_ARRAY': {
        const text = value as string;
        plain.ensure(4 + text.length);
        plain.buffer.writeUInt32LE(text.length, plain.length);
        plain.length += 4 + plain.buffer.write(text, plain.length + 4, 'latin1');
        return;
      }
      case 'INT32':
        plain.ensure(4);
        plain.buffer.writeInt32LE(value as number, plain.length);
        plain.length += 4;
        return;
      case 'INT64': {
        // A safe integer as two 32-bit words, without a BigInt per value: `>>> 0` is its low word
        // modulo 2^32, the floored quotient its high word, both in two's complement.
        const number = value as number;
        plain.ensure(8);
        plain.buffer.writeUInt32LE(number >>> 0, plain.length);
        plain.buffer.writeInt32LE(floor(number / 4294967296), plain.length + 4);
        plain.length += 8;
        return;
      }
      case 'DOUBLE':
        plain.ensure(8);
        plain.buffer.writeDoubleLE(value as number, plain.length);
        plain.length += 8;
        return;
      case 'BOOLEAN':
        booleans.push(value ? 1 : 0);
        return;
    }
  }

  /** Levels of slots `from` to `to`, RLE-encoded: repetition then definition, and their lengths. */
  function levels(from: number, to: number): Pick<Page, 'levels' | 'repetitionBytes' | 'definitionBytes' | 'nulls' | 'rows' | 'values'> {
    const defined = definitions.buffer.subarray(from, to);
    let missing = 0;
    for (let i = 0; i < defined.length; i++) if (defined[i] < maxDefinition) missing++;
    let rows = to - from;
    let repetition: Uint8Array = new Uint8Array(0);
    if (list) {
      const repeated = repetitions.buffer.subarray(from, to);
      rows = 0;
      for (let i = 0; i < repeated.length; i++) if (repeated[i] === 0) rows++;
      repetition = rle(repeated, 1);
    }
    const definition = rle(defined, bitWidth(maxDefinition));
    return {
      levels: Buffer.concat([repetition, definition]), repetitionBytes: repetition.length, definitionBytes: definition.length,
      nulls: missing, rows, values: to - from,
    };
  }

  /** Closes the plain page that ends before slot `to` (the first of row `row`) and starts compressing it. */
  function cutPage(to = definitions.length, row = rowCount): void {
    if (to === pageSlot) return;
    if (physical === 'BOOLEAN') {
      const encoded = rle(booleans, 1);
      const data = Buffer.allocUnsafe(4 + encoded.length);
      data.writeUInt32LE(encoded.length, 0);
      data.set(encoded, 4);
      booleans = [];
      addPage(pageSlot, to, 'RLE', data);
    } else {
      const data = plain.take();
      addPage(pageSlot, to, 'PLAIN', data);
    }
    pageSlot = to;
    pageRow = row;
  }

  function addPage(from: number, to: number, encoding: string, data: Uint8Array): void {
    pages.push({ ...levels(from, to), data: compress(data), plainBytes: data.length, encoding, firstRow: pageRow });
  }

  /** The chunk's dictionary-encoded data pages, cut like hyparquet-writer cuts them (4 bytes an index). */
  function indexPages(): void {
    const slots = definitions.length;
    const levels = definitions.buffer;
    let next = 0;
    let pageStart = 0;
    let pageIndex = 0;
    let row = 0;
    const cut = (to: number) => {
      const page = indexes.subarray(pageIndex, next);
      let largest = 0;
      for (let i = 0; i < page.length; i++) if (page[i] > largest) largest = page[i];
      const width = bitWidth(largest);
      const encoded = rle(page, width);
      const data = new Uint8Array(1 + encoded.length);
      data[0] = width;
      data.set(encoded, 1);
      addPage(pageStart, to, 'RLE_DICTIONARY', data);
      pageStart = to;
      pageIndex = next;
      pageRow = row;
    };
    pageRow = 0;
    for (let s = 0; s < slots; s++) {
      if (s > 0 && startsRow(s)) {
        row++;
        if ((next - pageIndex) * 4 >= PAGE_BYTES) cut(s);
      }
      if (levels[s] === maxDefinition) next++;
    }
    cut(slots);
  }

  /** Ends the chunk (the row group's end): its pages compressed, in file order, and its metadata. */
  async function finish(): Promise<FinishedChunk> {
    let dictionaryPage: { header: Uint8Array; data: Stored; uncompressed: number } | undefined;
    if (dictionary) {
      const nonNull = indexCount;
      const indexBytes = Math.ceil((nonNull * bitWidth(Math.max(0, distinct.length - 1))) / 8);
      const pays = nonNull > 0 && (looked || distinctBytes <= 0.9 * valueBytes) && 2 * (distinctBytes + indexBytes) <= valueBytes;
      if (!pays) dropDictionary();
    }
    if (dictionary) {
      for (const value of distinct) write(value);
      const values = plain.take();
      // The index pages start compressing beside the dictionary page, not after it.
      const compressing = compress(values);
      indexPages();
      const compressed = await compressing;
      const header = pageHeader({
        type: 'DICTIONARY_PAGE', uncompressed_page_size: values.length, compressed_page_size: compressed.length,
        dictionary_page_header: { num_values: distinct.length, encoding: 'PLAIN' },
      });
      dictionaryPage = { header, data: compressed, uncompressed: header.length + values.length };
    } else {
      cutPage();
    }
    const bytes: Stored[] = [];
    let size = 0;
    let uncompressed = 0;
    const push = (part: Stored) => {
      bytes.push(part);
      size += part.length;
    };
    let dictionaryOffset: number | undefined;
    if (dictionaryPage) {
      dictionaryOffset = 0;
      push(dictionaryPage.header);
      push(dictionaryPage.data);
      uncompressed += dictionaryPage.uncompressed;
    }
    const dataOffset = size;
    const located: FinishedChunk['pages'] = [];
    for (const page of pages) {
      const data = await page.data;
      const header = pageHeader({
        type: 'DATA_PAGE_V2',
        uncompressed_page_size: page.levels.length + page.plainBytes,
        compressed_page_size: page.levels.length + data.length,
        data_page_header_v2: {
          num_values: page.values, num_nulls: page.nulls, num_rows: page.rows, encoding: page.encoding,
          definition_levels_byte_length: page.definitionBytes, repetition_levels_byte_length: page.repetitionBytes, is_compressed: true,
        },
      });
      const offset = size;
      push(header);
      push(page.levels);
      push(data);
      located.push({ offset, size: size - offset, firstRow: page.firstRow });
      uncompressed += header.length + page.levels.length + page.plainBytes;
    }
    const encoding = dictionaryPage ? 'RLE_DICTIONARY' : physical === 'BOOLEAN' ? 'RLE' : 'PLAIN';
    const encodingStats = [
      ...(dictionaryPage ? [{ page_type: 'DICTIONARY_PAGE', encoding: 'PLAIN', count: 1 }] : []),
      { page_type: 'DATA_PAGE_V2', encoding, count: located.length },
    ];
    const chunk: FinishedChunk = {
      bytes, size, uncompressed, dictionaryOffset, dataOffset, pages: located,
      encodings: dictionaryPage ? ['PLAIN', 'RLE_DICTIONARY'] : [encoding],
      encodingStats,
      values: definitions.length,
      statistics: { ...bounds(), null_count: BigInt(nulls), ...(physical === 'DOUBLE' && { nan_count: 0n }) },
    };
    startChunk();
    return chunk;
  }

  /** Min and max in the form hyparquet-writer's footer encodes: bytes, bigint, number or boolean. */
  function bounds(): { min_value?: unknown; max_value?: unknown } {
    if (min === null || max === null) return {};
    switch (physical) {
      case 'BYTE_ARRAY':
        return { min_value: new Uint8Array(Buffer.from(min as string, 'latin1')), max_value: new Uint8Array(Buffer.from(max as string, 'latin1')) };
      case 'INT64':
        return { min_value: BigInt(min), max_value: BigInt(max) };
      case 'DOUBLE':
        // The Parquet spec's signed zeros: min -0, max +0.
        return { min_value: min === 0 ? -0 : min, max_value: max === 0 ? 0 : max };
      default:
        return { min_value: min, max_value: max };
    }
  }

  startChunk();
  return { spec, physical, addRows, addNulls, finish };
}
