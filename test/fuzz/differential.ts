import { isDeepStrictEqual } from 'node:util';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { convertJsonFile } from '../../handlers/parquet/convert';
import { sanitizeColumnName } from '../../handlers/parquet/names';
import { expectedValue, lostValues, refusalOf, wellFormed } from './expected';
import { plain, type Reader } from './readers';
import { fuzzCase } from './rows';

/** What one seed found: empty when every reader read back what the converter promised. */
export interface Finding {
  seed: number;
  what: string;
}

/** At most this many findings per seed are reported: one defect tends to repeat on every row. */
const FINDINGS_PER_SEED = 5;

/**
 * Converts the case of `seed` and checks the file with every reader against the expectation
 * (fuzz/expected.ts): the row count, each value of each column, the names (unique, Athena-safe,
 * the sanitised path or that with a `_k` suffix) and that no value was lost; or, for rows without
 * any field, the promised error and no file left behind.
 */
export async function runSeed(seed: number, readers: Record<string, Reader>): Promise<Finding[]> {
  const fuzz = fuzzCase(seed);
  const findings: Finding[] = [];
  const found = (what: string) => findings.length < FINDINGS_PER_SEED && findings.push({ seed, what });
  const dir = await mkdtemp(join(tmpdir(), 'parquet-fuzz-'));
  try {
    const input = join(dir, 'in.json');
    const output = join(dir, 'out.parquet');
    await writeFile(input, fuzz.text);
    const rows = (JSON.parse(fuzz.text) as Record<string, unknown>[]).map((row) => wellFormed(row) as Record<string, unknown>);
    const label = `rows ${rows.length}, row groups of ${fuzz.rowGroupSize}, maxDepth ${fuzz.maxDepth}, ${fuzz.codec}`;
    const refusal = refusalOf(input, rows, fuzz.declared);
    let report;
    try {
      report = await convertJsonFile(input, output, { rowGroupSize: fuzz.rowGroupSize, maxDepth: fuzz.maxDepth, codec: fuzz.codec, seed: fuzz.declared });
    } catch (error) {
      const { message } = error as Error;
      if (!refusal) found(`the conversion failed: ${message}`);
      else if (!refusal.every((text) => message.includes(text))) found(`${label}: no row has a field, but the error does not say so with ${JSON.stringify(refusal)}: ${message}`);
      const left = (await readdir(dir)).filter((name) => name !== 'in.json');
      if (left.length > 0) found(`${label}: the failed conversion left ${left.join(', ')}`);
      return findings;
    }
    if (refusal) {
      found(`${label}: no row has a field, yet a file of ${report.columns} columns was written instead of an error`);
      return findings;
    }
    const { schema } = report;
    if (report.rows !== rows.length) found(`${label}: the report counts ${report.rows} rows`);
    for (const column of schema) {
      const base = sanitizeColumnName(column.path);
      if (!/^[a-z_][a-z0-9_]*$/.test(column.name) || !(column.name === base || column.name.startsWith(`${base}_`))) found(`${label}: column name ${column.name} for path ${JSON.stringify(column.path)}`);
    }
    if (new Set(schema.map((column) => column.name)).size !== schema.length) found(`${label}: duplicate column names ${schema.map((c) => c.name).join(',')}`);
    for (let r = 0; r < rows.length; r++) for (const lost of lostValues(rows[r], schema)) found(`${label}: row ${r} lost ${lost}`);
    if (report.empty) {
      if (rows.length > 0) found(`${label}: reported empty`);
      return findings;
    }
    const expected = schema.map((column) => rows.map((row) => expectedValue(row, column)));
    for (const [name, read] of Object.entries(readers)) {
      let back: unknown[][];
      try {
        back = await read(output, schema);
      } catch (error) {
        found(`${label}: ${name} cannot read the file: ${(error as Error).message}`);
        continue;
      }
      if (back.length !== rows.length) found(`${label}: ${name} reads ${back.length} rows`);
      schema.forEach((column, c) => {
        for (let r = 0; r < Math.min(rows.length, back.length); r++) {
          const actual = plain(back[r][c]);
          if (!isDeepStrictEqual(actual, expected[c][r])) {
            found(`${label}: ${name}, row ${r}, column ${column.name} (${column.kind}${column.element ? ` of ${column.element}` : ''}): ${show(actual)}, expected ${show(expected[c][r])}`);
          }
        }
      });
    }
    return findings;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const show = (value: unknown) => JSON.stringify(value)?.slice(0, 120);
