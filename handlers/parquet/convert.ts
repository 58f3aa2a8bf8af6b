import type { Codec } from './codecs';
import { compressors, parquetCodec } from './codecs';
import { parquetSchema, rowExtractor } from './columns';
import { fdWriter } from './file-writer';
import type { ColumnSpec } from './infer';
import { createSchemaInference, isPlainObject } from './infer';
import { readJsonFileItems } from './json-items';

/**
 * Raw JSON file -> Parquet file in two streamed passes: pass 1 infers the schema from every row,
 * pass 2 writes row groups of `rowGroupSize` rows. Peak memory is one row group (its column
 * arrays and their encoded pages), whatever the number of rows.
 *
 * Our own modules are imported at the top (the closure serializer copies their functions into the
 * Lambda); npm packages and built-ins are required inside functions (see DESIGN.md).
 */

export interface ConvertOptions {
  /**
   * Compression of every column chunk.
   * @default 'zstd'
   */
  codec?: Codec;
  /**
   * Rows per row group; the bound on memory, and the unit Athena splits and skips by.
   * @default 10000
   */
  rowGroupSize?: number;
  /**
   * Objects nested at most this many keys deep become `a__b` columns; deeper ones JSON text.
   * @default 3
   */
  maxDepth?: number;
  /**
   * The schema of the table this file replaces: its columns keep their order, names and types
   * (widened if the rows need it, never narrowed), and none disappears.
   * @default none
   */
  seed?: readonly ColumnSpec[];
}

/** Key of the file metadata entry holding the inferred columns (JSON), read back by the next merge. */
export const COLUMNS_METADATA_KEY = 'wordpress-lakehouse.columns';

export interface ConversionReport {
  rows: number;
  columns: number;
  /** Size of the Parquet file; 0 when empty. */
  bytes: number;
  rowGroups: number;
  ms: number;
  /** The input held no items, and no file was written. */
  empty: boolean;
  codec: Codec;
  schema: ColumnSpec[];
}

/** Every item of the JSON file, checked to be an object (a row). */
async function* rows(path: string): AsyncGenerator<Record<string, unknown>> {
  let index = 0;
  for await (const item of readJsonFileItems(path)) {
    if (!isPlainObject(item)) {
      throw new Error(`item ${index} of ${path} is ${Array.isArray(item) ? 'an array' : JSON.stringify(item)}, not an object`);
    }
    yield item;
    index++;
  }
}

/**
 * Converts `input` (a JSON array of objects) into the Parquet file `output`. The file is written
 * next to `output` and renamed into place only when complete, so a failure never leaves a partial
 * file under that name. An empty array writes nothing and reports `empty`.
 */
export async function convertJsonFile(input: string, output: string, options: ConvertOptions = {}): Promise<ConversionReport> {
  const started = performance.now();
  const codec = options.codec ?? 'zstd';
  const rowGroupSize = options.rowGroupSize ?? 10_000;
  if (!Number.isSafeInteger(rowGroupSize) || rowGroupSize < 1) throw new Error(`rowGroupSize must be a positive integer, got ${rowGroupSize}`);

  const inference = createSchemaInference({ maxDepth: options.maxDepth });
  if (options.seed) inference.seed(options.seed);
  let count = 0;
  for await (const row of rows(input)) {
    inference.observe(row);
    count++;
  }
  const schema = inference.columns();
  const report = { rows: count, columns: schema.length, codec, schema };
  // A merged table whose every row was deleted is still a table: an empty file with its schema.
  if (count === 0 && !(options.seed && options.seed.length > 0)) return { ...report, bytes: 0, rowGroups: 0, ms: performance.now() - started, empty: true };

  const { bytes, rowGroups } = await writeParquet(input, output, schema, codec, rowGroupSize);
  return { ...report, bytes, rowGroups, ms: performance.now() - started, empty: false };
}

async function writeParquet(input: string, output: string, schema: ColumnSpec[], codec: Codec, rowGroupSize: number): Promise<{ bytes: number; rowGroups: number }> {
  const { ParquetWriter } = require('hyparquet-writer') as typeof import('hyparquet-writer');
  const fs = require('node:fs') as typeof import('node:fs');

  const partial = `${output}.partial`;
  const fd = fs.openSync(partial, 'w');
  try {
    const writer = new ParquetWriter({
      writer: fdWriter(fd),
      schema: parquetSchema(schema),
      codec: parquetCodec(codec),
      compressors: compressors(codec),
      statistics: true,
      createdBy: 'wordpress-lakehouse bronze (hyparquet-writer)',
      kvMetadata: [{ key: COLUMNS_METADATA_KEY, value: JSON.stringify(schema) }],
    });
    const extract = rowExtractor(schema);
    let columns: unknown[][] = schema.map(() => []);
    let buffered = 0;
    const flush = async () => {
      await writer.write({
        columnData: schema.map((column, i) => ({ name: column.name, data: columns[i] })),
        rowGroupSize,
      });
      columns = schema.map(() => []);
      buffered = 0;
    };
    for await (const row of rows(input)) {
      const values = extract(row);
      for (let i = 0; i < values.length; i++) columns[i].push(values[i]);
      if (++buffered === rowGroupSize) await flush();
    }
    if (buffered > 0) await flush();
    await writer.finish();
    fs.closeSync(fd);
    fs.renameSync(partial, output);
    return { bytes: fs.statSync(output).size, rowGroups: writer.row_groups.length };
  } catch (error) {
    fs.closeSync(fd);
    fs.rmSync(partial, { force: true });
    throw error;
  }
}
