import type { Writer } from 'hyparquet-writer';
import { byteWriterClass } from './hyparquet-writer-internals';

/** Bytes buffered before they go to disk. */
const CHUNK = 1 << 20;

/**
 * A hyparquet-writer Writer that streams to an open file, so the file is never held in memory:
 * only the bytes since the last flush are. hyparquet-writer's own `fileWriter` reopens the file
 * for every chunk and is missing from the types this project resolves, so this one keeps a
 * descriptor. ParquetWriter calls `flush` after each row group.
 */
export function fdWriter(fd: number): Writer {
  const ByteWriter = byteWriterClass();
  const { writeSync } = require('node:fs') as typeof import('node:fs');
  const writer = new ByteWriter(CHUNK * 2);
  const grow = writer.ensure.bind(writer);
  const flush = () => {
    let done = 0;
    while (done < writer.index) done += writeSync(fd, new Uint8Array(writer.buffer, done, writer.index - done));
    writer.index = 0;
  };
  return Object.assign(writer, {
    ensure(size: number) {
      if (writer.index > CHUNK) flush();
      grow(size);
    },
    flush,
    finish: flush,
  });
}
