import { createHmac, timingSafeEqual } from 'node:crypto';
import { deflateRawSync, inflateRawSync } from 'node:zlib';

/**
 * Signed session URLs: the callback and document URLs we hand a carrier name the session (and sometimes the
 * operation) they belong to in their query, with an HMAC token over those parameters, so the gateway routes
 * them without a lookup and a forged URL cannot reach a session. Each carrier describes its URLs with one
 * `SessionUrlScheme` and keeps thin wrappers with its own parameter names; tokens are made and checked only
 * here.
 *
 * Two optional parameters are signed with the rest by every scheme:
 * - `exp` (unix seconds): past it the URL is refused (`expired`). A scheme with `expires` requires it.
 * - `ev`: an opaque payload the gateway hands itself through the carrier (the events a hold carries while
 *   Temporal is unreachable), compact and size-bounded (`encodeCarried`).
 * They are signed only when present (appended to the canonical form as one object), so the tokens of URLs
 * made before they existed stay valid, and neither can be added to or stripped from a signed URL.
 */
export interface SessionUrlScheme<Name extends string> {
  /** What the token is for; a token made for one scheme is worthless on another. */
  scope: string;
  /** The query parameters the token covers. An absent one is signed as absent, so it cannot be added later. */
  params: readonly Name[];
  /** The query parameter that carries the token. */
  tokenParam: string;
  /** Whether every URL of this scheme must carry an expiry (a URL without one is refused). */
  expires?: boolean;
}

export type SessionParams<Name extends string> = Partial<Record<Name, string>>;

/** The signed extras every scheme may carry (see the module comment). */
export interface SessionUrlExtras {
  /** Unix seconds after which the URL is refused. */
  expiresAt?: number;
  /** An `encodeCarried` payload. */
  carried?: string;
}

export const EXPIRY_PARAM = 'exp';
export const CARRIED_PARAM = 'ev';

/** The token over (scope, params[, extras]): base64url HMAC-SHA256 of a JSON array, so no value can absorb another. */
export function sessionToken<N extends string>(
  scheme: SessionUrlScheme<N>,
  secret: string,
  values: SessionParams<N>,
  extras: SessionUrlExtras = {},
): string {
  const parts: unknown[] = [scheme.scope, ...scheme.params.map((name) => values[name] ?? null)];
  if (extras.expiresAt !== undefined || extras.carried !== undefined)
    parts.push({ exp: extras.expiresAt ?? null, ev: extras.carried ?? null });
  return createHmac('sha256', secret).update(JSON.stringify(parts), 'utf8').digest('base64url');
}

/** Whether `token` was made by one of `secrets` for these values (constant-time; empty secrets never match). */
export function sessionTokenMatches<N extends string>(
  scheme: SessionUrlScheme<N>,
  secrets: readonly string[],
  values: SessionParams<N>,
  token: string,
  extras: SessionUrlExtras = {},
): boolean {
  const presented = Buffer.from(token, 'utf8');
  return secrets.some((secret) => {
    if (secret.length === 0) return false;
    const expected = Buffer.from(sessionToken(scheme, secret, values, extras), 'utf8');
    return presented.length === expected.length && timingSafeEqual(presented, expected);
  });
}

/**
 * An expiry `ttlSeconds` from now, rounded up to `stepSeconds` so that URLs made for one session within the
 * same step are identical (a carrier retry, a request replayed by an activity retry, the same document again).
 */
export function expiryIn(ttlSeconds: number, stepSeconds = 60, nowMs = Date.now()): number {
  const at = Math.floor(nowMs / 1000) + ttlSeconds;
  return Math.ceil(at / stepSeconds) * stepSeconds;
}

/** `<publicBaseUrl><path>?<params>&<token>`, keeping any path the base URL has. */
export function sessionUrl<N extends string>(
  scheme: SessionUrlScheme<N>,
  target: { publicBaseUrl: string; path: string; secret: string },
  values: SessionParams<N>,
  extras: SessionUrlExtras = {},
): string {
  const url = new URL(target.publicBaseUrl.replace(/\/+$/, '') + target.path);
  for (const name of scheme.params) {
    const value = values[name];
    if (value !== undefined) url.searchParams.set(name, value);
  }
  if (extras.expiresAt !== undefined) url.searchParams.set(EXPIRY_PARAM, String(extras.expiresAt));
  if (extras.carried !== undefined) url.searchParams.set(CARRIED_PARAM, extras.carried);
  url.searchParams.set(scheme.tokenParam, sessionToken(scheme, target.secret, values, extras));
  return url.toString();
}

export type SessionUrlReading<N extends string> =
  | {
      /**
       * `valid`: one of the secrets made the token for these values (and it has not expired); `unsigned`: no
       * token; `invalid`: a wrong one; `expired`: a genuine token past its expiry (or without the expiry its
       * scheme requires), `reason` says which.
       */
      verdict: 'valid' | 'unsigned' | 'invalid' | 'expired';
      values: SessionParams<N>;
      /** The signed extras (only when `valid`). */
      extras?: SessionUrlExtras;
      reason?: string;
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
  nowMs = Date.now(),
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
  const exp = query.get(EXPIRY_PARAM);
  const carried = query.get(CARRIED_PARAM);
  if (exp !== null && !/^\d{1,12}$/.test(exp)) return { verdict: 'invalid', values };
  const extras: SessionUrlExtras = {
    ...(exp !== null && { expiresAt: Number(exp) }),
    ...(carried !== null && { carried }),
  };
  if (!sessionTokenMatches(scheme, secrets, values, token, extras)) return { verdict: 'invalid', values };
  if (extras.expiresAt === undefined && scheme.expires)
    return { verdict: 'expired', values, reason: 'the URL carries no expiry (exp)' };
  if (extras.expiresAt !== undefined && extras.expiresAt * 1000 < nowMs)
    return {
      verdict: 'expired',
      values,
      reason: `the URL expired at ${new Date(extras.expiresAt * 1000).toISOString()}`,
    };
  return { verdict: 'valid', values, extras };
}

/**
 * Carried payloads: JSON, deflated, base64url. Bounded so a URL stays well under what carriers and proxies
 * take (8 KB is the common limit for a request line); `encodeCarried` returns undefined past the bound.
 */
export const MAX_CARRIED_CHARS = 4096;

export function encodeCarried(value: unknown): string | undefined {
  const encoded = deflateRawSync(Buffer.from(JSON.stringify(value), 'utf8')).toString('base64url');
  return encoded.length <= MAX_CARRIED_CHARS ? encoded : undefined;
}

/** The payload back; only ever called on a verified URL, and inflation is capped against a deflate bomb. */
export function decodeCarried(encoded: string): unknown {
  if (encoded.length > MAX_CARRIED_CHARS) throw new Error('carried payload too large');
  const json = inflateRawSync(Buffer.from(encoded, 'base64url'), { maxOutputLength: 256 * 1024 });
  return JSON.parse(json.toString('utf8')) as unknown;
}
