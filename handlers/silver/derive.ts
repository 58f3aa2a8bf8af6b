import type { TaxonomyRef } from './tables';
import { textTools } from './text';

/**
 * Bronze rows (WordPress items as the bronze table gives them back, see lake/table.ts) to silver
 * rows. Pure: what a row needs of other tables (author names, term names, media URLs, comment
 * counts, parents) comes in as lookups the builder filled first. WordPress' `0` for "none"
 * (parent, featured_media, post) becomes `null`; `*_gmt` values, UTC without a zone in the API,
 * become instants; percent-encoded unicode slugs are decoded.
 *
 * Made by a factory, once per build, for the reason text.ts gives.
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

/** Parent links of a tree (pages, terms, comments): id -> parent id, `null` for a root. */
export type Parents = Map<number, number | null>;

export function silverDerivations(lookups: Lookups) {
  const { htmlToText, wordCount } = textTools();

  /** The value at `path`, reading through nested objects or the JSON text bronze keeps deep or mixed ones as. */
  function at(row: Row, ...path: string[]): unknown {
    let value: unknown = row;
    for (const key of path) {
      if (typeof value === 'string' && value.startsWith('{')) {
        try {
          value = JSON.parse(value);
        } catch {
          return undefined;
        }
      }
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
      value = (value as Row)[key];
    }
    return value;
  }

  /** A positive id, or null for WordPress' 0, a missing key or a non-number. */
  function idOf(value: unknown): number | null {
    const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
    return typeof n === 'number' && Number.isSafeInteger(n) && n > 0 ? n : null;
  }

  function intOf(value: unknown): number | null {
    const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
    return typeof n === 'number' && Number.isSafeInteger(n) ? n : null;
  }

  /** The ids of a list column (a list, or the JSON text `[]` of one that was always empty). */
  function idsOf(value: unknown): number[] {
    let items = value;
    if (typeof items === 'string') {
      try {
        items = JSON.parse(items);
      } catch {
        return [];
      }
    }
    return Array.isArray(items) ? items.map(idOf).filter((id): id is number => id !== null) : [];
  }

  /** `2024-03-01T09:30:00` (UTC by the API's `*_gmt` contract) as the instant `2024-03-01T09:30:00Z`. */
  function utc(value: unknown): string | null {
    if (typeof value !== 'string' || value === '') return null;
    return /(?:Z|[+-]\d\d:\d\d)$/.test(value) ? value : `${value}Z`;
  }

  function slugOf(value: unknown): string | null {
    if (typeof value !== 'string') return null;
    try {
      return decodeURIComponent(value);
    } catch {
      return value;
    }
  }

  const text = (value: unknown) => (typeof value === 'string' ? htmlToText(value) : null);
  const bool = (value: unknown) => (typeof value === 'boolean' ? value : null);

  /** Slugs from the root down to `id` (`about/team`); null when an ancestor is not in the table (private, or a cycle). */
  function pathOf(id: number, parents: Parents, slugs: Map<number, string | null>): string | null {
    const parts: string[] = [];
    let current: number | null = id;
    for (let hops = 0; current !== null; hops++) {
      if (!parents.has(current) || hops > parents.size) return null;
      parts.push(slugs.get(current) ?? '');
      current = parents.get(current)!;
    }
    return parts.reverse().join('/');
  }

  /** Depth in its tree, 1 for a root; null when an ancestor is not in the table. */
  function depthOf(id: number, parents: Parents): number | null {
    let depth = 0;
    let current: number | null = id;
    for (; current !== null; depth++) {
      if (!parents.has(current) || depth > parents.size) return null;
      current = parents.get(current)!;
    }
    return depth;
  }

  /** What posts, pages and custom post types share: the leading columns, and the trailing ones that are not post-only. */
  function content(row: Row): { head: Row; tail: Row } {
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
  }

  return {
    htmlToText,
    wordCount,
    idOf,

    post(row: Row, taxonomies: readonly TaxonomyRef[]): DerivedPost {
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

    /** A page's or term's parent link and slug, for `parents`/`slugs`. */
    node(row: Row): { id: number | null; parent: number | null; slug: string | null } {
      return { id: idOf(row.id), parent: idOf(row.parent), slug: slugOf(row.slug) };
    },

    /** A comment, given every comment's parent (for the depth). */
    comment(row: Row, parents: Parents): Row {
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
    },

    /** A term of any taxonomy, as the lookups and the `terms` table need it. */
    term(row: Row): TermInfo & { id: number | null } {
      return { id: idOf(row.id), taxonomy: String(row.taxonomy ?? ''), name: text(row.name) ?? '', slug: slugOf(row.slug) ?? '', parentId: idOf(row.parent) };
    },

    /** The `terms` row of a looked-up term. */
    termRow(id: number, term: TermInfo, parents: Parents, slugs: Map<number, string | null>, postCount: number): Row {
      return { term_id: id, taxonomy: term.taxonomy, name: term.name, slug: term.slug, parent_id: term.parentId, path: pathOf(id, parents, slugs), post_count: postCount };
    },

    author(row: Row, postCount: number): Row {
      return { id: idOf(row.id), name: text(row.name), slug: slugOf(row.slug), post_count: postCount };
    },

    media(row: Row): Row {
      return {
        id: idOf(row.id),
        post_id: idOf(row.post),
        mime_type: row.mime_type ?? null,
        width: intOf(at(row, 'media_details', 'width')),
        height: intOf(at(row, 'media_details', 'height')),
        url: row.source_url ?? null,
        alt_text: text(row.alt_text),
        title: text(at(row, 'title', 'rendered')),
      };
    },
  };
}

export type SilverDerivations = ReturnType<typeof silverDerivations>;
