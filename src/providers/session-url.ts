import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Signed session URLs: the callback and document URLs we hand a carrier name the session (and sometimes the
 * operation) they belong to in their query, with an HMAC token over those parameters, so the gateway routes
 * them without a lookup and a forged URL cannot reach a session. Each carrier describes its URLs with one
 * `SessionUrlScheme` and keeps thin wrappers with its own parameter names; tokens are made and checked only
 * here (a token expiry would be one more signed parameter, added in `sign` and checked in `readSessionUrl`).
 */
export interface SessionUrlScheme<Name extends string> {
  /** What the token is for; a token made for one scheme is worthless on another. */
  scope: string;
  /** The query parameters the token covers. An absent one is signed as absent, so it cannot be added later. */
  params: readonly Name[];
  /** The query parameter that carries the token. */
  tokenParam: string;
}

export type SessionParams<Name extends string> = Partial<Record<Name, string>>;

/** The token over (scope, params): base64url HMAC-SHA256 of a JSON array, so no value can absorb another. */
export function sessionToken<N extends string>(
  scheme: SessionUrlScheme<N>,
  secret: string,
  values: SessionParams<N>,
): string {
  const canonical = JSON.stringify([scheme.scope, ...scheme.params.map((name) => values[name] ?? null)]);
  return createHmac('sha256', secret).update(canonical, 'utf8').digest('base64url');
}

/** Whether `token` was made by one of `secrets` for these values (constant-time; empty secrets never match). */
export function sessionTokenMatches<N extends string>(
  scheme: SessionUrlScheme<N>,
  secrets: readonly string[],
  values: SessionParams<N>,
  token: string,
): boolean {
  const presented = Buffer.from(token, 'utf8');
  return secrets.some((secret) => {
    if (secret.length === 0) return false;
    const expected = Buffer.from(sessionToken(scheme, secret, values), 'utf8');
    return presented.length === expected.length && timingSafeEqual(presented, expected);
  });
}

/** `<publicBaseUrl><path>?<params>&<token>`, keeping any path the base URL has. */
export function sessionUrl<N extends string>(
  scheme: SessionUrlScheme<N>,
  target: { publicBaseUrl: string; path: string; secret: string },
  values: SessionParams<N>,
): string {
  const url = new URL(target.publicBaseUrl.replace(/\/+$/, '') + target.path);
  for (const name of scheme.params) {
    const value = values[name];
    if (value !== undefined) url.searchParams.set(name, value);
  }
  url.searchParams.set(scheme.tokenParam, sessionToken(scheme, target.secret, values));
  return url.toString();
}

export type SessionUrlReading<N extends string> =
  | {
      /** `valid`: one of the secrets made the token for these values; `unsigned`: no token; `invalid`: a wrong one. */
      verdict: 'valid' | 'unsigned' | 'invalid';
      values: SessionParams<N>;
    }
  | { verdict: 'unreadable'; reason: string };

/**
 * Reads a session URL back (absolute, or the path and query a server sees) and checks its token. What an
 * unsigned URL may do is the carrier's call: application hooks and an inbound call's first fetch have none.
 */
export function readSessionUrl<N extends string>(
  scheme: SessionUrlScheme<N>,
  url: string,
  secrets: readonly string[],
): SessionUrlReading<N> {
  let query: URLSearchParams;
  try {
    query = new URL(url, 'http://gateway.invalid').searchParams;
  } catch {
    return { verdict: 'unreadable', reason: `unreadable URL: ${url}` };
  }
  const values: SessionParams<N> = {};
  for (const name of scheme.params) {
    const value = query.get(name);
    if (value !== null) values[name] = value;
  }
  const token = query.get(scheme.tokenParam);
  if (!token) return { verdict: 'unsigned', values };
  return { verdict: sessionTokenMatches(scheme, secrets, values, token) ? 'valid' : 'invalid', values };
}
