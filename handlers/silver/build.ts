import type { HandlerDeps } from '../aws/ports';
import { getFile, isMissing, metadataText, putFile } from '../aws/s3';
import type { Codec } from '../parquet/codecs';
import { convertJsonFile } from '../parquet/convert';
import type { ColumnSpec } from '../parquet/infer';
import { openJsonArrayFile } from '../wordpress/json-array-file';
import type { CatalogAction, GlueCalls } from '../lake/catalog';
import { registerTable, tableInput } from '../lake/catalog';
import { tableKey, tableName } from '../lake/layout';
import type { StoredTable } from '../lake/table';
import { openTable } from '../lake/table';
import { inTempDir } from '../lake/temp-dir';
import type { Lookups, Row, SilverDerivations } from './derive';
import { silverDerivations } from './derive';
import type { TaxonomyRef } from './tables';
import type { Parents } from './trees';
import { authorColumns, builtInTaxonomies, commentColumns, mediaColumns, pageColumns, postColumns, postTermColumns, termColumns } from './tables';

/**
 * Rebuilds every silver table from the current bronze tables. Bronze tables are downloaded to
 * /tmp one at a time and read one row group at a time; silver rows stream to a JSON file that the
 * bronze converter turns into Parquet with the table's fixed columns, so memory holds a row group
 * and the lookups (one entry per author, term, media item, page and comment), not the site.
 * Each silver table is replaced whole, then registered in Glue; a failure leaves the tables not
 * yet replaced as they were.
 */

export interface SilverContext {
  bronzeBucket: string;
  silverBucket: string;
  /** Top-level folder in both buckets. */
  dataSource: string;
  /** @default 'zstd' */
  codec?: Codec;
  /** @default 10000 */
  rowGroupSize?: number;
  /**
   * Endpoints beyond WordPress' seven collections (custom post types, custom taxonomies); each is
   * classified by its columns: a `taxonomy` column makes it a taxonomy, `type` and `title` a post type.
   * @default none
   */
  extraEndpoints?: readonly string[];
  /** Glue database and client to register the tables in. @default none (the local run) */
  catalog?: { glue: GlueCalls; database: string };
  runId: string;
}

export interface SilverTableReport {
  table: string;
  /** The bronze tables it was built from. */
  from: string[];
  rows: number;
  bytes: number;
  key: string;
  catalog?: CatalogAction;
}

export interface SilverReport {
  tables: SilverTableReport[];
  /** Tables not built, each with why (its bronze table does not exist). */
  skipped: Array<{ table: string; reason: string }>;
}

const POST_TYPE_COLUMNS = ['type', 'title__rendered'];

/** The fields of a WordPress item each derivation reads (derive.ts), by the item's top-level keys. */
const CONTENT_FIELDS = ['id', 'slug', 'status', 'link', 'title', 'excerpt', 'content', 'date_gmt', 'modified_gmt', 'author', 'featured_media'];
const FIELDS = {
  post: [...CONTENT_FIELDS, 'sticky', 'format'],
  page: [...CONTENT_FIELDS, 'parent', 'menu_order'],
  comment: ['id', 'post', 'parent', 'author_name', 'content', 'date_gmt'],
  media: ['id', 'post', 'mime_type', 'media_details', 'source_url', 'alt_text', 'title'],
};

/**
 * The stored columns holding those fields (`content__rendered`, or `media_details` kept whole as
 * JSON text): a bronze row carries `_links`, `guid`, `meta` and more that silver never reads, and
 * columns not asked for are not decoded at all (lake/table.ts).
 */
function columnsOf(table: StoredTable, fields: readonly string[]): string[] {
  return table.columns.filter((c) => fields.includes(c.path[0])).map((c) => c.name);
}

/** Builds the silver tables; throws on the first table that cannot be built, read or written. */
export async function buildSilver(deps: HandlerDeps, context: SilverContext): Promise<SilverReport> {
  const { join } = require('node:path') as typeof import('node:path');
  const { rm } = require('node:fs/promises') as typeof import('node:fs/promises');
  const report: SilverReport = { tables: [], skipped: [] };
  const lookups: Lookups = { authors: new Map(), terms: new Map(), mediaUrls: new Map(), commentCounts: new Map() };
  const derive = silverDerivations(lookups);

  return inTempDir('silver-', async (dir) => {
    /** The bronze table of an endpoint in /tmp, or undefined (with a skipped line) when it does not exist. */
    const bronze = async (endpoint: string, silver: string): Promise<{ table: StoredTable; path: string } | undefined> => {
      const path = join(dir, `bronze-${endpoint}.parquet`);
      try {
        await getFile(deps.s3, context.bronzeBucket, tableKey(context.dataSource, endpoint), path);
      } catch (error) {
        if (!isMissing(error)) throw new Error(`bronze table ${endpoint} could not be read: ${(error as Error).message}`, { cause: error });
        await rm(path, { force: true });
        report.skipped.push({ table: silver, reason: `no bronze ${endpoint} table` });
        return undefined;
      }
      return { table: await openTable(path), path };
    };
    const writers: SilverWriter[] = [];
    const writer = (table: string, from: string[], columns: ColumnSpec[]) => {
      const made = silverWriter(deps, context, dir, { table, from, columns }, report);
      writers.push(made);
      return made;
    };
    try {
      const taxonomies = await loadTerms(context, bronze, derive, lookups);
      for (const endpoint of taxonomies.ignored) report.skipped.push({ table: tableName(endpoint), reason: `bronze ${endpoint} is neither a post type (type, title) nor a taxonomy (taxonomy)` });
      const users = await loadAuthors(bronze, derive, lookups);
      await buildMedia(bronze, writer, derive, lookups);
      await buildComments(bronze, writer, derive, lookups);
      await buildPages(bronze, writer, derive);
      const counts = await buildPosts(bronze, writer, derive, taxonomies);
      if (taxonomies.found.length > 0) await buildTerms(writer, derive, lookups, taxonomies, counts.termPosts);
      if (users) await buildAuthors(users, writer, derive, counts.authorPosts);
      return report;
    } catch (error) {
      // A table's writer lives across several steps, so a failure in any of them closes every one
      // still open (a finished one is already closed): a warm container keeps no file handle.
      for (const open of writers) open.abort();
      throw error;
    }
  });
}

type Bronze = (endpoint: string, silver: string) => Promise<{ table: StoredTable; path: string } | undefined>;
type Writer = (table: string, from: string[], columns: ColumnSpec[]) => SilverWriter;
type Taxonomies = Awaited<ReturnType<typeof loadTerms>>;

/** Reads every taxonomy's terms into the lookups, and sorts the extra endpoints into taxonomies and post types. */
async function loadTerms(context: SilverContext, bronze: Bronze, derive: SilverDerivations, lookups: Lookups) {
  const found: string[] = [];
  const custom: TaxonomyRef[] = [];
  const postTypes: string[] = [];
  /** Extra endpoints that are neither (a custom document such as site statistics). */
  const ignored: string[] = [];
  const parents: Parents = new Map();
  const slugs = new Map<number, string | null>();
  const builtIn = builtInTaxonomies().map((t) => t.endpoint);
  for (const endpoint of [...builtIn, ...(context.extraEndpoints ?? [])]) {
    const source = await bronze(endpoint, builtIn.includes(endpoint) ? `terms (${endpoint})` : tableName(endpoint));
    if (!source) continue;
    const names = source.table.columns.map((c) => c.name);
    if (!names.includes('taxonomy')) {
      if (POST_TYPE_COLUMNS.every((c) => names.includes(c))) postTypes.push(endpoint);
      else ignored.push(endpoint);
      continue;
    }
    found.push(endpoint);
    let taxonomy: string | undefined;
    for await (const row of source.table.records(['id', 'taxonomy', 'name', 'slug', 'parent'])) {
      const term = derive.term(row);
      if (term.id === null) continue;
      taxonomy ??= term.taxonomy;
      lookups.terms.set(term.id, term);
      parents.set(term.id, term.parentId);
      slugs.set(term.id, term.slug);
    }
    if (!builtIn.includes(endpoint) && taxonomy) custom.push({ endpoint, taxonomy, prefix: tableName(taxonomy) });
  }
  return { found, custom, postTypes, ignored, parents, slugs };
}

/** The authors' names into the lookups; the `users` table is kept for `authors`, which needs the post counts first. */
async function loadAuthors(bronze: Bronze, derive: SilverDerivations, lookups: Lookups): Promise<StoredTable | undefined> {
  const users = await bronze('users', 'authors');
  if (!users) return undefined;
  for await (const row of users.table.records(['id', 'name'])) {
    const id = derive.idOf(row.id);
    if (id !== null) lookups.authors.set(id, derive.htmlToText(row.name as string | null) ?? '');
  }
  return users.table;
}

async function buildMedia(bronze: Bronze, writer: Writer, derive: SilverDerivations, lookups: Lookups): Promise<void> {
  const source = await bronze('media', 'media');
  if (!source) return;
  const out = writer('media', ['media'], mediaColumns());
  for await (const record of source.table.records(columnsOf(source.table, FIELDS.media))) {
    const row = derive.media(record);
    if (typeof row.id === 'number' && typeof row.url === 'string') lookups.mediaUrls.set(row.id, row.url);
    await out.add(row);
  }
  await out.finish();
}

/** Two reads of the comments: parents and counts first (a reply may come before its parent), then the rows. */
async function buildComments(bronze: Bronze, writer: Writer, derive: SilverDerivations, lookups: Lookups): Promise<void> {
  const source = await bronze('comments', 'comments');
  if (!source) return;
  const parents: Parents = new Map();
  for await (const row of source.table.records(['id', 'parent', 'post'])) {
    const id = derive.idOf(row.id);
    if (id === null) continue;
    parents.set(id, derive.idOf(row.parent));
    const post = derive.idOf(row.post);
    if (post !== null) lookups.commentCounts.set(post, (lookups.commentCounts.get(post) ?? 0) + 1);
  }
  const out = writer('comments', ['comments'], commentColumns());
  for await (const record of source.table.records(columnsOf(source.table, FIELDS.comment))) await out.add(derive.comment(record, parents));
  await out.finish();
}

async function buildPages(bronze: Bronze, writer: Writer, derive: SilverDerivations): Promise<void> {
  const source = await bronze('pages', 'pages');
  if (!source) return;
  const parents: Parents = new Map();
  const slugs = new Map<number, string | null>();
  for await (const row of source.table.records(['id', 'parent', 'slug'])) {
    const node = derive.node(row);
    if (node.id === null) continue;
    parents.set(node.id, node.parent);
    slugs.set(node.id, node.slug);
  }
  const out = writer('pages', ['pages', 'users', 'media', 'comments'], pageColumns());
  for await (const record of source.table.records(columnsOf(source.table, FIELDS.page))) await out.add(derive.page(record, parents, slugs));
  await out.finish();
}

/** Posts and every custom post type, and the `post_terms` of them all; counts the posts of each author and term on the way. */
async function buildPosts(bronze: Bronze, writer: Writer, derive: SilverDerivations, taxonomies: Taxonomies) {
  const { rm } = require('node:fs/promises') as typeof import('node:fs/promises');
  const postTerms = writer('post_terms', [], postTermColumns());
  const authorPosts = new Map<number, number>();
  const termPosts = new Map<number, number>();
  for (const endpoint of ['posts', ...taxonomies.postTypes]) {
    const source = await bronze(endpoint, tableName(endpoint));
    if (!source) continue;
    postTerms.from.push(endpoint);
    const present = new Set(source.table.columns.map((c) => c.path[0]));
    const carried = [...builtInTaxonomies(), ...taxonomies.custom.filter((t) => present.has(t.endpoint))];
    const out = writer(tableName(endpoint), [endpoint, 'users', 'media', 'comments', ...carried.map((t) => t.endpoint)], postColumns(carried));
    for await (const record of source.table.records(columnsOf(source.table, [...FIELDS.post, ...carried.map((t) => t.endpoint)]))) {
      const { row, assignments } = derive.post(record, carried);
      await out.add(row);
      if (endpoint === 'posts' && typeof row.author_id === 'number') authorPosts.set(row.author_id, (authorPosts.get(row.author_id) ?? 0) + 1);
      for (const assignment of assignments) {
        termPosts.set(assignment.term_id, (termPosts.get(assignment.term_id) ?? 0) + 1);
        await postTerms.add({ post_id: row.id, ...assignment });
      }
    }
    await out.finish();
    await rm(source.path, { force: true });
  }
  if (postTerms.from.length > 0) await postTerms.finish();
  else postTerms.abort();
  return { authorPosts, termPosts };
}

async function buildTerms(writer: Writer, derive: SilverDerivations, lookups: Lookups, taxonomies: Taxonomies, termPosts: Map<number, number>): Promise<void> {
  const terms = writer('terms', taxonomies.found, termColumns());
  for (const [id, term] of lookups.terms) await terms.add(derive.termRow(id, term, taxonomies.parents, taxonomies.slugs, termPosts.get(id) ?? 0));
  await terms.finish();
}

async function buildAuthors(users: StoredTable, writer: Writer, derive: SilverDerivations, authorPosts: Map<number, number>): Promise<void> {
  const authors = writer('authors', ['users', 'posts'], authorColumns());
  for await (const row of users.records(['id', 'name', 'slug'])) await authors.add(derive.author(row, authorPosts.get(derive.idOf(row.id) ?? 0) ?? 0));
  await authors.finish();
}

interface SilverWriter {
  /** Bronze tables the silver table is built from (reported); may grow until `finish`. */
  from: string[];
  add(row: Row): Promise<void>;
  /** Converts, uploads and catalogues the table, and adds it to the report. */
  finish(): Promise<void>;
  abort(): void;
}

/** Rows of one silver table to a JSON file, then Parquet with its fixed columns, then S3 and Glue. */
function silverWriter(deps: HandlerDeps, context: SilverContext, dir: string, spec: { table: string; from: string[]; columns: ColumnSpec[] }, report: SilverReport): SilverWriter {
  const { join } = require('node:path') as typeof import('node:path');
  const { rm } = require('node:fs/promises') as typeof import('node:fs/promises');
  const jsonPath = join(dir, `silver-${spec.table}.json`);
  const file = openJsonArrayFile(jsonPath);
  let batch: string[] = [];
  return {
    from: spec.from,
    async add(row) {
      batch.push(JSON.stringify(row));
      if (batch.length >= 500) {
        await file.appendJson(batch);
        batch = [];
      }
    },
    async finish() {
      await file.appendJson(batch);
      await file.close();
      const parquetPath = join(dir, `silver-${spec.table}.parquet`);
      const codec = context.codec ?? 'zstd';
      const converted = await convertJsonFile(jsonPath, parquetPath, { codec, rowGroupSize: context.rowGroupSize, seed: spec.columns });
      await rm(jsonPath, { force: true });
      const key = tableKey(context.dataSource, spec.table);
      await putFile(deps.s3, context.silverBucket, key, parquetPath, {
        contentType: 'application/vnd.apache.parquet',
        metadata: { rows: String(converted.rows), columns: String(converted.columns), codec, 'run-id': metadataText(context.runId) },
      });
      await rm(parquetPath, { force: true });
      const entry: SilverTableReport = { table: spec.table, from: spec.from, rows: converted.rows, bytes: converted.bytes, key };
      if (context.catalog) {
        const location = `s3://${context.silverBucket}/${context.dataSource}/${spec.table}/`;
        entry.catalog = await registerTable(context.catalog.glue, context.catalog.database, tableInput(spec.table, location, converted.schema, { rows: converted.rows, runId: context.runId, codec }));
      }
      report.tables.push(entry);
      deps.log.info(`${spec.table}: ${converted.rows} rows`, { table: spec.table, rows: converted.rows, bytes: converted.bytes, from: spec.from });
    },
    abort() {
      file.abort();
    },
  };
}
