import test from 'ava';
import { checkDeclared, declaredText, itemTyper, seedColumns } from '../../handlers/lake/declared';

test('primaryKey takes a name or a list of names; columns a map to the six types; anything else names the entry and the fix', (t) => {
  t.deepEqual(checkDeclared({ primaryKey: 'term_id' }, 'terms'), { primaryKey: ['term_id'] });
  t.deepEqual(checkDeclared({ primaryKey: ['object_id', 'term_taxonomy_id'], columns: { term_order: 'bigint' } }, 'x'), {
    primaryKey: ['object_id', 'term_taxonomy_id'],
    columns: { term_order: 'bigint' },
  });
  t.throws(() => checkDeclared({ primaryKey: [] }, 'endpoints[2] (terms)'), { message: /^endpoints\[2\] \(terms\): primaryKey is \[\]\. Fix: set a field name/ });
  t.throws(() => checkDeclared({ primaryKey: ['a', 'a'] }, 'x'), { message: /distinct field names/ });
  t.throws(() => checkDeclared({ columns: { count: 'int' } }, 'x'), { message: /columns\.count is "int"\. Fix: use one of bigint, double, boolean, string, date, timestamp/ });
  t.throws(() => checkDeclared({ columns: [] }, 'x'), { message: /columns is \[\]/ });
});

test('declared columns turn $wpdb strings into numbers, booleans, dates and timestamps', (t) => {
  const type = itemTyper({ term_id: 'bigint', ratio: 'double', open: 'boolean', slug: 'string', day: 'date', at: 'timestamp', gmt: 'timestamp' })!;
  t.deepEqual(type({ term_id: '42', ratio: '0.25', open: '1', slug: 7, day: '2024-02-29', at: '2024-02-29 13:05:09', gmt: '2024-02-29T13:05:09+02:00', other: '5' }), {
    term_id: 42, ratio: 0.25, open: true, slug: '7', day: '2024-02-29', at: '2024-02-29T13:05:09', gmt: '2024-02-29T11:05:09', other: '5',
  });
  t.deepEqual(type({ term_id: null, open: 'false', day: '0000-00-00', at: '0000-00-00 00:00:00' }), { term_id: null, open: false, day: null, at: null }, "MySQL's zero dates are null");
  t.deepEqual(type({ day: '2024-03-01 00:00:00', at: '2024-03-01 10:00' }), { day: '2024-03-01', at: '2024-03-01T10:00:00' });
});

test('a value that does not fit its declared type fails with the column, the type and the value', (t) => {
  const type = itemTyper({ count: 'bigint', day: 'date', ratio: 'double', open: 'boolean', at: 'timestamp' })!;
  t.throws(() => type({ count: '12a' }), { message: 'column count is declared bigint but holds "12a"; fix the value at the source or the type in the endpoint\'s columns' });
  t.throws(() => type({ count: '9007199254740993' }), { message: /declared bigint but holds "9007199254740993"/ }, 'beyond 2^53 a number would be rounded');
  t.throws(() => type({ day: '2023-02-29' }), { message: /declared date but holds "2023-02-29"/ });
  t.throws(() => type({ day: '2024-03-01 10:00:00' }), { message: /declared date/ }, 'a time of day would be lost');
  t.throws(() => type({ ratio: 'NaN' }), { message: /declared double/ });
  t.throws(() => type({ open: 'yes' }), { message: /declared boolean/ });
  t.throws(() => type({ at: 'yesterday' }), { message: /declared timestamp/ });
});

test('the seed gives declared columns their kind over the table\'s, and adds those the table lacks', (t) => {
  const previous = [
    { name: 'term_id', path: ['term_id'], kind: 'string' as const },
    { name: 'name', path: ['name'], kind: 'string' as const },
  ];
  t.deepEqual(seedColumns(previous, { term_id: 'bigint', created: 'date' }), [
    { name: 'term_id', path: ['term_id'], kind: 'int64', element: undefined },
    { name: 'name', path: ['name'], kind: 'string' },
    { name: 'created', path: ['created'], kind: 'date' },
  ]);
  t.is(seedColumns(undefined, undefined), undefined);
  t.is(declaredText({}), '');
  t.not(declaredText({ columns: { a: 'bigint' } }), declaredText({ columns: { a: 'double' } }));
});
