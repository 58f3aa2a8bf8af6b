import test from 'ava';
import { readJsonBatches, readJsonItems } from '../../handlers/parquet/json-items';

/** Feeds `text` as UTF-8 bytes cut every `size` bytes, so tokens and characters straddle chunks. */
async function* chunks(text: string, size: number): AsyncGenerator<Uint8Array> {
  const bytes = new TextEncoder().encode(text);
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

async function collect(text: string, size: number): Promise<unknown[]> {
  const items: unknown[] = [];
  for await (const item of readJsonItems(chunks(text, size))) items.push(item);
  return items;
}

const tricky = [
  { id: 1, title: { rendered: 'Caf\u00e9 &amp; \u201cquotes\u201d \ud83d\ude00 \u4e2d\u6587 \u05e9\u05dc\u05d5\u05dd' } },
  { id: 2, s: 'brackets ] } [ { and "escaped" quotes \\" and a backslash \\\\', nested: [[1, [2]], { a: [] }] },
  { id: 3, empty: {}, list: [], n: -1.5e3, t: true, f: false, z: null },
];

for (const size of [1, 2, 3, 7, 64, 1 << 16]) {
  test(`items come back equal to JSON.parse when the input is cut every ${size} bytes`, async (t) => {
    t.deepEqual(await collect(JSON.stringify(tricky, null, size % 2 ? 2 : 0), size), tricky);
  });
}

test('an empty array yields nothing', async (t) => {
  t.deepEqual(await collect(' [ ] \n', 1), []);
});

test('scalar items are read too, so the caller can reject them by position', async (t) => {
  t.deepEqual(await collect('[1, "a,]", true ,null,{"x":1}]', 2), [1, 'a,]', true, null, { x: 1 }]);
});

test('a top-level object is read as the only item', async (t) => {
  t.deepEqual(await collect('{"a": {"b": [1]}}', 3), [{ a: { b: [1] } }]);
});

test('a 20 KB string with escapes survives any chunking', async (t) => {
  const body = '<p>\u00e9\ud83d\ude00 \\ "x" </p>\n'.repeat(800);
  t.deepEqual(await collect(JSON.stringify([{ content: body }]), 4093), [{ content: body }]);
});

const broken: Array<[string, string, RegExp]> = [
  ['text that is not JSON', 'hello', /expected a JSON array of objects, found "h"/],
  ['an empty file', '', /found no JSON at all/],
  ['a truncated array', '[{"a":1},{"b":', /ends early.*inside item 1/],
  ['an array that is never closed', '[{"a":1}', /ends early/],
  ['an invalid item', '[{"a":1},{"b":tru}]', /item 1 is not valid JSON/],
  ['data after the array', '[{"a":1}] {"b":2}', /after the end of the JSON array/],
  ['an HTML error page', '<html>403</html>', /expected a JSON array of objects, found "<"/],
];

test('the batched reader falls back to the scanner mid-read, after pieces parsed in place, with the text as it was', async (t) => {
  // Pieces of one read are parsed with brackets written over their separators: a piece that
  // then fails (pretty-printed items) must reach the scanner with its separators back.
  const lots = Array.from({ length: 3000 }, (_, i) => ({ ...tricky[i % 3], id: i }));
  const head = rawLayout(lots.slice(0, 2000)).slice(0, -3);
  t.true(head.length > 3 * (48 << 10), 'several pieces parse before the pretty-printed part');
  const text = `${head},\n${JSON.stringify(lots.slice(2000), null, 2).slice(1)}`;
  t.deepEqual(await collectBatches(text, 1 << 22), lots);
});

for (const [what, text, message] of broken) {
  test(`${what} is rejected with a clear message`, async (t) => {
    await t.throwsAsync(collect(text, 5), { message });
  });
}

async function collectBatches(text: string, size: number): Promise<unknown[]> {
  const items: unknown[] = [];
  for await (const batch of readJsonBatches(chunks(text, size))) items.push(...batch.items);
  return items;
}

const many = Array.from({ length: 300 }, (_, i) => ({ ...tricky[i % 3], id: i }));
const rawLayout = (items: readonly unknown[]) => `[\n${items.map((item) => JSON.stringify(item)).join(',\n')}\n]\n`;

for (const size of [1, 5, 4093, 1 << 20]) {
  test(`the batched reader gives back every item of the raw layer's layout cut every ${size} bytes`, async (t) => {
    t.deepEqual(await collectBatches(rawLayout(many), size), many);
  });
}

test('the batched reader falls back to the scanner mid-file when a line break is not an item boundary', async (t) => {
  // The first items in the raw layout, then pretty-printed ones whose `,\n` are inside objects.
  const text = `${rawLayout(many.slice(0, 200)).slice(0, -3)},\n${JSON.stringify(many.slice(200), null, 2).slice(1)}`;
  t.deepEqual(JSON.parse(text), many);
  t.deepEqual(await collectBatches(text, 4096), many);
});

for (const [what, text, message] of broken) {
  test(`the batched reader rejects ${what} like the scanner`, async (t) => {
    await t.throwsAsync(collectBatches(text, 5), { message });
  });
}

test('the batched reader names the item index of an invalid item after good batches', async (t) => {
  const text = `${rawLayout(many).slice(0, -3)},\n{"b":tru}\n]\n`;
  await t.throwsAsync(collectBatches(text, 4096), { message: /item 300 is not valid JSON/ });
});
