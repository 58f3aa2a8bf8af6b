import type { Physical, Scalar } from './column-values';
import type { RleEncoder } from './hyparquet-writer-internals';
import type { Levels } from './levels';
import { bitWidth } from './levels';

/**
 * Dictionary encoding, tried for every non-boolean column chunk and kept while it pays, as
 * hyparquet-writer decides it (distinct bytes at most half of the plain bytes, a first look that
 * rejects columns above 90%): here the first look is the first 1000 values (hyparquet-writer
 * samples the whole chunk, which a streaming writer has not seen), and a dictionary is also
 * dropped past 4 MiB of distinct bytes so that its memory is bounded. The column writer replays a
 * dropped dictionary's values as plain pages, so a chunk has one encoding.
 */
export interface DictionaryTrial {
  /** Indexes a non-null value; false when the dictionary no longer pays and must be dropped. */
  add(value: Scalar): boolean;
  /** Whether the whole chunk is smaller with the dictionary, once every value is in. */
  pays(): boolean;
  /** Distinct values in index order. */
  readonly distinct: Scalar[];
  /** Each non-null slot's index into `distinct`, in slot order. */
  indexes(): Int32Array;
}

export function dictionaryTrial(physical: Exclude<Physical, 'BOOLEAN'>): DictionaryTrial {
  /** A dictionary with more distinct bytes is dropped for plain pages. */
  const DICTIONARY_LIMIT = 4 << 20;
  /** Values seen before the first look at whether a dictionary can pay. */
  const FIRST_LOOK = 1000;
  const { ceil, max } = Math;
  /** Values are binary strings (4 bytes of length each, plain), not 8-byte numbers. */
  const byteArray = physical === 'BYTE_ARRAY';
  const double = physical === 'DOUBLE';
  const positions = new Map<Scalar, number>();
  const distinct: Scalar[] = [];
  let distinctBytes = 0;
  let valueBytes = 0;
  let indexes = new Int32Array(1024);
  let count = 0;
  let looked = false;
  return {
    distinct,
    indexes: () => indexes.subarray(0, count),
    add(value) {
      // A Map finds keys by SameValueZero, where -0 is +0: a DOUBLE's -0 has a key of its own, or
      // the chunk's -0 and 0 read back as whichever came first (fuzz seeds 2 and 35). INT64 has no -0.
      const key = double && value === 0 && 1 / (value as number) < 0 ? '-0' : value;
      let position = positions.get(key) ?? -1;
      const size = byteArray ? 4 + (value as string).length : 8;
      valueBytes += size;
      if (position < 0) {
        position = distinct.length;
        positions.set(key, position);
        distinct.push(value);
        distinctBytes += size;
      }
      if (count === indexes.length) {
        const grown = new Int32Array(max(1024, indexes.length * 2));
        grown.set(indexes);
        indexes = grown;
      }
      indexes[count++] = position;
      if (distinctBytes > DICTIONARY_LIMIT) return false;
      if (looked || count < FIRST_LOOK) return true;
      looked = true;
      return distinctBytes <= 0.9 * valueBytes;
    },
    pays() {
      const indexBytes = ceil((count * bitWidth(max(0, distinct.length - 1))) / 8);
      return count > 0 && (looked || distinctBytes <= 0.9 * valueBytes) && 2 * (distinctBytes + indexBytes) <= valueBytes;
    },
  };
}

/** Adds a data page of slots `from` to `to`, whose first row is `firstRow`. */
export type AddPage = (from: number, to: number, encoding: string, data: Uint8Array, firstRow: number) => void;

/**
 * The chunk's dictionary-encoded data pages, cut like hyparquet-writer cuts them (4 bytes an
 * index), at row boundaries.
 */
export function indexPages(indexes: Int32Array, levels: Levels, pageBytes: number, rle: RleEncoder, addPage: AddPage): void {
  const slots = levels.count();
  const defined = levels.definitions.buffer;
  const { maxDefinition } = levels;
  let next = 0;
  let pageStart = 0;
  let pageIndex = 0;
  let pageRow = 0;
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
    addPage(pageStart, to, 'RLE_DICTIONARY', data, pageRow);
    pageStart = to;
    pageIndex = next;
    pageRow = row;
  };
  for (let s = 0; s < slots; s++) {
    if (s > 0 && levels.startsRow(s)) {
      row++;
      if ((next - pageIndex) * 4 >= pageBytes) cut(s);
    }
    if (defined[s] === maxDefinition) next++;
  }
  cut(slots);
}
