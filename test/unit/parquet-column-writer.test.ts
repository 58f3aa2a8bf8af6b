import test from 'ava';
import type { Compress } from '../../handlers/parquet/column-writer';
import { columnWriter } from '../../handlers/parquet/column-writer';
import type { ColumnSpec } from '../../handlers/parquet/infer';

/** A compressor that holds every page until told to hand them back, and counts what it was given. */
function heldCompressor() {
  const held: Array<{ bytes: Uint8Array; release: () => void }> = [];
  const compress: Compress = (bytes) =>
    new Promise((resolve) => held.push({ bytes, release: () => resolve(bytes.slice()) }));
  return { compress, held, releaseAll: () => held.splice(0).forEach((page) => page.release()) };
}

/** Lets every settled promise's reactions run. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

const statusSpec: ColumnSpec = { name: 'status', path: ['status'], kind: 'string' };
const statusRows = (count: number) => Array.from({ length: count }, (_, i) => ({ status: ['publish', 'draft', 'future'][i % 3] }));

test("a dictionary column's index pages start compressing beside its dictionary page, not after it", async (t) => {
  const { compress, held, releaseAll } = heldCompressor();
  const writer = columnWriter(statusSpec, ['status'], compress, (size) => Buffer.allocUnsafe(size));
  writer.addRows(statusRows(5000));
  t.is(held.length, 0, 'no page is full before the chunk ends');
  const finishing = writer.finish();
  await settle();
  // The dictionary page and the one index page: both handed over while neither is back.
  t.is(held.length, 2);
  releaseAll();
  const chunk = await finishing;
  t.deepEqual(chunk.encodings, ['PLAIN', 'RLE_DICTIONARY']);
  t.is(chunk.pages.length, 1);
  t.is(chunk.values, 5000);
});

test("a page handed to the compressor takes no buffer for the next page until the column's next row", async (t) => {
  const { compress, releaseAll } = heldCompressor();
  const sizes: number[] = [];
  const spec: ColumnSpec = { name: 'body', path: ['body'], kind: 'string' };
  const writer = columnWriter(spec, ['body'], compress, (size) => {
    sizes.push(size);
    return Buffer.allocUnsafe(size);
  });
  // Distinct values: the dictionary is dropped and the chunk is plain pages.
  const distinct = (from: number, count: number) => Array.from({ length: count }, (_, i) => ({ body: `post ${from + i} `.repeat(20) }));
  writer.addRows(distinct(0, 3000));
  const before = sizes.length;
  const finishing = writer.finish();
  await settle();
  releaseAll();
  const chunk = await finishing;
  t.deepEqual(chunk.encodings, ['PLAIN']);
  // At a row group's end every column hands its last page over at once: a new buffer for each
  // there would be one more page per column in memory while they compress.
  t.is(sizes.length, before);
  // The next group's values go to plain pages once its first look drops the dictionary again,
  // into a buffer as large as the one handed over.
  writer.addRows(distinct(3000, 1500));
  t.is(sizes[before], sizes[before - 1]);
});
