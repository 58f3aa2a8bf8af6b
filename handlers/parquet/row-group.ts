import type { FinishedChunk, Physical } from './column-writer';
import type { ColumnSpec } from './infer';

/**
 * A row group's end as the footer records it: each column chunk's metadata and offset index, with
 * the chunk's relative offsets made absolute, in hyparquet-writer's spelling of Parquet's structs.
 */

/** A column chunk's path from the schema's root: a list's leaf is `<name>.list.element`. */
function pathInSchema(column: ColumnSpec): string[] {
  return column.kind === 'list' ? [column.name, 'list', 'element'] : [column.name];
}

/** The ColumnChunk of a finished chunk written from byte `start` of the file. */
export function columnChunk(spec: ColumnSpec, physical: Physical, finished: FinishedChunk, start: number, codec: string) {
  return {
    meta_data: {
      type: physical,
      encodings: finished.encodings,
      path_in_schema: pathInSchema(spec),
      codec,
      num_values: BigInt(finished.values),
      total_compressed_size: BigInt(finished.size),
      total_uncompressed_size: BigInt(finished.uncompressed),
      data_page_offset: BigInt(start + finished.dataOffset),
      dictionary_page_offset: finished.dictionaryOffset === undefined ? undefined : BigInt(start + finished.dictionaryOffset),
      statistics: finished.statistics,
      encoding_stats: finished.encodingStats,
    },
    file_offset: BigInt(start),
  };
}

/** The chunk's OffsetIndex: written only for a chunk of more than one page. */
export function offsetIndex(finished: FinishedChunk, start: number) {
  if (finished.pages.length <= 1) return undefined;
  return {
    page_locations: finished.pages.map((p) => ({ offset: BigInt(start + p.offset), compressed_page_size: p.size, first_row_index: BigInt(p.firstRow) })),
  };
}
