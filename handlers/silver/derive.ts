import type { TaxonomyRef } from './tables';
import type { TextTools } from './text';
import { textTools } from './text';
import type { Parents, TreeWalks } from './trees';
import { treeWalks } from './trees';
import type { BronzeValues } from './values';
import { bronzeValues } from './values';

/**
 * Bronze rows (WordPress items as the bronze table gives them back, see lake/table.ts) to silver
 * rows, one derivation per silver table; values are typed as values.ts says, paths and depths
 * worked out as trees.ts says. Pure: what a row needs of other tables (author names, term names,
 * media URLs, comment counts, parents) comes in as lookups the builder filled first.
 *
 * Each derivation is made by a factory, once per build, for the reason text.ts gives;
 * `silverDerivations` makes them all.
 */

export interface TermInfo {
  taxonomy: string;
  name: string;
  slug: string;
  parentId: number | null;
}

export interface Lookups {
  /** User id -> display name (plain text). */
  authors: Map<number, string>;
  /** Term id -> term: WordPress term ids are unique across taxonomies (shared terms were split in 4.2). */
  terms: Map<number, TermInfo>;
  /** Media id -> source URL. */
  mediaUrls: Map<number, string>;
  /** Post id -> comments of it in bronze. */
  commentCounts: Map<number, number>;
}

export type Row = Record<string, unknown>;

/** A derived post row and the term assignments it carries, for `post_terms`. */
export interface DerivedPost {
  row: Row;
  assignments: Array<{ term_id: number; taxonomy: string }>;
}

export type { Parents };

export function silverDerivations(lookups: Lookups) {
  const { htmlToText, wordCount } = textTools();
  const values = bronzeValues();
  const tools: Tools = { ...values, ...treeWalks(), wordCount, text: (value) => (typeof value === 'string' ? htmlToText(value) : null) };
  const content = contentDerivation(tools, lookups);
  return {
    htmlToText,
    wordCount,
    idOf: values.idOf,
    post: postDerivation(tools, lookups, content),
    ...pageDerivations(tools, content),
    comment: commentDerivation(tools),
    ...termDerivations(tools),
    author: authorDerivation(tools),
    media: mediaDerivation(tools),
  };
}

export type SilverDerivations = ReturnType<typeof silverDerivations>;

/** The closures of values.ts, trees.ts and text.ts that the derivations read bronze values with. */
interface Tools extends BronzeValues, TreeWalks {
  /** Rendered HTML as plain text; `null` for anything that is not a string. */
  text(value: unknown): string | null;
  wordCount: TextTools['wordCount'];
}

type Content = (row: Row) => { head: Row; tail: Row };

/** What posts, pages and custom post types share: the leading columns, and the trailing ones that are not post-only. */
function contentDerivation(tools: Tools, lookups: Lookups): Content {
  const { at, idOf, slugOf, utc, text, wordCount } = tools;
  return (row) => {
    const contentText = text(at(row, 'content', 'rendered'));
    const authorId = idOf(row.author);
    const featured = idOf(row.featured_media);
    const id = idOf(row.id);
    const head = {
      id,
      slug: slugOf(row.slug),
      status: row.status ?? null,
      link: row.link ?? null,
      title: text(at(row, 'title', 'rendered')),
      excerpt: text(at(row, 'excerpt', 'rendered')),
      content_html: at(row, 'content', 'rendered') ?? null,
      content_text: contentText,
      word_count: wordCount(contentText),
      published_at: utc(row.date_gmt),
      modified_at: utc(row.modified_gmt),
      author_id: authorId,
      author_name: authorId === null ? null : (lookups.authors.get(authorId) ?? null),
    };
    const tail = {
      featured_media_id: featured,
      featured_image_url: featured === null ? null : (lookups.mediaUrls.get(featured) ?? null),
      comment_count: id === null ? 0 : (lookups.commentCounts.get(id) ?? 0),
    };
    return { head, tail };
  };
}

/** A post or custom post type item, with an ids and a names column per taxonomy it carries. */
function postDerivation(tools: Tools, lookups: Lookups, content: Content) {
  const { at, idsOf, bool } = tools;
  return (row: Row, taxonomies: readonly TaxonomyRef[]): DerivedPost => {
    const { head, tail } = content(row);
    const derived: Row = { ...head };
    const assignments: DerivedPost['assignments'] = [];
    for (const taxonomy of taxonomies) {
      const ids = idsOf(row[taxonomy.endpoint]);
      derived[`${taxonomy.prefix}_ids`] = ids;
      derived[`${taxonomy.prefix}_names`] = ids.map((id) => lookups.terms.get(id)?.name ?? null);
      for (const id of ids) assignments.push({ term_id: id, taxonomy: taxonomy.taxonomy });
    }
    return { row: { ...derived, ...tail, sticky: bool(row.sticky), format: row.format ?? null, is_protected: bool(at(row, 'content', 'protected')) }, assignments };
  };
}

function pageDerivations(tools: Tools, content: Content) {
  const { at, idOf, intOf, slugOf, bool, pathOf } = tools;
  return {
    /** A page's or term's parent link and slug, for `parents`/`slugs`. */
    node(row: Row): { id: number | null; parent: number | null; slug: string | null } {
      return { id: idOf(row.id), parent: idOf(row.parent), slug: slugOf(row.slug) };
    },

    /** A page, given every page's parent and slug (for the path). */
    page(row: Row, parents: Parents, slugs: Map<number, string | null>): Row {
      const { head, tail } = content(row);
      const id = idOf(row.id);
      return {
        ...head,
        ...tail,
        is_protected: bool(at(row, 'content', 'protected')),
        parent_id: idOf(row.parent),
        menu_order: intOf(row.menu_order),
        path: id === null ? null : pathOf(id, parents, slugs),
      };
    },
  };
}

/** A comment, given every comment's parent (for the depth). */
function commentDerivation(tools: Tools) {
  const { at, idOf, utc, text, depthOf } = tools;
  return (row: Row, parents: Parents): Row => {
    const id = idOf(row.id);
    return {
      id,
      post_id: idOf(row.post),
      parent_id: idOf(row.parent),
      author_name: text(row.author_name),
      content_text: text(at(row, 'content', 'rendered')),
      published_at: utc(row.date_gmt),
      depth: id === null ? null : depthOf(id, parents),
    };
  };
}

function termDerivations(tools: Tools) {
  const { idOf, slugOf, text, pathOf } = tools;
  return {
    /** A term of any taxonomy, as the lookups and the `terms` table need it. */
    term(row: Row): TermInfo & { id: number | null } {
      return { id: idOf(row.id), taxonomy: String(row.taxonomy ?? ''), name: text(row.name) ?? '', slug: slugOf(row.slug) ?? '', parentId: idOf(row.parent) };
    },

    /** The `terms` row of a looked-up term. */
    termRow(id: number, term: TermInfo, parents: Parents, slugs: Map<number, string | null>, postCount: number): Row {
      return { term_id: id, taxonomy: term.taxonomy, name: term.name, slug: term.slug, parent_id: term.parentId, path: pathOf(id, parents, slugs), post_count: postCount };
    },
  };
}

function authorDerivation(tools: Tools) {
  const { idOf, slugOf, text } = tools;
  return (row: Row, postCount: number): Row => ({ id: idOf(row.id), name: text(row.name), slug: slugOf(row.slug), post_count: postCount });
}

function mediaDerivation(tools: Tools) {
  const { at, idOf, intOf, text } = tools;
  return (row: Row): Row => ({
    id: idOf(row.id),
    post_id: idOf(row.post),
    mime_type: row.mime_type ?? null,
    width: intOf(at(row, 'media_details', 'width')),
    height: intOf(at(row, 'media_details', 'height')),
    url: row.source_url ?? null,
    alt_text: text(row.alt_text),
    title: text(at(row, 'title', 'rendered')),
  });
}
