import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import type { IncomingWebhook, VerifyResult } from '../types';

/**
 * Telnyx webhook signatures: Ed25519 over UTF-8 `"<telnyx-timestamp>|<raw body>"`, signature base64 in
 * `telnyx-signature-ed25519`, key = the account's public key as the portal shows it (base64 of 32 raw
 * bytes). Timestamps more than 300 s away from now, in either direction, are refused (as Telnyx's SDK does).
 */

export const TELNYX_SIGNATURE_TOLERANCE_SECONDS = 300;

// DER prefix of an Ed25519 SubjectPublicKeyInfo; the raw 32-byte key follows it.
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/** Reads a portal-style public key (base64 of the 32 raw bytes). Throws on anything else. */
export function telnyxPublicKey(base64: string): KeyObject {
  const raw = Buffer.from(base64.trim(), 'base64');
  if (raw.length !== 32) throw new Error(`TELNYX_PUBLIC_KEY must be base64 of 32 bytes, got ${raw.length} bytes`);
  return createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
}

export function verifyTelnyxSignature(webhook: IncomingWebhook, key: KeyObject, nowMs = Date.now()): VerifyResult {
  const signature = webhook.headers['telnyx-signature-ed25519'];
  const timestamp = webhook.headers['telnyx-timestamp'];
  if (!signature || !timestamp)
    return { ok: false, reason: 'missing telnyx-signature-ed25519 or telnyx-timestamp header' };
  if (!/^\d+$/.test(timestamp)) return { ok: false, reason: 'telnyx-timestamp is not unix seconds' };
  const skew = Math.abs(nowMs / 1000 - Number(timestamp));
  if (skew > TELNYX_SIGNATURE_TOLERANCE_SECONDS) {
    return {
      ok: false,
      reason: `telnyx-timestamp is ${Math.round(skew)} s away from now (limit ${TELNYX_SIGNATURE_TOLERANCE_SECONDS} s)`,
    };
  }
  const signatureBytes = Buffer.from(signature, 'base64');
  if (signatureBytes.length !== 64) return { ok: false, reason: 'telnyx-signature-ed25519 is not a 64-byte signature' };
  const signed = Buffer.concat([Buffer.from(`${timestamp}|`, 'utf8'), webhook.rawBody]);
  return verify(null, signed, key, signatureBytes) ? { ok: true } : { ok: false, reason: 'signature does not match' };
}
