import type { Bytes } from './page-bytes';
import { growable } from './page-bytes';
import type { RleEncoder } from './hyparquet-writer-internals';

/**
 * A chunk's repetition and definition levels, one byte per slot as values arrive, RLE-encoded per
 * page when the page is cut. A slot is a value or a null: one per row of a flat column; one per
 * element of a list, or one for a null or empty list. Definition levels: flat 0 null, 1 value;
 * list 0 null list, 1 empty list, 2 null element, 3 element. Repetition 0 starts a row.
 */

/** A page's levels: repetition then definition, RLE-encoded, and what they count. */
export interface PageLevels {
  levels: Uint8Array;
  repetitionBytes: number;
  definitionBytes: number;
  nulls: number;
  rows: number;
  values: number;
}

export interface Levels {
  readonly definitions: Bytes;
  readonly maxDefinition: number;
  /** Slots so far. */
  count(): number;
  add(definition: number, repetition: number): void;
  /** Slot `s` (s > 0) begins a new row: every slot of a flat column does, a list's first element does. */
  startsRow(s: number): boolean;
  /** The levels of slots `from` to `to`. */
  encode(from: number, to: number): PageLevels;
  reset(): void;
}

/** Bits that hold every integer from 0 to `max`. */
export function bitWidth(max: number): number {
  return max === 0 ? 0 : 32 - Math.clz32(max);
}

export function levels(list: boolean, rle: RleEncoder): Levels {
  const definitions = growable(4096);
  const repetitions = growable(4096);
  const maxDefinition = list ? 3 : 1;
  const definitionWidth = bitWidth(maxDefinition);
  return {
    definitions,
    maxDefinition,
    count: () => definitions.length,
    add(definition, repetition) {
      definitions.byte(definition);
      if (list) repetitions.byte(repetition);
    },
    startsRow: (s) => !list || repetitions.buffer[s] === 0,
    encode(from, to) {
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
      const definition = rle(defined, definitionWidth);
      return {
        levels: Buffer.concat([repetition, definition]), repetitionBytes: repetition.length, definitionBytes: definition.length,
        nulls: missing, rows, values: to - from,
      };
    },
    reset() {
      definitions.length = 0;
      repetitions.length = 0;
    },
  };
}
