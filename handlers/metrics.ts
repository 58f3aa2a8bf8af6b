/**
 * Per-endpoint figures of a run as CloudWatch metrics, through the embedded metric format (EMF):
 * an `_aws` block in a JSON log line tells CloudWatch Logs to extract some of the line's fields as
 * metrics, so no PutMetricData call (and no permission for one) is needed.
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
 *
 * The line must reach the log stream as a top-level JSON object: the functions use Lambda's JSON
 * log format, under which `console.log` output is wrapped in a `message` field and its metrics
 * lost, which is why handlers/log.ts writes to stdout itself (as aws-embedded-metrics does since
 * 4.1.1 for the same reason). Shared with the dashboard (pipeline/monitoring.ts), which charts the
 * same names.
 */

/** Namespace of every metric the handlers emit. */
export const METRICS_NAMESPACE = 'wordpress-lakehouse';

/**
 * Dimensions of every metric: the function's name (which carries the stack) and the endpoint,
 * the names of fields every such log line already has.
 */
export const METRIC_DIMENSIONS = ['function', 'endpoint'] as const;

export type MetricUnit = 'Count' | 'Bytes' | 'Milliseconds';

/** What the raw function reports of each endpoint it extracted: items fetched, bytes of raw JSON, and time taken. */
export const RAW_METRICS = { items: 'Count', bytes: 'Bytes', duration: 'Milliseconds' } as const satisfies Record<string, MetricUnit>;

/** What the bronze function reports of each table it landed: rows written or changed, ids deleted, rows after, Parquet bytes, time taken. */
export const BRONZE_METRICS = { upserted: 'Count', deleted: 'Count', rows: 'Count', bytes: 'Bytes', duration: 'Milliseconds' } as const satisfies Record<string, MetricUnit>;

/**
 * The fields to add to a log line (which already carries `function` and `endpoint`) so that
 * CloudWatch extracts `values` as metrics with `units`. Values that are not finite numbers are
 * left out: EMF drops the whole line when a declared metric is not a number.
 */
export function embeddedMetrics<K extends string>(units: Readonly<Record<K, MetricUnit>>, values: Readonly<Record<K, number | undefined>>, now = Date.now()): Record<string, unknown> {
  const present = (Object.keys(units) as K[]).filter((name) => Number.isFinite(values[name]));
  return {
    _aws: {
      Timestamp: now,
      CloudWatchMetrics: [{ Namespace: METRICS_NAMESPACE, Dimensions: [[...METRIC_DIMENSIONS]], Metrics: present.map((name) => ({ Name: name, Unit: units[name] })) }],
    },
    ...Object.fromEntries(present.map((name) => [name, values[name]])),
  };
}
