/**
 * Example queries, deployed as Athena named queries of the stack's workgroup and run by the tests
 * against the local lakehouse with DuckDB: one SQL text for both engines (Trino and DuckDB agree
 * on CROSS JOIN UNNEST, date_trunc and quoted identifiers), over the tables as the catalog names
 * them. `date` is quoted because it is a reserved word in Athena. Queries over silver name its
 * tables unqualified: their database is the silver one (locally, the schema `silver`), where
 * titles are plain text, times UTC and names joined, so they need no unnesting or decoding.
 */
export interface NamedQuery {
  /** Logical and display name. */
  name: string;
  description: string;
  /** The layer whose database the query runs in. */
  layer: 'bronze' | 'silver';
  sql: string;
}

export const NAMED_QUERIES: readonly NamedQuery[] = [
  {
    name: 'latest-posts',
    description: 'The 20 most recently published posts, with plain-text titles.',
    layer: 'silver',
    sql: 'SELECT id, published_at, title, link FROM posts ORDER BY published_at DESC, id DESC LIMIT 20',
  },
  {
    name: 'posts-per-category-per-month',
    description: 'Published posts per category and month, in UTC (a post counts once in each of its categories).',
    layer: 'silver',
    sql: [
      `SELECT t.name AS category, date_trunc('month', p.published_at) AS month, count(*) AS posts`,
      "FROM post_terms pt JOIN terms t ON t.term_id = pt.term_id JOIN posts p ON p.id = pt.post_id WHERE t.taxonomy = 'category'",
      'GROUP BY 1, 2 ORDER BY 2 DESC, 3 DESC, 1',
    ].join(' '),
  },
  {
    name: 'comments-per-post',
    description: 'The 20 posts with the most public comments.',
    layer: 'silver',
    sql: 'SELECT id, title, comment_count AS comments FROM posts ORDER BY 3 DESC, 1 LIMIT 20',
  },
  {
    name: 'posts-per-author-per-month',
    description: 'Posts per author and month (UTC), with the comments those posts have.',
    layer: 'silver',
    sql: `SELECT author_name AS author, date_trunc('month', published_at) AS month, count(*) AS posts, sum(comment_count) AS comments FROM posts GROUP BY 1, 2 ORDER BY 2 DESC, 3 DESC, 1`,
  },
  {
    name: 'posts-changed-in-last-run',
    description: 'Posts whose current version the most recent run delivered (lineage columns).',
    layer: 'bronze',
    sql: 'SELECT id, title__rendered AS title, _run_id, _ingested_at FROM posts WHERE _ingested_at = (SELECT max(_ingested_at) FROM posts) ORDER BY id',
  },
];
