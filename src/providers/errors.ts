import { ErrorType } from '../calls/errors';
import type { Provider } from '../calls/ids';

/**
 * Carrier HTTP outcomes, classified in exactly one place. The HTTP layer never retries: these errors
 * carry the decision (retryable or not, and after how long) and the activity hands it to Temporal.
 */

export interface CarrierErrorDetails {
  provider: Provider;
  operation: string;
  status?: number;
  /** The carrier's own error code (Telnyx `errors[0].code`), when it gave one. */
  code?: string;
  detail?: string;
  /** The request never left this machine (connection refused, unknown host). */
  notSent?: boolean;
}

export class CarrierError extends Error {
  override readonly name: string = 'CarrierError';
  constructor(
    message: string,
    /** The `ApplicationFailure.type` this becomes in the activity. */
    readonly type: ErrorType,
    readonly retryable: boolean,
    readonly details: CarrierErrorDetails,
    /** From `Retry-After`: how long to wait before the next attempt. */
    readonly retryAfterMs?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Parses `Retry-After` (seconds or an HTTP date) into milliseconds; undefined when absent or unreadable. */
export function retryAfterMs(header: string | string[] | undefined, nowMs = Date.now()): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.round(seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}

/** Telnyx-style `{errors:[{code,title,detail}]}`, SignalWire `{error}` / `{errors:[{code,message}]}`, jambonz `{msg}`. */
function describeBody(body: unknown): { code?: string; detail?: string } {
  if (!body || typeof body !== 'object') return typeof body === 'string' && body ? { detail: body.slice(0, 300) } : {};
  const b = body as Record<string, unknown>;
  const first = Array.isArray(b.errors) ? (b.errors[0] as Record<string, unknown> | undefined) : undefined;
  if (first) {
    const code = typeof first.code === 'string' || typeof first.code === 'number' ? String(first.code) : undefined;
    const detail = [first.title, first.detail, first.message].filter((x) => typeof x === 'string').join(': ');
    return { code, detail: detail || undefined };
  }
  const detail = [b.error, b.msg, b.message].find((x): x is string => typeof x === 'string');
  return { detail };
}

export interface ClassifyInput {
  provider: Provider;
  operation: string;
  status: number;
  headers?: Record<string, string | string[] | undefined>;
  body?: unknown;
  /** Codes (besides the statuses below) that mean "this call no longer exists" for this carrier. */
  goneCodes?: readonly string[];
  /** Statuses that mean "this call no longer exists" for this carrier (jambonz and SignalWire: 404, 422). */
  goneStatuses?: readonly number[];
}

/**
 * Maps a carrier response to `undefined` (success) or the error to throw:
 * network/408/429/5xx retryable (429 and 503 honour `Retry-After`); "call gone" non-retryable `CallGone`;
 * every other 4xx non-retryable `CarrierRejected`.
 */
export function classifyResponse(input: ClassifyInput): CarrierError | undefined {
  const { provider, operation, status } = input;
  if (status >= 200 && status < 300) return undefined;
  const { code, detail } = describeBody(input.body);
  const details: CarrierErrorDetails = { provider, operation, status, code, detail };
  const what = `${provider} ${operation}: HTTP ${status}${code ? ` code ${code}` : ''}${detail ? ` (${detail})` : ''}`;
  const gone =
    (code !== undefined && input.goneCodes?.includes(code) && (status === 422 || status === 404)) ||
    (input.goneStatuses?.includes(status) ?? false);
  if (gone) return new CarrierError(`call is gone: ${what}`, ErrorType.CallGone, false, details);
  if (status === 408 || status === 429 || status >= 500) {
    const after = retryAfterMs(input.headers?.['retry-after']);
    return new CarrierError(what, ErrorType.CarrierUnavailable, true, details, after);
  }
  return new CarrierError(what, ErrorType.CarrierRejected, false, details);
}

/** A request that never got a response (DNS, refused, reset, timeout): retryable. */
export function networkError(provider: Provider, operation: string, cause: unknown): CarrierError {
  const message = cause instanceof Error ? cause.message : String(cause);
  return new CarrierError(
    `${provider} ${operation}: no response (${message})`,
    ErrorType.CarrierUnavailable,
    true,
    { provider, operation, detail: message, notSent: neverSent(cause) },
    undefined,
    { cause },
  );
}

/** Connection refused or the host unknown: the request cannot have reached the carrier. */
function neverSent(cause: unknown): boolean {
  const code =
    (cause as { code?: unknown; cause?: { code?: unknown } })?.code ??
    (cause as { cause?: { code?: unknown } })?.cause?.code;
  return code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN';
}

/**
 * Whether a failed request certainly did not act at the carrier: a throttle (429), jambonz's "no feature
 * server" (480), SignalWire's 503 (its own SDK retries a POST, which it treats as not idempotent, only on 429
 * and 503: the request was refused before it acted), or no connection at all. Anything else (a timeout, a
 * reset, another 5xx) may have acted.
 */
export function certainlyNotActed(err: CarrierError): boolean {
  const { status, provider, notSent } = err.details;
  return status === 429 || status === 480 || (status === 503 && provider === 'signalwire') || notSent === true;
}
