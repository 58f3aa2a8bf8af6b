import test from 'ava';
import { fullRefreshReason, inRanges, laterMark, modifiedAfter, modifiedInstant, parseState, toRanges } from '../../handlers/lake/state';
import type { EndpointState } from '../../handlers/lake/state';

const state: EndpointState = {
  version: 1,
  endpoint: 'posts',
  mark: '2026-12-01T06:59:00Z',
  tracksModified: true,
  lastFullAt: '2026-11-30T07:00:00.000Z',
  lastRunId: 'r1',
  updatedAt: '2026-12-01T07:01:00.000Z',
  rows: 3,
  ids: [[1, 3]],
  listing: { fields: ['categories', 'id', 'modified_gmt'], hashes: {} },
};
const when = { requested: false, paginated: true, fullRefreshDays: 7, now: '2026-12-02T07:00:00.000Z', declared: '', projection: ['categories', 'id', 'modified_gmt'] };

test('the mark is modified_gmt read as UTC, whatever the site zone puts in modified', (t) => {
  // Three sites, the same instant: UTC-10, UTC+14 and Europe/Berlin in summer.
  for (const modified of ['2026-06-30T22:00:00', '2026-07-02T12:00:00', '2026-07-01T10:00:00']) {
    t.is(modifiedInstant({ modified, modified_gmt: '2026-07-01T08:00:00' }), '2026-07-01T08:00:00Z');
  }
  t.is(modifiedInstant({ modified_gmt: '0000-00-00T00:00:00' }), undefined, 'a draft\'s zero date is no time');
  t.is(modifiedInstant({ modified_gmt: '2026-07-01T08:00:00Z' }), undefined, 'an unexpected shape is not trusted');
  t.is(modifiedInstant({ id: 1 }), undefined);
  t.is(modifiedInstant(null), undefined);
});

test('modified_after is the mark minus the overlap, with an explicit Z so WordPress converts it to the site zone', (t) => {
  t.is(modifiedAfter('2026-12-01T06:59:00Z', 60), '2026-12-01T05:59:00Z');
  t.is(modifiedAfter('2026-03-29T01:30:00Z', 90), '2026-03-29T00:00:00Z', 'across the night European clocks go forward');
  t.is(modifiedAfter('2026-01-01T00:10:00Z', 20), '2025-12-31T23:50:00Z', 'across a year boundary');
  t.is(modifiedAfter('2026-01-01T00:10:00Z', 0), '2026-01-01T00:10:00Z');
});

test('the later mark wins; a missing one never moves the mark back', (t) => {
  t.is(laterMark('2026-12-01T06:00:00Z', '2026-12-01T07:00:00Z'), '2026-12-01T07:00:00Z');
  t.is(laterMark('2026-12-01T07:00:00Z', '2026-12-01T06:00:00Z'), '2026-12-01T07:00:00Z');
  t.is(laterMark(undefined, '2026-12-01T06:00:00Z'), '2026-12-01T06:00:00Z');
  t.is(laterMark('2026-12-01T06:00:00Z', undefined), '2026-12-01T06:00:00Z');
});

test('a run is incremental only with a usable state of a tracked endpoint and a recent full crawl', (t) => {
  t.is(fullRefreshReason(state, when), undefined);
  t.regex(fullRefreshReason(undefined, when)!, /first run/);
  t.regex(fullRefreshReason(state, { ...when, requested: true })!, /requested/);
  t.regex(fullRefreshReason(state, { ...when, paginated: false })!, /not a paginated/);
  t.regex(fullRefreshReason(state, { ...when, stateError: 'not JSON' })!, /state unreadable \(not JSON\)/);
  t.regex(fullRefreshReason({ ...state, tracksModified: false }, when)!, /no modified_gmt/);
  t.regex(fullRefreshReason({ ...state, mark: undefined }, when)!, /no high-water mark/);
  t.regex(fullRefreshReason(state, { ...when, fullRefreshDays: 0 })!, /fullRefreshDays is 0/);
  t.regex(fullRefreshReason(state, { ...when, now: '2026-12-07T07:00:00.000Z' })!, /7 or more days old/);
  t.is(fullRefreshReason(state, { ...when, now: '2026-12-07T06:59:59.000Z' }), undefined);
});

test('a run is full when the listing cannot show what changed without a modification time, or the key or types changed', (t) => {
  t.regex(fullRefreshReason(state, { ...when, projection: undefined })!, /schema \(OPTIONS\) could not be read/);
  t.regex(fullRefreshReason({ ...state, listing: undefined }, when)!, /no listing digests/);
  t.is(fullRefreshReason(state, { ...when, projection: ['categories', 'genre', 'id'] }), "the collection's fields changed (new: genre; gone: modified_gmt)");
  t.regex(fullRefreshReason(state, { ...when, declared: '{"columns":{"count":"bigint"}}' })!, /primaryKey or columns changed/);
  t.regex(fullRefreshReason({ ...state, declared: '{"columns":{"count":"bigint"}}' }, when)!, /primaryKey or columns changed/);
});

test('a stored state is checked before it is trusted', (t) => {
  t.deepEqual(parseState(JSON.stringify(state), 'posts'), state);
  t.throws(() => parseState('{', 'posts'), { message: /not JSON/ });
  t.throws(() => parseState(JSON.stringify({ ...state, version: 2 }), 'posts'), { message: /version 1/ });
  t.throws(() => parseState(JSON.stringify(state), 'pages'), { message: /belongs to endpoint "posts"/ });
  t.throws(() => parseState(JSON.stringify({ ...state, mark: '2026-12-01 06:59' }), 'posts'), { message: /not an ISO instant/ });
  t.throws(() => parseState(JSON.stringify({ ...state, ids: [[3, 1]] }), 'posts'), { message: /ranges/ });
  t.throws(() => parseState(JSON.stringify({ ...state, lastFullAt: 'yesterday' }), 'posts'), { message: /lastFullAt/ });
});

test('ids are kept as ranges: compact, and every member found', (t) => {
  const ids = [7, 1, 2, 3, 10, 11, 2, 'x', 1.5, 12];
  const ranges = toRanges(ids);
  t.deepEqual(ranges, [[1, 3], [7, 7], [10, 12]]);
  for (const id of [1, 2, 3, 7, 10, 11, 12]) t.true(inRanges(ranges, id), String(id));
  for (const id of [0, 4, 6, 8, 9, 13]) t.false(inRanges(ranges, id), String(id));
  t.deepEqual(toRanges(Array.from({ length: 50_000 }, (_, i) => i + 1)), [[1, 50_000]]);
  t.deepEqual(toRanges([]), []);
});
