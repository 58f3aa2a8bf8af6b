/**
 * The shapes that cross a boundary: SSM parameter values, Lambda events and the summaries the
 * state machine passes from the raw function to the bronze function. Types only, so this module
 * costs nothing when a callback is serialized.
 */

/** One source of data, as stored (JSON) in the endpoints parameter. */
export interface EndpointSpec {
  /** Folder and file name in the lake, `[a-z0-9_-]+` (e.g. `posts`). */
  name: string;
  /** Absolute http(s) URL of the collection or document. */
  url: string;
  /**
   * `true` for WordPress REST collections (`wp/v2/posts`...) that are paged with `page`/`per_page`;
   * `false` for custom endpoints that answer one JSON document or one unpaginated array.
   */
  paginate: boolean;
}

/**
 * Names of the SSM parameters a handler reads at run time. They are captured into the Lambda
 * archive as plain strings; the values stay in Parameter Store so endpoints can change without
 * a deploy.
 */
export interface ParameterNames {
  rawBucket: string;
  bronzeBucket: string;
  rawTopicArn: string;
  bronzeTopicArn: string;
  endpoints: string;
  /**
   * Optional SecureString holding a WordPress application password as JSON
   * `{"username": "...", "password": "..."}`. Absent means anonymous requests.
   */
  credentials?: string;
}

/** Event of the raw function: one endpoint (the state machine's Map) or all of them. */
export interface RawEvent {
  endpoint?: string;
}

export interface EndpointFailure {
  endpoint: string;
  error: string;
}

export interface RawObject {
  endpoint: string;
  /** S3 key in the raw bucket, `<dataSource>/<name>/<name>.json`. */
  key: string;
  items: number;
  bytes: number;
  pages: number;
  /** `X-WP-Total` of the first page, when the server sent one. */
  total?: number;
  sha256: string;
  sourceUrl: string;
  fetchedAt: string;
  ms: number;
}

/** What the raw function returns, and what the bronze function accepts as its event. */
export interface RawSummary {
  succeeded: string[];
  failed: EndpointFailure[];
  objects: RawObject[];
}

/** Event of the bronze function: the raw summary of this run, or nothing (convert every raw object). */
export type BronzeEvent = Partial<Pick<RawSummary, 'objects'>> & Record<string, unknown>;

export interface BronzeObject {
  endpoint: string;
  /** S3 key in the bronze bucket, `<dataSource>/<name>/<name>.parquet`. */
  key: string;
  rows: number;
  columns: number;
  bytes: number;
  /** True when the raw array held no items: nothing is written, and it is not a failure. */
  empty: boolean;
  ms: number;
}

export interface BronzeSummary {
  succeeded: string[];
  failed: EndpointFailure[];
  objects: BronzeObject[];
}
