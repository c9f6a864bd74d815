import { createHmac, randomBytes } from 'node:crypto';
import {
  CALLBACK_URL_TTL_SECONDS,
  callbackOwner,
  documentUrl,
  isNumberStatusUrl,
  numberStatusUrl,
  signedUrl,
  statusCallbackToken,
  statusCallbackUrl,
  verifySignalWireSignature,
  verifyStatusCallbackToken,
} from '../../../../src/providers/signalwire';
import { encodeCarried, sessionToken, type SessionUrlScheme } from '../../../../src/providers/session-url';
import type { IncomingWebhook } from '../../../../src/providers/types';

/** The callback URLs' scheme as it was before tokens expired: a URL signed so must now be refused. */
const CALLBACK_SCHEME: SessionUrlScheme<'wf'> = { scope: 'signalwire-callback', params: ['wf'], tokenParam: 't' };

const signingKey = randomBytes(24).toString('hex');
const url = 'https://gw.example.com/webhooks/signalwire/swml?wf=call%3Asignalwire%3Aabc&t=xyz';
const rawBody = Buffer.from(JSON.stringify({ call: { call_id: 'abc' }, vars: {}, envs: {}, params: {} }));

/** Signs the way SignalWire does, independently of the adapter: hex HMAC of URL + raw body. */
const sign = (algorithm: 'sha1' | 'sha256', key: string, signed: string, body: Buffer) =>
  createHmac(algorithm, key)
    .update(signed + body.toString('utf8'))
    .digest('hex');

function webhook(headers: Record<string, string>, overrides: Partial<IncomingWebhook> = {}): IncomingWebhook {
  return { url, headers, rawBody, ...overrides };
}

describe('verifySignalWireSignature', () => {
  it('accepts a valid SHA-1 signature', () => {
    const result = verifySignalWireSignature(
      webhook({ 'x-signalwire-signature': sign('sha1', signingKey, url, rawBody) }),
      signingKey,
    );
    expect(result).toEqual({ ok: true });
  });

  it('accepts a valid SHA-256 signature', () => {
    const headers = { 'x-signalwire-sha256-signature': sign('sha256', signingKey, url, rawBody) };
    expect(verifySignalWireSignature(webhook(headers), signingKey)).toEqual({ ok: true });
  });

  it('accepts both signatures together, with headers in any case', () => {
    const headers = {
      'X-SignalWire-Signature': sign('sha1', signingKey, url, rawBody).toUpperCase(),
      'X-Signalwire-SHA256-Signature': sign('sha256', signingKey, url, rawBody),
    };
    expect(verifySignalWireSignature(webhook(headers), signingKey)).toEqual({ ok: true });
  });

  it('refuses a signature made with another key', () => {
    const otherKey = randomBytes(24).toString('hex');
    const result = verifySignalWireSignature(
      webhook({ 'x-signalwire-signature': sign('sha1', otherKey, url, rawBody) }),
      signingKey,
    );
    expect(result).toEqual({ ok: false, reason: 'x-signalwire-signature does not match' });
  });

  it('refuses a tampered body', () => {
    const headers = { 'x-signalwire-signature': sign('sha1', signingKey, url, rawBody) };
    const tampered = Buffer.from(rawBody.toString('utf8').replace('abc', 'abd'));
    expect(verifySignalWireSignature(webhook(headers, { rawBody: tampered }), signingKey).ok).toBe(false);
  });

  it('refuses a tampered URL', () => {
    const headers = { 'x-signalwire-sha256-signature': sign('sha256', signingKey, url, rawBody) };
    const result = verifySignalWireSignature(webhook(headers, { url: url.replace('t=xyz', 't=xyy') }), signingKey);
    expect(result).toEqual({ ok: false, reason: 'x-signalwire-sha256-signature does not match' });
  });

  it('refuses a request whose second signature is wrong even when the first matches', () => {
    const headers = {
      'x-signalwire-signature': sign('sha1', signingKey, url, rawBody),
      'x-signalwire-sha256-signature': sign('sha256', 'wrong', url, rawBody),
    };
    expect(verifySignalWireSignature(webhook(headers), signingKey).ok).toBe(false);
  });

  it('refuses a request without a signature header', () => {
    expect(verifySignalWireSignature(webhook({}), signingKey)).toEqual({
      ok: false,
      reason: 'missing x-signalwire-signature header',
    });
  });

  it('refuses everything when no signing key is configured', () => {
    const headers = { 'x-signalwire-signature': sign('sha1', '', url, rawBody) };
    expect(verifySignalWireSignature(webhook(headers), '').ok).toBe(false);
  });

  it('signs the URL without user:pass@, as SignalWire does for calls', () => {
    const withCredentials = url.replace('https://', 'https://user:p%40ss@');
    expect(signedUrl(withCredentials)).toBe(url);
    const headers = { 'x-signalwire-signature': sign('sha1', signingKey, url, rawBody) };
    expect(verifySignalWireSignature(webhook(headers, { url: withCredentials }), signingKey)).toEqual({ ok: true });
  });
});

describe('status callback tokens and URLs', () => {
  const secret = randomBytes(32).toString('base64url');
  const workflowId = 'call:signalwire:3fa85f64-5717-4562-b3fc-2c963f66afa6';

  it('verifies its own token, and only for the same workflow and secret', () => {
    const exp = Math.floor(Date.now() / 1000) + 60;
    const token = statusCallbackToken(secret, workflowId, exp);
    expect(verifyStatusCallbackToken(secret, workflowId, token, exp)).toBe(true);
    expect(verifyStatusCallbackToken(secret, `${workflowId}x`, token, exp)).toBe(false);
    expect(verifyStatusCallbackToken('other secret', workflowId, token, exp)).toBe(false);
    expect(verifyStatusCallbackToken(secret, workflowId, token.slice(0, -1), exp)).toBe(false);
    // The expiry is signed: moving it later breaks the token.
    expect(verifyStatusCallbackToken(secret, workflowId, token, exp + 3600)).toBe(false);
  });

  it('builds the status and document URLs under the public base URL, keeping its path', () => {
    const status = new URL(statusCallbackUrl('https://gw.example.com/prefix/', secret, workflowId));
    expect(status.origin + status.pathname).toBe('https://gw.example.com/prefix/webhooks/signalwire/status');
    expect(status.searchParams.get('wf')).toBe(workflowId);
    const exp = Number(status.searchParams.get('exp'));
    expect(status.searchParams.get('t')).toBe(statusCallbackToken(secret, workflowId, exp));
    // Valid for a day (rounded up to the hour, so URLs made within the hour are identical).
    const ttl = exp - Date.now() / 1000;
    expect(ttl).toBeGreaterThan(CALLBACK_URL_TTL_SECONDS - 1);
    expect(ttl).toBeLessThanOrEqual(CALLBACK_URL_TTL_SECONDS + 3600);
    expect(new URL(documentUrl('https://gw.example.com', secret, workflowId)).pathname).toBe(
      '/webhooks/signalwire/swml',
    );
  });

  it('reads the owning workflow back from a callback URL, refusing forged ones', () => {
    const good = statusCallbackUrl('https://gw.example.com', secret, workflowId);
    expect(callbackOwner(good, secret)).toEqual({ ok: true, workflowId });
    const path = good.slice('https://gw.example.com'.length);
    expect(callbackOwner(path, secret)).toEqual({ ok: true, workflowId });

    const forged = good.replace(encodeURIComponent(workflowId), encodeURIComponent('call:signalwire:other'));
    expect(callbackOwner(forged, secret)).toEqual({
      ok: false,
      reason: 'callback URL token does not match its workflow id',
    });
    expect(callbackOwner(good.replace(/&t=[^&]+/, ''), secret).ok).toBe(false);
    expect(callbackOwner('https://gw.example.com/webhooks/signalwire/status', secret)).toEqual({ ok: true });
  });

  it('refuses an expired URL with the reason, and one whose expiry was removed or moved', () => {
    const expiresAt = Math.floor(Date.now() / 1000) + 60;
    const url = documentUrl('https://gw.example.com', secret, workflowId, { expiresAt });
    expect(callbackOwner(url, secret)).toEqual({ ok: true, workflowId });
    expect(callbackOwner(url, secret, (expiresAt + 1) * 1000)).toEqual({
      ok: false,
      reason: expect.stringMatching(/^callback URL refused: the URL expired at /),
    });
    expect(callbackOwner(url.replace(/&exp=\d+/, ''), secret)).toEqual({
      ok: false,
      reason: 'callback URL token does not match its workflow id',
    });
    expect(callbackOwner(url.replace(/exp=\d+/, `exp=${expiresAt + 3600}`), secret).ok).toBe(false);
  });

  it('refuses a URL made without an expiry (tokens from before expiries existed never expire otherwise)', () => {
    const legacy = new URL('https://gw.example.com/webhooks/signalwire/status');
    legacy.searchParams.set('wf', workflowId);
    legacy.searchParams.set('t', sessionToken(CALLBACK_SCHEME, secret, { wf: workflowId }));
    expect(callbackOwner(legacy.toString(), secret)).toEqual({
      ok: false,
      reason: 'callback URL refused: the URL carries no expiry (exp)',
    });
  });

  it('returns the carried payload of a hold URL, which cannot be altered', () => {
    const carried = encodeCarried({ e: [{ kind: 'call.answered' }] }) ?? '';
    const url = documentUrl('https://gw.example.com', secret, workflowId, { carried });
    expect(callbackOwner(url, secret)).toEqual({ ok: true, workflowId, carried });
    const other = encodeCarried({ e: [] }) ?? '';
    const tampered = new URL(url);
    tampered.searchParams.set('ev', other);
    expect(callbackOwner(tampered.toString(), secret).ok).toBe(false);
  });
});

describe('the number Status Change Webhook URL', () => {
  const secret = randomBytes(32).toString('base64url');

  it('is recognised by its own token only: a session token does not pass for it, nor it for a session', () => {
    const number = numberStatusUrl('https://gw.example.com', secret);
    expect(isNumberStatusUrl(number, secret)).toBe(true);
    expect(isNumberStatusUrl(number, 'other secret')).toBe(false);
    expect(callbackOwner(number, secret)).toEqual({ ok: true });

    const session = new URL(statusCallbackUrl('https://gw.example.com', secret, 'call:signalwire:x'));
    session.searchParams.delete('wf');
    expect(isNumberStatusUrl(session.toString(), secret)).toBe(false);
  });
});
