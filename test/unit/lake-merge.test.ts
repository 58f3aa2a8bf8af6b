import test from 'ava';
import { LINEAGE, compareIds, mergeRows, rowHash } from '../../handlers/lake/merge';
import type { MergeInput } from '../../handlers/lake/merge';

/** Runs a merge over in-memory rows and returns the new table and the counts. */
async function merge(input: Partial<MergeInput> & Pick<MergeInput, 'mode'>, previous?: Array<Record<string, unknown>>, items: unknown[] = []) {
  const rows: Array<Record<string, unknown>> = [];
  const counts = await mergeRows(
    {
      fetchedAt: '2026-12-02T07:00:00.000Z',
      runId: 'day-2',
      items: async function* () {
        yield* items;
      },
      ...(previous && {
        previous: async function* () {
          yield* previous;
        },
        previousIds: async () => previous.map((row) => row.id),
      }),
      ...input,
    },
    async (id, json) => {
      const row = JSON.parse(json) as Record<string, unknown>;
      if (row.id !== id) throw new Error(`emitted id ${JSON.stringify(id)} for the row ${json}`);
      rows.push(row);
    },
  );
  return { rows, counts };
}

/** A table row as day 1 stored it: the item and its lineage. */
function stored(item: Record<string, unknown>, runId = 'day-1', at = '2026-12-01T07:00:00Z') {
  return { ...item, [LINEAGE.ingestedAt]: at, [LINEAGE.runId]: runId, [LINEAGE.hash]: rowHash(item) };
}

const post = (id: number, title = `post ${id}`) => ({ id, title, modified_gmt: '2026-12-01T06:00:00' });
const ids = (rows: Array<Record<string, unknown>>) => rows.map((r) => r.id);

test('an incremental merge upserts changed ids in place, inserts new ones in id order and keeps the rest with their lineage', async (t) => {
  const previous = [post(1), post(3), post(5)].map((p) => stored(p));
  const { rows, counts } = await merge({ mode: 'incremental', listed: [1, 2, 3, 5, 6] }, previous, [post(3, 'edited'), post(6), post(2)]);
  t.deepEqual(ids(rows), [1, 2, 3, 5, 6]);
  t.is(rows[2].title, 'edited');
  t.like(rows[2], { [LINEAGE.runId]: 'day-2', [LINEAGE.ingestedAt]: '2026-12-02T07:00:00.000Z' });
  t.deepEqual(rows[0], previous[0], 'untouched rows pass through unchanged, lineage included');
  t.deepEqual({ ...counts, deleted: counts.deleted }, { upserted: 3, inserted: 2, unchanged: 0, restated: 1, rows: 5, deleted: [] });
});

test('ids missing from the listing are deleted and reported, whether or not the delta had them', async (t) => {
  const previous = [post(1), post(2), post(3)].map((p) => stored(p));
  const { rows, counts } = await merge({ mode: 'incremental', listed: [1] }, previous, [post(3, 'edited just before it was trashed'), post(9)]);
  t.deepEqual(ids(rows), [1]);
  t.deepEqual(counts.deleted, [2, 3]);
  t.is(counts.upserted, 0, 'an item deleted after the delta was read is not inserted');
});

test('an overlap duplicate (the same version fetched again) is merged, never doubled, and keeps its first lineage', async (t) => {
  const previous = [post(1), post(2)].map((p) => stored(p));
  const { rows, counts } = await merge({ mode: 'incremental', listed: [1, 2] }, previous, [post(2), post(2)]);
  t.deepEqual(ids(rows), [1, 2]);
  t.deepEqual(rows[1], previous[1]);
  t.like(counts, { upserted: 0, unchanged: 1, rows: 2 });
});

test('an empty delta with an unchanged listing leaves the table exactly as it was', async (t) => {
  const previous = [post(1), post(2), post(3)].map((p) => stored(p));
  const { rows, counts } = await merge({ mode: 'incremental', listed: [3, 2, 1] }, previous, []);
  t.deepEqual(rows, previous);
  t.deepEqual(counts, { upserted: 0, inserted: 0, unchanged: 0, restated: 0, rows: 3, deleted: [] });
});

test('all rows deleted leaves an empty table and every id recorded', async (t) => {
  const previous = [post(1), post(2)].map((p) => stored(p));
  const { rows, counts } = await merge({ mode: 'incremental', listed: [] }, previous, []);
  t.deepEqual(rows, []);
  t.deepEqual(counts.deleted, [1, 2]);
});

test('a full merge is the crawl: unchanged items keep their lineage, changed and new ones get this run\'s, absent ids are deleted', async (t) => {
  const previous = [post(1), post(2), post(4)].map((p) => stored(p));
  const { rows, counts } = await merge({ mode: 'full' }, previous, [post(1), post(2, 'changed'), post(3)]);
  t.deepEqual(ids(rows), [1, 2, 3]);
  t.like(rows[0], { [LINEAGE.runId]: 'day-1' });
  t.like(rows[1], { [LINEAGE.runId]: 'day-2', title: 'changed' });
  t.like(rows[2], { [LINEAGE.runId]: 'day-2' });
  t.deepEqual(counts, { upserted: 2, inserted: 1, unchanged: 1, restated: 1, rows: 3, deleted: [4] });
});

test('the first run has no table: every item is inserted with this run\'s lineage', async (t) => {
  const { rows, counts } = await merge({ mode: 'full' }, undefined, [post(2), post(1)]);
  t.deepEqual(ids(rows), [2, 1], 'a full crawl keeps the order it was read in');
  t.deepEqual(rows.map((r) => r[LINEAGE.runId]), ['day-2', 'day-2']);
  t.deepEqual(rows.map((r) => r[LINEAGE.hash]), [rowHash(post(2)), rowHash(post(1))]);
  t.like(counts, { upserted: 2, inserted: 2, rows: 2 });
});

test('lineage fields an item already carries are replaced, not duplicated, and the hash is of the item as fetched', async (t) => {
  const item = { id: 1, [LINEAGE.runId]: 'forged' };
  const { rows } = await merge({ mode: 'full' }, undefined, [item]);
  t.deepEqual(Object.keys(rows[0]), ['id', LINEAGE.ingestedAt, LINEAGE.runId, LINEAGE.hash]);
  t.is(rows[0][LINEAGE.runId], 'day-2');
  t.is(rows[0][LINEAGE.hash], rowHash(item));
});

test('a row\'s text is the JSON of the item followed by its lineage, whatever the item holds', async (t) => {
  // JSON.parse makes "__proto__" an own key; a lone surrogate is escaped by JSON.stringify.
  const items = [JSON.parse('{"id":1,"__proto__":{"x":1},"2":"integer-like key first","title":"caf\u00e9 \ud83d\ude00 \ud800"}'), {}, { id: 3, nested: { a: [1, null, true] } }];
  const texts: string[] = [];
  await mergeRows({ mode: 'full', fetchedAt: 'at', runId: 'run', items: async function* () { yield* items; } }, async (_id, json) => void texts.push(json));
  t.deepEqual(
    texts,
    items.map((item) => JSON.stringify({ ...item, [LINEAGE.ingestedAt]: 'at', [LINEAGE.runId]: 'run', [LINEAGE.hash]: rowHash(item) })),
  );
});

test('an event without fetchedAt leaves _ingested_at out, as JSON.stringify does for an undefined field', async (t) => {
  const texts: string[] = [];
  const input = { mode: 'full' as const, runId: 'run', items: async function* () { yield { id: 1 }; } } as unknown as MergeInput;
  await mergeRows(input, async (_id, json) => void texts.push(json));
  t.deepEqual(JSON.parse(texts[0]), { id: 1, [LINEAGE.runId]: 'run', [LINEAGE.hash]: rowHash({ id: 1 }) });
});

test('ids match on their JSON value: 5 and "5" are different rows', async (t) => {
  const previous = [stored({ id: 5, v: 'number' })];
  const { rows, counts } = await merge({ mode: 'incremental', listed: [5, '5'] }, previous, [{ id: '5', v: 'string' }]);
  t.deepEqual(rows.map((r) => [r.id, r.v]), [[5, 'number'], ['5', 'string']]);
  t.is(counts.inserted, 1);
});

test('an incremental merge without the listing is refused rather than deleting nothing silently', async (t) => {
  await t.throwsAsync(merge({ mode: 'incremental' }, [], []), { message: /needs the id listing/ });
});

test('an item that is not an object names its position', async (t) => {
  await t.throwsAsync(merge({ mode: 'full' }, undefined, [{ id: 1 }, 'oops']), { message: /item 1 is "oops", not an object/ });
});

test('ids sort numerically before any other kind', (t) => {
  t.deepEqual([10, 'b', 2, 'a', 1].sort(compareIds), [1, 2, 10, 'a', 'b']);
});

test('a changed row counts as restated only when its modified_gmt is the one the table had', async (t) => {
  const previous = [post(1), post(2)].map((p) => stored(p));
  const bumped = { ...post(2, 'edited through wp_update_post'), modified_gmt: '2026-12-02T06:00:00' };
  const full = await merge({ mode: 'full' }, previous, [post(1, 'term list changed, same modified_gmt'), bumped]);
  t.like(full.counts, { upserted: 2, restated: 1 });
  const incremental = await merge({ mode: 'incremental', listed: [1, 2] }, previous, [post(1, 'featured image set'), bumped]);
  t.like(incremental.counts, { upserted: 2, restated: 1 });
});

/** A `$wpdb` table row: every value a string, keyed by two columns. */
const relationship = (object: number, taxonomy: number, order = '0') => ({ object_id: object, term_taxonomy_id: taxonomy, term_order: order });
const relationships: Pick<MergeInput, 'identity'> = { identity: { kind: 'key', fields: ['object_id', 'term_taxonomy_id'], strict: true } };

test('a two-column key matches rows across runs: unchanged rows keep their lineage, a deleted row is reported by its key', async (t) => {
  const previous = [relationship(1, 2), relationship(1, 3), relationship(2, 2)].map((r) => stored(r));
  const { rows, counts } = await merge({ mode: 'full', ...relationships }, previous, [relationship(2, 2), relationship(1, 2, '1'), relationship(5, 2)]);
  t.like(counts, { upserted: 2, inserted: 1, unchanged: 1, rows: 3 });
  t.deepEqual(counts.deleted, [[1, 3]]);
  t.is(rows[0][LINEAGE.runId], 'day-1', 'the unchanged row keeps its lineage, whatever its place in the fetch');
});

test('a configured key missing from a row, or on two rows, fails the merge naming the key and the value', async (t) => {
  await t.throwsAsync(merge({ mode: 'full', ...relationships }, undefined, [relationship(1, 2), { object_id: 1 }]), { message: /row 1 has no value for term_taxonomy_id, part of the primary key \(object_id, term_taxonomy_id\)/ });
  await t.throwsAsync(merge({ mode: 'full', ...relationships }, undefined, [relationship(1, 2), relationship(1, 3), relationship(1, 2, '4')]), { message: /primary key \(object_id, term_taxonomy_id\) = \[1,2\] is on more than one row/ });
  await t.throwsAsync(merge({ mode: 'full', identity: { kind: 'key', fields: ['term_id'], strict: true } }, undefined, [{ term_id: { nested: 1 } }]), { message: /term_id, the primary key, is \{"nested":1\}/ });
});

test('rows identified by content: identical rows pair up one to one, a changed row is a deletion and an insertion', async (t) => {
  const a = { option: 'a', value: '1' };
  const b = { option: 'b', value: '2' };
  const previous = [a, a, b].map((r) => stored(r));
  const same = await merge({ mode: 'full', identity: { kind: 'content' } }, previous, [b, a, a]);
  t.like(same.counts, { upserted: 0, unchanged: 3, deleted: [] });
  t.true(same.rows.every((row) => row[LINEAGE.runId] === 'day-1'));
  const changed = await merge({ mode: 'full', identity: { kind: 'content' } }, previous, [a, { ...b, value: '3' }]);
  t.like(changed.counts, { upserted: 1, inserted: 1, unchanged: 1, rows: 2 });
  t.deepEqual(changed.counts.deleted.map((left) => (left as { row: string }).row).sort(), [JSON.stringify(a), JSON.stringify(b)]);
  t.deepEqual((changed.counts.deleted[0] as { row_hash: string }).row_hash.length, 32);
});

test('term id lists in another order are the same version: WordPress orders them by name, ties either way', async (t) => {
  t.is(rowHash({ id: 1, categories: [12, 11, 4] }), rowHash({ id: 1, categories: [4, 11, 12] }));
  t.not(rowHash({ id: 1, categories: [4, 11] }), rowHash({ id: 1, categories: [4, 11, 12] }));
  t.not(rowHash({ id: 1, title: ['b', 'a'] }), rowHash({ id: 1, title: ['a', 'b'] }), 'only lists of integers are sets');
  const previous = [stored({ id: 1, categories: [12, 11, 4] })];
  const { counts } = await merge({ mode: 'full' }, previous, [{ id: 1, categories: [4, 12, 11] }]);
  t.like(counts, { upserted: 0, unchanged: 1 });
});
