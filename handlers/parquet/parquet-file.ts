import type { Codec } from './codecs';
import { parquetCodec } from './codecs';
import type { Allocate, Compress, Stored } from './column-writer';
import { columnWriter } from './column-writer';
import { parquetSchema } from './columns';
import { fdWriter } from './file-writer';
import type { ColumnSpec } from './infer';

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

/**
 * Uncompressed page bytes handed to the compressor and not yet back before reading waits: two
 * 2 MiB pages, one per core here. 8 MiB was as fast and peaked ~3 MiB higher (A/B, 10k-50k posts).
 */
const IN_FLIGHT = 4 << 20;
/** Page buffers at least this large are kept for reuse, at most SPARE_BYTES in all. */
const SPARE_FROM = 64 << 10;
const SPARE_BYTES = 8 << 20;

/** Compresses pages; `close` frees what the compressor holds once the file is done. */
export interface Compressor {
  compress(bytes: Uint8Array): Promise<Uint8Array>;
  close(): void;
}

/**
 * zstd streams compressing at once: one per core of the machine that runs the conversion, at least
 * 2 (the main thread parses on one) and at most libuv's 4 pool threads. Each holds a context of
 * about 4 MiB once used: a row group's end hands every column's last pages over at once, and with
 * 4 streams on 2 cores it peaked 8 MiB higher for no speed (`npm run convert`, 50k posts, 7
 * alternating runs). Counted when a file opens, not when this module loads: the Lambda's copy of
 * a module-level value is the one computed on the machine that ran `pulumi up`.
 */
function zstdStreams(): number {
  const { availableParallelism } = require('node:os') as typeof import('node:os');
  return Math.min(4, Math.max(2, availableParallelism()));
}
/** A stream's output buffer: a 2 MiB page's frame (about a sixth of it on posts) fits in one. */
const ZSTD_OUTPUT_CHUNK = 1 << 20;

/**
 * The compressor: zstd runs on libuv's thread pool (node:zlib), so the main thread parses while
 * pages compress; snappy is hyparquet-writer's, in line.
 *
 * A zstd stream compresses many pages, one frame each: the page is written, then the frame ended
 * with a ZSTD_e_end flush. That is what zstdCompress does for one buffer (a write, then the end),
 * so the frames are the same bytes, but a context is allocated once per stream, not once per
 * page: a context's window and tables (megabytes at the default level) allocated and freed per
 * page left glibc holding more of them (`npm run convert`, medians of 7: 151 / 166 MiB for 10k /
 * 50k posts with a context per page, 141 / 156 MiB with the streams, same time).
 */
export function compressor(codec: Codec): Compressor {
  if (codec === 'snappy') {
    const { snappyCompress } = require('hyparquet-writer/src/snappy.js') as { snappyCompress(input: Uint8Array): Uint8Array };
    return { compress: async (bytes) => snappyCompress(bytes), close: () => undefined };
  }
  const zlib = require('node:zlib') as typeof import('node:zlib');
  if (typeof zlib.createZstdCompress !== 'function') {
    throw new Error(`codec zstd needs Node >= 22.15 (this is ${process.version}); use codec snappy`);
  }
  const END = zlib.constants.ZSTD_e_end;
  type Stream = ReturnType<typeof zlib.createZstdCompress>;
  const all: Stream[] = [];
  const idle: Stream[] = [];
  const waiting: Array<(stream: Stream) => void> = [];
  const open = () => {
    const stream = zlib.createZstdCompress({ chunkSize: ZSTD_OUTPUT_CHUNK });
    all.push(stream);
    return stream;
  };
  const streams = zstdStreams();
  const acquire = (): Promise<Stream> | Stream => idle.pop() ?? (all.length < streams ? open() : new Promise((resolve) => waiting.push(resolve)));
  let closed = false;
  const release = (stream: Stream) => {
    const next = waiting.shift();
    if (next) next(stream);
    else if (closed) stream.destroy();
    else idle.push(stream);
  };
  const frame = (stream: Stream, bytes: Uint8Array) =>
    new Promise<Uint8Array>((resolve, reject) => {
      const parts: Buffer[] = [];
      let size = 0;
      const onData = (part: Buffer) => {
        parts.push(part);
        size += part.length;
      };
      const done = (error?: unknown) => {
        stream.off('data', onData);
        stream.off('error', done);
        if (error) {
          reject(error);
          return;
        }
        const out = new Uint8Array(size);
        let at = 0;
        for (const part of parts) {
          out.set(part, at);
          at += part.length;
        }
        resolve(out);
      };
      stream.on('data', onData);
      stream.once('error', done);
      stream.write(bytes);
      stream.flush(END, () => done());
    });
  return {
    compress: async (bytes) => {
      const stream = await acquire();
      let out: Uint8Array;
      try {
        out = await frame(stream, bytes);
      } catch (error) {
        // A stream that failed leaves the pool; a new one takes its place.
        all.splice(all.indexOf(stream), 1);
        stream.destroy();
        waiting.shift()?.(open());
        throw error;
      }
      release(stream);
      return out;
    },
    // A stream still busy with a page finishes it (its caller's promise settles), then goes.
    close: () => {
      closed = true;
      for (const stream of idle.splice(0)) stream.destroy();
    },
  };
}

/**
 * Page buffers, reused once the compressor is done with them: a megabyte allocated per page and
 * freed later makes glibc's malloc raise its mmap threshold and keep the freed memory, which grew
 * the process by tens of megabytes. Only a buffer made here is taken back, whole: any other may be
 * a slice of Node's shared buffer pool (64 KiB in Node 24, so as large as SPARE_FROM), whose other
 * slices are in use elsewhere; handing that pool out as a page buffer corrupted pages.
 */
export function pageBuffers(spareLimit = SPARE_BYTES): { allocate: Allocate; recycle: (bytes: Uint8Array) => void } {
  const ours = new WeakSet<ArrayBuffer>();
  const spare = new Map<number, ArrayBuffer[]>();
  let spareBytes = 0;
  return {
    allocate: (size) => {
      const reused = spare.get(size)?.pop();
      if (reused) {
        spareBytes -= size;
        return Buffer.from(reused);
      }
      const fresh = Buffer.allocUnsafeSlow(size);
      ours.add(fresh.buffer);
      return fresh;
    },
    recycle: (bytes) => {
      const buffer = bytes.buffer;
      if (!(buffer instanceof ArrayBuffer) || !ours.has(buffer) || buffer.byteLength < SPARE_FROM) return;
      if (spareBytes + buffer.byteLength > spareLimit) return;
      const list = spare.get(buffer.byteLength) ?? [];
      list.push(buffer);
      spareBytes += buffer.byteLength;
      spare.set(buffer.byteLength, list);
    },
  };
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
  const { writeMetadata } = require('hyparquet-writer/src/metadata.js') as { writeMetadata(writer: unknown, metadata: unknown): void };
  const { writeIndexes } = require('hyparquet-writer/src/indexes.js') as { writeIndexes(writer: unknown, indexes: unknown[]): void };
  const fs = require('node:fs') as typeof import('node:fs');

  // Its own name per open: a conversion that starts over never shares a path with the file it drops.
  const partial = `${output}.${require('node:crypto').randomUUID().slice(0, 8)}.partial`;
  const { compress: compressPage, close: closeCompressor } = compressor(codec);
  const fd = fs.openSync(partial, 'w');
  // Compressed pages wait for their row group's end here, not in memory: a 10k-post row group is
  // 9.2 MiB of them, held until every column's chunk is complete.
  const spillPath = `${partial}.spill`;
  const spillFd = fs.openSync(spillPath, 'w+');
  let spillEnd = 0;
  let closed = false;
  // Whether the file completes or is dropped, its spilled pages are of no further use.
  const close = () => {
    if (!closed) {
      fs.closeSync(fd);
      fs.closeSync(spillFd);
      fs.rmSync(spillPath, { force: true });
    }
    closed = true;
    closeCompressor();
  };
  const abort = () => {
    close();
    fs.rmSync(partial, { force: true });
  };
  const writer = fdWriter(fd);
  const spill = (page: Uint8Array): Stored => {
    // A page that finishes compressing after an abort must not write to a descriptor number
    // that another file may hold by now.
    if (closed) throw new Error(`${partial} was closed before a page of it was compressed`);
    for (let at = 0; at < page.length; ) at += fs.writeSync(spillFd, page, at, page.length - at, spillEnd + at);
    const stored = { offset: spillEnd, length: page.length };
    spillEnd += page.length;
    return stored;
  };
  let readBack = Buffer.allocUnsafe(0);
  /** A spilled page's bytes, in a buffer the next call reuses. */
  const unspill = ({ offset, length }: Exclude<Stored, Uint8Array>): Uint8Array => {
    if (readBack.length < length) readBack = Buffer.allocUnsafe(length);
    for (let at = 0; at < length; ) {
      const read = fs.readSync(spillFd, readBack, at, length - at, offset + at);
      if (read === 0) throw new Error(`${spillPath} ends before byte ${offset + length}, which a page of ${partial} was written to`);
      at += read;
    }
    return readBack.subarray(0, length);
  };

  let inFlight = 0;
  let waiting: (() => void) | undefined;
  let failure: unknown;
  const { allocate, recycle } = pageBuffers();
  const compress: Compress = (bytes) => {
    inFlight += bytes.length;
    const stored = compressPage(bytes).then((page) => {
      recycle(bytes);
      return spill(page);
    });
    // A failure is kept for drain() and rethrown by the chunk that awaits this page.
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

  const codecName = parquetCodec(codec);
  let columns = schema.map((column, i) => columnWriter(column, binaryPaths[i], compress, allocate));
  const pathInSchema = (column: ColumnSpec) => (column.kind === 'list' ? [column.name, 'list', 'element'] : [column.name]);
  const rowGroups: unknown[] = [];
  const indexes: unknown[] = [];
  let rows = 0;
  let totalRows = 0;
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
      return rowGroups.length;
    },
    extend(next, paths) {
      if (rowGroups.length > 0) return false;
      const same = (a: ColumnSpec, b: ColumnSpec) => JSON.stringify(a) === JSON.stringify(b);
      let kept = 0;
      const extended = next.map((spec, i) => {
        if (kept < columns.length && same(columns[kept].spec, spec)) return columns[kept++];
        const added = columnWriter(spec, paths[i], compress, allocate);
        added.addNulls(rows);
        return added;
      });
      if (kept < columns.length) return false;
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
    drain: () =>
      guarded(async () => {
        while (inFlight >= IN_FLIGHT && failure === undefined) await new Promise<void>((resolve) => (waiting = resolve));
        waiting = undefined;
        if (failure !== undefined) throw failure;
      }),
    endGroup: () =>
      guarded(async () => {
        if (rows === 0) return;
        const groupStart = writer.offset;
        const chunks = [];
        let uncompressed = 0n;
        // Every column's last pages start compressing now: finished one column at a time, the group's
        // end compressed them one after another on one core while the other waited.
        const allFinished = await Promise.all(columns.map((column) => column.finish()));
        for (let c = 0; c < columns.length; c++) {
          const finished = allFinished[c];
          const start = writer.offset;
          for (const part of finished.bytes) writer.appendBytes(ArrayBuffer.isView(part) ? part : unspill(part));
          const chunk = {
            meta_data: {
              type: columns[c].physical,
              encodings: finished.encodings,
              path_in_schema: pathInSchema(columns[c].spec),
              codec: codecName,
              num_values: BigInt(finished.values),
              total_compressed_size: BigInt(finished.size),
              total_uncompressed_size: BigInt(finished.uncompressed),
              data_page_offset: BigInt(start + finished.dataOffset),
              dictionary_page_offset: finished.dictionaryOffset === undefined ? undefined : BigInt(start + finished.dictionaryOffset),
              statistics: finished.statistics,
              encoding_stats: finished.encodingStats,
            },
            file_offset: BigInt(start),
          };
          uncompressed += BigInt(finished.uncompressed);
          chunks.push(chunk);
          const offsetIndex = finished.pages.length > 1
            ? { page_locations: finished.pages.map((p) => ({ offset: BigInt(start + p.offset), compressed_page_size: p.size, first_row_index: BigInt(p.firstRow) })) }
            : undefined;
          indexes.push({ chunk, offsetIndex });
        }
        rowGroups.push({ columns: chunks, total_byte_size: uncompressed, num_rows: BigInt(rows), total_compressed_size: BigInt(writer.offset - groupStart) });
        // Every page of the group is in the file now: the next group's pages reuse the spill's space.
        spillEnd = 0;
        totalRows += rows;
        rows = 0;
        writer.flush?.();
      }),
    finish: () =>
      guarded(async () => {
        writeIndexes(writer, indexes);
        writeMetadata(writer, {
          version: 2,
          created_by: 'wordpress-lakehouse bronze (hyparquet-writer)',
          schema: parquetSchema(columns.map((column) => column.spec)),
          num_rows: BigInt(totalRows),
          row_groups: rowGroups,
          key_value_metadata: kvMetadata(columns.map((column) => column.spec)),
        });
        writer.appendUint32(0x31524150);
        writer.finish?.();
        close();
        fs.renameSync(partial, output);
        return { bytes: fs.statSync(output).size, rowGroups: rowGroups.length };
      }),
    abort,
  };
}
