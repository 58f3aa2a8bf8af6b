import type { ColumnSpec, ListElementKind } from '../parquet/infer';

/**
 * The Glue Data Catalog entry of a bronze table, written by the bronze function after each merge
 * so Athena can query the table the moment a run ends (no crawler: it costs per run, guesses
 * types and would split folders into partitions). Pure mapping plus one adapter over the three
 * Glue calls it needs; the Glue client is injected so tests can record what is sent.
 */

/** Athena (Hive DDL) type of a column; JSON text and nested leftovers are `string`. */
export function athenaType(kind: ColumnSpec['kind'] | ListElementKind, element?: ListElementKind): string {
  switch (kind) {
    case 'int64':
      return 'bigint';
    case 'double':
      return 'double';
    case 'boolean':
      return 'boolean';
    case 'date':
      return 'date';
    case 'timestamp':
    case 'timestamp_utc':
      return 'timestamp';
    case 'list':
      return `array<${athenaType(element ?? 'string')}>`;
    default:
      return 'string';
  }
}

export interface CatalogColumn {
  Name: string;
  Type: string;
  Comment?: string;
}

export function catalogColumns(columns: readonly ColumnSpec[]): CatalogColumn[] {
  return columns.map((c) => ({
    Name: c.name,
    Type: athenaType(c.kind, c.element),
    ...(c.kind === 'json' && { Comment: 'JSON text' }),
    ...(c.kind === 'timestamp' && { Comment: 'wall-clock time as the site sent it, no zone' }),
  }));
}

/** Glue's `TableInput` for a Parquet table whose files are every object under `location`. */
export function tableInput(name: string, location: string, columns: readonly ColumnSpec[], facts: { rows?: number; runId: string; codec: string }) {
  return {
    Name: name,
    TableType: 'EXTERNAL_TABLE',
    Parameters: {
      classification: 'parquet',
      EXTERNAL: 'TRUE',
      'parquet.compression': facts.codec.toUpperCase(),
      // A deletions table gains a file per run: its total is not known here, so it has none.
      ...(facts.rows !== undefined && { numRows: String(facts.rows) }),
      'wordpress_lakehouse.run_id': facts.runId,
    },
    StorageDescriptor: {
      Columns: catalogColumns(columns),
      Location: location,
      InputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat',
      OutputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat',
      SerdeInfo: { SerializationLibrary: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe', Parameters: { 'serialization.format': '1' } },
    },
  };
}

export type TableInput = ReturnType<typeof tableInput>;

/** What the adapter needs of `@aws-sdk/client-glue`: the three calls, by their SDK names. */
export interface GlueCalls {
  getTable(databaseName: string, name: string): Promise<{ columns: CatalogColumn[]; location?: string; parameters: Record<string, string> } | undefined>;
  createTable(databaseName: string, input: TableInput): Promise<void>;
  updateTable(databaseName: string, input: TableInput, skipArchive: boolean): Promise<void>;
}

export type CatalogAction = 'created' | 'updated' | 'schema updated' | 'unchanged';

/**
 * Creates the table, or updates it when its columns or location changed (a new table version),
 * or only its row count and run id did (in place: SkipArchive, so daily runs do not pile up
 * versions). Nothing is sent when all of it is the same.
 */
export async function registerTable(glue: GlueCalls, databaseName: string, input: TableInput): Promise<CatalogAction> {
  const current = await glue.getTable(databaseName, input.Name);
  if (!current) {
    await glue.createTable(databaseName, input);
    return 'created';
  }
  const same = (a: CatalogColumn[], b: CatalogColumn[]) => a.length === b.length && a.every((c, i) => c.Name === b[i].Name && c.Type === b[i].Type);
  const schemaChanged = !same(current.columns, input.StorageDescriptor.Columns) || current.location !== input.StorageDescriptor.Location;
  if (schemaChanged) {
    await glue.updateTable(databaseName, input, false);
    return 'schema updated';
  }
  const facts = ['numRows', 'wordpress_lakehouse.run_id'] as const;
  if (facts.some((key) => current.parameters[key] !== input.Parameters[key])) {
    await glue.updateTable(databaseName, input, true);
    return 'updated';
  }
  return 'unchanged';
}

/** The adapter over `@aws-sdk/client-glue`; `client()` is called on each call (see `once` in aws/clients.ts). */
export function sdkGlueCalls(client: () => import('@aws-sdk/client-glue').GlueClient): GlueCalls {
  const sdk = () => require('@aws-sdk/client-glue') as typeof import('@aws-sdk/client-glue');
  return {
    async getTable(DatabaseName, Name) {
      try {
        const { Table } = await client().send(new (sdk().GetTableCommand)({ DatabaseName, Name }));
        return {
          columns: (Table?.StorageDescriptor?.Columns ?? []).map((c) => ({ Name: c.Name ?? '', Type: c.Type ?? '' })),
          location: Table?.StorageDescriptor?.Location,
          parameters: Table?.Parameters ?? {},
        };
      } catch (error) {
        if ((error as { name?: string }).name === 'EntityNotFoundException') return undefined;
        throw error;
      }
    },
    async createTable(DatabaseName, TableInput) {
      await client().send(new (sdk().CreateTableCommand)({ DatabaseName, TableInput }));
    },
    async updateTable(DatabaseName, TableInput, SkipArchive) {
      await client().send(new (sdk().UpdateTableCommand)({ DatabaseName, TableInput, SkipArchive }));
    },
  };
}
