import type { DictionaryPage, FinishedChunk, Page, Stored } from './chunk';
import { assembleChunk, dictionaryPageHeader } from './chunk';
import type { Physical, Scalar } from './column-values';
import { misfit, physicalOf, scalarReader, valueAt } from './column-values';
import type { AddPage, DictionaryTrial } from './dictionary';
import { dictionaryTrial, indexPages } from './dictionary';
import type { PageHeaderEncoder, RleEncoder } from './hyparquet-writer-internals';
import { pageHeaderEncoder, rleEncoder } from './hyparquet-writer-internals';
import type { ColumnKind, ColumnSpec, ListElementKind } from './infer';
import type { Levels } from './levels';
import { levels as levelsOf } from './levels';
import type { Allocate } from './page-bytes';
import type { PlainValues } from './plain-values';
import { plainValues } from './plain-values';

/**
 * One column chunk, written as its rows arrive: each value goes straight from the parsed row into
 * its page (a string is copied as its bytes: rows are in binary form, binary.ts), and a page that
 * is full is handed to the compressor at once, which runs on libuv's thread pool while the next
 * rows are parsed. A row group is therefore held as its compressed pages, not as its values, and
 * the file (parquet-file.ts) keeps those in a spill file until the group is written.
 *
 * The pieces, one module each: the column kinds (column-values.ts: where a value sits in a row and
 * what each kind stores of it), the levels (levels.ts), the plain and boolean encodings
 * (plain-values.ts), the dictionary (dictionary.ts), and the chunk's end (chunk.ts: page headers,
 * offsets, statistics). Pages are DATA_PAGE_V2 with RLE levels, as hyparquet-writer writes them;
 * the footer is hyparquet-writer's own (hyparquet-writer-internals.ts).
 */

export type { FinishedChunk, Stored } from './chunk';
export type { Physical } from './column-values';

/** A page's compressed form, when the compressor is done with it; `bytes` is the compressor's until then. */
export type Compress = (bytes: Uint8Array) => Promise<Stored>;

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
 * Every per-value step is a closure made here or by the pieces' factories, and the constants and
 * built-ins it reads are locals: in the Lambda, a module-level function is a wrapper that rebuilds
 * a `with` scope on every call, and reading a module-level constant or a global inside that scope
 * is a dynamic lookup (see timestampParser).
 * @param path - The column's path in the rows' (binary) form.
 */
export function columnWriter(spec: ColumnSpec, path: readonly string[], compress: Compress, allocate: Allocate): ColumnWriter {
  /**
   * Value bytes of a data page before it is cut (at a row boundary): zstd's window at the default
   * level, so a page is compressed with all of itself as context. hyparquet-writer's 1 MiB pages made
   * files 0.2% larger than DuckDB's at 50k posts; 2 MiB ones 0.05% smaller, 4 MiB ones larger again.
   */
  const PAGE_BYTES = 2 << 20;
  const list = spec.kind === 'list';
  const kind: ColumnKind | ListElementKind = list ? spec.element ?? 'string' : spec.kind;
  const physical = physicalOf(kind);
  const rle = rleEncoder();
  const pageHeader = pageHeaderEncoder();
  const slots = levelsOf(list, rle);
  const plain = plainValues(physical, PAGE_BYTES, allocate, rle);
  // The chunk so far, beyond its levels and the page being filled: locals, read per value.
  let pages: Page[] = [];
  let rows = 0;
  let nulls = 0;
  let min: Scalar | null = null;
  let max: Scalar | null = null;
  /** The dictionary while it is tried; null once dropped, and for booleans. */
  let dictionary: DictionaryTrial | null = null;
  const addPage: AddPage = (from, to, encoding, data, firstRow) => {
    pages.push({ ...slots.encode(from, to), data: compress(data), plainBytes: data.length, encoding, firstRow });
  };
  const plainPaging = plainPages(slots, plain, PAGE_BYTES, addPage);
  const startChunk = () => {
    slots.reset();
    plainPaging.reset();
    pages = [];
    rows = nulls = 0;
    min = max = null;
    dictionary = physical === 'BOOLEAN' ? null : dictionaryTrial(physical);
  };
  /** Gives up on the dictionary: the values so far become plain pages, cut where plain writing would cut them. */
  const dropDictionary = () => {
    const { distinct } = dictionary!;
    const indexes = dictionary!.indexes();
    dictionary = null;
    let next = 0;
    plainPaging.replay((defined) => {
      if (defined) plain.write(distinct[indexes[next++]]);
    });
  };
  const addRows = rowAdder(spec, list, valueAt(path), scalarReader(spec, kind), (definition, repetition, value) => {
    slots.add(definition, repetition);
    if (value === null) {
      nulls++;
      return;
    }
    if (min === null || value < min) min = value;
    if (max === null || value > max) max = value;
    if (!dictionary) plain.write(value);
    else if (!dictionary.add(value)) dropDictionary();
  }, () => {
    rows++;
    if (!dictionary && plain.bytes() >= PAGE_BYTES) plainPaging.cut(slots.count(), rows);
  });

  const finish = async (): Promise<FinishedChunk> => {
    if (dictionary && !dictionary.pays()) dropDictionary();
    let dictionaryPage: DictionaryPage | undefined;
    if (dictionary) dictionaryPage = await dictionaryPages(dictionary, { plain, slots, rle, pageHeader, compress, addPage, pageBytes: PAGE_BYTES });
    else plainPaging.cut(slots.count(), rows);
    const finished = await assembleChunk({ physical, dictionaryPage, pages, values: slots.count(), nulls, min, max }, pageHeader);
    startChunk();
    return finished;
  };

  startChunk();
  return {
    spec, physical, addRows, finish,
    addNulls(count) {
      for (let r = 0; r < count; r++) {
        slots.add(0, 0);
        nulls++;
        rows++;
      }
    },
  };
}

/** The chunk's dictionary page, and its index pages added; both start compressing at once. */
async function dictionaryPages(
  trial: DictionaryTrial,
  to: { plain: PlainValues; slots: Levels; rle: RleEncoder; pageHeader: PageHeaderEncoder; compress: Compress; addPage: AddPage; pageBytes: number },
): Promise<DictionaryPage> {
  for (const value of trial.distinct) to.plain.write(value);
  const { data: values } = to.plain.take();
  const compressing = to.compress(values);
  indexPages(trial.indexes(), to.slots, to.pageBytes, to.rle, to.addPage);
  const compressed = await compressing;
  const header = dictionaryPageHeader(trial.distinct.length, values.length, compressed.length, to.pageHeader);
  return { header, data: compressed, uncompressed: header.length + values.length };
}

/** Plain pages: the one being filled starts at a slot and a row, and is cut at a later row's first slot. */
function plainPages(slots: Levels, plain: PlainValues, pageBytes: number, addPage: AddPage) {
  let pageSlot = 0;
  let pageRow = 0;
  const cut = (to: number, row: number): void => {
    if (to === pageSlot) return;
    const { data, encoding } = plain.take();
    addPage(pageSlot, to, encoding, data, pageRow);
    pageSlot = to;
    pageRow = row;
  };
  return {
    cut,
    /** Walks the chunk's slots from the first, cutting pages at row starts as writing would; `slot` writes a slot's value. */
    replay(slot: (defined: boolean) => void): void {
      const defined = slots.definitions.buffer;
      const { maxDefinition } = slots;
      let row = 0;
      for (let s = 0; s < slots.count(); s++) {
        if (s > 0 && slots.startsRow(s)) {
          row++;
          if (plain.bytes() >= pageBytes) cut(s, row);
        }
        slot(defined[s] === maxDefinition);
      }
    },
    reset() {
      pageSlot = pageRow = 0;
    },
  };
}

/** Slots for the column's value of each row: `slot` takes a slot's levels and value, `rowDone` follows each row. */
function rowAdder(
  spec: ColumnSpec, list: boolean, at: (row: Record<string, unknown>) => unknown, scalar: (value: unknown) => Scalar,
  slot: (definition: number, repetition: number, value: Scalar | null) => void, rowDone: () => void,
): (batch: readonly Record<string, unknown>[]) => void {
  const { isArray } = Array;
  return (batch) => {
    for (let r = 0; r < batch.length; r++) {
      const value = at(batch[r]);
      if (!list) {
        if (value === null) slot(0, 0, null);
        else slot(1, 0, scalar(value));
      } else if (value === null) {
        slot(0, 0, null);
      } else if (!isArray(value)) {
        misfit(spec, value, 'list');
      } else if (value.length === 0) {
        slot(1, 0, null);
      } else {
        for (let i = 0; i < value.length; i++) {
          const item = value[i];
          if (item == null) slot(2, i === 0 ? 0 : 1, null);
          else slot(3, i === 0 ? 0 : 1, scalar(item));
        }
      }
      rowDone();
    }
  };
}
