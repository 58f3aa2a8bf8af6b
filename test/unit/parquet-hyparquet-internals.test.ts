import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  HYPARQUET_WRITER_CHECKED, byteWriterClass, footerWriters, pageHeaderEncoder, rleEncoder, snappyCompressor, take,
} from '../../handlers/parquet/hyparquet-writer-internals';

/**
 * The shapes and bytes of hyparquet-writer's private files that bronze files are made of
 * (handlers/parquet/hyparquet-writer-internals.ts). An upgrade that changes one fails here, naming
 * it, before it can write a file readers reject. The expected bytes are hyparquet-writer 0.17.0's,
 * checked against Parquet's thrift definitions when pinned (field ids and compact types below).
 */

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
const upgraded = `hyparquet-writer ${JSON.parse(readFileSync(join(require.resolve('hyparquet-writer/src/bytewriter.js'), '../../package.json'), 'utf8')).version} (checked: ${HYPARQUET_WRITER_CHECKED})`;

test('every private export the writer takes is there, a function of the arity it is called with', (t) => {
  t.notThrows(() => byteWriterClass(), upgraded);
  t.notThrows(() => rleEncoder(), upgraded);
  t.notThrows(() => pageHeaderEncoder(), upgraded);
  t.notThrows(() => footerWriters(), upgraded);
  t.notThrows(() => snappyCompressor(), upgraded);
});

test('a moved or reshaped export fails naming the file, the export and the adapter module', (t) => {
  const error = t.throws(() => take({ writePageHeader: (a: unknown) => a }, 'src/datapage.js', 'writePageHeader', 2));
  t.regex(error.message, /hyparquet-writer\/src\/datapage\.js exports writePageHeader as a function of 1 parameters/);
  t.regex(error.message, /handlers\/parquet\/hyparquet-writer-internals\.ts/);
  t.regex(t.throws(() => take({}, 'src/snappy.js', 'snappyCompress', 1)).message, /exports snappyCompress as undefined/);
});

test('ByteWriter counts what it wrote in offset (the file position) and index (the buffered bytes), and grows', (t) => {
  const ByteWriter = byteWriterClass();
  const writer = new ByteWriter(2);
  writer.appendUint32(0x31524150);
  writer.appendBytes(new Uint8Array([1, 2, 3]));
  t.is(writer.offset, 7, upgraded);
  t.is((writer as unknown as { index: number }).index, 7, upgraded);
  t.true(writer.buffer.byteLength >= 7);
  t.is(hex(writer.getBytes()), '50415231010203', upgraded);
});

test('RLE/bit-packed hybrid: a run of eight 1s then 0..3 bit-packed, at width 2', (t) => {
  // 0x10: a repeated run of 8 (8 << 1); 0x01 its value; 0x03: one bit-packed group of 8 ((1 << 1) | 1); then 0,1,2,3 and padding at 2 bits.
  t.is(hex(rleEncoder()([1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 2, 3], 2)), '100103e400', upgraded);
});

test('a DATA_PAGE_V2 header: type 3, sizes, and the v2 header (field 8) with levels lengths and is_compressed left to its default', (t) => {
  const header = pageHeaderEncoder()({
    type: 'DATA_PAGE_V2', uncompressed_page_size: 120, compressed_page_size: 80,
    data_page_header_v2: {
      num_values: 10, num_nulls: 2, num_rows: 9, encoding: 'RLE_DICTIONARY',
      definition_levels_byte_length: 4, repetition_levels_byte_length: 3, is_compressed: true,
    },
  });
  t.is(hex(header), '150615f00115a0015c1514150415121510150815060000', upgraded);
});

test('a DICTIONARY_PAGE header: type 2, sizes, and the dictionary header (field 7): 3 values, PLAIN', (t) => {
  const header = pageHeaderEncoder()({
    type: 'DICTIONARY_PAGE', uncompressed_page_size: 30, compressed_page_size: 20,
    dictionary_page_header: { num_values: 3, encoding: 'PLAIN' },
  });
  t.is(hex(header), '1504153c15284c150615000000', upgraded);
});

test('the offset index and the FileMetaData of a one-column file, as the writer spells them', (t) => {
  const ByteWriter = byteWriterClass();
  const writer = new ByteWriter(16);
  const { writeIndexes, writeMetadata } = footerWriters();
  const chunk = {
    meta_data: {
      type: 'INT64', encodings: ['PLAIN'], path_in_schema: ['id'], codec: 'SNAPPY', num_values: 2n,
      total_compressed_size: 30n, total_uncompressed_size: 30n, data_page_offset: 4n,
      statistics: { min_value: 1n, max_value: 2n, null_count: 0n }, encoding_stats: [{ page_type: 'DATA_PAGE_V2', encoding: 'PLAIN', count: 2 }],
    },
    file_offset: 4n,
  };
  writer.appendUint32(0x31524150);
  writeIndexes(writer, [{
    chunk,
    offsetIndex: { page_locations: [{ offset: 4n, compressed_page_size: 15, first_row_index: 0n }, { offset: 19n, compressed_page_size: 15, first_row_index: 1n }] },
  }]);
  // The offset index's position lands in the chunk's metadata, which the footer then carries.
  t.truthy((chunk as Record<string, unknown>).offset_index_offset, upgraded);
  writeMetadata(writer, {
    version: 2, created_by: 'test',
    schema: [{ name: 'root', num_children: 1 }, { name: 'id', type: 'INT64', repetition_type: 'OPTIONAL' }],
    num_rows: 2n, row_groups: [{ columns: [chunk], total_byte_size: 30n, num_rows: 2n, total_compressed_size: 30n }],
    key_value_metadata: [{ key: 'k', value: 'v' }],
  });
  t.is(
    hex(writer.getBytes()),
    '50415231192c1608151e1600001626151e160200001504192c4804726f6f741502001504250218026964001604191c191c26081c1504191500191802696415021604163c163c26083c3600280802000000000000001808010000000000000000191c15061500150400001608152200163c1604363c00191c18016b18017600180474657374191c1c00000076000000',
    upgraded,
  );
});

test('snappy: a repeated text as one literal and one copy', (t) => {
  t.is(hex(snappyCompressor()(Buffer.from('abcabcabcabcabcabcabc'))), '1508616263460300', upgraded);
});
