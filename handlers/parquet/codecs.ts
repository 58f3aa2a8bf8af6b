import type { ParquetWriter } from 'hyparquet-writer';

type Compressors = NonNullable<ConstructorParameters<typeof ParquetWriter>[0]['compressors']>;

/** Compression codecs a bronze file can use. */
export type Codec = 'zstd' | 'snappy';

export const CODECS: readonly Codec[] = ['zstd', 'snappy'];

/** The Parquet name of a codec, as hyparquet-writer and the file metadata spell it. */
export function parquetCodec(codec: Codec): 'ZSTD' | 'SNAPPY' {
  return codec === 'zstd' ? 'ZSTD' : 'SNAPPY';
}

/**
 * hyparquet-writer ships only snappy; zstd comes from node:zlib (Node >= 22.15, and Lambda's
 * nodejs24.x), so it costs no extra package in the function's archive.
 */
export function compressors(codec: Codec): Compressors {
  if (codec === 'snappy') return {};
  const zlib = require('node:zlib') as typeof import('node:zlib');
  if (typeof zlib.zstdCompressSync !== 'function') {
    throw new Error(`codec zstd needs Node >= 22.15 (this is ${process.version}); use codec snappy`);
  }
  return { ZSTD: (input) => new Uint8Array(zlib.zstdCompressSync(input)) };
}
