import test from 'ava';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openJsonArrayFile, writeJsonArrayFile } from '../../handlers/wordpress/json-array-file';

async function inTemp<T>(run: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'json-array-file-'));
  try {
    return await run(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Items of every width: ASCII, two-byte text, astral characters, and items far larger than a batch buffer (one over a megabyte). */
const items = [
  { id: 1, title: 'plain' },
  { id: 2, title: 'テスト café', emoji: '😀'.repeat(3) },
  { id: 3, content: 'ü'.repeat(100_000) + '日本'.repeat(50_000) },
  { id: 4, content: 'x'.repeat(1_500_000) + 'é' },
  {},
  { id: 5, list: [1, null, 'x'] },
];

test('items appended as values and as JSON text give the same file, one item per line, with its size and SHA-256', async (t) => {
  await inTemp(async (dir) => {
    const asValues = openJsonArrayFile(join(dir, 'values.json'));
    await asValues.append(items.slice(0, 2));
    await asValues.append(items.slice(2));
    const values = await asValues.close();

    const asText = openJsonArrayFile(join(dir, 'text.json'));
    await asText.appendJson([]);
    for (const item of items) await asText.appendJson([JSON.stringify(item)]);
    const text = await asText.close();

    const bytes = await readFile(join(dir, 'text.json'));
    t.deepEqual(bytes, await readFile(join(dir, 'values.json')));
    t.is(bytes.toString('utf8'), `[\n${items.map((item) => JSON.stringify(item)).join(',\n')}\n]\n`);
    t.deepEqual(JSON.parse(bytes.toString('utf8')), items);
    t.like(text, { items: items.length, bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') });
    t.like(values, { items: items.length, bytes: bytes.length });
  });
});

test('a file with no items is an empty array', async (t) => {
  await inTemp(async (dir) => {
    const file = openJsonArrayFile(join(dir, 'empty.json'));
    await file.appendJson([]);
    const summary = await file.close();
    t.is(await readFile(join(dir, 'empty.json'), 'utf8'), '[]\n');
    t.like(summary, { items: 0, bytes: 3 });
  });
});

test("writeJsonArrayFile closes the file after fill and returns fill's result; a failing fill's error is the one thrown", async (t) => {
  await inTemp(async (dir) => {
    const written = await writeJsonArrayFile(join(dir, 'ok.json'), async (file) => {
      await file.append(items.slice(0, 2));
      return 'filled';
    });
    t.is(written.result, 'filled');
    t.like(written.summary, { items: 2, path: join(dir, 'ok.json') });
    t.deepEqual(JSON.parse(await readFile(join(dir, 'ok.json'), 'utf8')), items.slice(0, 2));

    const failure = new Error('the site went away');
    const thrown = await t.throwsAsync(
      writeJsonArrayFile(join(dir, 'failed.json'), async (file) => {
        await file.append(items.slice(0, 1));
        throw failure;
      }),
    );
    t.is(thrown, failure);
  });
});
