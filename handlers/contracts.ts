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
  /**
   * The field(s) that identify a row across runs. wp/v2 collections use `id`; an endpoint with
   * neither this nor a unique `id` is identified by each row's whole content.
   */
  primaryKey?: string[];
  /** Declared types of top-level fields (`$wpdb` endpoints send every value as a JSON string). */
  columns?: Record<string, 'bigint' | 'double' | 'boolean' | 'string' | 'date' | 'timestamp'>;
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

/**
 * Event of the raw function: one endpoint (the state machine's Map) or all of them. With `plan`,
 * `part` or `join` it does one step of a fanned-out crawl instead (lake/fan-out.ts).
 */
export interface RawEvent {
  endpoint?: string;
  /** The execution's name: names this run's raw objects, lineage and manifest. */
  runId?: string;
  /**
   * The execution's input; `{ "fullRefresh": true }` forces a full crawl of every endpoint,
   * `{ "acceptDeletions": ["posts"] }` lets those endpoints delete more than the guard allows,
   * `{ "replay": true }` rebuilds bronze from raw history (from the last full fetch; `"all"`: from
   * the first) without a request to the site.
   */
  execution?: { fullRefresh?: unknown; acceptDeletions?: unknown; replay?: unknown };
  /** Decide whether the endpoint's crawl is split into parts, and list its ids if so. */
  plan?: boolean;
  /** Fetch one part of a planned crawl. */
  part?: PartTask;
  /** Record the parts of a planned crawl as one raw object. */
  join?: { plan: FanOutPlan; parts: PartResult[] };
}

/** One task of a fanned-out crawl: the ids at `offset` .. `offset + count - 1` of the plan's listing. */
export interface PartTask {
  index: number;
  offset: number;
  count: number;
  /** Raw key of the id listing the part reads its ids from. */
  idsKey: string;
  /** The run's fetch time: every part lands in the same `ingest_date` partition. */
  fetchedAt: string;
}

/** What the plan step decided for an endpoint whose full crawl is split. */
export interface FanOutPlan {
  endpoint: string;
  fetchedAt: string;
  reason?: string;
  markBefore?: string;
  idsKey: string;
  /** Ids in the listing. */
  listed: number;
  /** Requests of the listing. */
  idPages: number;
  pagesPerTask: number;
  /** The parts; the state machine adds the listing's key and the fetch time to each task. */
  parts: Array<Pick<PartTask, 'index' | 'offset' | 'count'>>;
  /** The collection's projection (RawObject.projection). */
  projection?: string[];
}

/** The plan step's answer: `fanOut` when the endpoint is split, otherwise the usual raw step runs. */
export interface RawPlan {
  endpoint: string;
  fanOut?: FanOutPlan;
  /** Why the crawl is not split (small, incremental, not paginated...). */
  single?: string;
  failed: EndpointFailure[];
}

/** One landed part: kept small, since every part's result travels in the state machine's payload. */
export interface PartResult {
  index: number;
  key: string;
  items: number;
  pages: number;
  bytes: number;
  sha256: string;
}

export interface EndpointFailure {
  endpoint: string;
  error: string;
}

export interface RawObject {
  endpoint: string;
  /** S3 key in the raw bucket, `<dataSource>/<name>/ingest_date=YYYY-MM-DD/<name>-<run id>.json`. */
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
  runId: string;
  /** `full`: the object is the whole endpoint; `incremental`: changed and unseen items only. */
  mode: 'full' | 'incremental';
  /** Why the crawl was full. */
  reason?: string;
  /** The high-water mark the run started from. */
  markBefore?: string;
  /** The `modified_after` sent (incremental). */
  modifiedAfter?: string;
  /** Raw key of this run's id listing (incremental): every public id, for deletion detection. */
  idsKey?: string;
  /** Ids in the listing. */
  listed?: number;
  /** Requests of the id listing. */
  idPages?: number;
  /** Listed ids neither in the table nor in the delta, fetched with `include=`. */
  unseen?: number;
  /**
   * A fanned-out crawl: raw key of the JSON array of its parts (`PartResult`s, in id order);
   * `key` is then the first part. Bronze reads every part.
   */
  partsKey?: string;
  /** Parts of a fanned-out crawl. */
  parts?: number;
  /** The endpoint's configured key and declared column types, for bronze. */
  primaryKey?: EndpointSpec['primaryKey'];
  columns?: EndpointSpec['columns'];
  /** Rows are keyed by `id` with no look at them: a paginated collection with no configured key (its crawl drops repeated ids). */
  idKeyed?: boolean;
  /**
   * Top-level fields of the collection whose changes WordPress makes without a new
   * `modified_gmt` (term lists, featured_media, sticky, meta...), from the route's schema: bronze
   * keeps a digest of them per id, and the next incremental run lists them to find such changes.
   */
  projection?: string[];
  /** Listed ids whose projected fields differed from the table's, fetched with `include=` (incremental). */
  restated?: number;
  /** The execution's input accepts this endpoint's deletions beyond the guard (`acceptDeletions`). */
  acceptDeletions?: boolean;
  /** The first object of a replay (lake/replay.ts): bronze lands it on an empty table and state. */
  rebuild?: boolean;
}

/** What the raw function returns, and what the bronze function accepts as its event. */
export interface RawSummary {
  succeeded: string[];
  failed: EndpointFailure[];
  objects: RawObject[];
}

/** Event of the bronze function: the raw summary of this run (or a manifest request). */
export type BronzeEvent = (Partial<Pick<RawSummary, 'objects'>> & Record<string, unknown>) | ManifestEvent;

export interface BronzeObject {
  endpoint: string;
  /** S3 key in the bronze bucket, `<dataSource>/<name>/<name>.parquet`. */
  key: string;
  /** Rows of the table after the merge. */
  rows: number;
  columns: number;
  bytes: number;
  /** True when there was nothing to write (no rows and no table yet); it is not a failure. */
  empty: boolean;
  ms: number;
  runId: string;
  mode: 'full' | 'incremental';
  /** Items in this run's raw object. */
  items: number;
  /** Rows whose version comes from this run (new or changed). */
  upserted: number;
  /** Of the upserted, ids the table did not have. */
  inserted: number;
  /** Items fetched again without a change (overlap, or a quiet endpoint's full crawl). */
  unchanged: number;
  /** Ids that left the table (recorded in `<name>_deletions`). */
  deleted: number;
  /** Of the upserted, rows that changed without a new `modified_gmt` (dynamic HTML, meta, terms...). */
  restated: number;
  /** How rows are matched across runs: the key's field(s), or `content` (no key configured and no unique id). */
  keyedBy: string[] | 'content';
  deletionsKey?: string;
  rawKey: string;
  rawSha256: string;
  markBefore?: string;
  markAfter?: string;
}

/** Event of the bronze function's last call in a run: write the run manifest from the Map's results. */
export interface ManifestEvent {
  manifest: { runId: string; startedAt?: string; input?: unknown; results: unknown[] };
}

export interface BronzeSummary {
  succeeded: string[];
  failed: EndpointFailure[];
  objects: BronzeObject[];
}
