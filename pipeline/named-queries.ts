/**
 * Example queries, deployed as Athena named queries of the stack's workgroup and run by the tests
 * against the local lakehouse with DuckDB: one SQL text for both engines (Trino and DuckDB agree
 * on CROSS JOIN UNNEST, date_trunc and quoted identifiers), over the tables as the catalog names
 * them. `date` is quoted because it is a reserved word in Athena.
 */
export interface NamedQuery {
  /** Logical and display name. */
  name: string;
  description: string;
  sql: string;
}

export const NAMED_QUERIES: readonly NamedQuery[] = [
  {
    name: 'latest-posts',
    description: 'The 20 most recently published posts.',
    sql: 'SELECT id, "date", title__rendered AS title, link FROM posts ORDER BY "date" DESC, id DESC LIMIT 20',
  },
  {
    name: 'posts-per-category-per-month',
    description: 'Published posts per category and month (a post counts once in each of its categories).',
    sql: [
      `SELECT c.name AS category, date_trunc('month', p."date") AS month, count(*) AS posts`,
      'FROM posts p CROSS JOIN UNNEST(p.categories) AS u(category_id)',
      'JOIN categories c ON c.id = u.category_id',
      'GROUP BY 1, 2 ORDER BY 2 DESC, 3 DESC, 1',
    ].join(' '),
  },
  {
    name: 'comments-per-post',
    description: 'The 20 posts with the most public comments.',
    sql: 'SELECT p.id, p.title__rendered AS title, count(c.id) AS comments FROM posts p LEFT JOIN comments c ON c.post = p.id GROUP BY 1, 2 ORDER BY 3 DESC, 1 LIMIT 20',
  },
  {
    name: 'posts-changed-in-last-run',
    description: 'Posts whose current version the most recent run delivered (lineage columns).',
    sql: 'SELECT id, title__rendered AS title, _run_id, _ingested_at FROM posts WHERE _ingested_at = (SELECT max(_ingested_at) FROM posts) ORDER BY id',
  },
];
