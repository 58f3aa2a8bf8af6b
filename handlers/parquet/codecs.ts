/** Compression codecs a bronze file can use. */
export type Codec = 'zstd' | 'snappy';

export const CODECS: readonly Codec[] = ['zstd', 'snappy'];

/** The Parquet name of a codec, as hyparquet-writer and the file metadata spell it. */
export function parquetCodec(codec: Codec): 'ZSTD' | 'SNAPPY' {
  return codec === 'zstd' ? 'ZSTD' : 'SNAPPY';
}
