import test from 'ava';
import type { CatalogColumn, GlueCalls, TableInput } from '../../handlers/lake/catalog';
import { athenaType, catalogColumns, registerTable, tableInput } from '../../handlers/lake/catalog';
import type { ColumnSpec } from '../../handlers/parquet/infer';

const columns: ColumnSpec[] = [
  { name: 'id', path: ['id'], kind: 'int64' },
  { name: 'title__rendered', path: ['title', 'rendered'], kind: 'string' },
  { name: 'date', path: ['date'], kind: 'timestamp' },
  { name: '_ingested_at', path: ['_ingested_at'], kind: 'timestamp_utc' },
  { name: 'sticky', path: ['sticky'], kind: 'boolean' },
  { name: 'score', path: ['score'], kind: 'double' },
  { name: 'meta', path: ['meta'], kind: 'json' },
  { name: 'categories', path: ['categories'], kind: 'list', element: 'int64' },
  { name: 'class_list', path: ['class_list'], kind: 'list', element: 'string' },
];

test('every column kind maps to the Athena type that reads its Parquet values', (t) => {
  t.deepEqual(
    catalogColumns(columns).map((c) => `${c.Name} ${c.Type}`),
    ['id bigint', 'title__rendered string', 'date timestamp', '_ingested_at timestamp', 'sticky boolean', 'score double', 'meta string', 'categories array<bigint>', 'class_list array<string>'],
  );
  t.is(athenaType('list', 'boolean'), 'array<boolean>');
  t.is(catalogColumns(columns).find((c) => c.Name === 'meta')?.Comment, 'JSON text');
});

test('the table input is an external Parquet table at the folder, with row count and run id', (t) => {
  const input = tableInput('posts', 's3://bronze-bucket/wordpress_api/posts/', columns, { rows: 1171, runId: 'run-1', codec: 'zstd' });
  t.like(input, {
    Name: 'posts',
    TableType: 'EXTERNAL_TABLE',
    Parameters: { classification: 'parquet', EXTERNAL: 'TRUE', 'parquet.compression': 'ZSTD', numRows: '1171', 'wordpress_lakehouse.run_id': 'run-1' },
    StorageDescriptor: { Location: 's3://bronze-bucket/wordpress_api/posts/', SerdeInfo: { SerializationLibrary: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe' } },
  });
});

/** A Glue stand-in that keeps tables in memory and records the calls. */
function fakeGlue() {
  const tables = new Map<string, TableInput>();
  const calls: string[] = [];
  const glue: GlueCalls = {
    async getTable(database, name) {
      calls.push(`GetTable ${database}.${name}`);
      const table = tables.get(name);
      return table && { columns: table.StorageDescriptor.Columns.map((c: CatalogColumn) => ({ Name: c.Name, Type: c.Type })), location: table.StorageDescriptor.Location, parameters: table.Parameters };
    },
    async createTable(database, input) {
      calls.push(`CreateTable ${database}.${input.Name}`);
      tables.set(input.Name, input);
    },
    async updateTable(database, input, skipArchive) {
      calls.push(`UpdateTable ${database}.${input.Name}${skipArchive ? ' SkipArchive' : ''}`);
      tables.set(input.Name, input);
    },
  };
  return { glue, calls, tables };
}

test('a table is created once, updated in place when only its facts change, versioned when its schema changes, and left alone otherwise', async (t) => {
  const { glue, calls } = fakeGlue();
  const at = 's3://b/wp/posts/';
  const input = (cols: ColumnSpec[], rows: number, runId: string) => tableInput('posts', at, cols, { rows, runId, codec: 'zstd' });
  t.is(await registerTable(glue, 'db', input(columns, 10, 'r1')), 'created');
  t.is(await registerTable(glue, 'db', input(columns, 10, 'r1')), 'unchanged');
  t.is(await registerTable(glue, 'db', input(columns, 12, 'r2')), 'updated');
  t.is(await registerTable(glue, 'db', input([...columns, { name: 'acf__rating', path: ['acf', 'rating'], kind: 'int64' }], 12, 'r3')), 'schema updated');
  const widened = columns.map((c) => (c.name === 'id' ? { ...c, kind: 'string' as const } : c));
  t.is(await registerTable(glue, 'db', input(widened, 12, 'r3')), 'schema updated', 'a widened type is a schema change');
  t.is(await registerTable(glue, 'db', { ...input(widened, 12, 'r3'), StorageDescriptor: { ...input(widened, 12, 'r3').StorageDescriptor, Location: 's3://b/wp/other/' } }), 'schema updated', 'a moved location too');
  t.deepEqual(calls, [
    'GetTable db.posts', 'CreateTable db.posts',
    'GetTable db.posts',
    'GetTable db.posts', 'UpdateTable db.posts SkipArchive',
    'GetTable db.posts', 'UpdateTable db.posts',
    'GetTable db.posts', 'UpdateTable db.posts',
    'GetTable db.posts', 'UpdateTable db.posts',
  ]);
});
