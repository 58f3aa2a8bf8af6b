import test from 'ava';
import { textTools } from '../../handlers/silver/text';

const { htmlToText, wordCount } = textTools();

test('entities are decoded, named and numeric, as WordPress encodes titles and term names', (t) => {
  t.is(htmlToText('Tech &amp; Science'), 'Tech & Science');
  t.is(htmlToText('It&#8217;s &#8220;quoted&#8221; &hellip; &#x1F600;'), 'It\u2019s \u201cquoted\u201d \u2026 \u{1F600}');
});

test('tags and block comments are dropped, and blocks become lines', (t) => {
  const html = '<!-- wp:heading --><h2>Title</h2><!-- /wp:heading -->\n<p>One <strong>bold</strong>\n  word.</p><ul><li>a</li><li>b</li></ul>line<br>break';
  t.is(htmlToText(html), 'Title\nOne bold word.\na\nb\nline\nbreak');
});

test('script and style content is not text, and whitespace runs (NBSP included) become one space', (t) => {
  t.is(htmlToText('<p>a&nbsp;&nbsp; b</p><script>var x = "<p>no</p>";</script><style>p { color: red }</style><p>c</p>'), 'a b\nc');
});

test('null stays null and an empty fragment is empty text', (t) => {
  t.is(htmlToText(null), null);
  t.is(htmlToText(''), '');
  t.is(htmlToText('<p></p>'), '');
});

test('word counts are Intl.Segmenter word-like segments: CJK by dictionary, emoji and punctuation not words', (t) => {
  t.is(wordCount('Hello, world! 3.14 it\u2019s'), 4);
  t.is(wordCount('日本語のテキストです'), 4, '日本語 / の / テキスト / です');
  t.is(wordCount('🎉🎉 party 🎉'), 1);
  t.is(wordCount('שלום עולם'), 2);
  t.is(wordCount(''), 0);
  t.is(wordCount(null), 0);
});
