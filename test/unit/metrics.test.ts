import test from 'ava';
import { createLogger } from '../../handlers/log';
import { BRONZE_METRICS, METRICS_NAMESPACE, METRIC_DIMENSIONS, RAW_METRICS, embeddedMetrics } from '../../handlers/metrics';

/**
 * The checks CloudWatch Logs applies before it extracts metrics from a line (the embedded metric
 * format specification): a top-level `_aws` object with an epoch-millisecond Timestamp, and every
 * dimension and metric it declares present at the top level, dimensions as strings and metrics as
 * numbers. A line failing one of them is kept as a log but yields no metric at all.
 */
function emfProblems(line: Record<string, any>): string[] {
  const problems: string[] = [];
  const aws = line._aws;
  if (!aws || typeof aws !== 'object') return ['no _aws object'];
  if (!Number.isInteger(aws.Timestamp)) problems.push('Timestamp is not epoch milliseconds');
  for (const directive of aws.CloudWatchMetrics ?? []) {
    if (typeof directive.Namespace !== 'string' || directive.Namespace === '') problems.push('no Namespace');
    for (const set of directive.Dimensions) {
      if (set.length > 30) problems.push('more than 30 dimensions');
      for (const name of set) if (typeof line[name] !== 'string') problems.push(`dimension ${name} is not a string field of the line`);
    }
    if (directive.Metrics.length > 100) problems.push('more than 100 metrics');
    for (const metric of directive.Metrics) if (typeof line[metric.Name] !== 'number') problems.push(`metric ${metric.Name} is not a number field of the line`);
  }
  return problems;
}

function loggedLine(fields: Record<string, unknown>): Record<string, any> {
  const lines: string[] = [];
  createLogger({ function: 'data_wordpressapi_raw-dev', layer: 'raw' }, (line) => lines.push(line)).info('posts: raw figures', { endpoint: 'posts', ...fields });
  return JSON.parse(lines[0]);
}

test('a raw figures line is a valid EMF document: items, bytes and duration by function and endpoint', (t) => {
  const line = loggedLine(embeddedMetrics(RAW_METRICS, { items: 1955, bytes: 12_345_678, duration: 4321 }, 1_765_000_000_000));
  t.deepEqual(emfProblems(line), []);
  t.deepEqual(line._aws, {
    Timestamp: 1_765_000_000_000,
    CloudWatchMetrics: [{ Namespace: METRICS_NAMESPACE, Dimensions: [['function', 'endpoint']], Metrics: [{ Name: 'items', Unit: 'Count' }, { Name: 'bytes', Unit: 'Bytes' }, { Name: 'duration', Unit: 'Milliseconds' }] }],
  });
  t.like(line, { function: 'data_wordpressapi_raw-dev', endpoint: 'posts', items: 1955, bytes: 12_345_678, duration: 4321, message: 'posts: raw figures' });
});

test('a bronze figures line declares upserted, deleted, rows, bytes and duration', (t) => {
  const line = loggedLine(embeddedMetrics(BRONZE_METRICS, { upserted: 12, deleted: 3, rows: 1952, bytes: 2_000_000, duration: 900 }));
  t.deepEqual(emfProblems(line), []);
  t.deepEqual(line._aws.CloudWatchMetrics[0].Metrics.map((m: { Name: string }) => m.Name), ['upserted', 'deleted', 'rows', 'bytes', 'duration']);
  t.true(Math.abs(line._aws.Timestamp - Date.now()) < 60_000, 'the timestamp defaults to now');
});

test('a figure that is not a finite number is left out rather than invalidating the whole line', (t) => {
  const line = loggedLine(embeddedMetrics(BRONZE_METRICS, { upserted: 5, deleted: undefined, rows: Number.NaN, bytes: 10, duration: 1 }));
  t.deepEqual(emfProblems(line), []);
  t.deepEqual(line._aws.CloudWatchMetrics[0].Metrics.map((m: { Name: string }) => m.Name), ['upserted', 'bytes', 'duration']);
  t.false('rows' in line && typeof line.rows === 'number');
});

test('the dimensions are fields every handler log line already carries', (t) => {
  t.deepEqual([...METRIC_DIMENSIONS], ['function', 'endpoint']);
  const line = loggedLine({});
  t.is(typeof line.function, 'string');
  t.is(typeof line.endpoint, 'string');
});
