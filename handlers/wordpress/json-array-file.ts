/** What was written: the file's size and SHA-256 are computed on the way, not by re-reading it. */
export interface JsonArrayFileSummary {
  path: string;
  items: number;
  bytes: number;
  sha256: string;
}

export interface JsonArrayFile {
  /** Appends items, waiting for the disk when the stream's buffer is full. */
  append(items: readonly unknown[]): Promise<void>;
  /** Appends items already serialised, each the JSON.stringify text of one item. */
  appendJson(texts: readonly string[]): Promise<void>;
  /** Closes the array and the file. */
  close(): Promise<JsonArrayFileSummary>;
  /** Closes the file without completing it (the caller deletes it). */
  abort(): void;
}

/**
 * Writes one JSON array file with `fill`: closed when `fill` returns, destroyed when it throws, so
 * no failure leaves the file open (the partial file is the caller's to delete).
 */
export async function writeJsonArrayFile<T>(path: string, fill: (file: JsonArrayFile) => Promise<T>): Promise<{ summary: JsonArrayFileSummary; result: T }> {
  const file = openJsonArrayFile(path);
  try {
    const result = await fill(file);
    return { summary: await file.close(), result };
  } catch (error) {
    file.abort();
    throw error;
  }
}

/**
 * Streams one JSON array to `path`, one item per line, so memory holds a page, not the site.
 * The layout (`[`, items separated by `,\n`, `]`) is plain JSON for any reader.
 */
export function openJsonArrayFile(path: string): JsonArrayFile {
  const { createWriteStream } = require('node:fs') as typeof import('node:fs');
  const { once } = require('node:events') as typeof import('node:events');
  const { createHash } = require('node:crypto') as typeof import('node:crypto');
  const stream = createWriteStream(path);
  const hash = createHash('sha256');
  let items = 0;
  let bytes = 0;
  let failure: Error | undefined;
  stream.on('error', (error) => {
    failure = error;
  });
  const write = async (chunk: Buffer) => {
    if (failure) throw failure;
    hash.update(chunk);
    bytes += chunk.length;
    // once() also rejects when the stream emits 'error' while we wait.
    if (!stream.write(chunk)) await once(stream, 'drain');
  };
  // A batch is encoded straight into this buffer, then copied out for the stream (which holds a
  // chunk until it is on disk): joining the batch into one string first cost as much again as the
  // encoding (two-byte text, a string the size of the batch).
  let scratch = Buffer.allocUnsafe(64 << 10);
  const appendJson = async (texts: readonly string[]) => {
    if (texts.length === 0) return;
    let used = 0;
    for (const text of texts) {
      // A UTF-16 code unit is at most 3 bytes of UTF-8; a text of a megabyte or more is measured
      // instead, so that one long item does not triple the buffer.
      const most = used + 2 + (text.length < 1 << 20 ? 3 * text.length : Buffer.byteLength(text));
      if (most > scratch.length) {
        const larger = Buffer.allocUnsafe(Math.max(most, 2 * scratch.length));
        scratch.copy(larger, 0, 0, used);
        scratch = larger;
      }
      scratch[used++] = items++ === 0 ? 0x5b : 0x2c;
      scratch[used++] = 0x0a;
      used += scratch.write(text, used, 'utf8');
    }
    await write(Buffer.from(scratch.subarray(0, used)));
  };
  return {
    append: (list) => appendJson(list.map((item) => JSON.stringify(item))),
    appendJson,
    async close() {
      await write(Buffer.from(items === 0 ? '[]\n' : '\n]\n'));
      stream.end();
      await once(stream, 'close');
      if (failure) throw failure;
      return { path, items, bytes, sha256: hash.digest('hex') };
    },
    abort() {
      stream.destroy();
    },
  };
}
