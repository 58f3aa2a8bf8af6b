import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A loopback WordPress REST API: generated collections with WordPress' paging headers and quirks,
 * the REST index and each collection's schema (OPTIONS), plus a fault hook per request to inject
 * what real sites and their proxies do. The tests and the bench run it with their own collections;
 * `npm start` serves the demo blog of ./blog.ts with it when no site is configured.
 */

/** How a collection ends and what it supports. */
export interface FixtureCollection {
  /** The public items, each with a numeric `id`. */
  items: Array<Record<string, unknown>>;
  /**
   * `posts`: past the last page answers 400 rest_post_invalid_page_number (posts, pages, media).
   * `terms`: answers 200 [] (comments, categories, tags, users).
   * @default 'posts'
   */
  kind?: 'posts' | 'terms';
  /**
   * Items counted in X-WP-Total and in the page arithmetic but never returned (comments on
   * private posts): page n holds what is left of slots (n-1)*per_page.. after removing them.
   * @default 0
   */
  hidden?: number;
  /**
   * Whether `orderby` is accepted; false answers 400 rest_invalid_param like a custom
   * collection without that parameter.
   * @default true
   */
  orderby?: boolean;
}

export interface FixtureRequest {
  method: string;
  /** Full URL as the server saw it. */
  url: URL;
  /** The route, from the path (`/wp-json/wp/v2/posts`) or `?rest_route=`: e.g. `/wp/v2/posts`. */
  route: string;
  headers: IncomingMessage['headers'];
  /** `performance.now()` when the request arrived. */
  receivedAt: number;
  /** `performance.now()` when the answer was sent or the connection closed; unset while pending. */
  answeredAt?: number;
}

/** What a fault hook may answer instead of (or before) the normal response. */
export interface FaultResponse {
  status?: number;
  headers?: Record<string, string>;
  /** A string or object (sent as JSON); omitted means an empty body. */
  body?: string | Buffer | unknown;
  /** Wait before answering (slow server). */
  delayMs?: number;
  /** Send the headers and this many bytes of the body, then reset the connection. */
  truncateAfter?: number;
  /** Reset the connection without answering. */
  reset?: boolean;
  /**
   * Never answer (the connection stays open until the fixture closes): a timeout no deadline can
   * ride out, unlike a delay that a slow machine's late timer might outlast.
   */
  hang?: boolean;
  /** Delay, then answer normally. */
  passThrough?: boolean;
  /** Hold the answer until this settles (then apply `delayMs`, if any): an ordering gate for tests. */
  until?: Promise<unknown>;
  /** With `passThrough`: send the status and headers at once, and the body once this settles. */
  bodyUntil?: Promise<unknown>;
}

/** Called for every request with its 1-based number; return nothing to answer normally. */
export type FaultHook = (request: FixtureRequest, n: number) => FaultResponse | undefined | void;

export interface WordPressFixtureOptions {
  /** Collections under `/wp/v2/<name>`. */
  collections?: Record<string, FixtureCollection>;
  /** Any other route answered as-is with 200 JSON (custom endpoints); `/` replaces the REST index. */
  documents?: Record<string, unknown>;
  /** Site name in the REST index (`GET /wp-json/`). @default 'WordPress fixture' */
  name?: string;
  fault?: FaultHook;
  /**
   * How long an idle keep-alive connection stays open, as Apache's `KeepAliveTimeout` (5 s by
   * default) does; the short default makes every test request open a connection of its own.
   * @default 1
   */
  keepAliveMs?: number;
  /**
   * Serialise each distinct collection answer once and replay it: a real site's JSON encoding runs
   * on its own machine, while this fixture shares the crawler's thread, so a benchmark of the
   * crawler should not pay it. Only for collections that do not change while the fixture runs.
   * @default false
   */
  reuseAnswers?: boolean;
}

export interface WordPressFixture {
  /** `http://127.0.0.1:<port>` */
  origin: string;
  /** `http://127.0.0.1:<port>/wp-json` */
  api: string;
  /** Every request received, in order. */
  requests: FixtureRequest[];
  /** Requests received and not yet answered (or closed) right now. */
  readonly inFlight: number;
  /** The most requests pending at once since the start or the last `resetCounts()`. */
  readonly maxInFlight: number;
  /** TCP connections accepted since the start or the last `resetCounts()`. */
  readonly connections: number;
  /** Empties `requests`, restarts `maxInFlight` from what is pending now and `connections` from 0. */
  resetCounts(): void;
  /** Replaces the fault hook (undefined removes it). */
  setFault(fault: FaultHook | undefined): void;
  close(): Promise<void>;
}

/** `count` posts-like items with ids from `firstId`, some non-ASCII text included. */
export function generateItems(count: number, firstId = 1): Array<Record<string, unknown>> {
  return Array.from({ length: count }, (_, i) => ({
    id: firstId + i,
    slug: `item-${firstId + i}`,
    title: { rendered: i % 7 === 0 ? `Caf\u00e9 &amp; \u{1F600} ${firstId + i}` : `Item ${firstId + i}` },
    meta: i % 2 === 0 ? {} : [],
  }));
}

export async function startWordPressFixture(options: WordPressFixtureOptions = {}): Promise<WordPressFixture> {
  const requests: FixtureRequest[] = [];
  let fault = options.fault;
  const answers = options.reuseAnswers ? new Map<string, Answer>() : undefined;
  let inFlight = 0;
  let maxInFlight = 0;
  let connections = 0;
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', `http://${req.headers.host}`);
    const route = url.searchParams.get('rest_route') ?? url.pathname.replace(/^\/wp-json/, '');
    const request: FixtureRequest = { method: req.method ?? 'GET', url, route, headers: req.headers, receivedAt: performance.now() };
    requests.push(request);
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    // 'close' follows both a finished answer and a reset or aborted connection, exactly once.
    res.once('close', () => {
      request.answeredAt = performance.now();
      inFlight--;
    });
    const override = fault?.(request, requests.length);
    const answer = () => {
      if (override && !override.passThrough) return sendFault(res, override);
      respond(request, res, options, answers, override?.bodyUntil);
    };
    const go = () => (override?.delayMs ? void setTimeout(answer, override.delayMs) : answer());
    if (override?.until) void override.until.then(go, go);
    else go();
  });
  server.on('connection', () => void connections++);
  server.keepAliveTimeout = options.keepAliveMs ?? 1;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const origin = `http://127.0.0.1:${port}`;
  return {
    origin,
    api: `${origin}/wp-json`,
    requests,
    get inFlight() {
      return inFlight;
    },
    get maxInFlight() {
      return maxInFlight;
    },
    get connections() {
      return connections;
    },
    resetCounts: () => {
      requests.length = 0;
      maxInFlight = inFlight;
      connections = 0;
    },
    setFault: (next) => {
      fault = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function sendFault(res: ServerResponse, fault: FaultResponse): void {
  if (fault.reset) {
    res.socket?.destroy();
    return;
  }
  if (fault.hang) return;
  const body = fault.body === undefined ? Buffer.alloc(0) : Buffer.isBuffer(fault.body) ? fault.body : Buffer.from(typeof fault.body === 'string' ? fault.body : JSON.stringify(fault.body));
  const headers = { 'content-type': 'application/json; charset=UTF-8', ...fault.headers };
  if (fault.truncateAfter !== undefined) {
    res.writeHead(fault.status ?? 200, { ...headers, 'content-length': String(body.length) });
    res.write(body.subarray(0, fault.truncateAfter), () => res.socket?.destroy());
    return;
  }
  res.writeHead(fault.status ?? 200, headers);
  res.end(body);
}

/** A collection answer as sent: status, headers and the serialised body. */
interface Answer {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

function send(res: ServerResponse, answer: Answer, bodyUntil?: Promise<unknown>): void {
  res.writeHead(answer.status, { 'content-type': 'application/json; charset=UTF-8', ...answer.headers });
  if (!bodyUntil) return void res.end(answer.body);
  res.flushHeaders();
  const end = () => void res.end(answer.body);
  void bodyUntil.then(end, end);
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  send(res, { status, headers, body: Buffer.from(JSON.stringify(body)) });
}

function wpError(res: ServerResponse, status: number, code: string, message: string, data: Record<string, unknown> = {}): void {
  json(res, status, { code, message, data: { status, ...data } });
}

function respond(request: FixtureRequest, res: ServerResponse, options: WordPressFixtureOptions, answers?: Map<string, Answer>, bodyUntil?: Promise<unknown>): void {
  const { url, route } = request;
  const reused = answers?.get(url.href);
  if (reused) return send(res, reused, bodyUntil);
  if (options.documents && route in options.documents) return json(res, 200, options.documents[route]);
  if (route === '/' || route === '') return json(res, 200, restIndex(url, options));
  const match = /^\/wp\/v2\/([a-z0-9_-]+)\/?$/.exec(route);
  const collection = match ? options.collections?.[match[1]] : undefined;
  if (!collection) return wpError(res, 404, 'rest_no_route', 'No route was found matching the URL and request method.');
  // WordPress takes the method from `_method` or X-HTTP-Method-Override too (WP_REST_Server::serve_request).
  const method = (url.searchParams.get('_method') ?? request.headers['x-http-method-override'] ?? request.method).toString().toUpperCase();
  if (method === 'OPTIONS') return json(res, 200, { namespace: 'wp/v2', methods: ['GET'], schema: collectionSchema(match![1], collection) });

  const q = url.searchParams;
  const perPage = q.has('per_page') ? Number(q.get('per_page')) : 10;
  if (!Number.isInteger(perPage) || perPage < 1 || perPage > 100) {
    return wpError(res, 400, 'rest_invalid_param', 'Invalid parameter(s): per_page', { params: { per_page: 'per_page must be between 1 (inclusive) and 100 (inclusive)' } });
  }
  const page = q.has('page') ? Number(q.get('page')) : 1;
  if (!Number.isInteger(page) || page < 1) {
    return wpError(res, 400, 'rest_invalid_param', 'Invalid parameter(s): page', { params: { page: 'page must be greater than or equal to 1' } });
  }
  const orderby = q.get('orderby');
  if (orderby !== null && (collection.orderby === false || !['id', 'date', 'include'].includes(orderby))) {
    return wpError(res, 400, 'rest_invalid_param', 'Invalid parameter(s): orderby', { params: { orderby: 'orderby is not one of date, id, include.' } });
  }
  // The default order (newest first) stands in for WordPress' date order.
  const ascending = orderby === 'id' && q.get('order') === 'asc';
  const slots = filtered(slotsOf(collection), q);
  const ordered = ascending ? slots : [...slots].reverse();
  const total = slots.length;
  const totalPages = Math.ceil(total / perPage);
  if (page > totalPages && (collection.kind ?? 'posts') === 'posts' && total > 0) {
    return wpError(res, 400, 'rest_post_invalid_page_number', 'The page number requested is larger than the number of pages available.');
  }
  const fields = q.get('_fields')?.split(',').filter(Boolean);
  const items = ordered
    .slice((page - 1) * perPage, page * perPage)
    .filter((slot) => slot !== null)
    .map((item) => (fields ? Object.fromEntries(fields.filter((f) => f in item!).map((f) => [f, item![f]])) : item));
  const link = (p: number) => {
    const target = new URL(url);
    target.searchParams.set('page', String(p));
    return `<${target.href}>`;
  };
  const links: string[] = [];
  if (page > 1 && page <= totalPages + 1) links.push(`${link(page - 1)}; rel="prev"`);
  if (page < totalPages) links.push(`${link(page + 1)}; rel="next"`);
  const answer: Answer = {
    status: 200,
    headers: { 'x-wp-total': String(total), 'x-wp-totalpages': String(totalPages), ...(links.length > 0 && { link: links.join(', ') }) },
    body: Buffer.from(JSON.stringify(items)),
  };
  answers?.set(url.href, answer);
  send(res, answer, bodyUntil);
}

/**
 * WordPress' delta and listing parameters: `modified_after` (compared with `modified_gmt` as an
 * instant, which is what WordPress' local-time comparison amounts to for a value with a zone),
 * `include` (ids). A filtered query counts only matching items, so hidden slots drop out.
 */
function filtered(slots: Array<Record<string, unknown> | null>, q: URLSearchParams): Array<Record<string, unknown> | null> {
  const after = q.get('modified_after');
  const include = q.get('include')?.split(',').map(Number);
  if (after === null && !include) return slots;
  const since = after === null ? -Infinity : Date.parse(after);
  return slots.filter((item): item is Record<string, unknown> => {
    if (item === null) return false;
    if (include && !include.includes(Number(item.id))) return false;
    return after === null || Date.parse(`${String(item.modified_gmt)}Z`) > since;
  });
}

const slotCache = new WeakMap<FixtureCollection, Array<Record<string, unknown> | null>>();

/** Items in ascending id order with `hidden` empty slots spread evenly among them. */
function slotsOf(collection: FixtureCollection): Array<Record<string, unknown> | null> {
  const cached = slotCache.get(collection);
  if (cached) return cached;
  const items = [...collection.items].sort((a, b) => Number(a.id) - Number(b.id));
  const hidden = collection.hidden ?? 0;
  const slots: Array<Record<string, unknown> | null> = [];
  const every = hidden > 0 ? Math.max(1, Math.floor(items.length / hidden)) : Infinity;
  let placed = 0;
  items.forEach((item, i) => {
    slots.push(item);
    if (placed < hidden && (i + 1) % every === 0) {
      slots.push(null);
      placed++;
    }
  });
  while (placed++ < hidden) slots.push(null);
  return slotCache.set(collection, slots).get(collection)!;
}

/**
 * `GET /wp-json/`, as much of it as clients look at: the site, its namespaces and one route per
 * collection. A client tells a WordPress from any other JSON server by `namespaces`.
 */
function restIndex(url: URL, options: WordPressFixtureOptions): Record<string, unknown> {
  const names = Object.keys(options.collections ?? {});
  return {
    name: options.name ?? 'WordPress fixture',
    description: '',
    url: url.origin,
    home: url.origin,
    gmt_offset: 0,
    timezone_string: 'UTC',
    namespaces: ['oembed/1.0', 'wp/v2'],
    authentication: {},
    routes: Object.fromEntries(names.map((name) => [`/wp/v2/${name}`, { namespace: 'wp/v2', methods: ['GET'], endpoints: [{ methods: ['GET'], args: {} }] }])),
  };
}

/** The JSON Schema type of one value, with `format` for WordPress' zone-less ISO dates. */
function schemaOfValue(value: unknown): Record<string, unknown> {
  if (value === null) return { type: 'null' };
  if (Array.isArray(value)) return { type: 'array', items: value.length > 0 ? { type: schemaOfValue(value[0]).type } : {} };
  if (typeof value === 'object') {
    const properties = Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, { ...schemaOfValue(inner), context: ['view', 'edit', 'embed'] }]));
    return { type: 'object', properties };
  }
  if (typeof value === 'number') return { type: Number.isInteger(value) ? 'integer' : 'number' };
  if (typeof value === 'string' && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/.test(value)) return { type: 'string', format: 'date-time' };
  return { type: typeof value };
}

/**
 * The collection's schema as WP_REST_Posts_Controller answers OPTIONS: every field the items
 * carry (`_links` is not a field), `title.rendered` and the like as object properties; a field
 * whose items disagree gets every type seen, as WordPress writes `['string', 'null']`.
 */
function collectionSchema(name: string, collection: FixtureCollection): Record<string, unknown> {
  const properties: Record<string, Record<string, unknown>> = {};
  for (const item of collection.items) {
    for (const [field, value] of Object.entries(item)) {
      if (field === '_links') continue;
      const seen = schemaOfValue(value);
      const known = properties[field];
      if (!known) properties[field] = { description: '', ...seen, context: ['view', 'edit', 'embed'] };
      else if (![known.type].flat().includes(seen.type)) known.type = [...[known.type].flat(), seen.type];
    }
  }
  return { $schema: 'http://json-schema.org/draft-04/schema#', title: name, type: 'object', properties };
}
