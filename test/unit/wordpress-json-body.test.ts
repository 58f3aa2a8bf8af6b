import test from 'ava';
import { parseJsonArrayInPieces } from '../../handlers/wordpress/json-body';
import { prng } from '../../local/demo-site/posts';

/** What JSON.parse makes of the whole body, as the transport parses it without pieces. */
function whole(bytes: Buffer): { value: unknown } | { error: string } {
  try {
    return { value: JSON.parse(bytes.toString('utf8').replace(/^\uFEFF/, '')) };
  } catch (error) {
    return { error: (error as Error).message };
  }
}

/** JSON values made of the characters that could fool a cutter. */
const tricky = [',', ']', '[', '{', '}', '"', '\\', '\\"', '\\\\', '"]', '\\",', 'é', '😀', '中文', '\u2028', '\n', '\ud800', ' ', '<p>', '&#8220;'];
function value(random: () => number, depth: number): unknown {
  const r = random();
  if (depth > 3 || r < 0.3) {
    const k = Math.floor(random() * 6);
    if (k === 0) return null;
    if (k === 1) return random() < 0.5;
    if (k === 2) return Math.floor(random() * 1e6) - 5e5;
    if (k === 3) return random() * 100;
    return Array.from({ length: Math.floor(random() * 6) }, () => tricky[Math.floor(random() * tricky.length)]).join('');
  }
  if (r < 0.55) return Array.from({ length: Math.floor(random() * 4) }, () => value(random, depth + 1));
  return Object.fromEntries(Array.from({ length: Math.floor(random() * 5) }, (_, i) => [`${tricky[Math.floor(random() * tricky.length)]}${i}`, value(random, depth + 1)]));
}

test('arrays with strings full of brackets, commas, quotes and escapes parse in pieces to exactly what JSON.parse gives', (t) => {
  const random = prng(13);
  let cut = 0;
  for (let n = 0; n < 400; n++) {
    const items = Array.from({ length: Math.floor(random() * 40) }, () => value(random, 0));
    // Compact, pretty-printed, and as WordPress sends it (non-ASCII and / escaped).
    const texts = [JSON.stringify(items), JSON.stringify(items, null, n % 3), JSON.stringify(items).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).replace(/\//g, '\\/')];
    for (const text of texts) {
      const bytes = Buffer.from(text);
      for (const pieceBytes of [1, 7, 64, 1 << 20]) {
        const pieces = parseJsonArrayInPieces(bytes, pieceBytes);
        t.deepEqual(pieces, JSON.parse(text), `${text.slice(0, 80)} (pieces of ${pieceBytes})`);
        if (pieceBytes === 1 && items.length > 1) cut++;
      }
    }
  }
  t.true(cut > 300, 'most arrays were cut into several pieces');
});

test('a byte-order mark and whitespace around the array are read as the transport reads them whole', (t) => {
  for (const text of ['\uFEFF[{"id":1},{"id":2}]', ' \n[1,2] \r\n\t', '[]', '[ ]', '\uFEFF [ ] ']) {
    const bytes = Buffer.from(text);
    const expected = whole(bytes);
    t.true('value' in expected, text);
    t.deepEqual(parseJsonArrayInPieces(bytes, 1), (expected as { value: unknown }).value, JSON.stringify(text));
  }
});

test('anything JSON.parse refuses, or that is not an array, is left to the whole parse', (t) => {
  const refused = ['[1,]', '[ ,1]', '[1,,2]', '[1, ]', '[ , ]', '[1] x', '[1]]', '[1', '["a]', '["a\\"]', '[{"a":1]}', '[{"a":[1}]]', '[1 2]', '[01]', ' \uFEFF[1]', '[1] \uFEFF', '[1,\uFEFF2]', '[nul]', '["\u0001"]'];
  for (const text of refused) {
    const bytes = Buffer.from(text);
    t.true('error' in whole(bytes), `JSON.parse refuses ${JSON.stringify(text)}`);
    for (const pieceBytes of [1, 2, 1 << 20]) t.is(parseJsonArrayInPieces(bytes, pieceBytes), undefined, `${JSON.stringify(text)} (pieces of ${pieceBytes})`);
  }
  for (const text of ['{"code":"rest_forbidden"}', '"[1]"', '42', 'null', '']) t.is(parseJsonArrayInPieces(Buffer.from(text)), undefined, text);
});

test('a page of 600 KB is cut into pieces of about 48 KB, each a string V8 makes cheaply', (t) => {
  const items = Array.from({ length: 100 }, (_, i) => ({ id: i + 1, content: { rendered: `<p>${'Caf\u00e9 &#8220;x&#8221;, [y] {z} '.repeat(200)}</p>` } }));
  const text = JSON.stringify(items).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  t.true(text.length > 500_000);
  const calls: number[] = [];
  const parse = JSON.parse;
  JSON.parse = ((source: string, ...rest: []) => {
    calls.push(source.length);
    return parse(source, ...rest);
  }) as typeof JSON.parse;
  let result: unknown[] | undefined;
  try {
    result = parseJsonArrayInPieces(Buffer.from(text));
  } finally {
    JSON.parse = parse;
  }
  t.deepEqual(result, items);
  t.true(calls.length >= 10, `${calls.length} pieces`);
  t.true(Math.max(...calls) < 64 << 10, `largest piece ${Math.max(...calls)} characters`);
});
