import { binaryString, fromBinary } from './binary';
import type { Codec } from './codecs';
import { compressors, parquetCodec } from './codecs';
import { appendColumn, parquetSchema, utf8Encoder } from './columns';
import { fdWriter } from './file-writer';
import type { ColumnSpec } from './infer';
import { createSchemaInference, isPlainObject } from './infer';
import { readJsonFileBatches } from './json-items';

/**
 * Raw JSON file -> Parquet file, streamed, in one pass when the schema settles in the first row
 * group. The schema is decided by every row (see infer.ts), so a row group can only be written
 * before the end once it is known not to change: each group of `rowGroupSize` rows is observed,
 * then written with the schema inferred after the first group, as long as the inference over all
 * rows so far still gives exactly that schema. The file is then the same as one written after a
 * full inference pass (a group's values depend only on its rows and the schema). When a later
 * row changes the schema (a new key, a widened type), the partial file is dropped, inference
 * finishes alone, and a second pass writes with the final schema: the two-pass cost, only then.
 * Once the schema is known, each batch of parsed rows is turned into column values (strings as
 * UTF-8 bytes) at once, so a row group is held as its encoded values, not as parsed objects;
 * only the first group waits as rows for the schema. Peak memory is one row group, whatever the
 * number of rows.
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
  /**
   * Input text (characters) of the first row group kept as parsed rows until the schema is
   * known; a larger first group is parsed again instead (see HOLD_CHARS).
   * @default 16 MiB
   */
  holdChars?: number;
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

/**
 * Input text of the first row group held as parsed rows while the schema is not known yet. Past
 * it, the rows are dropped and read again once the group is complete: a second parse of one
 * group instead of parsed objects (several times their text) in memory. Raw files of small
 * sites stay under it and are read once.
 */
const HOLD_CHARS = 16 << 20;

/** Every item of the JSON file, checked to be an object (a row), in batches; strings in binary form (binary.ts). */
async function* rowBatches(path: string): AsyncGenerator<{ rows: Record<string, unknown>[]; chars: number }> {
  let index = 0;
  for await (const { items, chars } of readJsonFileBatches(path, { binary: true })) {
    for (const item of items) {
      if (!isPlainObject(item)) {
        throw new Error(`item ${index} of ${path} is ${Array.isArray(item) ? 'an array' : JSON.stringify(fromBinary(item))}, not an object`);
      }
      index++;
    }
    yield { rows: items as Record<string, unknown>[], chars };
  }
}

function sameSchema(a: readonly ColumnSpec[], b: readonly ColumnSpec[]): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Column values of the row group being filled, written when it holds `size` rows. */
function groupBuilder(file: ParquetFile, size: number) {
  const utf8 = utf8Encoder(true);
  // The rows' keys are in binary form too.
  const lookups = file.schema.map((column) => ({ ...column, path: column.path.map(binaryString) }));
  let columns: unknown[][] = file.schema.map(() => []);
  let rows = 0;
  return {
    /** Room left in the group. */
    room: () => size - rows,
    add(batch: readonly Record<string, unknown>[]) {
      lookups.forEach((column, i) => appendColumn(columns[i], batch, column, utf8));
      rows += batch.length;
    },
    async flush() {
      if (rows === 0) return;
      const full = columns;
      const count = rows;
      columns = file.schema.map(() => []);
      rows = 0;
      await file.write(full, count);
    },
  };
}

/** `batch` cut so that no piece crosses a row group boundary. */
function* pieces<T>(batch: T[], room: () => number): Generator<T[]> {
  for (let offset = 0; offset < batch.length; ) {
    const take = Math.min(batch.length - offset, room());
    yield take === batch.length ? batch : batch.slice(offset, offset + take);
    offset += take;
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

  const inference = createSchemaInference({ maxDepth: options.maxDepth, binary: true });
  if (options.seed) inference.seed(options.seed);
  /** Rows observed by the inference, over every read of the file. */
  let observed = 0;
  let file: ParquetFile | undefined;
  let group: ReturnType<typeof groupBuilder> | undefined;
  /** The first row group's rows, while under HOLD_CHARS. */
  let held: Record<string, unknown>[] | undefined = [];
  let heldChars = 0;
  /** A row after the first group changed the schema: inference only, then a pass that writes. */
  let unsettled = false;
  const holdChars = options.holdChars ?? HOLD_CHARS;
  // Without a group: the rest of the first one, or (the schema changed) any size, for inference.
  const room = () => (group ? group.room() : observed < rowGroupSize ? rowGroupSize - observed : rowGroupSize);

  /** One read of the file; answers true when it stopped to read the first group again. */
  const pass = async (): Promise<boolean> => {
    let position = 0;
    for await (const { rows, chars } of rowBatches(input)) {
      if (!file && held) heldChars += chars;
      if (heldChars > holdChars) held = undefined;
      for (const piece of pieces(rows, room)) {
        // A read again stops observing where the first read left off: a row group boundary.
        const fresh = position >= observed;
        position += piece.length;
        if (fresh) {
          for (const row of piece) inference.observe(row);
          observed += piece.length;
        }
        if (unsettled) continue;
        if (!file) {
          if (held) {
            held.push(...piece);
          }
          if (observed < rowGroupSize) continue;
          file = openParquet(output, inference.columns(), codec);
          group = groupBuilder(file, rowGroupSize);
          if (!held) return true;
          group.add(held);
          held = undefined;
        } else if (fresh && !sameSchema(inference.columns(), file.schema)) {
          file.abort();
          file = group = undefined;
          unsettled = true;
          continue;
        } else {
          group!.add(piece);
        }
        if (group!.room() === 0) await group!.flush();
      }
    }
    return false;
  };

  try {
    if (await pass()) await pass();
    const schema = inference.columns();
    const report = { rows: observed, columns: schema.length, codec, schema };
    // A merged table whose every row was deleted is still a table: an empty file with its schema.
    if (observed === 0 && !(options.seed && options.seed.length > 0)) return { ...report, bytes: 0, rowGroups: 0, ms: performance.now() - started, empty: true };
    if (!file || !group) {
      // Fewer rows than one group, or a schema that changed after it: the final schema writes.
      file = openParquet(output, schema, codec);
      group = groupBuilder(file, rowGroupSize);
      if (held && !unsettled) {
        group.add(held);
      } else {
        for await (const { rows } of rowBatches(input)) {
          for (const piece of pieces(rows, group.room)) {
            group.add(piece);
            if (group.room() === 0) await group.flush();
          }
        }
      }
    }
    await group.flush();
    const { bytes, rowGroups } = await file.finish();
    return { ...report, bytes, rowGroups, ms: performance.now() - started, empty: false };
  } catch (error) {
    file?.abort();
    throw error;
  }
}

interface ParquetFile {
  schema: ColumnSpec[];
  /** Writes one row group: the values of each column, in schema order. */
  write(columns: unknown[][], rows: number): Promise<void>;
  /** Completes the file and renames it into place. */
  finish(): Promise<{ bytes: number; rowGroups: number }>;
  /** Closes and deletes the partial file. */
  abort(): void;
}

function openParquet(output: string, schema: ColumnSpec[], codec: Codec): ParquetFile {
  const { ParquetWriter } = require('hyparquet-writer') as typeof import('hyparquet-writer');
  const fs = require('node:fs') as typeof import('node:fs');

  // Its own name per open: a conversion that starts over never shares a path with the file it drops.
  const partial = `${output}.${require('node:crypto').randomUUID().slice(0, 8)}.partial`;
  const fd = fs.openSync(partial, 'w');
  let closed = false;
  const close = () => {
    if (!closed) fs.closeSync(fd);
    closed = true;
  };
  const abort = () => {
    close();
    fs.rmSync(partial, { force: true });
  };
  try {
    const writer = new ParquetWriter({
      writer: fdWriter(fd),
      schema: parquetSchema(schema, true),
      codec: parquetCodec(codec),
      compressors: compressors(codec),
      statistics: true,
      createdBy: 'wordpress-lakehouse bronze (hyparquet-writer)',
      kvMetadata: [{ key: COLUMNS_METADATA_KEY, value: JSON.stringify(schema) }],
    });
    return {
      schema,
      async write(columns, rows) {
        try {
          await writer.write({ columnData: schema.map((column, i) => ({ name: column.name, data: columns[i] })), rowGroupSize: rows });
          // Min and max are views into the encoder's 1 MiB buffers; kept until the footer is
          // written, they would keep every buffer of the file alive.
          for (const chunk of writer.row_groups[writer.row_groups.length - 1].columns) {
            const statistics = chunk.meta_data?.statistics;
            if (statistics?.min_value instanceof Uint8Array) statistics.min_value = statistics.min_value.slice();
            if (statistics?.max_value instanceof Uint8Array) statistics.max_value = statistics.max_value.slice();
          }
        } catch (error) {
          abort();
          throw error;
        }
      },
      async finish() {
        try {
          // The footer declares the real types (JSON columns were written as UTF8 bytes).
          writer.schema = parquetSchema(schema);
          await writer.finish();
          close();
          fs.renameSync(partial, output);
        } catch (error) {
          abort();
          throw error;
        }
        return { bytes: fs.statSync(output).size, rowGroups: writer.row_groups.length };
      },
      abort,
    };
  } catch (error) {
    abort();
    throw error;
  }
}
