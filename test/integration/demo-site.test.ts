import test from 'ava';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEMO_SIZES, startDemoSite } from '../../local/demo-site';
import { runLocal } from '../../local/run';

/**
 * The demo blog `npm start` serves when no site is configured: it must speak the REST behaviour
 * the crawler relies on, and carry a full, a split (fan-out) and an incremental run.
 */

async function get(url: string, init?: RequestInit): Promise<{ status: number; headers: Headers; body: any }> {
  const response = await fetch(url, init);
  return { status: response.status, headers: response.headers, body: await response.json() };
}

test('the demo site pages as WordPress does: totals, Link, the end of each kind of collection, per_page up to 100', async (t) => {
  const demo = await startDemoSite();
  t.teardown(() => demo.close());
  const first = await get(`${demo.api}/wp/v2/posts?per_page=100&orderby=id&order=asc`);
  t.is(first.headers.get('x-wp-total'), String(DEMO_SIZES.posts));
  t.is(first.headers.get('x-wp-totalpages'), String(Math.ceil(DEMO_SIZES.posts / 100)));
  t.regex(first.headers.get('link') ?? '', /page=2>; rel="next"/);
  t.deepEqual(first.body.slice(0, 2).map((p: { id: number }) => p.id), [1000, 1001]);
  for (const name of ['posts', 'pages', 'media']) {
    const past = await get(`${demo.api}/wp/v2/${name}?per_page=100&page=50`);
    t.is(past.status, 400, name);
    t.is(past.body.code, 'rest_post_invalid_page_number', name);
  }
  for (const name of ['comments', 'categories', 'tags', 'users']) {
    const past = await get(`${demo.api}/wp/v2/${name}?per_page=100&page=50`);
    t.is(past.status, 200, name);
    t.deepEqual(past.body, [], name);
  }
  const tooMany = await get(`${demo.api}/wp/v2/posts?per_page=101`);
  t.is(tooMany.status, 400);
  t.is(tooMany.body.code, 'rest_invalid_param');
  // Comments on non-public posts are counted, never served: the total exceeds what the pages hold.
  const comments = await get(`${demo.api}/wp/v2/comments?per_page=100&page=16`);
  t.true(Number(comments.headers.get('x-wp-total')) > DEMO_SIZES.comments);
});

test('the demo site answers _fields, include, modified_after, the REST index and the collection schema', async (t) => {
  const demo = await startDemoSite();
  t.teardown(() => demo.close());
  const fields = await get(`${demo.api}/wp/v2/posts?_fields=id,title,modified_gmt&per_page=1`);
  t.deepEqual(Object.keys(fields.body[0]), ['id', 'title', 'modified_gmt']);
  const included = await get(`${demo.api}/wp/v2/posts?include=1003,1001,999999&orderby=id&order=asc`);
  t.deepEqual(included.body.map((p: { id: number }) => p.id), [1001, 1003]);
  const modified: string[] = [];
  for (let page = 1; page <= Math.ceil(DEMO_SIZES.posts / 100); page++) {
    const { body } = await get(`${demo.api}/wp/v2/posts?_fields=modified_gmt&per_page=100&page=${page}`);
    modified.push(...body.map((p: { modified_gmt: string }) => p.modified_gmt));
  }
  const mark = modified.sort()[DEMO_SIZES.posts - 10];
  const after = await get(`${demo.api}/wp/v2/posts?_fields=id&modified_after=${encodeURIComponent(`${mark}Z`)}`);
  t.is(after.headers.get('x-wp-total'), String(modified.filter((m) => m > mark).length), 'the posts modified after the mark');
  const index = await get(`${demo.api}/`);
  t.true(index.body.namespaces.includes('wp/v2'));
  t.truthy(index.body.routes['/wp/v2/comments']);
  for (const init of [{ method: 'OPTIONS' }, undefined]) {
    const { body } = await get(`${demo.api}/wp/v2/posts${init ? '' : '?_method=OPTIONS'}`, init);
    const { properties } = body.schema;
    t.like(properties.id, { type: 'integer', context: ['view', 'edit', 'embed'] });
    t.like(properties.title, { type: 'object', properties: { rendered: { type: 'string' } } });
    t.like(properties.modified_gmt, { type: 'string', format: 'date-time' });
    t.false('_links' in properties);
  }
});

test('the demo site carries a split full run, then an incremental one, landing every item once', async (t) => {
  const demo = await startDemoSite();
  t.teardown(() => demo.close());
  const dir = await mkdtemp(join(tmpdir(), 'demo-site-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'Pulumi.test.yaml'), `config:\n  aws:region: eu-west-2\n  wordpress-lakehouse:siteUrl: ${demo.origin}\n`);
  const out = join(dir, 'out');
  const first = await runLocal({ projectDir: dir, stack: 'test', out, pagesPerTask: 2 });
  t.is(first.status, 'SUCCEEDED', first.error);
  for (const e of first.endpoints) t.is(e.rows, DEMO_SIZES[e.endpoint as keyof typeof DEMO_SIZES], e.endpoint);
  t.like(first.endpoints.find((e) => e.endpoint === 'posts'), { mode: 'full', parts: 3 });
  t.like(first.endpoints.find((e) => e.endpoint === 'comments'), { mode: 'full', parts: 8 });

  const second = await runLocal({ projectDir: dir, stack: 'test', out });
  t.is(second.status, 'SUCCEEDED', second.error);
  for (const name of ['posts', 'pages', 'media']) {
    t.like(second.endpoints.find((e) => e.endpoint === name), { mode: 'incremental', upserted: 0, deleted: 0, rows: DEMO_SIZES[name as keyof typeof DEMO_SIZES] }, name);
  }
});
