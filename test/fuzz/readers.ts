import { readFile } from 'node:fs/promises';
import { zstdDecompressSync } from 'node:zlib';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { ColumnSpec } from '../../handlers/parquet/infer';

/**
 * Three readers of a bronze file, each giving rows of plain JS values (null, number, boolean,
 * string, epoch milliseconds, arrays): hyparquet (JavaScript, whose sibling writes our footer),
 * DuckDB (C++), and Polars (Rust, through nodejs-polars: its own Parquet reader, polars-parquet,
 * shares no code with DuckDB's, with hyparquet or with ours). Rows come as arrays in the file's
 * column order: rows as objects lose a column named `__proto__` in hyparquet's and DuckDB's
 * readers (an assignment sets the prototype), and a JSON key `__proto__` makes that column.
 */
export type Reader = (file: string, schema: readonly ColumnSpec[]) => Promise<unknown[][]>;

/** A reader's value in the comparable form: bigints and Dates as numbers, inside lists too. */
export function plain(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value === 'bigint') return Number(value);
  if (value instanceof Date) return value.getTime();
  if (Array.isArray(value)) return value.map(plain);
  return value;
}

export const readHyparquet: Reader = async (file) => {
  const { parquetRead } = await import('hyparquet');
  const buffer = await readFile(file);
  const arrayBuffer = buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength);
  // JSON columns as their text, which is what is compared (hyparquet parses them by default).
  const decoder = new TextDecoder();
  let rows: unknown[][] = [];
  await parquetRead({
    file: arrayBuffer, rowFormat: 'array', parsers: { jsonFromBytes: (bytes: Uint8Array) => bytes && decoder.decode(bytes) },
    compressors: { ZSTD: (input: Uint8Array) => new Uint8Array(zstdDecompressSync(input)) },
    onComplete: (data: unknown[][]) => (rows = data),
  });
  return rows;
};

/** A DuckDB reader on one connection (an instance per file costs more than reading it). */
export function duckdbReader(connection: DuckDBConnection): Reader {
  return async (file) => {
    const reader = await connection.runAndReadAll(`SELECT * FROM read_parquet('${file.replace(/'/g, "''")}')`);
    return reader.getRowsJS() as unknown[][];
  };
}

export const readPolars: Reader = async (file, schema) => {
  const pl = (await import('nodejs-polars')).default;
  const frame = pl.readParquet(file);
  // Polars reads a JSON-annotated BYTE_ARRAY as Binary, which it cannot hand to JS: as UTF-8 text.
  const columns = schema.map((column) => {
    const series = frame.getColumn(column.name);
    return (column.kind === 'json' ? series.cast(pl.Utf8) : series).toArray() as unknown[];
  });
  return Array.from({ length: frame.height }, (_, r) => columns.map((values) => values[r]));
};
