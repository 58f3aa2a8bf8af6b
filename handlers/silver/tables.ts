import type { ColumnSpec, ListElementKind, ScalarKind } from '../parquet/infer';

/**
 * The silver tables' columns, fixed here rather than inferred, so that a table's schema does not
 * depend on its rows (a text column of dates stays a string, a list that is empty in every row
 * still has its element type) and docs/silver.md, the catalog and the tests share one list.
 */

const column = (name: string, kind: ScalarKind): ColumnSpec => ({ name, path: [name], kind });
const list = (name: string, element: ListElementKind): ColumnSpec => ({ name, path: [name], kind: 'list', element });

/** One taxonomy as the posts of a site carry it: a list of term ids under the taxonomy's REST base. */
export interface TaxonomyRef {
  /** The bronze table (endpoint) of its terms and the key of the id list on posts: `categories`, `genres`. */
  endpoint: string;
  /** The taxonomy's slug as the terms name it: `category`, `post_tag`, `genre`. */
  taxonomy: string;
  /** Prefix of the post table's two columns: `category` -> `category_ids`, `category_names`. */
  prefix: string;
}

/** Columns every post-type table begins with (posts, pages and custom post types). */
function contentColumns(): ColumnSpec[] {
  return [
    column('id', 'int64'),
    column('slug', 'string'),
    column('status', 'string'),
    column('link', 'string'),
    column('title', 'string'),
    column('excerpt', 'string'),
    column('content_html', 'string'),
    column('content_text', 'string'),
    column('word_count', 'int64'),
    column('published_at', 'timestamp_utc'),
    column('modified_at', 'timestamp_utc'),
    column('author_id', 'int64'),
    column('author_name', 'string'),
  ];
}

/** `posts` and each custom post type: the two built-in taxonomies' columns always, then one pair per other taxonomy the table carries. */
export function postColumns(taxonomies: readonly TaxonomyRef[]): ColumnSpec[] {
  return [
    ...contentColumns(),
    ...taxonomies.flatMap((t) => [list(`${t.prefix}_ids`, 'int64'), list(`${t.prefix}_names`, 'string')]),
    column('featured_media_id', 'int64'),
    column('featured_image_url', 'string'),
    column('comment_count', 'int64'),
    column('sticky', 'boolean'),
    column('format', 'string'),
    column('is_protected', 'boolean'),
  ];
}

export function pageColumns(): ColumnSpec[] {
  return [
    ...contentColumns(),
    column('featured_media_id', 'int64'),
    column('featured_image_url', 'string'),
    column('comment_count', 'int64'),
    column('is_protected', 'boolean'),
    column('parent_id', 'int64'),
    column('menu_order', 'int64'),
    column('path', 'string'),
  ];
}

export function commentColumns(): ColumnSpec[] {
  return [
    column('id', 'int64'),
    column('post_id', 'int64'),
    column('parent_id', 'int64'),
    column('author_name', 'string'),
    column('content_text', 'string'),
    column('published_at', 'timestamp_utc'),
    column('depth', 'int64'),
  ];
}

export function termColumns(): ColumnSpec[] {
  return [
    column('term_id', 'int64'),
    column('taxonomy', 'string'),
    column('name', 'string'),
    column('slug', 'string'),
    column('parent_id', 'int64'),
    column('path', 'string'),
    column('post_count', 'int64'),
  ];
}

export function postTermColumns(): ColumnSpec[] {
  return [column('post_id', 'int64'), column('term_id', 'int64'), column('taxonomy', 'string')];
}

export function authorColumns(): ColumnSpec[] {
  return [column('id', 'int64'), column('name', 'string'), column('slug', 'string'), column('post_count', 'int64')];
}

export function mediaColumns(): ColumnSpec[] {
  return [
    column('id', 'int64'),
    column('post_id', 'int64'),
    column('mime_type', 'string'),
    column('width', 'int64'),
    column('height', 'int64'),
    column('url', 'string'),
    column('alt_text', 'string'),
    column('title', 'string'),
  ];
}

/** The two taxonomies every post table has columns for, even when the site has no such terms table. */
export function builtInTaxonomies(): TaxonomyRef[] {
  return [
    { endpoint: 'categories', taxonomy: 'category', prefix: 'category' },
    { endpoint: 'tags', taxonomy: 'post_tag', prefix: 'tag' },
  ];
}
