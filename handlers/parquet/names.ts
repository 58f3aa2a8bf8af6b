/**
 * Column names that Athena and Glue accept without quoting: lowercase `[a-z0-9_]`, not starting
 * with a digit (https://docs.aws.amazon.com/athena/latest/ug/tables-databases-columns-names.html).
 * Nested keys are joined with `__` as dlt does, so `title.rendered` becomes `title__rendered`.
 */

/** Separator between the keys of a nested path, dlt's convention. */
export const PATH_SEPARATOR = '__';

/** One Athena-safe name for a path of JSON keys (not yet made unique). */
export function sanitizeColumnName(path: readonly string[]): string {
  const name = path.join(PATH_SEPARATOR).toLowerCase().replace(/[^a-z0-9_]/g, '_');
  if (name === '') return '_';
  return /^[0-9]/.test(name) ? `_${name}` : name;
}

/**
 * Makes names unique in order: the first keeps its name, later ones get `_2`, `_3`... Because the
 * columns come in first-seen order, the same input always gets the same names.
 */
export function uniqueNames(names: readonly string[]): string[] {
  const used = new Set<string>();
  return names.map((name) => {
    let candidate = name;
    for (let k = 2; used.has(candidate); k++) candidate = `${name}_${k}`;
    used.add(candidate);
    return candidate;
  });
}
