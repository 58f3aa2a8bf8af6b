/**
 * Walks up the trees WordPress keeps as parent ids (pages, terms, comments). An ancestor missing
 * from the table (a private page, a held comment) or a cycle gives `null`: a path or depth from
 * the part of the tree silver can see would look right and be wrong.
 *
 * Made by a factory, once per build, for the reason text.ts gives.
 */

/** Parent links of a tree: id -> parent id, `null` for a root. */
export type Parents = Map<number, number | null>;

export interface TreeWalks {
  /** Slugs from the root down to `id` (`about/team`). */
  pathOf(id: number, parents: Parents, slugs: Map<number, string | null>): string | null;
  /** Depth in its tree, 1 for a root. */
  depthOf(id: number, parents: Parents): number | null;
}

export function treeWalks(): TreeWalks {
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

  function depthOf(id: number, parents: Parents): number | null {
    let depth = 0;
    let current: number | null = id;
    for (; current !== null; depth++) {
      if (!parents.has(current) || depth > parents.size) return null;
      current = parents.get(current)!;
    }
    return depth;
  }

  return { pathOf, depthOf };
}
