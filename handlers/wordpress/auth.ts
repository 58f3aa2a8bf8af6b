/** A WordPress application password (Users -> Profile -> Application Passwords). */
export interface Credentials {
  username: string;
  password: string;
}

/**
 * Reads the credentials SecureString, `{"username": "...", "password": "..."}`. The error never
 * quotes the value: it is a secret even when malformed.
 */
export function parseCredentials(value: string): Credentials {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw new Error('the credentials parameter is not valid JSON; expected {"username": "...", "password": "..."}');
  }
  const { username, password } = (parsed ?? {}) as Record<string, unknown>;
  if (typeof username !== 'string' || username === '' || typeof password !== 'string' || password === '') {
    throw new Error('the credentials parameter must be JSON with non-empty string fields "username" and "password"');
  }
  return { username, password };
}

/**
 * The `Authorization` header for a request to `url`. Basic auth over plain http would hand the
 * password to anyone on the path, so it is refused outright rather than silently dropped (a
 * silent anonymous crawl would look like data loss).
 */
export function basicAuthorization(credentials: Credentials, url: string): string {
  if (new URL(url).protocol !== 'https:') {
    throw new Error(`refusing to send WordPress credentials over ${new URL(url).protocol.replace(':', '')} to ${new URL(url).host}: use an https URL`);
  }
  return `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`, 'utf8').toString('base64')}`;
}
