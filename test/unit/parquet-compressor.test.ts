import test from 'ava';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { zstdCompress, zstdDecompressSync } from 'node:zlib';
import { compressor, pageBuffers } from '../../handlers/parquet/parquet-file';

const oneShot = promisify(zstdCompress);

/** Pages as a converter makes them: empty, tiny, a dictionary's worth, text of 2 MiB, and noise larger than a stream's output buffer. */
function pages(): Uint8Array[] {
  const text = (bytes: number, seed: number) => {
    const words = ['<p>', 'café', 'the', 'post', '</p>', 'Zürich', '2026-12-06T04:21:14', String(seed)];
    const parts: string[] = [];
    let size = 0;
    for (let i = 0; size < bytes; i++) {
      const word = words[(i * 7 + seed) % words.length];
      parts.push(word);
      size += Buffer.byteLength(word) + 1;
    }
    return new Uint8Array(Buffer.from(parts.join(' ')).subarray(0, bytes));
  };
  return [new Uint8Array(0), text(5, 1), text(300, 2), text(40_000, 3), text(2 << 20, 4), new Uint8Array(randomBytes(3 << 20)), text(1 << 20, 5), text(64 << 10, 6), text(2 << 20, 7), text(17, 8)];
}

test('zstd pages from the pooled streams are the bytes zstdCompress makes, page by page, many at once', async (t) => {
  const { compress, close } = compressor('zstd');
  const input = pages();
  // More pages at once than there are streams: some wait for one.
  const [pooled, again] = await Promise.all([Promise.all(input.map((page) => compress(page))), Promise.all(input.map((page) => compress(page)))]);
  close();
  for (let i = 0; i < input.length; i++) {
    const reference = await oneShot(input[i]);
    t.true(Buffer.from(pooled[i]).equals(reference), `page ${i} (${input[i].length} bytes)`);
    t.true(Buffer.from(again[i]).equals(reference), `page ${i} (${input[i].length} bytes), second round`);
    t.true(zstdDecompressSync(pooled[i]).equals(input[i]), `page ${i} decompresses to itself`);
  }
});

test('a zstd page is its own buffer, not a view of the stream output that later pages share', async (t) => {
  const { compress, close } = compressor('zstd');
  const input = pages();
  const [a, b] = await Promise.all([compress(input[3]), compress(input[2])]);
  const c = await compress(input[3]);
  close();
  t.is(a.byteOffset, 0);
  t.is(a.buffer.byteLength, a.length);
  t.not(a.buffer, c.buffer);
  t.true(zstdDecompressSync(b).equals(input[2]));
});

test('closing the compressor lets pages in progress finish', async (t) => {
  const { compress, close } = compressor('zstd');
  const input = pages();
  const pending = input.map((page) => compress(page));
  close();
  const done = await Promise.all(pending);
  for (let i = 0; i < input.length; i++) t.true(zstdDecompressSync(done[i]).equals(input[i]), `page ${i}`);
});

test('page buffers: one made here comes back whole for the next page of its size; memory made elsewhere never does', (t) => {
  const { allocate, recycle } = pageBuffers();
  const made = allocate(1 << 17);
  recycle(made.subarray(0, 10));
  t.is(allocate(1 << 17).buffer, made.buffer, 'a page taken from the start of a buffer made here returns the whole buffer');
  // A slice of Node's shared pool starts at offset 0 of a 64 KiB block whose other slices belong
  // to others: as a page buffer, writes to it overwrote them.
  const shared = new ArrayBuffer(1 << 16);
  recycle(new Uint8Array(shared, 0, 100));
  t.not(allocate(1 << 16).buffer, shared);
  t.not(allocate(1 << 16).buffer, shared);
});

test('page buffers: no more than the spare limit waits for reuse', (t) => {
  const { allocate, recycle } = pageBuffers(3 << 16);
  const buffers = [allocate(1 << 16), allocate(1 << 16), allocate(1 << 16), allocate(1 << 16)];
  for (const buffer of buffers) recycle(buffer);
  const again = new Set([allocate(1 << 16), allocate(1 << 16), allocate(1 << 16), allocate(1 << 16)].map((b) => b.buffer));
  t.is(buffers.filter((b) => again.has(b.buffer)).length, 3);
});
