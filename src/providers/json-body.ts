import { MalformedWebhookError } from './types';

/**
 * A webhook body as JSON, refusing what is not well-formed Unicode: invalid UTF-8 bytes (which `toString('utf8')`
 * would quietly turn into U+FFFD) and `\ud800`-style escapes of lone surrogates. Either would reach Temporal
 * inside a workflow id or an event, fail there (protobuf strings must be valid UTF-8) and be answered 503, so the
 * carrier would retry a request that can never succeed. `MalformedWebhookError` makes it a 400.
 */

const utf8 = new TextDecoder('utf-8', { fatal: true });
/** In a `u` regex a surrogate pair is one code point, so this matches lone surrogates only. */
const LONE_SURROGATE = /\p{Surrogate}/u;

export function parseJsonBody(rawBody: Buffer | string, what: string): unknown {
  let text: string;
  if (typeof rawBody === 'string') {
    text = rawBody;
  } else {
    try {
      text = utf8.decode(rawBody);
    } catch {
      throw new MalformedWebhookError(`${what} is not valid UTF-8`);
    }
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new MalformedWebhookError(`${what} is not JSON`);
  }
  if (LONE_SURROGATE.test(text) || hasLoneSurrogate(parsed)) {
    throw new MalformedWebhookError(`${what} is not valid Unicode (a lone surrogate)`);
  }
  return parsed;
}

function hasLoneSurrogate(value: unknown): boolean {
  if (typeof value === 'string') return LONE_SURROGATE.test(value);
  if (Array.isArray(value)) return value.some(hasLoneSurrogate);
  if (typeof value === 'object' && value !== null) {
    return Object.entries(value).some(([k, v]) => LONE_SURROGATE.test(k) || hasLoneSurrogate(v));
  }
  return false;
}
