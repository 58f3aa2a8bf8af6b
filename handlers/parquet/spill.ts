import type { Stored } from './chunk';

/**
 * Where compressed pages wait for their row group's end: a file beside the partial Parquet file,
 * not memory (a 10k-post row group is 9.2 MiB of them, held until every column's chunk is
 * complete). Each group's pages reuse the space of the group before.
 */
export interface Spill {
  /** Writes a compressed page; answers where it is. */
  put(page: Uint8Array): Stored;
  /** A spilled page's bytes, in a buffer the next call reuses. */
  get(stored: Exclude<Stored, Uint8Array>): Uint8Array;
  /** Every page so far is in the Parquet file: the next ones take their space. */
  rewind(): void;
  /** Closes and deletes the spill file; a page that arrives later throws. */
  close(): void;
}

/** @param owner - The partial Parquet file the pages belong to, named in errors. */
export function spillFile(path: string, owner: string): Spill {
  const fs = require('node:fs') as typeof import('node:fs');
  const fd = fs.openSync(path, 'w+');
  let end = 0;
  let closed = false;
  let readBack = Buffer.allocUnsafe(0);
  return {
    put(page) {
      // A page that finishes compressing after an abort must not write to a descriptor number
      // that another file may hold by now.
      if (closed) throw new Error(`${owner} was closed before a page of it was compressed`);
      for (let at = 0; at < page.length; ) at += fs.writeSync(fd, page, at, page.length - at, end + at);
      const stored = { offset: end, length: page.length };
      end += page.length;
      return stored;
    },
    get({ offset, length }) {
      if (readBack.length < length) readBack = Buffer.allocUnsafe(length);
      for (let at = 0; at < length; ) {
        const read = fs.readSync(fd, readBack, at, length - at, offset + at);
        if (read === 0) throw new Error(`${path} ends before byte ${offset + length}, which a page of ${owner} was written to`);
        at += read;
      }
      return readBack.subarray(0, length);
    },
    rewind() {
      end = 0;
    },
    close() {
      if (closed) return;
      closed = true;
      fs.closeSync(fd);
      fs.rmSync(path, { force: true });
    },
  };
}
