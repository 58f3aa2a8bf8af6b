import type { EndpointSpec } from '../contracts';
import { checkDeclared } from '../lake/declared';
import { tableName } from '../lake/layout';

// Names become S3 folders beside `_state`, `_runs`, `_ids` and `<name>_deletions`: no leading `_`.
const NAME = /^[a-z0-9][a-z0-9_-]*$/;

/**
 * Reads the endpoints parameter: a JSON array of {@link EndpointSpec}, or, as the original
 * pipeline stored it, a comma-separated list of URLs. Throws a message that says which entry is
 * wrong and why, since this text ends up in an alert someone has to act on.
 */
export function parseEndpoints(value: string): EndpointSpec[] {
  const text = value.trim();
  const specs = text.startsWith('[') ? fromJson(text) : fromList(text);
  if (specs.length === 0) throw new Error('the endpoints parameter lists no endpoint');
  const seen = new Set<string>();
  // Catalog tables take `_` for `-`, so two folders may map to one table (my-stats, my_stats).
  const tables = new Map<string, string>();
  for (const spec of specs) {
    if (seen.has(spec.name)) throw new Error(`endpoint name "${spec.name}" appears twice; names must be unique (they are S3 folders)`);
    seen.add(spec.name);
    const other = tables.get(tableName(spec.name));
    if (other !== undefined) throw new Error(`endpoints "${other}" and "${spec.name}" would both be the catalog table ${tableName(spec.name)} (- becomes _ there); rename one`);
    tables.set(tableName(spec.name), spec.name);
  }
  return specs;
}

function fromJson(text: string): EndpointSpec[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new Error(`the endpoints parameter is not valid JSON: ${(error as Error).message}`);
  }
  if (!Array.isArray(parsed)) throw new Error('the endpoints parameter must be a JSON array of {"name","url","paginate","primaryKey","columns"}');
  return parsed.map((entry, index) => {
    if (typeof entry !== 'object' || entry === null) throw new Error(`endpoints[${index}] must be an object {"name","url","paginate"}`);
    const { name, url, paginate, primaryKey, columns } = entry as Record<string, unknown>;
    if (typeof name !== 'string' || !NAME.test(name)) throw new Error(`endpoints[${index}].name must match [a-z0-9][a-z0-9_-]*, got ${JSON.stringify(name)}`);
    if (tableName(name).endsWith('_deletions')) throw new Error(`endpoints[${index}].name ${JSON.stringify(name)} ends in _deletions (or -deletions), which names the deletion tables; rename it`);
    if (typeof url !== 'string') throw new Error(`endpoints[${index}] (${name}).url must be a string`);
    if (paginate !== undefined && typeof paginate !== 'boolean') throw new Error(`endpoints[${index}] (${name}).paginate must be true or false`);
    return { name, url: checkUrl(url, name), paginate: paginate ?? isWordPressCollection(url), ...checkDeclared({ primaryKey, columns }, `endpoints[${index}] (${name})`) };
  });
}

function fromList(text: string): EndpointSpec[] {
  return text
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '')
    .map((url) => {
      // The URL labels its own errors, minus any user:password@ (that error text goes to alerts and logs).
      const checked = checkUrl(url, url.replace(/\/\/[^/?#]*@/, '//***@'));
      const segments = new URL(checked).pathname.split('/').filter((s) => s !== '');
      const routeSegments = (new URL(checked).searchParams.get('rest_route') ?? '').split('/').filter((s) => s !== '');
      const name = (routeSegments.at(-1) ?? segments.at(-1) ?? '').toLowerCase();
      if (!NAME.test(name)) throw new Error(`cannot derive an endpoint name from ${url}: its last path segment must match [a-z0-9][a-z0-9_-]*`);
      if (tableName(name).endsWith('_deletions')) throw new Error(`the endpoint name ${JSON.stringify(name)} derived from ${url} ends in _deletions, which names the deletion tables; list it as {"name": ..., "url": ...} with another name`);
      return { name, url: checked, paginate: isWordPressCollection(url) };
    });
}

function isWordPressCollection(url: string): boolean {
  return url.includes('/wp/v2/');
}

function checkUrl(url: string, label: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`endpoint ${label}: ${JSON.stringify(url)} is not an absolute URL`);
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new Error(`endpoint ${label}: only http(s) URLs are supported, got ${parsed.protocol}`);
  // Userinfo in the URL would be logged, stored in S3 metadata and put in alerts.
  if (parsed.username || parsed.password) throw new Error(`endpoint ${label}: the URL must not carry credentials; use the credentials parameter`);
  return parsed.href;
}
