import test from 'ava';
import { failureLines } from '../../handlers/raw';

const refused = (name: string) => `GET http://blog.example/wp-json/wp/v2/${name}?per_page=100&page=1&orderby=id&order=asc: network error: fetch failed (ECONNREFUSED) (after 6 attempts)`;

test('endpoints that failed for the same cause share one alert line, naming them and the first request', (t) => {
  const lines = failureLines([
    { endpoint: 'posts', error: refused('posts') },
    { endpoint: 'pages', error: refused('pages') },
    { endpoint: 'media', error: refused('media') },
  ]);
  t.deepEqual(lines, [
    '- posts, pages, media: network error: fetch failed (ECONNREFUSED) (after 6 attempts) (first request: GET http://blog.example/wp-json/wp/v2/posts?per_page=100&page=1&orderby=id&order=asc)',
  ]);
});

test('different causes keep a line each, and a cause of one endpoint keeps its whole error', (t) => {
  const waf = (name: string) => `GET https://blog.example/wp-json/wp/v2/${name}?page=3 -> HTTP 403 Forbidden: answered HTML instead of JSON`;
  const lines = failureLines([
    { endpoint: 'comments', error: waf('comments') },
    { endpoint: 'posts', error: refused('posts') },
    { endpoint: 'users', error: waf('users') },
    { endpoint: 'stats', error: 'part 2: the listing changed while the parts were fetched' },
  ]);
  t.deepEqual(lines, [
    '- comments, users: HTTP 403 Forbidden: answered HTML instead of JSON (first request: GET https://blog.example/wp-json/wp/v2/comments?page=3)',
    `- posts: ${refused('posts')}`,
    '- stats: part 2: the listing changed while the parts were fetched',
  ]);
});
