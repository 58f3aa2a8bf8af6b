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
  /** Closes the array and the file. */
  close(): Promise<JsonArrayFileSummary>;
  /** Closes the file without completing it (the caller deletes it). */
  abort(): void;
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
  const write = async (text: string) => {
    if (failure) throw failure;
    const chunk = Buffer.from(text, 'utf8');
    hash.update(chunk);
    bytes += chunk.length;
    // once() also rejects when the stream emits 'error' while we wait.
    if (!stream.write(chunk)) await once(stream, 'drain');
  };
  return {
    async append(list) {
      if (list.length === 0) return;
      const parts = list.map((item, i) => (items + i === 0 ? '[\n' : ',\n') + JSON.stringify(item));
      items += list.length;
      await write(parts.join(''));
    },
    async close() {
      await write(items === 0 ? '[]\n' : '\n]\n');
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
