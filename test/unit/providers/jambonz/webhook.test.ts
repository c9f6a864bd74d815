import { createHmac, randomBytes } from 'node:crypto';
import {
  applicationHookUrl,
  hookToken,
  hookUrl,
  JAMBONZ_HOOK_PATH,
  SIGNATURE_TOLERANCE_SECONDS,
  verifyHookToken,
  verifyJambonzSignature,
} from '../../../../src/providers/jambonz';

/** Secrets are made per run: no signed fixture is stored anywhere. */
const secret = randomBytes(24).toString('hex');
const previousSecret = randomBytes(24).toString('hex');
const nowMs = Date.UTC(2026, 0, 15, 12, 0, 0);
const nowSeconds = nowMs / 1000;

const rawBody = Buffer.from(
  JSON.stringify({
    call_sid: 'b1c2d3',
    direction: 'inbound',
    from: '+15551230000',
    to: '+15559870000',
    call_status: 'trying',
  }),
);

/** Signs as the feature server does: HMAC-SHA256(secret, "<t>.<body>"), hex. */
function sign(body: Buffer, key: string, timestamp: number): string {
  return createHmac('sha256', key).update(`${timestamp}.`).update(body).digest('hex');
}

function webhook(signature: string | undefined, body = rawBody) {
  return { headers: signature === undefined ? {} : { 'jambonz-signature': signature }, rawBody: body };
}

describe('verifyJambonzSignature', () => {
  it('accepts a body signed with the secret', () => {
    const header = `t=${nowSeconds},v1=${sign(rawBody, secret, nowSeconds)}`;
    expect(verifyJambonzSignature(webhook(header), [secret], nowMs)).toEqual({ ok: true });
  });

  it('finds the header whatever its case', () => {
    const header = `t=${nowSeconds},v1=${sign(rawBody, secret, nowSeconds)}`;
    const request = { headers: { 'Jambonz-Signature': header }, rawBody };
    expect(verifyJambonzSignature(request, [secret], nowMs)).toEqual({ ok: true });
  });

  it('accepts any one of several v1 signatures', () => {
    const header = `t=${nowSeconds},v1=${'0'.repeat(64)},v1=${sign(rawBody, secret, nowSeconds)}`;
    expect(verifyJambonzSignature(webhook(header), [secret], nowMs)).toEqual({ ok: true });
  });

  it('accepts the previous secret during rotation', () => {
    const header = `t=${nowSeconds},v1=${sign(rawBody, previousSecret, nowSeconds)}`;
    expect(verifyJambonzSignature(webhook(header), [secret, previousSecret], nowMs)).toEqual({ ok: true });
  });

  it('rejects a signature made with another secret', () => {
    const header = `t=${nowSeconds},v1=${sign(rawBody, randomBytes(24).toString('hex'), nowSeconds)}`;
    expect(verifyJambonzSignature(webhook(header), [secret], nowMs)).toEqual({
      ok: false,
      reason: 'Jambonz-Signature does not match the body for any configured secret',
    });
  });

  it('rejects a tampered body', () => {
    const header = `t=${nowSeconds},v1=${sign(rawBody, secret, nowSeconds)}`;
    const tampered = Buffer.from(rawBody.toString().replace('+15559870000', '+15559870001'));
    expect(verifyJambonzSignature(webhook(header, tampered), [secret], nowMs)).toMatchObject({
      ok: false,
      reason: expect.stringContaining('does not match'),
    });
  });

  it('rejects a timestamp moved after signing', () => {
    const header = `t=${nowSeconds + 1},v1=${sign(rawBody, secret, nowSeconds)}`;
    expect(verifyJambonzSignature(webhook(header), [secret], nowMs)).toMatchObject({ ok: false });
  });

  it('rejects a stale signature', () => {
    const then = nowSeconds - SIGNATURE_TOLERANCE_SECONDS - 1;
    const header = `t=${then},v1=${sign(rawBody, secret, then)}`;
    expect(verifyJambonzSignature(webhook(header), [secret], nowMs)).toEqual({
      ok: false,
      reason: `stale Jambonz-Signature: t=${then} is 301 s from now (tolerance 300 s)`,
    });
  });

  it('rejects a signature from the future beyond the tolerance', () => {
    const later = nowSeconds + SIGNATURE_TOLERANCE_SECONDS + 60;
    const header = `t=${later},v1=${sign(rawBody, secret, later)}`;
    expect(verifyJambonzSignature(webhook(header), [secret], nowMs)).toMatchObject({
      ok: false,
      reason: expect.stringContaining('stale Jambonz-Signature'),
    });
  });

  it('accepts a signature at the edge of the tolerance', () => {
    const then = nowSeconds - SIGNATURE_TOLERANCE_SECONDS;
    const header = `t=${then},v1=${sign(rawBody, secret, then)}`;
    expect(verifyJambonzSignature(webhook(header), [secret], nowMs)).toEqual({ ok: true });
  });

  it('rejects a request without the header', () => {
    expect(verifyJambonzSignature(webhook(undefined), [secret], nowMs)).toEqual({
      ok: false,
      reason: 'missing Jambonz-Signature header',
    });
  });

  it.each([
    ['no timestamp', `v1=${'a'.repeat(64)}`, 'no t= timestamp'],
    ['no signature', `t=${1700000000}`, 'no v1= signature'],
    ['a timestamp that is not a number', `t=yesterday,v1=${'a'.repeat(64)}`, 't="yesterday" is not unix seconds'],
    ['a short signature', `t=${1700000000},v1=abc`, 'a v1 signature is not 64 hex digits'],
    ['an element without =', `t=${1700000000},v1`, 'element "v1" is not key=value'],
  ])('rejects a header with %s', (_what, header, reason) => {
    expect(verifyJambonzSignature(webhook(header), [secret], nowMs)).toEqual({
      ok: false,
      reason: `malformed Jambonz-Signature header: ${reason}`,
    });
  });

  it('skips schemes it does not know', () => {
    const header = `t=${nowSeconds},v0=legacy,v1=${sign(rawBody, secret, nowSeconds)}`;
    expect(verifyJambonzSignature(webhook(header), [secret], nowMs)).toEqual({ ok: true });
  });

  it('refuses to verify without a secret', () => {
    const header = `t=${nowSeconds},v1=${sign(rawBody, '', nowSeconds)}`;
    expect(verifyJambonzSignature(webhook(header), [''], nowMs)).toEqual({
      ok: false,
      reason: 'no jambonz webhook secret is configured',
    });
  });
});

describe('hook URLs', () => {
  const hookSecret = randomBytes(32).toString('base64url');
  const base = 'https://gateway.example.com/';
  const workflowId = 'call:jambonz:1f0e';
  const controlId = 'call:jambonz:1f0e#7';

  it('name the session, the hook and the operation, with a token', () => {
    const url = new URL(hookUrl(base, hookSecret, workflowId, 'gather', controlId));
    expect(url.origin + url.pathname).toBe(`https://gateway.example.com${JAMBONZ_HOOK_PATH}`);
    expect(Object.fromEntries(url.searchParams)).toMatchObject({ hook: 'gather', wf: workflowId, op: controlId });
    expect(verifyHookToken(url.toString(), [hookSecret])).toEqual({ ok: true, hook: 'gather', workflowId, controlId });
  });

  it('verify from the request path alone, as a server sees it', () => {
    const url = new URL(hookUrl(base, hookSecret, workflowId, 'play', controlId));
    expect(verifyHookToken(url.pathname + url.search, [hookSecret])).toMatchObject({ ok: true, hook: 'play' });
  });

  it('work without an operation', () => {
    expect(verifyHookToken(hookUrl(base, hookSecret, workflowId, 'next'), [hookSecret])).toEqual({
      ok: true,
      hook: 'next',
      workflowId,
      controlId: undefined,
    });
  });

  it('accept the previous secret during rotation', () => {
    const url = hookUrl(base, hookSecret, workflowId, 'dial', controlId);
    expect(verifyHookToken(url, ['new-secret', hookSecret])).toMatchObject({ ok: true });
  });

  it.each([
    ['the workflow id', 'wf', 'call:jambonz:someone-else'],
    ['the operation', 'op', 'call:jambonz:1f0e#8'],
    ['the hook', 'hook', 'play'],
    ['the token', 'token', 'AAAA'],
  ])('reject a URL whose %s was changed', (_what, param, value) => {
    const url = new URL(hookUrl(base, hookSecret, workflowId, 'gather', controlId));
    url.searchParams.set(param, value);
    expect(verifyHookToken(url.toString(), [hookSecret])).toMatchObject({ ok: false });
  });

  it('reject a token made with another secret', () => {
    const url = hookUrl(base, 'someone-elses-secret', workflowId, 'gather', controlId);
    expect(verifyHookToken(url, [hookSecret])).toEqual({
      ok: false,
      reason: 'hook "gather" token does not match its workflow id and operation',
    });
  });

  it('let application hooks through without a session', () => {
    expect(verifyHookToken(applicationHookUrl(base, 'call'), [hookSecret])).toEqual({ ok: true, hook: 'call' });
    // The status hook asks jambonz to retry (the fragment is not sent; the request carries only path and query).
    const statusHook = applicationHookUrl(base, 'status');
    expect(statusHook).toMatch(/\?hook=status#rc=5&rp=all$/);
    expect(verifyHookToken(statusHook.split('#')[0], [hookSecret])).toEqual({ ok: true, hook: 'status' });
  });

  it('refuse an operation hook without a session', () => {
    expect(verifyHookToken(`${JAMBONZ_HOOK_PATH}?hook=gather`, [hookSecret])).toEqual({
      ok: false,
      reason: 'hook "gather" must name its session (wf) and carry a token',
    });
  });

  it('refuse a session without a token', () => {
    expect(verifyHookToken(`${JAMBONZ_HOOK_PATH}?hook=call&wf=call:jambonz:x`, [hookSecret])).toEqual({
      ok: false,
      reason: 'hook "call" has a partial session reference (wf and token go together)',
    });
  });

  it('carry the token hookToken makes, which a hook URL of another hook or operation does not share', () => {
    const url = new URL(hookUrl(base, hookSecret, workflowId, 'gather', controlId));
    expect(url.searchParams.get('token')).toBe(hookToken(hookSecret, 'gather', workflowId, controlId));
    expect(hookToken(hookSecret, 'gather', workflowId)).not.toBe(hookToken(hookSecret, 'gather', workflowId, ''));
    expect(hookToken(hookSecret, 'play', workflowId, controlId)).not.toBe(url.searchParams.get('token'));
  });

  it('refuse an unknown hook', () => {
    expect(verifyHookToken(`${JAMBONZ_HOOK_PATH}?hook=fax`, [hookSecret])).toEqual({
      ok: false,
      reason: 'unknown hook "fax"',
    });
  });
});
