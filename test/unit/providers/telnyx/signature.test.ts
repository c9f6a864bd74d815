import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { createTelnyxAdapter, telnyxPublicKey, verifyTelnyxSignature } from '../../../../src/providers/telnyx';

/** Keys are generated here, as a Telnyx account would have them; nothing is a stored fixture. */
function keyPair(): { privateKey: KeyObject; publicBase64: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const der = publicKey.export({ format: 'der', type: 'spki' });
  return { privateKey, publicBase64: der.subarray(der.length - 32).toString('base64') };
}

function signed(privateKey: KeyObject, body: string, timestamp: number) {
  const signature = sign(null, Buffer.from(`${timestamp}|${body}`), privateKey).toString('base64');
  return {
    url: '/webhooks/telnyx',
    rawBody: Buffer.from(body),
    headers: { 'telnyx-signature-ed25519': signature, 'telnyx-timestamp': String(timestamp) },
  };
}

describe('Telnyx webhook signatures', () => {
  const account = keyPair();
  const key = telnyxPublicKey(account.publicBase64);
  const body = JSON.stringify({
    data: { event_type: 'call.answered', id: 'e1', occurred_at: '2026-01-01T00:00:00Z', payload: {} },
  });
  const now = 1_800_000_000_000;
  const nowSeconds = now / 1000;

  it('accepts a signature made with the account key over "timestamp|body"', () => {
    expect(verifyTelnyxSignature(signed(account.privateKey, body, nowSeconds), key, now)).toEqual({ ok: true });
  });

  it('refuses a signature made with another key', () => {
    const other = keyPair();
    const result = verifyTelnyxSignature(signed(other.privateKey, body, nowSeconds), key, now);
    expect(result).toEqual({ ok: false, reason: 'signature does not match' });
  });

  it('refuses a tampered body', () => {
    const webhook = signed(account.privateKey, body, nowSeconds);
    webhook.rawBody = Buffer.from(body.replace('call.answered', 'call.hangup'));
    expect(verifyTelnyxSignature(webhook, key, now).ok).toBe(false);
  });

  it('refuses a timestamp more than 300 s old or ahead, and accepts one just inside', () => {
    expect(verifyTelnyxSignature(signed(account.privateKey, body, nowSeconds - 301), key, now)).toMatchObject({
      ok: false,
      reason: expect.stringContaining('301 s'),
    });
    expect(verifyTelnyxSignature(signed(account.privateKey, body, nowSeconds + 301), key, now).ok).toBe(false);
    expect(verifyTelnyxSignature(signed(account.privateKey, body, nowSeconds - 299), key, now).ok).toBe(true);
  });

  it('refuses a timestamp that was changed after signing', () => {
    const webhook = signed(account.privateKey, body, nowSeconds);
    webhook.headers['telnyx-timestamp'] = String(nowSeconds - 1);
    expect(verifyTelnyxSignature(webhook, key, now).ok).toBe(false);
  });

  it('refuses missing or malformed headers with a reason', () => {
    expect(verifyTelnyxSignature({ url: '/', rawBody: Buffer.from(body), headers: {} }, key, now)).toMatchObject({
      ok: false,
      reason: expect.stringContaining('missing'),
    });
    const webhook = signed(account.privateKey, body, nowSeconds);
    webhook.headers['telnyx-signature-ed25519'] = 'bm90IGEgc2lnbmF0dXJl';
    expect(verifyTelnyxSignature(webhook, key, now)).toMatchObject({
      ok: false,
      reason: expect.stringContaining('64-byte'),
    });
  });

  it('rejects a public key that is not 32 bytes, and refuses everything without a key', () => {
    expect(() => telnyxPublicKey(Buffer.alloc(31).toString('base64'))).toThrow(/32 bytes/);
    const adapter = createTelnyxAdapter({ connectionId: 'c', faxConnectionId: 'f', voice: 'v' });
    expect(adapter.verify(signed(account.privateKey, body, nowSeconds), now)).toMatchObject({
      ok: false,
      reason: expect.stringContaining('TELNYX_PUBLIC_KEY'),
    });
  });
});
