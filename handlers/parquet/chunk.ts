import type { Physical, Scalar } from './column-values';
import type { PageHeaderEncoder } from './hyparquet-writer-internals';
import type { PageLevels } from './levels';

/**
 * A column chunk's end: its pages, once compressed, with their headers, in file order, and the
 * chunk's metadata (offsets relative to its first byte, encodings, statistics) for the footer.
 */

/**
 * A compressed page as the file holds it until its row group is written: its bytes, or where in a
 * spill file they are (parquet-file.ts).
 */
export type Stored = Uint8Array | { readonly offset: number; readonly length: number };

/** A data page handed to the compressor. */
export interface Page extends PageLevels {
  data: Promise<Stored>;
  /** Bytes of the page's values before compression. */
  plainBytes: number;
  encoding: string;
  firstRow: number;
}

/** A dictionary page, compressed. */
export interface DictionaryPage {
  header: Uint8Array;
  data: Stored;
  uncompressed: number;
}

/** What a finished chunk holds, with offsets relative to its first byte. */
export interface FinishedChunk {
  /** Its parts in file order: headers and levels as bytes, compressed pages as stored. */
  bytes: Stored[];
  size: number;
  uncompressed: number;
  dictionaryOffset?: number;
  dataOffset: number;
  /** Start of each data page and its size, for the offset index. */
  pages: { offset: number; size: number; firstRow: number }[];
  encodings: string[];
  encodingStats: { page_type: string; encoding: string; count: number }[];
  values: number;
  statistics: { min_value?: unknown; max_value?: unknown; null_count: bigint; nan_count?: bigint };
}

/** What the column writer knows of a chunk at its end. */
export interface ChunkContent {
  physical: Physical;
  dictionaryPage?: DictionaryPage;
  pages: Page[];
  /** Slots (values and nulls). */
  values: number;
  nulls: number;
  min: Scalar | null;
  max: Scalar | null;
}

export async function assembleChunk(content: ChunkContent, pageHeader: PageHeaderEncoder): Promise<FinishedChunk> {
  const { physical, dictionaryPage } = content;
  const bytes: Stored[] = [];
  let size = 0;
  let uncompressed = 0;
  const push = (part: Stored) => {
    bytes.push(part);
    size += part.length;
  };
  let dictionaryOffset: number | undefined;
  if (dictionaryPage) {
    dictionaryOffset = 0;
    push(dictionaryPage.header);
    push(dictionaryPage.data);
    uncompressed += dictionaryPage.uncompressed;
  }
  const dataOffset = size;
  const located: FinishedChunk['pages'] = [];
  for (const page of content.pages) {
    const data = await page.data;
    const header = dataPageHeader(page, data.length, pageHeader);
    const offset = size;
    push(header);
    push(page.levels);
    push(data);
    located.push({ offset, size: size - offset, firstRow: page.firstRow });
    uncompressed += header.length + page.levels.length + page.plainBytes;
  }
  const encoding = dictionaryPage ? 'RLE_DICTIONARY' : physical === 'BOOLEAN' ? 'RLE' : 'PLAIN';
  const encodingStats = [
    ...(dictionaryPage ? [{ page_type: 'DICTIONARY_PAGE', encoding: 'PLAIN', count: 1 }] : []),
    { page_type: 'DATA_PAGE_V2', encoding, count: located.length },
  ];
  return {
    bytes, size, uncompressed, dictionaryOffset, dataOffset, pages: located,
    encodings: dictionaryPage ? ['PLAIN', 'RLE_DICTIONARY'] : [encoding],
    encodingStats,
    values: content.values,
    statistics: { ...bounds(physical, content.min, content.max), null_count: BigInt(content.nulls), ...(physical === 'DOUBLE' && { nan_count: 0n }) },
  };
}

function dataPageHeader(page: Page, compressedBytes: number, pageHeader: PageHeaderEncoder): Uint8Array {
  return pageHeader({
    type: 'DATA_PAGE_V2',
    uncompressed_page_size: page.levels.length + page.plainBytes,
    compressed_page_size: page.levels.length + compressedBytes,
    data_page_header_v2: {
      num_values: page.values, num_nulls: page.nulls, num_rows: page.rows, encoding: page.encoding,
      definition_levels_byte_length: page.definitionBytes, repetition_levels_byte_length: page.repetitionBytes, is_compressed: true,
    },
  });
}

/** The header of a dictionary page of `count` values. */
export function dictionaryPageHeader(count: number, plainBytes: number, compressedBytes: number, pageHeader: PageHeaderEncoder): Uint8Array {
  return pageHeader({
    type: 'DICTIONARY_PAGE', uncompressed_page_size: plainBytes, compressed_page_size: compressedBytes,
    dictionary_page_header: { num_values: count, encoding: 'PLAIN' },
  });
}

/** Min and max in the form hyparquet-writer's footer encodes: bytes, bigint, number or boolean. */
function bounds(physical: Physical, min: Scalar | null, max: Scalar | null): { min_value?: unknown; max_value?: unknown } {
  if (min === null || max === null) return {};
  switch (physical) {
    case 'BYTE_ARRAY':
      return { min_value: new Uint8Array(Buffer.from(min as string, 'latin1')), max_value: new Uint8Array(Buffer.from(max as string, 'latin1')) };
    case 'INT64':
      return { min_value: BigInt(min), max_value: BigInt(max) };
    case 'DOUBLE':
      // The Parquet spec's signed zeros: min -0, max +0.
      return { min_value: min === 0 ? -0 : min, max_value: max === 0 ? 0 : max };
    default:
      return { min_value: min, max_value: max };
  }
}
