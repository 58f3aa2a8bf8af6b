import test from 'ava';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { convertJsonFile } from '../../handlers/parquet/convert';
import { openTable } from '../../handlers/lake/table';

// JSON.parse makes `__proto__` and `constructor` own keys; a table read back into objects by
// assignment would turn them into a prototype and lose the column in the next merge.
test('a table read back keeps columns whose keys are __proto__ or constructor, flat and nested', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'lake-table-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const text = '[{"id":1,"__proto__":"flat","constructor":7,"meta":{"__proto__":{"x":2},"y":"z"}},{"id":2,"__proto__":null,"constructor":8,"meta":{"__proto__":{"x":3},"y":null}}]';
  await writeFile(join(dir, 'in.json'), text);
  await convertJsonFile(join(dir, 'in.json'), join(dir, 'out.parquet'));
  const table = await openTable(join(dir, 'out.parquet'));
  t.deepEqual(table.columns.map((c) => c.name), ['id', '__proto__', 'constructor', 'meta____proto____x', 'meta__y']);
  const records: unknown[] = [];
  for await (const record of table.records()) records.push(record);
  t.is(JSON.stringify(records), text);
  t.deepEqual(await table.column('__proto__'), ['flat', null]);
  const some: unknown[] = [];
  for await (const record of table.records(['id', 'meta____proto____x'])) some.push(record);
  t.is(JSON.stringify(some), '[{"id":1,"meta":{"__proto__":{"x":2}}},{"id":2,"meta":{"__proto__":{"x":3}}}]');
});
