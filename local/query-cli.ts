import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError } from '../pipeline/config';
import { LakehouseError, format, openLakehouse, query } from './lakehouse-sql';
import { LOCAL_STACK, localConfig, readStackConfig } from './run';
import { runCli } from './run-cli';

const HELP = `Usage: npm run query -- [options] "SELECT ..."
       npm run query -- --tables

Runs SQL with DuckDB over the local lakehouse that npm start writes: one view per bronze table,
named as the Glue tables of a deployed stack (posts, comments, posts_deletions, ...), and one per
silver table in the schema silver (silver.posts, silver.terms, ...; see docs/silver.md).

Options:
  --out DIR            the lakehouse folder (default: .lakehouse, as npm start)
  --stack NAME         stack whose dataSource is read (default: ${LOCAL_STACK})
  --format F           table, csv or json (default: table)
  --tables             list the tables with their row counts and columns
  --help               this text

Exit code: 0 on success, 1 on an SQL error or a missing lakehouse, 2 on bad options.`;

async function main(): Promise<number> {
  let values;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: process.argv.slice(2),
      options: {
        out: { type: 'string', default: '.lakehouse' },
        stack: { type: 'string', default: LOCAL_STACK },
        format: { type: 'string', default: 'table' },
        tables: { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
      allowPositionals: true,
      strict: true,
    }));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}. Run npm run query -- --help for the options.\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  const as = values.format as string;
  if (as !== 'table' && as !== 'csv' && as !== 'json') {
    process.stderr.write(`--format must be table, csv or json, got "${as}". Fix: e.g. --format csv\n`);
    return 2;
  }
  if (!values.tables && positionals.length !== 1) {
    process.stderr.write(`give one SQL statement (quoted), or --tables. Fix: npm run query -- "SELECT count(*) FROM posts"\n`);
    return 2;
  }
  let dataSource: string;
  try {
    // Only the data source matters here, and the local stack may name no site (npm start then
    // serves its demo site): any valid site lets the rest of the stack be read and checked.
    dataSource = localConfig(await readStackConfig(process.cwd(), values.stack as string), { site: 'http://127.0.0.1' }).dataSource;
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      return 2;
    }
    throw error;
  }
  try {
    const lakehouse = await openLakehouse(resolve(values.out as string), dataSource);
    const { connection } = lakehouse;
    // Silver's views are named as SQL reaches them, so an unknown table's error lists them too.
    const tables = [...lakehouse.tables, ...lakehouse.silver.map((table) => ({ ...table, name: `silver.${table.name}` }))];
    if (values.tables) {
      const listing = { columns: ['table', 'rows', 'columns'], rows: [] as unknown[][] };
      for (const table of tables) {
        const ref = table.name.split('.').map((part) => `"${part}"`).join('.');
        const count = await query(connection, tables, `SELECT count(*) AS n FROM ${ref}`);
        const described = await query(connection, tables, `DESCRIBE ${ref}`);
        listing.rows.push([table.name, Number(count.rows[0][0]), described.rows.map((r) => `${r[0]} ${r[1]}`).join(', ')]);
      }
      // The columns are the point of the listing: one table per paragraph, nothing cut.
      const text = listing.rows.map(([name, rows, columns]) => `${name} (${rows} rows)\n  ${columns}`).join('\n');
      process.stdout.write(as === 'table' ? `${text}\n` : format(listing, as));
      return 0;
    }
    process.stdout.write(format(await query(connection, tables, positionals[0]), as));
    return 0;
  } catch (error) {
    if (error instanceof LakehouseError) {
      process.stderr.write(`${error.message}\n`);
      return 1;
    }
    throw error;
  }
}

runCli(main);
