/**
 * Plain text out of WordPress' rendered HTML, and word counts of it. Parsing is htmlparser2's
 * (its tokenizer and the `entities` decoder follow the HTML spec: named and numeric references,
 * unclosed tags, `<!-- wp:... -->` block comments), never regular expressions over markup.
 *
 * Made as closures by a factory, once per table: Pulumi's closure serializer wraps every
 * module-level function in a `with` scope rebuilt on each call (see lake/merge.ts), which a
 * million-comment table would pay per row. npm packages are required inside (docs/development.md).
 */

/** Elements whose start and end are line breaks in the text (HTML's block-level and list/table rows). */
const BLOCK_ELEMENTS = [
  'address', 'article', 'aside', 'blockquote', 'br', 'dd', 'details', 'div', 'dl', 'dt', 'figcaption', 'figure', 'footer',
  'form', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'header', 'hr', 'li', 'main', 'nav', 'ol', 'p', 'pre', 'section', 'summary',
  'table', 'tr', 'ul',
];

/** Elements whose content is not text a reader sees. */
const HIDDEN_ELEMENTS = ['script', 'style', 'template', 'noscript'];

export interface TextTools {
  /**
   * The text of an HTML fragment: tags and comments dropped, entities decoded, whitespace runs
   * (NBSP included) made one space, each block on a line of its own, empty lines dropped.
   * `null` stays `null`.
   */
  htmlToText(html: string | null | undefined): string | null;
  /** Words as `Intl.Segmenter` finds them (word-like segments): CJK by dictionary, emoji and punctuation not counted. */
  wordCount(text: string | null | undefined): number;
}

export function textTools(): TextTools {
  const { Parser } = require('htmlparser2') as typeof import('htmlparser2');
  // Built here, not at module level: the closure serializer copies module-level Sets as plain objects.
  const blocks = new Set(BLOCK_ELEMENTS);
  const hidden = new Set(HIDDEN_ELEMENTS);
  // 'und': no language's tailoring, so a count does not depend on the machine's locale.
  const segmenter = new Intl.Segmenter('und', { granularity: 'word' });

  function htmlToText(html: string | null | undefined): string | null {
    if (html === null || html === undefined) return null;
    const lines: string[] = [];
    let line = '';
    let hiddenDepth = 0;
    const endLine = () => {
      const text = line.replace(/\s+/g, ' ').trim();
      if (text !== '') lines.push(text);
      line = '';
    };
    const parser = new Parser(
      {
        onopentag(name) {
          if (hidden.has(name)) hiddenDepth++;
          else if (blocks.has(name)) endLine();
        },
        onclosetag(name) {
          if (hidden.has(name)) hiddenDepth = Math.max(0, hiddenDepth - 1);
          else if (blocks.has(name)) endLine();
        },
        ontext(text) {
          if (hiddenDepth === 0) line += text;
        },
      },
      { decodeEntities: true, lowerCaseTags: true },
    );
    parser.end(html);
    endLine();
    return lines.join('\n');
  }

  function wordCount(text: string | null | undefined): number {
    if (!text) return 0;
    let count = 0;
    for (const segment of segmenter.segment(text)) if (segment.isWordLike) count++;
    return count;
  }

  return { htmlToText, wordCount };
}
