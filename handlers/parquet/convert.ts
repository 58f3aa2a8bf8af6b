import { binaryString, fromBinary } from './binary';
import type { Codec } from './codecs';
import type { ColumnSpec, SchemaInference } from './infer';
import { createSchemaInference, isPlainObject } from './infer';
import { readJsonFileBatches } from './json-items';
import type { ParquetFile } from './parquet-file';
import { openParquet } from './parquet-file';
import { youngGenerationBound } from './young-generation';

/**
 * Raw JSON file -> Parquet file, streamed, in one pass unless the schema changes in a way the
 * file being written cannot follow. The schema is decided by every row (see infer.ts); rows are
 * written as they are read, with the schema inferred from the rows so far, checked after every
 * batch:
 * - unchanged: the rows so far fit it, and writing goes on;
 * - new columns while the first row group is still open: its columns gain them, their earlier
 *   rows null (what the final schema gives a row without the key), and the columns take the
 *   schema's order when the group is written;
 * - anything else (a widened type, a column renamed by a newcomer, a new column after a row group
 *   is on disk): the partial file is dropped and writing starts again from the first row, with
 *   the schema of every row read so far. After MAX_RESTARTS such changes, inference finishes
 *   alone and a last read writes with the final schema: the two-pass cost, only then.
 * Either way the file is the one a full inference pass then a write would give (a group's values
 * depend only on its rows and the schema). A row group is held as its compressed pages, spilled
 * to a file, and the page being filled per column (see column-writer.ts), so memory does not grow
 * with rows.
 *
 * Our own modules are imported at the top (the closure serializer copies their functions into the
 * Lambda); npm packages and built-ins are required inside functions (docs/development.md, "Writing handler code").
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

/** Every item of the JSON file, checked to be an object (a row), in batches; strings in binary form (binary.ts). */
async function* rowBatches(path: string): AsyncGenerator<Record<string, unknown>[]> {
  let index = 0;
  for await (const { items } of readJsonFileBatches(path, { binary: true })) {
    for (const item of items) {
      if (!isPlainObject(item)) {
        throw new Error(`item ${index} of ${path} is ${Array.isArray(item) ? 'an array' : JSON.stringify(fromBinary(item))}, not an object`);
      }
      index++;
    }
    yield items as Record<string, unknown>[];
  }
}

function sameSchema(a: readonly ColumnSpec[], b: readonly ColumnSpec[]): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Reads that start again at once when the schema changes in a way the open file cannot follow. */
const MAX_RESTARTS = 3;

/** The row group being filled, written when it holds `size` rows. */
function groupBuilder(file: ParquetFile, size: number) {
  let rows = 0;
  return {
    /** Room left in the group. */
    room: () => size - rows,
    async add(batch: readonly Record<string, unknown>[]) {
      file.add(batch);
      rows += batch.length;
      await file.drain();
    },
    async flush() {
      if (rows === 0) return;
      rows = 0;
      await file.endGroup();
    },
  };
}

/**
 * The file being written and what a change of the inferred schema does to it (see the header): it
 * follows the change, or is dropped so that writing starts again.
 */
function schemaFollower(output: string, codec: Codec, rowGroupSize: number, inference: SchemaInference) {
  let file: ParquetFile | undefined;
  let group: ReturnType<typeof groupBuilder> | undefined;
  /** The inference's version the open file's schema was last compared with. */
  let checked = -1;
  let restarts = 0;
  const start = () => {
    checked = inference.version();
    file = open(output, inference.columns(), codec);
    group = groupBuilder(file, rowGroupSize);
  };
  return {
    room: () => (group ? group.room() : rowGroupSize),
    /**
     * Whether rows of the schema inferred so far can be written: 'write' (the file opened first if
     * there is none); 'restart' or 'unsettled' when the file could not follow and was dropped.
     */
    follow(): 'write' | 'restart' | 'unsettled' {
      if (!file) {
        start();
        return 'write';
      }
      if (inference.version() === checked) return 'write';
      checked = inference.version();
      const columns = inference.columns();
      if (sameSchema(columns, file.schema) || (file.rowGroups === 0 && file.extend(columns, binaryPaths(columns)))) return 'write';
      file.abort();
      file = group = undefined;
      // Drift shows early in most files (the first pages hold every shape): starting again at once
      // costs the rows read so far, where finishing the inference first costs a whole extra read.
      // Past a few changes, the whole inference comes first.
      if (restarts < MAX_RESTARTS) {
        restarts++;
        return 'restart';
      }
      return 'unsettled';
    },
    async write(piece: readonly Record<string, unknown>[]) {
      await group!.add(piece);
      if (group!.room() === 0) await group!.flush();
    },
    /** The file with the last group written; opened first when no row was (a seed's empty table). */
    async finish() {
      if (!file) start();
      await group!.flush();
      return file!.finish();
    },
    abort: () => file?.abort(),
  };
}

/**
 * Reads `input` until every row is observed by `inference` and written by `writer`, starting again
 * whenever the writer drops its file; answers the row count.
 */
async function writeRows(input: string, inference: SchemaInference, writer: ReturnType<typeof schemaFollower>): Promise<number> {
  /** Rows observed by the inference. */
  let observed = 0;
  /** The schema changed again in a way the open file cannot follow: inference only, then a pass that writes. */
  let unsettled = false;
  const boundYoungGeneration = youngGenerationBound();

  /**
   * One read of the file that writes as it goes; answers 'restart' when a change made the writer
   * drop its file. Rows are observed once, on the read that reaches them first: pieces are cut at
   * the same rows on every read (batches and row groups are), so a piece is either fresh or
   * already observed.
   */
  const attempt = async (): Promise<'done' | 'restart'> => {
    let position = 0;
    for await (const rows of rowBatches(input)) {
      boundYoungGeneration();
      // The batch cut so that no piece crosses a row group boundary, by a loop and not a generator
      // function: the bronze Lambda runs this module as Pulumi serializes it, where each call of a
      // module-level function goes through a sloppy-mode wrapper that passes on its `arguments`.
      // Called once per batch, such a generator made V8 promote nearly every parsed row to the old
      // space (61 MB against 6 MB for 10k posts) and the conversion about 20% slower.
      for (let offset = 0; offset < rows.length; ) {
        const take = Math.min(rows.length - offset, writer.room());
        const piece = take === rows.length ? rows : rows.slice(offset, offset + take);
        offset += take;
        const fresh = position >= observed;
        position += piece.length;
        if (fresh) {
          for (const row of piece) inference.observe(row);
          observed += piece.length;
        }
        if (unsettled) continue;
        const next = writer.follow();
        if (next === 'restart') return 'restart';
        if (next === 'unsettled') unsettled = true;
        else await writer.write(piece);
      }
    }
    return 'done';
  };

  while ((await attempt()) === 'restart');
  if (unsettled) {
    // Every row is observed now, so this read only writes, with the final schema.
    unsettled = false;
    await attempt();
  }
  return observed;
}

/**
 * Converts `input` (a JSON array of objects) into the Parquet file `output`. The file is written
 * next to `output` and renamed into place only when complete, so a failure never leaves a partial
 * file under that name. An empty array writes nothing and reports `empty`.
 *
 * @throws Error naming the input and its row count when rows were read but none has a field (e.g.
 *   `[{}]`) and no seed gives a column: a Parquet file needs at least one (arrow-rs rejects a file
 *   of none, parquet-mr and Spark such a schema), so failing loudly writes nothing.
 */
export async function convertJsonFile(input: string, output: string, options: ConvertOptions = {}): Promise<ConversionReport> {
  const started = performance.now();
  const codec = options.codec ?? 'zstd';
  const rowGroupSize = options.rowGroupSize ?? 10_000;
  if (!Number.isSafeInteger(rowGroupSize) || rowGroupSize < 1) throw new Error(`rowGroupSize must be a positive integer, got ${rowGroupSize}`);
  const inference = createSchemaInference({ maxDepth: options.maxDepth, binary: true });
  if (options.seed) inference.seed(options.seed);
  const writer = schemaFollower(output, codec, rowGroupSize, inference);
  try {
    const rows = await writeRows(input, inference, writer);
    const schema = inference.columns();
    const report = { rows, columns: schema.length, codec, schema };
    // A merged table whose every row was deleted is still a table: an empty file with its schema.
    if (rows === 0 && !(options.seed && options.seed.length > 0)) return { ...report, bytes: 0, rowGroups: 0, ms: performance.now() - started, empty: true };
    if (schema.length === 0) {
      const holds = rows === 1 ? 'holds 1 row and it has no field' : `holds ${rows} rows and none has a field`;
      throw new Error(`${input} ${holds}: a Parquet file needs at least one column, so no file was written`);
    }
    const { bytes, rowGroups } = await writer.finish();
    return { ...report, bytes, rowGroups, ms: performance.now() - started, empty: false };
  } catch (error) {
    writer.abort();
    throw error;
  }
}

/** A Parquet file for `schema`, whose metadata records the schema for the next merge. */
function open(output: string, schema: ColumnSpec[], codec: Codec): ParquetFile {
  return openParquet(output, schema, binaryPaths(schema), codec, (final) => [{ key: COLUMNS_METADATA_KEY, value: JSON.stringify(final) }]);
}

/** Each column's path as the rows spell it: keys in binary form. */
function binaryPaths(schema: readonly ColumnSpec[]): string[][] {
  return schema.map((column) => column.path.map(binaryString));
}
