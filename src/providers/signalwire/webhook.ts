import { createHmac, timingSafeEqual } from 'node:crypto';
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

/** The token a status_url carries for `workflowId`: base64url HMAC-SHA256 under the gateway's secret. */
export function statusCallbackToken(secret: string, workflowId: string): string {
  return createHmac('sha256', secret).update(`signalwire-callback:${workflowId}`, 'utf8').digest('base64url');
}

export function verifyStatusCallbackToken(secret: string, workflowId: string, token: string): boolean {
  return sameText(statusCallbackToken(secret, workflowId), token);
}

function sessionUrl(publicBaseUrl: string, path: string, secret: string, workflowId: string): string {
  const url = new URL(publicBaseUrl.replace(/\/+$/, '') + path);
  url.searchParams.set('wf', workflowId);
  url.searchParams.set('t', statusCallbackToken(secret, workflowId));
  return url.toString();
}

/** `<base>/webhooks/signalwire/status?wf=...&t=...`: where a session's status callbacks go. */
export function statusCallbackUrl(publicBaseUrl: string, secret: string, workflowId: string): string {
  return sessionUrl(publicBaseUrl, SIGNALWIRE_WEBHOOK_PATHS.status, secret, workflowId);
}

/**
 * `<base>/webhooks/signalwire/swml?wf=...&t=...`: where a session's documents hand the call back to fetch
 * the next one (dial `url`, `transfer` steps, `update` redirects).
 */
export function documentUrl(publicBaseUrl: string, secret: string, workflowId: string): string {
  return sessionUrl(publicBaseUrl, SIGNALWIRE_WEBHOOK_PATHS.document, secret, workflowId);
}

/**
 * Stands in for a workflow id in the token of the phone number's Status Change Webhook, which names no
 * session (no workflow id starts with `number`: they are `call:...` and `fax:...`).
 */
const NUMBER_WEBHOOK_SCOPE = 'number-status-change';

/**
 * `<base>/webhooks/signalwire/status?t=...`: the URL to configure as the phone number's Status Change
 * Webhook, where SignalWire reports the call state of inbound calls (a hang-up during a document step
 * reaches the session only this way). It names no session: the gateway routes its callbacks by call id.
 */
export function numberStatusUrl(publicBaseUrl: string, secret: string): string {
  const url = new URL(publicBaseUrl.replace(/\/+$/, '') + SIGNALWIRE_WEBHOOK_PATHS.status);
  url.searchParams.set('t', statusCallbackToken(secret, NUMBER_WEBHOOK_SCOPE));
  return url.toString();
}

/** Whether a callback URL without `wf` carries the number webhook's token (see `numberStatusUrl`). */
export function isNumberStatusUrl(url: string, secret: string): boolean {
  const token = new URL(url, 'http://gateway.invalid').searchParams.get('t');
  return token !== null && verifyStatusCallbackToken(secret, NUMBER_WEBHOOK_SCOPE, token);
}

/**
 * The session a callback or document URL names. A URL without `wf` names none (an inbound call's first
 * fetch, or a callback configured in the SignalWire dashboard): the gateway routes it by call id.
 */
export function callbackOwner(
  url: string,
  secret: string,
): { ok: true; workflowId?: string } | { ok: false; reason: string } {
  const query = new URL(url, 'http://gateway.invalid').searchParams;
  const workflowId = query.get('wf');
  if (workflowId === null) return { ok: true };
  const token = query.get('t');
  if (!token) return { ok: false, reason: 'callback URL names a workflow but carries no token' };
  return verifyStatusCallbackToken(secret, workflowId, token)
    ? { ok: true, workflowId }
    : { ok: false, reason: 'callback URL token does not match its workflow id' };
}
