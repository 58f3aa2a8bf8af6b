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

/** Consecutive items. */
export interface JsonBatch {
  items: unknown[];
}

export interface BatchOptions {
  /**
   * Every string and key in binary form (its UTF-8 bytes one per character, see binary.ts)
   * instead of as text: what the converter writes, at a fraction of the cost of decoding.
   * @default false
   */
  binary?: boolean;
}

/** Bytes asked of the file per read. */
const READ_BYTES = 1 << 20;

/**
 * The file's bytes, read into one buffer that every chunk reuses: a chunk is only valid until the
 * next is asked for, which is how readJsonBatches and readJsonItems use them (both copy or decode
 * a chunk first). A read stream would allocate a buffer per read, garbage the size of the file.
 */
async function* fileChunks(path: string): AsyncGenerator<Uint8Array, void, undefined> {
  const { open } = require('node:fs/promises') as typeof import('node:fs/promises');
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.allocUnsafe(READ_BYTES);
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) return;
      yield buffer.subarray(0, bytesRead);
    }
  } finally {
    await handle.close();
  }
}

/** The items of the JSON array file at `path`, a piece of text at a time (fewer promise hops than one by one). */
export function readJsonFileBatches(path: string, options: BatchOptions = {}): AsyncGenerator<JsonBatch, void, undefined> {
  return readJsonBatches(fileChunks(path), options);
}

/**
 * Text parsed by one JSON.parse: about this many bytes, cut at the next item boundary. Strings of
 * this size live and die in V8's young generation; a JSON.parse per 1 MiB read made strings of a
 * megabyte (large-object space, or external strings), which stay until a full collection and
 * doubled the converter's peak memory.
 */
const PIECE_BYTES = 48 << 10;

/** The first byte from `from` (before `to`) that is neither JSON whitespace nor part of a UTF-8 byte-order mark. */
function skipSpace(bytes: Buffer, from: number, to: number): number {
  let at = from;
  while (at < to) {
    const c = bytes[at];
    if (isWhitespace(c)) at++;
    else if (c === 0xef && bytes[at + 1] === 0xbb && bytes[at + 2] === 0xbf) at += 3;
    else break;
  }
  return at;
}

/**
 * The items of a top-level JSON array, in order, in batches (one per piece). The raw layer writes
 * one item per line (`[`, items separated by `,\n`, `]`); a raw newline cannot occur inside a
 * JSON string, so a `,\n` is either an item boundary or (pretty-printed input) a boundary inside
 * an item. Each read is cut at `,\n`s into pieces of about PIECE_BYTES, each parsed with one
 * JSON.parse as `[...]`: that succeeds only when its cuts are item boundaries. When one fails, or
 * the input has another layout, the rest is read by the character scanner of `readJsonItems`,
 * which also words every error.
 *
 * @param source - UTF-8 bytes, e.g. `fs.createReadStream(path)` or an S3 body.
 */
export async function* readJsonBatches(source: AsyncIterable<Uint8Array>, options: BatchOptions = {}): AsyncGenerator<JsonBatch, void, undefined> {
  const { isUtf8 } = require('node:buffer') as typeof import('node:buffer');
  const binary = options.binary ?? false;
  const parseArray = arrayParser(binary);
  const iterator = source[Symbol.asyncIterator]();
  const queue = byteQueue();
  /** The pending bytes start at an item boundary once `opened`. */
  let opened = false;
  let index = 0;
  const scanRest = () => scanItems(opened ? ['[', queue.pending()] : [queue.pending()], iterator, index, binary);

  try {
    for (;;) {
      const next = await iterator.next();
      if (next.done) break;
      const bytes = queue.append(next.value);
      const newline = bytes.lastIndexOf(0x0a);
      if (newline < 0) {
        if (bytes.length <= MAX_BATCH_CHARS) continue;
        yield* scanRest();
        return;
      }
      if (!isUtf8(bytes.subarray(0, newline + 1))) throw new Error(`the JSON text is not valid UTF-8 (before byte ${newline + 1} of this read)`);
      let from = 0;
      if (!opened) {
        // The scanner reads from the first byte, so its offsets count the leading space too.
        from = skipSpace(bytes, 0, newline + 1);
        if (from > newline) continue;
        if (bytes[from] !== 0x5b) {
          yield* scanRest();
          return;
        }
        from++;
        opened = true;
      }
      const end = bytes.lastIndexOf(',\n', newline - 1);
      if (end < from) {
        if (queue.keepFrom(from) <= MAX_BATCH_CHARS) continue;
        yield* scanRest();
        return;
      }
      while (from < end) {
        let cut = from + PIECE_BYTES < end ? bytes.indexOf(',\n', from + PIECE_BYTES) : end;
        if (cut < 0 || cut > end) cut = end;
        let parsed: unknown[];
        try {
          parsed = parseArray(bytes, from, cut, ']');
        } catch {
          queue.keepFrom(from);
          yield* scanRest();
          return;
        }
        index += parsed.length;
        yield { items: parsed };
        from = cut + 2;
      }
      queue.keepFrom(end + 2);
    }
    // The end: what is left must be the last items and the closing bracket.
    const last = queue.pending();
    if (!isUtf8(last)) throw new Error('the JSON text is not valid UTF-8 (in its last bytes)');
    if (opened) {
      try {
        const items = parseArray(last, 0, last.length, '');
        if (items.length > 0) yield { items };
        return;
      } catch {
        // Worded by the scanner below.
      }
    }
    yield* scanRest();
  } finally {
    // A file source closes its file even when a bad item ends the reading early.
    await iterator.return?.();
  }
}

/**
 * The bytes read and not parsed yet, at the start of one working buffer that grows only when a
 * read does not fit: `append` answers them with the chunk added, `keepFrom` drops those before
 * `from` (they are parsed) and answers how many are left.
 */
function byteQueue() {
  let work = Buffer.allocUnsafe(2 * READ_BYTES);
  let length = 0;
  const pending = () => work.subarray(0, length);
  return {
    pending,
    append(chunk: Uint8Array): Buffer {
      if (length + chunk.length > work.length) {
        const grown = Buffer.allocUnsafe(Math.max(work.length * 2, length + chunk.length));
        work.copy(grown, 0, 0, length);
        work = grown;
      }
      work.set(chunk, length);
      length += chunk.length;
      return pending();
    },
    keepFrom(from: number): number {
      work.copyWithin(0, from, length);
      length -= from;
      return length;
    },
  };
}

/**
 * `[` + bytes `from`..`to` + `close` parsed, as one closure per reading; in binary form, text with
 * an escape latin1 would misread goes through UTF-8.
 */
function arrayParser(binary: boolean): (bytes: Buffer, from: number, to: number, close: string) => unknown[] {
  const decoding = binary ? 'latin1' : 'utf8';
  return (bytes, from, to, close) => {
    let text: string;
    if (close === ']' && from > 0) {
      // The brackets go over the separators around the piece (the `[` or the `\n` of a `,\n` before
      // it, the `,` of one after it) for as long as the text is copied out: one string, not a
      // concatenation that JSON.parse would first copy into a flat one.
      const before = bytes[from - 1];
      const after = bytes[to];
      bytes[from - 1] = 0x5b;
      bytes[to] = 0x5d;
      text = bytes.toString(decoding, from - 1, to + 1);
      bytes[from - 1] = before;
      bytes[to] = after;
    } else {
      text = `[${bytes.toString(decoding, from, to)}${close}`;
    }
    if (!binary || !hasWideEscape(bytes.subarray(from, to))) return JSON.parse(text) as unknown[];
    return (JSON.parse(realString(text)) as unknown[]).map(toBinary);
  };
}

/**
 * The rest of a reading by the character scanner of readJsonItems, in batches: `head` (what was
 * read and not parsed, after a `[` when the array was opened), then what `iterator` has left.
 */
async function* scanItems(head: ReadonlyArray<string | Uint8Array>, iterator: AsyncIterator<Uint8Array>, firstIndex: number, binary: boolean): AsyncGenerator<JsonBatch, void, undefined> {
  async function* rest(): AsyncGenerator<string | Uint8Array> {
    yield* head;
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) yield next.value;
  }
  let items: unknown[] = [];
  for await (const item of readJsonItems(rest(), firstIndex, binary)) {
    items.push(binary ? toBinary(item) : item);
    if (items.length === 256) {
      yield { items };
      items = [];
    }
  }
  if (items.length > 0) yield { items };
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
  const scanner = itemScanner(firstIndex);
  for await (const chunk of source) {
    // A binary-form string (what readJsonBatches read so far) is turned back into text.
    const text = typeof chunk === 'string' ? (binary ? decoder.decode(Buffer.from(chunk, 'latin1'), { stream: true }) : chunk) : decoder.decode(chunk, { stream: true });
    yield* scanner.scan(text);
  }
  decoder.decode();
  scanner.end();
}

/**
 * The character scanner behind readJsonItems, fed the text a chunk at a time: `scan` answers the
 * items that end in it, `end` throws if the text so far is not a whole array. Its per-character
 * work is in closures made at run time (here and in itemBounds): in the bronze Lambda, a
 * module-level function is a wrapper that rebuilds a `with` scope on every call (README.md).
 */
function itemScanner(firstIndex: number) {
  const bounds = itemBounds();
  let state: State = 'start';
  let single = false;
  let pieces: string[] = [];
  let offset = 0;
  let index = firstIndex;

  const parse = (text: string): unknown => {
    try {
      return JSON.parse(text);
    } catch (error) {
      throw new Error(`item ${index} is not valid JSON: ${(error as Error).message}`);
    }
  };

  const scan = (text: string): unknown[] => {
    const items: unknown[] = [];
    let start = 0;
    for (let i = 0; i < text.length; i++) {
      if (state === 'item') {
        const end = bounds.end(text, i);
        if (end < 0) break;
        pieces.push(text.slice(start, end));
        items.push(parse(pieces.join('')));
        state = single ? 'done' : 'between';
        pieces = [];
        index++;
        // A scalar ends at the character after it, which is read again as what follows the item.
        i = end - 1;
        continue;
      }
      const c = text.charCodeAt(i);
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
      state = 'item';
      start = i;
      bounds.begin(c);
    }
    if (state === 'item') pieces.push(text.slice(start));
    offset += text.length;
    return items;
  };

  return {
    scan,
    end() {
      if (state === 'start') throw new Error('expected a JSON array of objects, found no JSON at all');
      if (state !== 'done') throw new Error(`the JSON text ends early at character ${offset} (inside item ${index})`);
    },
  };
}

/** Where an item ends: `begin` takes its first character, `end` scans on, across chunks. */
function itemBounds() {
  let depth = 0;
  let inString = false;
  let escaped = false;
  let scalar = false;
  return {
    begin(c: number): void {
      depth = 0;
      if (c === 0x22) inString = true;
      else if (c === 0x7b || c === 0x5b) depth = 1;
      else scalar = true;
    },
    /** The index after the item's last character in `text` (from `from` on), or -1 when it goes on past the text. */
    end(text: string, from: number): number {
      for (let i = from; i < text.length; i++) {
        if (inString) {
          // Strings are most of the bytes (HTML bodies): jump to the next quote or backslash.
          if (escaped) {
            escaped = false;
            continue;
          }
          const quote = text.indexOf('"', i);
          const slash = text.indexOf('\\', i);
          if (quote < 0 && slash < 0) return -1;
          if (slash >= 0 && (quote < 0 || slash < quote)) {
            i = slash;
            escaped = true;
            continue;
          }
          i = quote;
          inString = false;
          if (depth === 0) return i + 1;
          continue;
        }
        const c = text.charCodeAt(i);
        if (scalar) {
          if (c === 0x2c || c === 0x5d || isWhitespace(c)) {
            scalar = false;
            return i;
          }
          continue;
        }
        if (c === 0x22) inString = true;
        else if (c === 0x7b || c === 0x5b) depth++;
        else if (c === 0x7d || c === 0x5d) {
          depth--;
          if (depth === 0) return i + 1;
        }
      }
      return -1;
    },
  };
}
