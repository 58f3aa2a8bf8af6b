import { metadataText, putFile, putText } from '../aws/s3';
import type { ConversionReport } from '../parquet/convert';
import { convertJsonFile } from '../parquet/convert';
import type { ColumnSpec } from '../parquet/infer';
import { writeJsonArrayFile } from '../wordpress/json-array-file';
import { declaredText, seedColumns } from './declared';
import type { Identity } from './identity';
import { deletedKeyColumns } from './identity';
import type { Landing } from './land';
import type { LandInputs } from './land-read';
import type { Merged } from './land-merge';
import { deletionsKey, stateKey } from './layout';
import type { EndpointState } from './state';
import { laterMark, toRanges } from './state';

/** The fixed columns of every `<name>_deletions` file, so all of a table's files share one schema. */
const DELETION_COLUMNS: ColumnSpec[] = [
  { name: 'detected_at', path: ['detected_at'], kind: 'timestamp_utc' },
  { name: 'run_id', path: ['run_id'], kind: 'string' },
  { name: 'mode', path: ['mode'], kind: 'string' },
];

/** The new table's Parquet file in /tmp. */
export interface TableFile {
  path: string;
  report: ConversionReport;
}

/** This run's deletions file in /tmp, and where it lands. */
export interface DeletionsFile {
  key: string;
  path: string;
  columns: ColumnSpec[];
  rows: number;
}

export async function tableFile({ context, object, endpoint, dir }: Landing, mergedPath: string, previousColumns: ColumnSpec[] | undefined): Promise<TableFile> {
  const { join } = require('node:path') as typeof import('node:path');
  const path = join(dir, `${endpoint}.parquet`);
  const report = await convertJsonFile(mergedPath, path, { codec: context.codec, rowGroupSize: context.rowGroupSize, maxDepth: context.maxDepth, seed: seedColumns(previousColumns, object.columns) });
  return { path, report };
}

export async function deletionsFile({ context, object, endpoint, mode, runId, dir }: Landing, identity: Identity, deleted: unknown[]): Promise<DeletionsFile> {
  const { join } = require('node:path') as typeof import('node:path');
  const key = deletionsKey(context.dataSource, endpoint, runId);
  // The fetch that showed the rows gone, so a replay of the same raw records the same time.
  const detectedAt = object.fetchedAt ?? new Date().toISOString();
  const listPath = join(dir, 'deletions.json');
  await writeJsonArrayFile(listPath, (list) => list.append(deleted.map((left) => ({ ...deletedKeyColumns(identity, left), detected_at: detectedAt, run_id: runId, mode }))));
  const path = join(dir, 'deletions.parquet');
  const columns = (await convertJsonFile(listPath, path, { codec: context.codec, seed: DELETION_COLUMNS })).schema;
  return { key, path, columns, rows: deleted.length };
}

/** The state this run commits: a full run restarts the mark from what it fetched, an incremental one moves it on. */
export function nextState({ object, endpoint, mode, runId }: Landing, { state, digests }: LandInputs, merged: Merged): EndpointState {
  const markAfter = mode === 'full' ? merged.maxModified : laterMark(state?.mark, merged.maxModified);
  const tracksModified = mode === 'full' ? merged.items > 0 && merged.allModified : true;
  return {
    version: 1,
    endpoint,
    ...(markAfter && { mark: markAfter }),
    tracksModified,
    lastFullAt: mode === 'full' ? object.fetchedAt : (state?.lastFullAt ?? object.fetchedAt),
    lastRunId: runId,
    updatedAt: new Date().toISOString(),
    rows: merged.counts.rows,
    ...(tracksModified && { ids: toRanges(merged.ids) }),
    ...(tracksModified && digests && { listing: digests.result() }),
    declared: declaredText(object),
  };
}

/**
 * Table, deletions, then the state, which commits the run: the mark advances only once both
 * have landed. A failure after the table was replaced puts the previous one back (and empties
 * this run's deletions file), with PutObject alone: the function may not delete.
 */
export async function writeLanding(landing: Landing, files: { table: TableFile; deletions?: DeletionsFile; state: EndpointState; previousPath?: string }): Promise<void> {
  const { deps, context, object, endpoint, runId, key } = landing;
  const { table: { report }, deletions } = files;
  const written = { table: false, deletions: false };
  try {
    if (!report.empty) {
      await putFile(deps.s3, context.bronzeBucket, key, files.table.path, {
        contentType: 'application/vnd.apache.parquet',
        metadata: { rows: String(report.rows), columns: String(report.columns), codec: report.codec, 'source-key': metadataText(object.key), 'run-id': metadataText(runId) },
      });
      written.table = true;
    }
    if (deletions) {
      await putFile(deps.s3, context.bronzeBucket, deletions.key, deletions.path, { contentType: 'application/vnd.apache.parquet', metadata: { rows: String(deletions.rows) } });
      written.deletions = true;
    }
    await putText(deps.s3, context.bronzeBucket, stateKey(context.dataSource, endpoint), `${JSON.stringify(files.state)}\n`);
  } catch (error) {
    const undone = await rollBack(landing, written, files.previousPath, deletions);
    throw new Error(`${(error as Error).message} (${undone})`, { cause: error });
  }
}

/** Puts back what a failed run had already replaced; says what it did, for the error text. */
async function rollBack({ deps, context, key, dir }: Landing, written: { table: boolean; deletions: boolean }, previousPath: string | undefined, deletions: DeletionsFile | undefined): Promise<string> {
  const { join } = require('node:path') as typeof import('node:path');
  const { writeFile } = require('node:fs/promises') as typeof import('node:fs/promises');
  const done: string[] = [];
  try {
    if (written.deletions && deletions) {
      const empty = join(dir, 'no-deletions.json');
      await writeFile(empty, '[]');
      await convertJsonFile(empty, join(dir, 'no-deletions.parquet'), { codec: context.codec, seed: deletions.columns });
      await putFile(deps.s3, context.bronzeBucket, deletions.key, join(dir, 'no-deletions.parquet'), { contentType: 'application/vnd.apache.parquet', metadata: { rows: '0' } });
      done.push('this run\'s deletions emptied');
    }
    if (written.table && previousPath) {
      await putFile(deps.s3, context.bronzeBucket, key, previousPath, { contentType: 'application/vnd.apache.parquet' });
      done.push('the previous table restored');
    } else if (written.table) {
      done.push('the new table stays, but without a state the next run rebuilds it in full');
    }
    return done.length > 0 ? done.join('; ') : 'nothing had been replaced';
  } catch (error) {
    deps.log.error('rollback failed', { tableKey: key, error: (error as Error).message });
    return `rollback failed: ${(error as Error).message}; ${done.join('; ')}`;
  }
}
