import type { Physical, Scalar } from './column-values';
import type { RleEncoder } from './hyparquet-writer-internals';
import type { Allocate } from './page-bytes';
import { growable } from './page-bytes';

/**
 * The values of the page being filled, in the encoding a page without a dictionary uses: PLAIN for
 * every physical type but BOOLEAN, whose values are RLE at one bit (as hyparquet-writer writes
 * them). Also where a dictionary page's values are written (PLAIN).
 */
export interface PlainValues {
  write(value: Scalar): void;
  /** Bytes written so far, what a page is cut by: 0 for booleans, whose pages end with the chunk. */
  bytes(): number;
  /** The page's data, handed over to the compressor, and its encoding; the next page starts empty. */
  take(): { data: Uint8Array; encoding: 'PLAIN' | 'RLE' };
}

/** @param pageBytes - The size a page is cut at: its buffer's doubling stops a little above it. */
export function plainValues(physical: Physical, pageBytes: number, allocate: Allocate, rle: RleEncoder): PlainValues {
  if (physical === 'BOOLEAN') return booleanValues(rle);
  // A page is cut once it holds pageBytes, so it rarely needs more than that and one value.
  const plain = growable(4096, pageBytes + (64 << 10), allocate);
  const { floor } = Math;
  return {
    // One function with a case per type, as for scalarReader: a function per type made the call
    // site that every column shares megamorphic.
    write(value) {
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
        default:
          plain.ensure(8);
          plain.buffer.writeDoubleLE(value as number, plain.length);
          plain.length += 8;
      }
    },
    bytes: () => plain.length,
    take: () => ({ data: plain.take(), encoding: 'PLAIN' }),
  };
}

/** Booleans as a length-prefixed RLE/bit-packed run at one bit. */
function booleanValues(rle: RleEncoder): PlainValues {
  let bits: number[] = [];
  return {
    write(value) {
      bits.push(value ? 1 : 0);
    },
    bytes: () => 0,
    take() {
      const encoded = rle(bits, 1);
      const data = Buffer.allocUnsafe(4 + encoded.length);
      data.writeUInt32LE(encoded.length, 0);
      data.set(encoded, 4);
      bits = [];
      return { data, encoding: 'RLE' };
    },
  };
}
