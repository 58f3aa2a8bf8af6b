import { looksLikeHtml, wordpressError } from '../handlers/wordpress/transport';

/**
 * One request to a site's REST index (`GET <site>/wp-json/`) before a local run starts, so that a
 * site that cannot be crawled at all is reported in one line within seconds, instead of every
 * endpoint retrying for tens of seconds and failing with the same cause. Transient trouble
 * during the run is still the crawler's to retry.
 */

export interface ProbeOptions {
  /** @default 10000 */
  timeoutMs?: number;
  /** Sent as the crawler sends it: some WAFs treat user agents differently. */
  userAgent?: string;
  /** `Authorization` header, when the run has credentials. */
  authorization?: string;
}

/** Node's (undici's) codes for a connection that never reached HTTP. */
const NETWORK_CAUSES: Record<string, string> = {
  ECONNREFUSED: 'nothing is listening there (connection refused)',
  ENOTFOUND: 'its host name does not resolve (DNS)',
  EAI_AGAIN: 'its host name could not be resolved (DNS unavailable)',
  EHOSTUNREACH: 'the host is unreachable',
  ENETUNREACH: 'the network is unreachable',
  ECONNRESET: 'the connection was reset before an answer',
};

const CHALLENGE = /captcha|challenge|cf-ray|cloudflare|just a moment|attention required|access denied|sucuri|incapsula|ddos|bot protection|are you a robot|verify you are human/i;

/** Why `siteUrl` cannot be crawled, in one line naming the URL and the fix, or undefined when its REST index answers. */
export async function probeSite(siteUrl: string, options: ProbeOptions = {}): Promise<string | undefined> {
  const url = `${siteUrl}/wp-json/`;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const headers: Record<string, string> = { accept: 'application/json' };
  if (options.userAgent) headers['user-agent'] = options.userAgent;
  if (options.authorization) headers.authorization = options.authorization;
  let response: Response;
  let body: string;
  try {
    response = await fetch(url, { headers, signal: AbortSignal.timeout(timeoutMs) });
    body = await response.text();
  } catch (error) {
    return oneLine(connectionProblem(url, error, timeoutMs));
  }
  const problem = answerProblem(url, response, body, Boolean(options.authorization));
  return problem && oneLine(problem);
}

/** Messages quote what the site and OpenSSL said, which may span lines. */
function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ');
}

function connectionProblem(url: string, error: unknown, timeoutMs: number): string {
  const fix = 'Fix: start the site, or check the address (npm start -- --site URL, or siteUrl in the stack file).';
  if ((error as Error).name === 'TimeoutError') return `${url}: no answer within ${timeoutMs / 1000} s. ${fix}`;
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  const code = cause?.code ?? '';
  if (NETWORK_CAUSES[code]) return `${url}: ${NETWORK_CAUSES[code]}. ${fix}`;
  // https://fetch.spec.whatwg.org/#port-blocking: undici, and so the crawler, never connects there.
  if (cause?.message === 'bad port') {
    return `${url}: port ${new URL(url).port} is on the Fetch standard's list of blocked ports, which Node's fetch (and so the crawler) refuses to connect to. Fix: serve the site on another port (e.g. 8080).`;
  }
  if (/WRONG_VERSION_NUMBER|PACKET_LENGTH_TOO_LONG/.test(code)) {
    return `${url}: TLS error ${code}: the port answers plain HTTP, not TLS. Fix: use http:// for this address, or the site's https port.`;
  }
  if (/CERT|TLS|SSL|EPROTO/.test(code)) {
    return `${url}: TLS error ${code} (${cause?.message ?? ''}). Fix: give the site a certificate a public CA signed for this host name, or use the address its certificate names.`;
  }
  return `${url}: ${(error as Error).message}${code ? ` (${code})` : ''}. ${fix}`;
}

function answerProblem(url: string, response: Response, body: string, withCredentials: boolean): string | undefined {
  const status = `HTTP ${response.status}`;
  const wp = wordpressError(body);
  if ((response.status === 401 || response.status === 403) && wp) {
    const fix = withCredentials
      ? 'Fix: check WORDPRESS_USERNAME and WORDPRESS_APPLICATION_PASSWORD (an application password of a user who may read the content).'
      : 'Fix: ask the site to allow anonymous reads of its REST API, or set WORDPRESS_USERNAME and WORDPRESS_APPLICATION_PASSWORD (https sites only).';
    return `${url}: the REST API refuses this reader (${status} ${wp.code}: ${wp.message}). ${fix}`;
  }
  const type = response.headers.get('content-type') ?? '';
  const html = /html/i.test(type) || looksLikeHtml(body);
  if (html && (response.status === 403 || response.status === 429 || response.status === 503 || CHALLENGE.test(body))) {
    return `${url}: answered an HTML challenge page (${status}), not JSON: a firewall or bot protection (WAF) blocks this client. Fix: allow the crawler's address or user agent in the WAF, or crawl from where the site admits it.`;
  }
  let index: { namespaces?: unknown } | undefined;
  try {
    index = JSON.parse(body) as { namespaces?: unknown };
  } catch {
    // Not JSON: handled as "not a WordPress" below.
  }
  if (response.ok && Array.isArray(index?.namespaces)) {
    if ((index.namespaces as unknown[]).includes('wp/v2')) return undefined;
    return `${url}: a REST index without the wp/v2 namespace (a plugin disabled it?). Fix: enable WordPress' core REST routes, or list custom endpoints only.`;
  }
  const what = wp ? `${wp.code}: ${wp.message}` : html ? 'an HTML page' : `${type || 'no content type'}, ${body.length} bytes`;
  return `${url}: no WordPress REST index here (${status}, ${what}). Fix: point --site (or siteUrl) at the WordPress site's root, the address before /wp-json/.`;
}
