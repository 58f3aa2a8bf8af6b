import { hasWideEscape, realString, toBinary } from './binary';

/**
 * A streaming reader for the raw layer's files: one JSON array of objects, possibly hundreds of
 * megabytes. Only the text of the current items is held in memory, so a pass over the file costs
 * a batch of items instead of the whole document (JSON.parse would need the file and its parsed
 * graph at once). Items are parsed by JSON.parse, so item syntax is exactly JSON's.
 */

/**
 * JSON whitespace (and a byte-order mark). A function, not a module-level Set: Pulumi's closure
 * serializer copies captured Sets as plain objects, which broke the bronze Lambda.
 */
function isWhitespace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09 || c === 0xfeff;
}

type State = 'start' | 'between' | 'item' | 'done';

/**
 * A batch that has found no `,\n` boundary by this size is not in the raw layer's layout (e.g. one
 * minified line): the rest goes to the scanner, which holds one item at a time.
 */
const MAX_BATCH_CHARS = 16 << 20;

/** Every item of the JSON array file at `path`, streamed in 1 MiB reads. */
export async function* readJsonFileItems(path: string): AsyncGenerator<unknown, void, undefined> {
  for await (const batch of readJsonFileBatches(path)) yield* batch.items;
}

/** Consecutive items, and about how much text they were read from. */
export interface JsonBatch {
  items: unknown[];
  /** Characters (or bytes) of input consumed for this batch: a measure of what it holds. */
  chars: number;
}

export interface BatchOptions {
  /**
   * Every string and key in binary form (its UTF-8 bytes one per character, see binary.ts)
   * instead of as text: what the converter writes, at a fraction of the cost of decoding.
   * @default false
   */
  binary?: boolean;
}

/** The items of the JSON array file at `path`, a few hundred at a time (fewer promise hops than one by one). */
export function readJsonFileBatches(path: string, options: BatchOptions = {}): AsyncGenerator<JsonBatch, void, undefined> {
  const { createReadStream } = require('node:fs') as typeof import('node:fs');
  return readJsonBatches(createReadStream(path, { highWaterMark: 1 << 20 }), options);
}

/**
 * The items of a top-level JSON array, in order, in batches. The raw layer writes one item per
 * line (`[`, items separated by `,\n`, `]`); a raw newline cannot occur inside a JSON string, so a
 * `,\n` is either an item boundary or (pretty-printed input) a boundary inside an item. Text up to
 * the last `,\n` of what has been read is parsed with one JSON.parse as `[...]`: that succeeds
 * only when every cut is an item boundary. When it fails, or the input has another layout, the
 * rest is read by the character scanner of `readJsonItems`, which also words every error.
 *
 * @param source - UTF-8 bytes, e.g. `fs.createReadStream(path)` or an S3 body.
 */
export async function* readJsonBatches(source: AsyncIterable<Uint8Array>, options: BatchOptions = {}): AsyncGenerator<JsonBatch, void, undefined> {
  const { isUtf8 } = require('node:buffer') as typeof import('node:buffer');
  const binary = options.binary ?? false;
  const decoding = binary ? 'latin1' : 'utf8';
  /** A JSON array parsed; in binary form, text with an escape latin1 would misread goes through UTF-8. */
  const parseArray = (array: string, wide: boolean): unknown[] => {
    if (!wide) return JSON.parse(array) as unknown[];
    return (JSON.parse(realString(array)) as unknown[]).map(toBinary);
  };
  const iterator = source[Symbol.asyncIterator]();
  /** Decoded text not yet parsed; it starts at an item boundary once `opened`. */
  let text = '';
  /** Bytes after the last newline read: they may end inside a UTF-8 sequence. */
  let tail: Buffer = Buffer.alloc(0);
  let opened = false;
  let index = 0;
  /** In binary form: `text` may hold an escape latin1 would misread before this character. */
  let wideUntil = 0;
  const consume = (chars: number) => {
    text = text.slice(chars);
    wideUntil = Math.max(0, wideUntil - chars);
  };

  const scanRest = async function* (): AsyncGenerator<JsonBatch, void, undefined> {
    let consumed = 0;
    async function* rest(): AsyncGenerator<string | Uint8Array> {
      consumed += text.length + tail.length;
      yield opened ? `[${text}` : text;
      yield tail;
      for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
        consumed += (next.value as Uint8Array).length;
        yield next.value;
      }
    }
    let items: unknown[] = [];
    let reported = 0;
    const batch = (): JsonBatch => {
      const chars = consumed - reported;
      reported = consumed;
      const done = { items, chars };
      items = [];
      return done;
    };
    for await (const item of readJsonItems(rest(), index, binary)) {
      items.push(binary ? toBinary(item) : item);
      if (items.length === 256) yield batch();
    }
    if (items.length > 0) yield batch();
  };

  for (;;) {
    const next = await iterator.next();
    if (next.done) break;
    const chunk = Buffer.concat([tail, next.value]);
    const newline = chunk.lastIndexOf(0x0a);
    if (newline < 0) {
      tail = chunk;
      if (tail.length <= MAX_BATCH_CHARS) continue;
      yield* scanRest();
      return;
    }
    const complete = chunk.subarray(0, newline + 1);
    if (!isUtf8(complete)) throw new Error(`the JSON text is not valid UTF-8 (before byte ${newline + 1} of this read)`);
    text += complete.toString(decoding);
    // An escape holds no newline, so it never straddles two of these reads.
    if (binary && hasWideEscape(complete)) wideUntil = text.length;
    tail = chunk.subarray(newline + 1);
    if (!opened) {
      // A byte-order mark is three latin1 characters in binary form.
      if (binary && text.startsWith('\xef\xbb\xbf')) consume(3);
      const start = text.search(/[^ \t\r\n\ufeff]/);
      if (start < 0) continue;
      if (text[start] !== '[') {
        yield* scanRest();
        return;
      }
      consume(start + 1);
      opened = true;
    }
    const cut = text.lastIndexOf(',\n');
    if (cut < 0) {
      if (text.length <= MAX_BATCH_CHARS) continue;
      yield* scanRest();
      return;
    }
    let items: unknown[];
    try {
      items = parseArray(`[${text.slice(0, cut)}]`, wideUntil > 0);
    } catch {
      yield* scanRest();
      return;
    }
    consume(cut + 2);
    index += items.length;
    yield { items, chars: cut + 2 };
  }
  // The end: what is left must be the last items and the closing bracket.
  if (!isUtf8(tail)) throw new Error('the JSON text is not valid UTF-8 (in its last bytes)');
  const last = text + tail.toString(decoding);
  if (opened) {
    try {
      const items = parseArray(`[${last}`, wideUntil > 0 || (binary && hasWideEscape(tail)));
      if (items.length > 0) yield { items, chars: last.length };
      return;
    } catch {
      // Worded by the scanner below.
    }
  }
  text = last;
  tail = Buffer.alloc(0);
  yield* scanRest();
}

/**
 * Yields every item of a top-level JSON array, in order. A top-level object (a custom endpoint
 * that answers one document) is yielded as the only item.
 *
 * @param source - UTF-8 bytes or text chunks, e.g. `fs.createReadStream(path)` or an S3 body.
 * @param firstIndex - The index of the source's first item in a larger array, for error messages.
 * @throws Error naming the character offset or item index when the text is not a JSON array,
 *   an item is not valid JSON, or the text ends early.
 */
export async function* readJsonItems(source: AsyncIterable<string | Uint8Array>, firstIndex = 0, binary = false): AsyncGenerator<unknown, void, undefined> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let state: State = 'start';
  let single = false;
  let pieces: string[] = [];
  let depth = 0;
  let inString = false;
  let escaped = false;
  let scalar = false;
  let offset = 0;
  let index = firstIndex;

  const parse = (text: string): unknown => {
    try {
      return JSON.parse(text);
    } catch (error) {
      throw new Error(`item ${index} is not valid JSON: ${(error as Error).message}`);
    }
  };

  for await (const chunk of source) {
    // A binary-form string (what readJsonBatches read so far) is turned back into text.
    const text = typeof chunk === 'string' ? (binary ? decoder.decode(Buffer.from(chunk, 'latin1'), { stream: true }) : chunk) : decoder.decode(chunk, { stream: true });
    let start = state === 'item' ? 0 : -1;
    const items: unknown[] = [];
    /** The current item ends before `end` in this chunk: parse it and wait for the next. */
    const emit = (end: number) => {
      pieces.push(text.slice(start, end));
      items.push(parse(pieces.join('')));
      ({ state, pieces } = afterItem(single));
      index++;
    };
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (state === 'item') {
        if (inString) {
          // Strings are most of the bytes (HTML bodies): jump to the next quote or backslash.
          if (escaped) {
            escaped = false;
            continue;
          }
          const quote = text.indexOf('"', i);
          const slash = text.indexOf('\\', i);
          if (quote < 0 && slash < 0) {
            i = text.length;
            break;
          }
          if (slash >= 0 && (quote < 0 || slash < quote)) {
            i = slash;
            escaped = true;
            continue;
          }
          i = quote;
          inString = false;
          if (depth === 0) emit(i + 1);
          continue;
        }
        if (scalar) {
          if (c === 0x2c || c === 0x5d || isWhitespace(c)) {
            emit(i);
            scalar = false;
            i--;
          }
          continue;
        }
        if (c === 0x22) inString = true;
        else if (c === 0x7b || c === 0x5b) depth++;
        else if (c === 0x7d || c === 0x5d) {
          depth--;
          if (depth === 0) emit(i + 1);
        }
        continue;
      }
      if (isWhitespace(c)) continue;
      if (state === 'start') {
        if (c === 0x5b) {
          state = 'between';
          continue;
        }
        if (c !== 0x7b) throw new Error(`expected a JSON array of objects, found ${JSON.stringify(text[i])} at character ${offset + i}`);
        single = true;
      } else if (state === 'between') {
        if (c === 0x2c) continue;
        if (c === 0x5d) {
          state = 'done';
          continue;
        }
      } else {
        throw new Error(`unexpected ${JSON.stringify(text[i])} after the end of the JSON array at character ${offset + i}`);
      }
      // An item starts here.
      state = 'item';
      start = i;
      depth = 0;
      if (c === 0x22) inString = true;
      else if (c === 0x7b || c === 0x5b) depth = 1;
      else scalar = true;
    }
    if (state === 'item') pieces.push(text.slice(start));
    offset += text.length;
    yield* items;
  }
  decoder.decode();
  if (state === 'start') throw new Error('expected a JSON array of objects, found no JSON at all');
  if (state !== 'done') throw new Error(`the JSON text ends early at character ${offset} (inside item ${index})`);
}

function afterItem(single: boolean): { state: State; pieces: string[] } {
  return { state: single ? 'done' : 'between', pieces: [] };
}
