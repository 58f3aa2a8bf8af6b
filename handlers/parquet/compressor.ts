import type { Codec } from './codecs';
import { snappyCompressor } from './hyparquet-writer-internals';

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

type ZstdStream = ReturnType<typeof import('node:zlib').createZstdCompress>;

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
    const snappyCompress = snappyCompressor();
    return { compress: async (bytes) => snappyCompress(bytes), close: () => undefined };
  }
  const zlib = require('node:zlib') as typeof import('node:zlib');
  if (typeof zlib.createZstdCompress !== 'function') {
    throw new Error(`codec zstd needs Node >= 22.15 (this is ${process.version}); use codec snappy`);
  }
  const all: ZstdStream[] = [];
  const idle: ZstdStream[] = [];
  const waiting: Array<(stream: ZstdStream) => void> = [];
  const open = () => {
    const stream = zlib.createZstdCompress({ chunkSize: ZSTD_OUTPUT_CHUNK });
    all.push(stream);
    return stream;
  };
  const streams = zstdStreams();
  const acquire = (): Promise<ZstdStream> | ZstdStream => idle.pop() ?? (all.length < streams ? open() : new Promise((resolve) => waiting.push(resolve)));
  let closed = false;
  const release = (stream: ZstdStream) => {
    const next = waiting.shift();
    if (next) next(stream);
    else if (closed) stream.destroy();
    else idle.push(stream);
  };
  return {
    compress: async (bytes) => {
      const stream = await acquire();
      let out: Uint8Array;
      try {
        out = await zstdFrame(stream, bytes, zlib.constants.ZSTD_e_end);
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

/** One page through `stream` as one zstd frame (written, then flushed with `end`, ZSTD_e_end). */
function zstdFrame(stream: ZstdStream, bytes: Uint8Array, end: number): Promise<Uint8Array> {
  return new Promise<Uint8Array>((resolve, reject) => {
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
    stream.flush(end, () => done());
  });
}
