import { createHmac, timingSafeEqual } from 'node:crypto';
import {
  expiryIn,
  readSessionUrl,
  sessionToken,
  sessionTokenMatches,
  sessionUrl,
  type SessionUrlExtras,
  type SessionUrlScheme,
} from '../session-url';
import type { IncomingWebhook, VerifyResult } from '../types';

/**
 * SignalWire webhook authenticity, two ways:
 *
 * - Signed requests (every SWML document fetch, documented): `X-SignalWire-Signature` is hex
 *   HMAC-SHA1(signing key, URL + raw body) and call-related fetches also carry
 *   `X-Signalwire-SHA256-Signature`, hex HMAC-SHA256 over the same string. The URL is the full URL as
 *   configured, query included, with any `user:pass@` removed. Nothing is timestamped, so there is no
 *   replay window to check: sessions de-duplicate by event id instead.
 * - Status callbacks, whose signing is undocumented: the `status_url` we hand SignalWire carries the owning
 *   workflow id and an HMAC token over it (`?wf=<workflowId>&t=<token>`), so a forged callback cannot
 *   reach a session, and the callback routes without a lookup.
 */

export type SignatureAlgorithm = 'sha1' | 'sha256';

const SIGNATURE_HEADERS: ReadonlyArray<{ header: string; algorithm: SignatureAlgorithm }> = [
  { header: 'x-signalwire-signature', algorithm: 'sha1' },
  { header: 'x-signalwire-sha256-signature', algorithm: 'sha256' },
];

/** What a session's callback URLs are built from. */
export interface CallbackConfig {
  /** The gateway's public base URL, as SignalWire reaches it. */
  publicBaseUrl: string;
  /** The secret callback-URL tokens are signed with. */
  secret: string;
}

/** Gateway routes SignalWire calls: SWML document fetches and status callbacks. */
export const SIGNALWIRE_WEBHOOK_PATHS = {
  document: '/webhooks/signalwire/swml',
  status: '/webhooks/signalwire/status',
} as const;

/** The URL as SignalWire signs it for calls: credentials in the authority are dropped. */
export function signedUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/?#@]*@/i, '$1');
}

/** Hex HMAC of `url + rawBody`, as SignalWire computes it (used by the simulator and tests to sign). */
export function signSignalWireRequest(
  signingKey: string,
  url: string,
  rawBody: Buffer,
  algorithm: SignatureAlgorithm = 'sha1',
): string {
  return createHmac(algorithm, signingKey).update(signedUrl(url), 'utf8').update(rawBody).digest('hex');
}

function sameText(a: string, b: string): boolean {
  const left = Buffer.from(a, 'utf8');
  const right = Buffer.from(b, 'utf8');
  return left.length === right.length && timingSafeEqual(left, right);
}

function header(headers: IncomingWebhook['headers'], name: string): string | undefined {
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === name && value) return value;
  }
  return undefined;
}

/**
 * Checks the SHA-1 and SHA-256 signatures on a SignalWire request. At least one must be present and every
 * one present must match: a request that carries both is not accepted on the weaker one alone.
 */
export function verifySignalWireSignature(webhook: IncomingWebhook, signingKey: string): VerifyResult {
  if (!signingKey) return { ok: false, reason: 'no SignalWire signing key is configured' };
  let checked = 0;
  for (const { header: name, algorithm } of SIGNATURE_HEADERS) {
    const given = header(webhook.headers, name);
    if (given === undefined) continue;
    const expected = signSignalWireRequest(signingKey, webhook.url, webhook.rawBody, algorithm);
    if (!sameText(expected, given.trim().toLowerCase())) return { ok: false, reason: `${name} does not match` };
    checked++;
  }
  return checked > 0 ? { ok: true } : { ok: false, reason: 'missing x-signalwire-signature header' };
}

/**
 * Our session URLs (`status_url`, document hand-backs): `?wf=<workflowId>&exp=<unix s>&t=<token>`, one token for
 * both paths. They expire (a leaked URL is not a key to the session for ever): `CALLBACK_URL_TTL_SECONDS`.
 */
const CALLBACK_URLS: SessionUrlScheme<'wf'> = {
  scope: 'signalwire-callback',
  params: ['wf'],
  tokenParam: 't',
  expires: true,
};

/**
 * How long a callback or document URL stays valid: 24 h covers any call and fax we place or answer (a session
 * hands out fresh document URLs with every document it serves; only a call's `status_url` lives as long as it).
 * Rounded up to the hour, so URLs made for a session within the hour are identical.
 */
export const CALLBACK_URL_TTL_SECONDS = 24 * 3600;

function defaultExpiry(extras: SessionUrlExtras): SessionUrlExtras {
  return { ...extras, expiresAt: extras.expiresAt ?? expiryIn(CALLBACK_URL_TTL_SECONDS, 3600) };
}

/**
 * The phone number's Status Change Webhook names no session, so its token covers nothing but its scope: it
 * proves only that the URL is ours.
 */
const NUMBER_STATUS_URL: SessionUrlScheme<never> = { scope: 'signalwire-number-status', params: [], tokenParam: 't' };

/** The token a status_url carries for `workflowId` (and the expiry it carries in `exp`). */
export function statusCallbackToken(secret: string, workflowId: string, expiresAt: number): string {
  return sessionToken(CALLBACK_URLS, secret, { wf: workflowId }, { expiresAt });
}

export function verifyStatusCallbackToken(
  secret: string,
  workflowId: string,
  token: string,
  expiresAt: number,
): boolean {
  return sessionTokenMatches(CALLBACK_URLS, [secret], { wf: workflowId }, token, { expiresAt });
}

/** `<base>/webhooks/signalwire/status?wf=...&t=...`: where a session's status callbacks go. */
export function statusCallbackUrl(
  publicBaseUrl: string,
  secret: string,
  workflowId: string,
  extras: SessionUrlExtras = {},
): string {
  return sessionUrl(
    CALLBACK_URLS,
    { publicBaseUrl, path: SIGNALWIRE_WEBHOOK_PATHS.status, secret },
    { wf: workflowId },
    defaultExpiry(extras),
  );
}

/**
 * `<base>/webhooks/signalwire/swml?wf=...&t=...`: where a session's documents hand the call back to fetch
 * the next one (dial `url`, `transfer` steps, `update` redirects). A hold served while Temporal is unreachable
 * adds the events it could not deliver (`extras.carried`) and a short expiry.
 */
export function documentUrl(
  publicBaseUrl: string,
  secret: string,
  workflowId: string,
  extras: SessionUrlExtras = {},
): string {
  return sessionUrl(
    CALLBACK_URLS,
    { publicBaseUrl, path: SIGNALWIRE_WEBHOOK_PATHS.document, secret },
    { wf: workflowId },
    defaultExpiry(extras),
  );
}

/**
 * `<base>/webhooks/signalwire/status?t=...`: the URL to configure as the phone number's Status Change
 * Webhook, where SignalWire reports the call state of inbound calls (a hang-up during a document step
 * reaches the session only this way). It names no session: the gateway routes its callbacks by call id.
 */
export function numberStatusUrl(publicBaseUrl: string, secret: string): string {
  return sessionUrl(NUMBER_STATUS_URL, { publicBaseUrl, path: SIGNALWIRE_WEBHOOK_PATHS.status, secret }, {});
}

/** Whether a callback URL without `wf` carries the number webhook's token (see `numberStatusUrl`). */
export function isNumberStatusUrl(url: string, secret: string): boolean {
  return readSessionUrl(NUMBER_STATUS_URL, url, [secret]).verdict === 'valid';
}

/**
 * The session a callback or document URL names. A URL without `wf` names none (an inbound call's first
 * fetch, or a callback configured in the SignalWire dashboard): the gateway routes it by call id.
 */
export function callbackOwner(
  url: string,
  secret: string,
  nowMs = Date.now(),
): { ok: true; workflowId?: string; carried?: string } | { ok: false; reason: string } {
  const read = readSessionUrl(CALLBACK_URLS, url, [secret], nowMs);
  if (read.verdict === 'unreadable') return { ok: false, reason: read.reason };
  const workflowId = read.values.wf;
  if (workflowId === undefined) return { ok: true };
  switch (read.verdict) {
    case 'valid':
      return { ok: true, workflowId, ...(read.extras?.carried !== undefined && { carried: read.extras.carried }) };
    case 'expired':
      return { ok: false, reason: `callback URL refused: ${read.reason ?? 'expired'}` };
    case 'unsigned':
      return { ok: false, reason: 'callback URL names a workflow but carries no token' };
    case 'invalid':
      return { ok: false, reason: 'callback URL token does not match its workflow id' };
  }
}
