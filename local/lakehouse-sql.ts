import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { tableName } from '../handlers/lake/layout';

/**
 * The local lakehouse (`npm start --out`, default `.lakehouse`) as SQL: DuckDB with one view per
 * bronze table, named exactly as the Glue tables of a deployed stack, so the same queries run on
 * a laptop and in Athena; the silver tables are views in the schema `silver` (`silver.posts`), as
 * they are a Glue database of their own on AWS.
 */

export interface LakehouseTable {
  /** The view's (and the Glue table's) name. */
  name: string;
  /** The folder whose Parquet files the view reads. */
  folder: string;
}

export class LakehouseError extends Error {}

/** Every table folder of the data source that holds Parquet (tables and their `_deletions`). */
export function lakehouseTables(out: string, dataSource: string): LakehouseTable[] {
  const root = join(out, 'bronze', dataSource);
  if (!existsSync(root)) {
    throw new LakehouseError(`no lakehouse at ${root}: run npm start first (it writes ${join(out, 'bronze')}), or pass --out with the folder npm start wrote`);
  }
  return readdirSync(root, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && !entry.name.startsWith('_'))
    .filter((entry) => readdirSync(join(root, entry.name)).some((file) => file.endsWith('.parquet')))
    .map((entry) => ({ name: tableName(entry.name), folder: join(root, entry.name) }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

const quote = (identifier: string) => `"${identifier.replace(/"/g, '""')}"`;
const literal = (text: string) => `'${text.replace(/'/g, "''")}'`;

/** The silver tables npm start wrote (none before its first run with silver). */
export function silverTables(out: string, dataSource: string): LakehouseTable[] {
  const root = join(out, 'silver', dataSource);
  if (!existsSync(root)) return [];
  return readdirSync(root, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && readdirSync(join(root, entry.name)).some((file) => file.endsWith('.parquet')))
    .map((entry) => ({ name: tableName(entry.name), folder: join(root, entry.name) }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** A DuckDB connection with one view per bronze table, and one per silver table in the schema `silver`. */
export async function openLakehouse(out: string, dataSource: string): Promise<{ connection: DuckDBConnection; tables: LakehouseTable[]; silver: LakehouseTable[] }> {
  const tables = lakehouseTables(out, dataSource);
  const silver = silverTables(out, dataSource);
  const { DuckDBInstance } = require('@duckdb/node-api') as typeof import('@duckdb/node-api');
  const connection = await (await DuckDBInstance.create(':memory:')).connect();
  // Athena works in UTC; DuckDB would take the machine's zone for TIMESTAMP WITH TIME ZONE values
  // (silver's instants), and date_trunc('month', ...) would put a post of midnight in another month.
  await connection.run("SET TimeZone = 'UTC'");
  for (const table of tables) {
    // union_by_name: a table may be several files (a deletions table is one per run).
    await connection.run(`CREATE VIEW ${quote(table.name)} AS SELECT * FROM read_parquet(${literal(join(table.folder, '*.parquet'))}, union_by_name = true)`);
  }
  const runs = join(out, 'bronze', dataSource, '_runs');
  if (existsSync(runs) && readdirSync(runs).some((file) => file.endsWith('.json'))) {
    // One row per endpoint of each run, from the manifests bronze writes (`_runs/<run id>.json`).
    await connection.run(
      `CREATE VIEW pipeline_runs AS SELECT runId AS run_id, startedAt::TIMESTAMPTZ AS started_at, writtenAt::TIMESTAMPTZ AS written_at, status AS run_status, e.endpoint, e.ok, e.mode, e.items, e.upserted, e.deleted, e.restated, e."rows", to_json(e)->>'stage' AS stage, to_json(e)->>'$.errors[0]' AS error FROM (SELECT *, unnest(endpoints) AS e FROM read_json(${literal(join(runs, '*.json'))}, union_by_name = true, maximum_object_size = 134217728))`,
    );
  }
  if (silver.length > 0) await connection.run('CREATE SCHEMA silver');
  for (const table of silver) {
    await connection.run(`CREATE VIEW silver.${quote(table.name)} AS SELECT * FROM read_parquet(${literal(join(table.folder, '*.parquet'))})`);
  }
  return { connection, tables, silver };
}

export interface QueryResult {
  columns: string[];
  /** Values as JSON-safe data: BIGINT as text, timestamps as ISO-like text, lists as arrays. */
  rows: unknown[][];
}

/** Runs one statement; an unknown table's error lists the known ones. */
export async function query(connection: DuckDBConnection, tables: LakehouseTable[], sql: string): Promise<QueryResult> {
  try {
    const reader = await connection.runAndReadAll(sql);
    return { columns: reader.columnNames(), rows: reader.getRowsJson() as unknown[][] };
  } catch (error) {
    const message = (error as Error).message;
    if (/Table with name .* does not exist/.test(message)) {
      throw new LakehouseError(`${message.split('\n')[0]} Known tables: ${tables.map((t) => t.name).join(', ') || 'none (run npm start first)'}.`);
    }
    throw new LakehouseError(`SQL error: ${message}`);
  }
}

function cell(value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** `table`: aligned text; `csv`: RFC 4180; `json`: one array of row objects. */
export function format(result: QueryResult, as: 'table' | 'csv' | 'json'): string {
  if (as === 'json') return `${JSON.stringify(result.rows.map((row) => Object.fromEntries(result.columns.map((c, i) => [c, row[i] ?? null]))), null, 2)}\n`;
  if (as === 'csv') {
    const field = (value: unknown) => {
      const text = value === null || value === undefined ? '' : cell(value);
      return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
    };
    return [result.columns, ...result.rows].map((row) => row.map(field).join(',')).join('\r\n') + '\r\n';
  }
  const cells = result.rows.map((row) => row.map((v) => cell(v).replace(/\s+/g, ' ')).map((v) => (v.length > 60 ? `${v.slice(0, 59)}…` : v)));
  const widths = result.columns.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i].length)));
  const line = (row: string[]) => row.map((v, i) => v.padEnd(widths[i])).join('  ').trimEnd();
  return `${[line(result.columns), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n')}\n(${result.rows.length} row${result.rows.length === 1 ? '' : 's'})\n`;
}
