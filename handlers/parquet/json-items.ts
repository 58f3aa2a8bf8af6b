/**
 * A streaming reader for the raw layer's files: one JSON array of objects, possibly hundreds of
 * megabytes. Only the text of the current item is held in memory, so a pass over the file costs
 * one item at a time instead of the whole document (JSON.parse would need the file and its parsed
 * graph at once). Each item is still parsed by JSON.parse, so item syntax is exactly JSON's.
 */

/**
 * JSON whitespace (and a byte-order mark). A function, not a module-level Set: Pulumi's closure
 * serializer copies captured Sets as plain objects, which broke the bronze Lambda.
 */
function isWhitespace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09 || c === 0xfeff;
}

type State = 'start' | 'between' | 'item' | 'done';

/** Every item of the JSON array file at `path`, streamed in 1 MiB reads. */
export async function* readJsonFileItems(path: string): AsyncGenerator<unknown, void, undefined> {
  const { createReadStream } = require('node:fs') as typeof import('node:fs');
  yield* readJsonItems(createReadStream(path, { highWaterMark: 1 << 20 }));
}

/**
 * Yields every item of a top-level JSON array, in order. A top-level object (a custom endpoint
 * that answers one document) is yielded as the only item.
 *
 * @param source - UTF-8 bytes or text chunks, e.g. `fs.createReadStream(path)` or an S3 body.
 * @throws Error naming the character offset or item index when the text is not a JSON array,
 *   an item is not valid JSON, or the text ends early.
 */
export async function* readJsonItems(source: AsyncIterable<string | Uint8Array>): AsyncGenerator<unknown, void, undefined> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let state: State = 'start';
  let single = false;
  let pieces: string[] = [];
  let depth = 0;
  let inString = false;
  let escaped = false;
  let scalar = false;
  let offset = 0;
  let index = 0;

  const parse = (text: string): unknown => {
    try {
      return JSON.parse(text);
    } catch (error) {
      throw new Error(`item ${index} is not valid JSON: ${(error as Error).message}`);
    }
  };

  for await (const chunk of source) {
    const text = typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
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
