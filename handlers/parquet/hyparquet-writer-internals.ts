import type { ByteWriter as ByteWriterType, Writer } from 'hyparquet-writer';

/**
 * The one module that reaches into hyparquet-writer's private files (its `src/*.js`, which its
 * package.json exports but its semver does not cover: they moved between 0.x releases). Everything
 * the bronze writer takes from them goes through here, each checked when first taken, so that an
 * upgrade that moves or renames one fails with a message naming the file, the export and this
 * module, not with "x is not a function" in the middle of a conversion or, worse, a file that
 * readers reject. test/unit/parquet-hyparquet-internals.test.ts pins their bytes.
 *
 * Written against hyparquet-writer 0.17.0. Each `require` names its file literally: the bronze
 * Lambda's archive and the esbuild bundle find the files they must ship by those literals, and the
 * closure serializer must see them inside functions, not at module level (docs/development.md). These
 * functions are called once per column, page or file, never per value.
 */

/** The version these shapes were checked against. */
export const HYPARQUET_WRITER_CHECKED = '0.17.0';

/** The export `name` of hyparquet-writer's `src/<file>`, which must be a function of `arity` parameters. */
export function take<T>(module: Record<string, unknown>, file: string, name: string, arity: number): T {
  const found = module[name];
  if (typeof found !== 'function' || found.length !== arity) {
    const what = typeof found === 'function' ? `a function of ${found.length} parameters` : typeof found;
    throw new Error(
      `hyparquet-writer/${file} exports ${name} as ${what}, not the function of ${arity} parameters that `
        + `handlers/parquet/hyparquet-writer-internals.ts was written for (hyparquet-writer ${HYPARQUET_WRITER_CHECKED}): `
        + 'an upgrade moved its internals; adapt that module and run test/unit/parquet-hyparquet-internals.test.ts',
    );
  }
  return found as T;
}

export type ByteWriterClass = new (initialSize?: number) => ByteWriterType;

/** hyparquet-writer's growable byte buffer, the Writer its page header, index and footer writers write into. */
export function byteWriterClass(): ByteWriterClass {
  const module = require('hyparquet-writer/src/bytewriter.js') as Record<string, unknown>;
  const ByteWriter = take<ByteWriterClass>(module, 'src/bytewriter.js', 'ByteWriter', 0);
  for (const method of ['ensure', 'appendUint32', 'appendBytes', 'getBytes']) {
    if (typeof (ByteWriter.prototype as unknown as Record<string, unknown>)[method] !== 'function') {
      throw new Error(`hyparquet-writer/src/bytewriter.js: ByteWriter has no method ${method}, which handlers/parquet/ uses (checked against ${HYPARQUET_WRITER_CHECKED})`);
    }
  }
  return ByteWriter;
}

/** A writer's bytes so far, copied out of its buffer (which it may grow or reuse). */
function written(writer: ByteWriterType): Uint8Array {
  return new Uint8Array(writer.buffer, 0, writer.offset).slice();
}

/** The RLE/bit-packed hybrid encoding of `values` at `bitWidth` bits each (no length prefix). */
export type RleEncoder = (values: ArrayLike<number>, bitWidth: number) => Uint8Array;

export function rleEncoder(): RleEncoder {
  const ByteWriter = byteWriterClass();
  const encoding = require('hyparquet-writer/src/encoding.js') as Record<string, unknown>;
  const writeRle = take<(writer: ByteWriterType, values: ArrayLike<number>, bitWidth: number) => number>(encoding, 'src/encoding.js', 'writeRleBitPackedHybrid', 3);
  const { max } = Math;
  return (values, bitWidth) => {
    const writer = new ByteWriter(max(64, values.length >> 2));
    writeRle(writer, values, bitWidth);
    return written(writer);
  };
}

/** A page header (DICTIONARY_PAGE or DATA_PAGE_V2, Parquet's PageHeader in hyparquet's spelling), thrift-encoded. */
export type PageHeaderEncoder = (header: Record<string, unknown>) => Uint8Array;

export function pageHeaderEncoder(): PageHeaderEncoder {
  const ByteWriter = byteWriterClass();
  const datapage = require('hyparquet-writer/src/datapage.js') as Record<string, unknown>;
  const writePageHeader = take<(writer: ByteWriterType, header: Record<string, unknown>) => void>(datapage, 'src/datapage.js', 'writePageHeader', 2);
  return (header) => {
    const writer = new ByteWriter(64);
    writePageHeader(writer, header);
    return written(writer);
  };
}

/** The end of a file: the page indexes, then the FileMetaData footer (without its length and magic). */
export interface FooterWriters {
  writeIndexes(writer: Writer, indexes: unknown[]): void;
  writeMetadata(writer: Writer, metadata: unknown): void;
}

export function footerWriters(): FooterWriters {
  const indexes = require('hyparquet-writer/src/indexes.js') as Record<string, unknown>;
  const metadata = require('hyparquet-writer/src/metadata.js') as Record<string, unknown>;
  return {
    writeIndexes: take(indexes, 'src/indexes.js', 'writeIndexes', 2),
    // The third parameter (statistics truncation) is left to its default, as it always was.
    writeMetadata: take(metadata, 'src/metadata.js', 'writeMetadata', 3),
  };
}

/** hyparquet-writer's snappy, in line (the codec of `--codec snappy`). */
export function snappyCompressor(): (input: Uint8Array) => Uint8Array {
  const snappy = require('hyparquet-writer/src/snappy.js') as Record<string, unknown>;
  return take(snappy, 'src/snappy.js', 'snappyCompress', 1);
}
