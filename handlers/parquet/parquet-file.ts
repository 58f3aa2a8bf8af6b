import type { Writer } from 'hyparquet-writer';
import type { Codec } from './codecs';
import { parquetCodec } from './codecs';
import type { ColumnWriter, Compress, Stored } from './column-writer';
import { columnWriter } from './column-writer';
import { parquetSchema } from './columns';
import type { Compressor } from './compressor';
import { compressor } from './compressor';
import { fdWriter } from './file-writer';
import type { FooterWriters } from './hyparquet-writer-internals';
import { footerWriters } from './hyparquet-writer-internals';
import type { ColumnSpec } from './infer';
import { pageBuffers } from './page-bytes';
import { columnChunk, offsetIndex } from './row-group';
import type { Spill } from './spill';
import { spillFile } from './spill';

/**
 * A Parquet file written row group by row group from rows in binary form (binary.ts): one
 * ColumnWriter per column fills its chunk as rows arrive, and a finished row group is written
 * column after column. The footer, page headers and RLE come from hyparquet-writer.
 */
export interface ParquetFile {
  /** The columns being written, in file order. */
  readonly schema: ColumnSpec[];
  /** Row groups on disk. */
  readonly rowGroups: number;
  /**
   * Follows a schema that only adds columns to this one (every current column unchanged, in the
   * same order): the new columns hold null for the rows so far. Answers false, changing nothing,
   * for any other schema, or once a row group is on disk (it would lack the new columns).
   */
  extend(schema: ColumnSpec[], binaryPaths: string[][]): boolean;
  /** Adds rows to the current row group. */
  add(rows: readonly Record<string, unknown>[]): void;
  /** Resolves once pages waiting for the compressor are few enough to read on. */
  drain(): Promise<void>;
  /** Ends the current row group and writes it. */
  endGroup(): Promise<void>;
  /** Completes the file and renames it into place. */
  finish(): Promise<{ bytes: number; rowGroups: number }>;
  /** Closes and deletes the partial file. */
  abort(): void;
}

// The compressor and the page buffers are parts of the file; their tests import them from here.
export { compressor } from './compressor';
export { pageBuffers } from './page-bytes';

/**
 * Uncompressed page bytes handed to the compressor and not yet back before reading waits: two
 * 2 MiB pages, one per core here. 8 MiB was as fast and peaked ~3 MiB higher (A/B, 10k-50k posts).
 */
const IN_FLIGHT = 4 << 20;

/** What the file's row groups and page indexes have gathered for the footer. */
interface Footer {
  rowGroups: unknown[];
  indexes: unknown[];
  rows: number;
}

/**
 * @param binaryPaths - Each column's path as the rows spell it (binary form).
 * @param kvMetadata - The footer's key-value metadata, for the schema the file ends with.
 */
export function openParquet(
  output: string,
  schema: ColumnSpec[],
  binaryPaths: string[][],
  codec: Codec,
  kvMetadata: (schema: ColumnSpec[]) => { key: string; value: string }[],
): ParquetFile {
  const fs = require('node:fs') as typeof import('node:fs');
  // Taken before anything is opened, so that an upgrade that moved them fails before any row is read.
  const footerWriter = footerWriters();
  const pageCompressor = compressor(codec);
  const { partial, fd, spill, close, abort } = partialFile(output, pageCompressor);
  const writer = fdWriter(fd);
  const pipeline = compressionPipeline(pageCompressor, spill);
  let columns = schema.map((column, i) => columnWriter(column, binaryPaths[i], pipeline.compress, pipeline.allocate));
  const footer: Footer = { rowGroups: [], indexes: [], rows: 0 };
  const codecName = parquetCodec(codec);
  let rows = 0;
  writer.appendUint32(0x31524150);

  const guarded = async <T>(work: () => Promise<T>): Promise<T> => {
    try {
      return await work();
    } catch (error) {
      abort();
      throw error;
    }
  };

  return {
    get schema() {
      return columns.map((column) => column.spec);
    },
    get rowGroups() {
      return footer.rowGroups.length;
    },
    extend(next, paths) {
      if (footer.rowGroups.length > 0) return false;
      const extended = extendColumns(columns, next, (spec, i) => {
        const added = columnWriter(spec, paths[i], pipeline.compress, pipeline.allocate);
        added.addNulls(rows);
        return added;
      });
      if (!extended) return false;
      columns = extended;
      return true;
    },
    add(batch) {
      try {
        for (const column of columns) column.addRows(batch);
      } catch (error) {
        abort();
        throw error;
      }
      rows += batch.length;
    },
    drain: () => guarded(pipeline.drain),
    endGroup: () =>
      guarded(async () => {
        if (rows === 0) return;
        await writeRowGroup(writer, columns, rows, codecName, spill, footer);
        rows = 0;
        writer.flush?.();
      }),
    finish: () =>
      guarded(async () => {
        writeFooter(writer, footerWriter, footer, columns.map((column) => column.spec), kvMetadata);
        writer.finish?.();
        close();
        fs.renameSync(partial, output);
        return { bytes: fs.statSync(output).size, rowGroups: footer.rowGroups.length };
      }),
    abort,
  };
}

/**
 * The file being written, beside `output` under a name of its own per open (a conversion that
 * starts over never shares a path with the file it drops), and its spill file.
 */
function partialFile(output: string, pageCompressor: Compressor) {
  const fs = require('node:fs') as typeof import('node:fs');
  const partial = `${output}.${require('node:crypto').randomUUID().slice(0, 8)}.partial`;
  const fd = fs.openSync(partial, 'w');
  const spill = spillFile(`${partial}.spill`, partial);
  let closed = false;
  // Whether the file completes or is dropped, its spilled pages are of no further use.
  const close = () => {
    if (!closed) {
      fs.closeSync(fd);
      spill.close();
    }
    closed = true;
    pageCompressor.close();
  };
  const abort = () => {
    close();
    fs.rmSync(partial, { force: true });
  };
  return { partial, fd, spill, close, abort };
}

/**
 * The columns of a schema that only adds columns to the current one, the current writers kept and
 * the new ones made by `add`; undefined for any other schema.
 */
function extendColumns(columns: ColumnWriter[], next: ColumnSpec[], add: (spec: ColumnSpec, index: number) => ColumnWriter): ColumnWriter[] | undefined {
  const same = (a: ColumnSpec, b: ColumnSpec) => JSON.stringify(a) === JSON.stringify(b);
  let kept = 0;
  const extended = next.map((spec, i) => (kept < columns.length && same(columns[kept].spec, spec) ? columns[kept++] : add(spec, i)));
  return kept < columns.length ? undefined : extended;
}

/**
 * Pages on their way from a column writer to the spill file: compressed, their buffers recycled,
 * and no more than IN_FLIGHT bytes of them waiting for the compressor before `drain` holds the
 * reading back. A failure is kept for `drain` and rethrown by the chunk that awaits its page.
 */
function compressionPipeline(pageCompressor: Compressor, spill: Spill) {
  let inFlight = 0;
  let waiting: (() => void) | undefined;
  let failure: unknown;
  const { allocate, recycle } = pageBuffers();
  const compress: Compress = (bytes) => {
    inFlight += bytes.length;
    const stored: Promise<Stored> = pageCompressor.compress(bytes).then((page) => {
      recycle(bytes);
      return spill.put(page);
    });
    stored.then(
      () => {
        inFlight -= bytes.length;
        if (waiting && inFlight < IN_FLIGHT) waiting();
      },
      (error: unknown) => {
        failure ??= error;
        waiting?.();
      },
    );
    return stored;
  };
  const drain = async () => {
    while (inFlight >= IN_FLIGHT && failure === undefined) await new Promise<void>((resolve) => (waiting = resolve));
    waiting = undefined;
    if (failure !== undefined) throw failure;
  };
  return { compress, drain, allocate };
}

/** Ends every column's chunk and writes the group, column after column; its metadata goes to `footer`. */
async function writeRowGroup(writer: Writer, columns: ColumnWriter[], rows: number, codec: string, spill: Spill, footer: Footer): Promise<void> {
  const groupStart = writer.offset;
  const chunks = [];
  let uncompressed = 0n;
  // Every column's last pages start compressing now: finished one column at a time, the group's
  // end compressed them one after another on one core while the other waited.
  const allFinished = await Promise.all(columns.map((column) => column.finish()));
  for (let c = 0; c < columns.length; c++) {
    const finished = allFinished[c];
    const start = writer.offset;
    for (const part of finished.bytes) writer.appendBytes(ArrayBuffer.isView(part) ? part : spill.get(part));
    const chunk = columnChunk(columns[c].spec, columns[c].physical, finished, start, codec);
    uncompressed += BigInt(finished.uncompressed);
    chunks.push(chunk);
    footer.indexes.push({ chunk, offsetIndex: offsetIndex(finished, start) });
  }
  footer.rowGroups.push({ columns: chunks, total_byte_size: uncompressed, num_rows: BigInt(rows), total_compressed_size: BigInt(writer.offset - groupStart) });
  footer.rows += rows;
  // Every page of the group is in the file now: the next group's pages reuse the spill's space.
  spill.rewind();
}

/** The page indexes, the FileMetaData and the closing magic. */
function writeFooter(
  writer: Writer, { writeIndexes, writeMetadata }: FooterWriters, footer: Footer, schema: ColumnSpec[], kvMetadata: (schema: ColumnSpec[]) => { key: string; value: string }[],
): void {
  writeIndexes(writer, footer.indexes);
  writeMetadata(writer, {
    version: 2,
    created_by: 'wordpress-lakehouse bronze (hyparquet-writer)',
    schema: parquetSchema(schema),
    num_rows: BigInt(footer.rows),
    row_groups: footer.rowGroups,
    key_value_metadata: kvMetadata(schema),
  });
  writer.appendUint32(0x31524150);
}
