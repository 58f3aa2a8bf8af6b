import type { BronzeObject, RawObject } from '../contracts';
import type { HandlerDeps } from '../aws/ports';
import type { Codec } from '../parquet/codecs';
import type { ColumnSpec } from '../parquet/infer';
import { tableKey } from './layout';
import type { LandInputs } from './land-read';
import { readInputs } from './land-read';
import type { Merged } from './land-merge';
import { mergeIntoFile } from './land-merge';
import type { DeletionsFile, TableFile } from './land-write';
import { deletionsFile, nextState, tableFile, writeLanding } from './land-write';
import { inTempDir } from './temp-dir';

/**
 * Landing one raw object in its bronze table, in the order `landEndpoint` runs the steps:
 * land-read.ts downloads the raw parts, the id listing, the state and the current table;
 * land-merge.ts merges them into the table's rows; land-write.ts writes the files and puts them
 * in place, the state last.
 */

export interface LandContext {
  rawBucket: string;
  bronzeBucket: string;
  dataSource: string;
  codec?: Codec;
  rowGroupSize?: number;
  maxDepth?: number;
  /** @default no guard */
  deletionGuard?: DeletionGuard;
}

/** The most a run may delete of a table without being told to (see `deletionGuardError`). */
export interface DeletionGuard {
  maxPercent: number;
  maxRows: number;
}

/**
 * The error of a run that would delete more than the guard allows, or undefined. A plugin that
 * hides a collection from anonymous readers answers a valid `200 []`, and a page cache or a
 * maintenance mode a valid-looking subset: the merge would then empty the table a dashboard reads.
 * Both bounds must be passed, so a small table can lose a few rows and a big one a few percent.
 */
export function deletionGuardError(endpoint: string, deleted: number, rows: number, guard: DeletionGuard | undefined): string | undefined {
  if (!guard || rows === 0) return undefined;
  const percent = (deleted / rows) * 100;
  if (deleted <= guard.maxRows || percent <= guard.maxPercent) return undefined;
  return `${endpoint}: this run would delete ${deleted} of ${rows} rows (${percent.toFixed(1)}%), more than maxDeletePercent ${guard.maxPercent}% and maxDeleteRows ${guard.maxRows}; the table, its deletions and its state were kept. If the site really lost them, accept the deletions for this endpoint in the next run: npm start -- --accept-deletions ${endpoint} locally, or start an execution with the input {"acceptDeletions": ["${endpoint}"]} on AWS. If not, look for what hides them (a plugin restricting anonymous REST reads, a cache, a maintenance mode)`;
}

const NAME = /^[a-z0-9][a-z0-9_-]*$/;

/** What landed: the summary the state machine passes on, and the columns the catalog registers. */
export interface Landed {
  object: BronzeObject;
  columns: ColumnSpec[];
  /** Columns of this run's deletions file, when it wrote one. */
  deletionColumns?: ColumnSpec[];
}

/** What every step of one endpoint's landing works with. */
export interface Landing {
  deps: HandlerDeps;
  context: LandContext;
  object: RawObject;
  endpoint: string;
  mode: 'full' | 'incremental';
  runId: string;
  /** The table's key in the bronze bucket. */
  key: string;
  /** This landing's folder in /tmp, removed after it. */
  dir: string;
}

/**
 * Merges one raw object of this run into its bronze table, then records the deletions and,
 * last, the state: the mark advances only once the table has landed, and a failure at any step
 * leaves the previous table and state in place (every object is replaced whole or not at all).
 */
export async function landEndpoint(deps: HandlerDeps, context: LandContext, object: RawObject): Promise<Landed> {
  const started = performance.now();
  const endpoint = object.endpoint;
  // The name becomes an S3 key and a file name: refuse anything that could escape its folder.
  if (!NAME.test(endpoint)) throw new Error(`endpoint name ${JSON.stringify(endpoint)} is not [a-z0-9][a-z0-9_-]*`);
  if (!object.key) throw new Error('the event names no raw key for this endpoint');
  const mode = object.mode ?? 'full';
  const runId = object.runId ?? 'manual';
  if (mode === 'incremental' && !object.idsKey) throw new Error(`the incremental raw object ${object.key} names no id listing (idsKey)`);
  const key = tableKey(context.dataSource, endpoint);
  // /tmp is the only writable place on Lambda (512 MB by default, more with ephemeral storage).
  return inTempDir(`bronze-${endpoint}-`, async (dir) => {
    const landing: Landing = { deps, context, object, endpoint, mode, runId, key, dir };
    const inputs = await readInputs(landing);
    const merged = await mergeIntoFile(landing, inputs);
    const refused = object.acceptDeletions ? undefined : deletionGuardError(endpoint, merged.counts.deleted.length, inputs.previous?.table.rows ?? 0, context.deletionGuard);
    if (refused) throw new Error(refused);
    const table = await tableFile(landing, merged.path, inputs.previous?.table.columns);
    const deletions = merged.counts.deleted.length > 0 ? await deletionsFile(landing, inputs.identity, merged.counts.deleted) : undefined;
    const state = nextState(landing, inputs, merged);
    await writeLanding(landing, { table, deletions, state, previousPath: inputs.previous?.path });
    return summary(landing, { inputs, merged, table, deletions, markAfter: state.mark, ms: Math.round(performance.now() - started) });
  });
}

/** The landed object as the state machine and the log see it. */
function summary(landing: Landing, run: { inputs: LandInputs; merged: Merged; table: TableFile; deletions?: DeletionsFile; markAfter?: string; ms: number }): Landed {
  const { deps, context, object, endpoint, mode, runId, key } = landing;
  const { inputs: { state, identity }, merged: { counts, items }, table: { report }, deletions, markAfter } = run;
  const result: BronzeObject = {
    endpoint,
    key,
    rows: report.rows,
    columns: report.columns,
    bytes: report.bytes,
    empty: report.empty,
    ms: run.ms,
    runId,
    mode,
    items,
    upserted: counts.upserted,
    inserted: counts.inserted,
    unchanged: counts.unchanged,
    deleted: counts.deleted.length,
    restated: counts.restated,
    keyedBy: identity.kind === 'content' ? 'content' : identity.fields,
    ...(deletions && { deletionsKey: deletions.key }),
    rawKey: object.key,
    rawSha256: object.sha256,
    ...(state?.mark && { markBefore: state.mark }),
    ...(markAfter && { markAfter }),
  };
  deps.log.info(report.empty ? `${endpoint}: nothing to write (no rows, no table yet)` : `${endpoint}: merged into bronze`, {
    endpoint, mode, items, upserted: counts.upserted, inserted: counts.inserted, unchanged: counts.unchanged, deleted: counts.deleted.length, restated: counts.restated,
    rows: result.rows, columns: result.columns, bytes: result.bytes, ms: result.ms, rowGroups: report.rowGroups, codec: report.codec,
    source: `s3://${context.rawBucket}/${object.key}`, target: report.empty ? undefined : `s3://${context.bronzeBucket}/${key}`,
    markBefore: state?.mark, markAfter,
  });
  return { object: result, columns: report.schema, ...(deletions && { deletionColumns: deletions.columns }) };
}
