import { readFile } from 'node:fs/promises';
import { zstdDecompressSync } from 'node:zlib';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { ColumnSpec } from '../../handlers/parquet/infer';

/**
 * Three readers of a bronze file, each giving rows of plain JS values (null, number, boolean,
 * string, epoch milliseconds, arrays): hyparquet (JavaScript, whose sibling writes our footer),
 * DuckDB (C++), and parquet-wasm (the Rust `parquet` crate of arrow-rs compiled to WebAssembly,
 * its Arrow output read by apache-arrow: no code in common with DuckDB's, hyparquet's or ours).
 * Rows come as arrays in the file's
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

/** Arrow's values as plain JS: a list arrives as a Vector. */
function fromArrow(value: unknown): unknown {
  if (value !== null && typeof value === 'object' && 'toArray' in value) return [...(value as unknown as Iterable<unknown>)].map(fromArrow);
  return value;
}

export const readParquetWasm: Reader = async (file) => {
  // The package's `./node` export, typed by its file (this project resolves modules the node10 way).
  const { readParquet } = require('parquet-wasm/node') as typeof import('parquet-wasm/node/parquet_wasm');
  const { tableFromIPC } = await import('apache-arrow');
  const table = tableFromIPC(readParquet(await readFile(file)).intoIPCStream());
  const columns = table.schema.fields.map((field) => [...table.getChild(field.name)!].map(fromArrow));
  return Array.from({ length: table.numRows }, (_, r) => columns.map((values) => values[r]));
};
