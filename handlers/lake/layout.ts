/**
 * Where everything lives in the two buckets. Athena and DuckDB read every object under a table's
 * folder, so a table's folder holds only that table's Parquet; the id listings, the state and the
 * run manifests sit in `_`-prefixed folders beside the tables (endpoint names cannot start with
 * `_`, see wordpress/endpoints.ts).
 *
 * raw     <src>/<name>/ingest_date=YYYY-MM-DD/<name>-<run id>.json      what one run fetched (immutable)
 *         <src>/<name>/ingest_date=YYYY-MM-DD/<name>-<run id>.part-NNNNN.json  one part of a fanned-out crawl
 *         <src>/_ids/<name>/ingest_date=YYYY-MM-DD/<name>-<run id>.json the public ids listed that run
 *         <src>/_parts/<name>/ingest_date=YYYY-MM-DD/<name>-<run id>.json the parts of a fanned-out crawl
 * bronze  <src>/<name>/<name>.parquet                                   the current, merged table
 *         <src>/<name>_deletions/<name>_deletions-<run id>.parquet     ids that left the site, per run
 *         <src>/_state/<name>.json                                      high-water mark, ids, last full run
 *         <src>/_runs/<run id>.json                                     the run manifest
 */

/** `YYYY-MM-DD` (UTC) of an ISO instant: the Hive partition a run's raw objects land in. */
export function ingestDate(fetchedAt: string): string {
  return new Date(fetchedAt).toISOString().slice(0, 10);
}

/** Run ids become file names: anything outside `[A-Za-z0-9._-]` is replaced. */
export function safeRunId(runId: string): string {
  return runId.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 120) || 'run';
}

export function rawItemsKey(dataSource: string, name: string, fetchedAt: string, runId: string, attempt = 1): string {
  return `${dataSource}/${name}/ingest_date=${ingestDate(fetchedAt)}/${name}-${safeRunId(runId)}${attempt > 1 ? `-${attempt}` : ''}.json`;
}

export function rawIdsKey(dataSource: string, name: string, fetchedAt: string, runId: string, attempt = 1): string {
  return `${dataSource}/_ids/${name}/ingest_date=${ingestDate(fetchedAt)}/${name}-${safeRunId(runId)}${attempt > 1 ? `-${attempt}` : ''}.json`;
}

/** One part of a fanned-out crawl, beside the run's other raw objects. */
export function rawPartKey(dataSource: string, name: string, fetchedAt: string, runId: string, index: number, attempt = 1): string {
  return `${dataSource}/${name}/ingest_date=${ingestDate(fetchedAt)}/${name}-${safeRunId(runId)}.part-${String(index).padStart(5, '0')}${attempt > 1 ? `-${attempt}` : ''}.json`;
}

/** The list of a fanned-out crawl's parts, outside the endpoint's folder (it is not an item array). */
export function rawPartsKey(dataSource: string, name: string, fetchedAt: string, runId: string, attempt = 1): string {
  return `${dataSource}/_parts/${name}/ingest_date=${ingestDate(fetchedAt)}/${name}-${safeRunId(runId)}${attempt > 1 ? `-${attempt}` : ''}.json`;
}

export function tableKey(dataSource: string, name: string): string {
  return `${dataSource}/${name}/${name}.parquet`;
}

export function deletionsKey(dataSource: string, name: string, runId: string): string {
  return `${dataSource}/${name}_deletions/${name}_deletions-${safeRunId(runId)}.parquet`;
}

export function stateKey(dataSource: string, name: string): string {
  return `${dataSource}/_state/${name}.json`;
}

export function manifestKey(dataSource: string, runId: string): string {
  return `${dataSource}/_runs/${safeRunId(runId)}.json`;
}

/**
 * The Glue/Athena (and local DuckDB view) name of a table folder: Athena takes lowercase letters,
 * digits and underscores in unquoted names, so an endpoint's `-` becomes `_`.
 */
export function tableName(folder: string): string {
  return folder.toLowerCase().replace(/[^a-z0-9_]/g, '_');
}
