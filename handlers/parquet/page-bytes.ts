/** A buffer of `size` bytes, possibly one the compressor is done with (parquet-file.ts's pageBuffers). */
export type Allocate = (size: number) => Buffer;

/** A growable byte buffer (a closure, not a class: the Lambda closure serializer drops class fields). */
export interface Bytes {
  buffer: Buffer;
  length: number;
  ensure(more: number): void;
  byte(value: number): void;
  /** The bytes so far, handed over: the next write gets a buffer of the same capacity. */
  take(): Uint8Array;
}

/**
 * @param most - Capacity that doubling stops at (a page); a larger need still grows it.
 * @param allocate - Where every buffer comes from.
 */
export function growable(size: number, most = Infinity, allocate: Allocate = (n) => Buffer.allocUnsafe(n)): Bytes {
  const none = Buffer.alloc(0);
  /** The capacity of the buffer last taken. */
  let capacity = size;
  const self: Bytes = {
    buffer: allocate(size),
    length: 0,
    ensure(more) {
      if (self.length + more <= self.buffer.length) return;
      if (self.buffer === none && more <= capacity) {
        self.buffer = allocate(capacity);
        return;
      }
      const next = allocate(Math.max(self.length + more, Math.min(Math.max(self.buffer.length, capacity) * 2, most)));
      self.buffer.copy(next, 0, 0, self.length);
      self.buffer = next;
    },
    byte(value) {
      if (self.length === self.buffer.length) self.ensure(1);
      self.buffer[self.length++] = value;
    },
    take() {
      const taken = self.buffer.subarray(0, self.length);
      // The next buffer waits for the next write: a row group's end takes every column's page at
      // once, and by the next group's first row the compressor has handed most of them back.
      if (self.buffer !== none) capacity = self.buffer.length;
      self.buffer = none;
      self.length = 0;
      return taken;
    },
  };
  return self;
}

/** Page buffers at least this large are kept for reuse, at most SPARE_BYTES in all. */
const SPARE_FROM = 64 << 10;
const SPARE_BYTES = 8 << 20;

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
