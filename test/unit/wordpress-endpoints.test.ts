import test from 'ava';
import { basicAuthorization, parseCredentials } from '../../handlers/wordpress/auth';
import { parseEndpoints } from '../../handlers/wordpress/endpoints';
import { pageUrl, parseLinkHeader, sameHost } from '../../handlers/wordpress/url';

test('the endpoints parameter is read as a JSON array of specs', (t) => {
  t.deepEqual(parseEndpoints('[{"name":"posts","url":"https://site.example/wp-json/wp/v2/posts","paginate":true},{"name":"menu","url":"https://site.example/wp-json/custom/v1/menu","paginate":false}]'), [
    { name: 'posts', url: 'https://site.example/wp-json/wp/v2/posts', paginate: true },
    { name: 'menu', url: 'https://site.example/wp-json/custom/v1/menu', paginate: false },
  ]);
});

test('the original comma-separated URL list still works: name from the last segment, paginated when under /wp/v2/', (t) => {
  t.deepEqual(parseEndpoints(' https://s.example/wp-json/wp/v2/posts , https://s.example/wp-json/acme/v1/Stores,https://s.example/?rest_route=/wp/v2/tags'), [
    { name: 'posts', url: 'https://s.example/wp-json/wp/v2/posts', paginate: true },
    { name: 'stores', url: 'https://s.example/wp-json/acme/v1/Stores', paginate: false },
    { name: 'tags', url: 'https://s.example/?rest_route=/wp/v2/tags', paginate: true },
  ]);
});

test('bad endpoint entries are rejected with a message naming the entry and the problem', (t) => {
  t.throws(() => parseEndpoints('[{"name":"Posts!","url":"https://s.example/x","paginate":true}]'), { message: /endpoints\[0\]\.name must match/ });
  t.throws(() => parseEndpoints('[{"name":"a","url":"ftp://s.example/x"}]'), { message: /only http\(s\)/ });
  t.throws(() => parseEndpoints('[{"name":"a","url":"https://u:secret@s.example/x"}]'), { message: /must not carry credentials/ });
  t.throws(() => parseEndpoints('[{"name":"a","url":"https://s.example/a"},{"name":"a","url":"https://s.example/b"}]'), { message: /appears twice/ });
  t.throws(() => parseEndpoints('[]'), { message: /no endpoint/ });
  // Names become S3 folders beside `_state`, `_runs`, `_ids` and each table's `<name>_deletions`.
  t.throws(() => parseEndpoints('[{"name":"_state","url":"https://s.example/x"}]'), { message: /endpoints\[0\]\.name must match \[a-z0-9\]\[a-z0-9_-\]\*/ });
  t.throws(() => parseEndpoints('[{"name":"-posts","url":"https://s.example/x"}]'), { message: /endpoints\[0\]\.name must match/ });
  t.throws(() => parseEndpoints('[{"name":"posts_deletions","url":"https://s.example/wp-json/wp/v2/posts"}]'), { message: /endpoints\[0\]\.name "posts_deletions" ends in _deletions/ });
  t.throws(() => parseEndpoints('[{"name":'), { message: /not valid JSON/ });
  t.throws(() => parseEndpoints('not a url'), { message: /not an absolute URL/ });
});

test('names that merely contain _deletions, or start with a digit, are accepted', (t) => {
  t.deepEqual(parseEndpoints('[{"name":"my_deletions_log","url":"https://s.example/x","paginate":false},{"name":"2fa-codes","url":"https://s.example/y","paginate":false}]').map((e) => e.name), ['my_deletions_log', '2fa-codes']);
});

// A comma-separated list derives the name from the URL, which can end in _deletions too; that
// name would land in the folder of the posts table's deletions.
test('a comma-separated URL whose last segment ends in _deletions is refused like the JSON form', (t) => {
  t.throws(() => parseEndpoints('https://s.example/wp-json/acme/v1/posts_deletions'), { message: /ends in _deletions/ });
});

test('page URLs keep the endpoint query string and add a stable id order unless one is chosen', (t) => {
  t.is(
    pageUrl('https://s.example/?rest_route=/wp/v2/posts', { page: 3, perPage: 100, orderById: true }),
    'https://s.example/?rest_route=%2Fwp%2Fv2%2Fposts&per_page=100&page=3&orderby=id&order=asc',
  );
  t.is(pageUrl('https://s.example/wp-json/wp/v2/posts?orderby=date&status=publish', { page: 1, perPage: 50, orderById: true }), 'https://s.example/wp-json/wp/v2/posts?orderby=date&status=publish&per_page=50&page=1');
  t.is(pageUrl('https://s.example/wp-json/wp/v2/posts?page=9', { page: 2, perPage: 100, orderById: false }), 'https://s.example/wp-json/wp/v2/posts?page=2&per_page=100');
});

test('Link headers are split into relations, including URLs that contain commas', (t) => {
  t.deepEqual(parseLinkHeader('<https://s.example/wp-json/wp/v2/posts?page=1&a=1,2>; rel="prev", <https://s.example/wp-json/wp/v2/posts?page=3>; rel="next"'), {
    prev: 'https://s.example/wp-json/wp/v2/posts?page=1&a=1,2',
    next: 'https://s.example/wp-json/wp/v2/posts?page=3',
  });
  t.deepEqual(parseLinkHeader(null), {});
  t.true(sameHost('http://S.example/a', 'https://s.example:8443/b'));
  t.false(sameHost('https://s.example/a', 'https://evil.example/a'));
});

test('credentials are parsed from the SecureString JSON and errors never quote the secret', (t) => {
  t.deepEqual(parseCredentials('{"username":"bot","password":"abcd efgh"}'), { username: 'bot', password: 'abcd efgh' });
  const error = t.throws(() => parseCredentials('{"username":"bot","password":""}'));
  t.regex(error.message, /non-empty/);
  const broken = t.throws(() => parseCredentials('{"username":"bot","password":"hunter2'));
  t.false(broken.message.includes('hunter2'));
});

test('Basic auth is produced for https and refused for http without revealing the password', (t) => {
  const credentials = { username: 'bot', password: 'hunter2' };
  t.is(basicAuthorization(credentials, 'https://s.example/wp-json/wp/v2/users'), `Basic ${Buffer.from('bot:hunter2').toString('base64')}`);
  const error = t.throws(() => basicAuthorization(credentials, 'http://s.example/wp-json/wp/v2/users'));
  t.regex(error.message, /refusing to send WordPress credentials over http/);
  t.false(error.message.includes('hunter2'));
});

test('two endpoint names that become one catalog table, or a deletions table, are refused', (t) => {
  t.throws(() => parseEndpoints(JSON.stringify([{ name: 'my-stats', url: 'https://s.example/a' }, { name: 'my_stats', url: 'https://s.example/b' }])), { message: /endpoints "my-stats" and "my_stats" would both be the catalog table my_stats/ });
  t.throws(() => parseEndpoints(JSON.stringify([{ name: 'posts-deletions', url: 'https://s.example/a' }])), { message: /ends in _deletions \(or -deletions\)/ });
});
