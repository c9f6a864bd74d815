import { randomUUID, sign } from 'node:crypto';
import { hookUrl, verifyHookToken } from '../../../src/providers/jambonz';
import { encodeClientState } from '../../../src/providers/telnyx';
import { decodeCarried, encodeCarried } from '../../../src/providers/session-url';
import {
  SIGNALWIRE_WEBHOOK_PATHS,
  callbackOwner,
  documentUrl,
  signSignalWireRequest,
  statusCallbackUrl,
} from '../../../src/providers/signalwire';
import { signatureHeader } from '../../../src/simulator/jambonz/hooks';
import { legPayload, telnyxAccount, telnyxEvent } from '../../support/telnyx-client';
import { blackHole, buildTestGateway, type TestGateway } from './helper';

/**
 * The webhook contract of every carrier plugin, through `app.inject` on the real gateway whose Temporal does not
 * answer: what is refused (401, 400) never reaches Temporal; a command carrier (Telnyx) and notifications get 503
 * with retry-after; a document carrier's request gets holding verbs or a holding document, in time, whose
 * redirect carries its events, signed.
 */

const BASE = 'https://gw.example.com';
const SIGNING_KEY = 'signalwire-signing-key';
const JAMBONZ_SECRET = 'jambonz-webhook-secret';
const telnyx = telnyxAccount();
const nowS = () => Math.floor(Date.now() / 1000);

let gateway: TestGateway;
beforeAll(async () => {
  gateway = await buildTestGateway({
    TELNYX_PUBLIC_KEY: telnyx.publicKey,
    SIGNALWIRE_SIGNING_KEY: SIGNING_KEY,
    JAMBONZ_WEBHOOK_SECRET: JAMBONZ_SECRET,
    PUBLIC_BASE_URL: BASE,
  });
});
afterAll(() => gateway.app.close());
beforeEach(() => {
  gateway.temporalCalls.length = 0;
});

const post = (url: string, raw: string, headers: Record<string, string>) =>
  gateway.app.inject({
    method: 'POST',
    url,
    headers: { 'content-type': 'application/json', ...headers },
    payload: raw,
  });

const refusedWithoutTemporal = (res: { statusCode: number; json(): unknown }, status: number, error: string) => {
  expect(res.statusCode).toBe(status);
  expect(res.json()).toEqual({ error, reason: expect.any(String) });
  expect(gateway.temporalCalls).toEqual([]);
};

const unavailable = (res: { statusCode: number; headers: Record<string, unknown>; json(): unknown }) => {
  expect(res.statusCode).toBe(503);
  expect(res.headers['retry-after']).toBe('1');
  expect(res.json()).toEqual({ error: 'temporarily unavailable', reason: expect.any(String) });
  expect(gateway.temporalCalls.length).toBeGreaterThan(0);
};

describe('telnyx: POST /webhooks/telnyx', () => {
  const signed = (raw: string, privateKey = telnyx.privateKey) => {
    const timestamp = String(Math.floor(Date.now() / 1000));
    const signature = sign(null, Buffer.from(`${timestamp}|${raw}`), privateKey).toString('base64');
    return { 'telnyx-timestamp': timestamp, 'telnyx-signature-ed25519': signature };
  };
  const initiated = () =>
    JSON.stringify(telnyxEvent('call.initiated', legPayload(`v3:${randomUUID()}`, { direction: 'incoming' })));

  it('refuses a bad signature with 401 and starts nothing', async () => {
    const raw = initiated();
    refusedWithoutTemporal(
      await post('/webhooks/telnyx', raw, signed(raw, telnyxAccount().privateKey)),
      401,
      'invalid signature',
    );
    refusedWithoutTemporal(await post('/webhooks/telnyx', raw, {}), 401, 'invalid signature');
  });

  it('answers 400 with the reason for a signed body that is not a Telnyx event', async () => {
    const raw = JSON.stringify({ data: { record_type: 'event' } });
    refusedWithoutTemporal(await post('/webhooks/telnyx', raw, signed(raw)), 400, 'malformed webhook');
  });

  it('ignores an event type no session uses, without Temporal', async () => {
    const raw = JSON.stringify(telnyxEvent('call.cost', legPayload(`v3:${randomUUID()}`)));
    const res = await post('/webhooks/telnyx', raw, signed(raw));
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ignored', reason: 'event type not used' });
    expect(gateway.temporalCalls).toEqual([]);
  });

  it('answers 503 with retry-after when Temporal does not take the event', async () => {
    const raw = initiated();
    unavailable(await post('/webhooks/telnyx', raw, signed(raw)));
    expect(gateway.temporalCalls).toContain('SignalWithStartWorkflowExecution');
  });

  describe('Programmable Fax webhooks', () => {
    const fax = (eventType: string, extra: Record<string, unknown> = {}) =>
      JSON.stringify(
        telnyxEvent(eventType, {
          fax_id: randomUUID(),
          direction: 'outbound',
          client_state: encodeClientState({ wf: 'fax:invoice-7' }),
          status: eventType.replace(/^fax\./, ''),
          ...extra,
        }),
      );

    it('checks their signature like call webhooks: 401 and nothing reaches Temporal', async () => {
      const raw = fax('fax.delivered', { page_count: 2 });
      refusedWithoutTemporal(
        await post('/webhooks/telnyx', raw, signed(raw, telnyxAccount().privateKey)),
        401,
        'invalid signature',
      );
    });

    it('signals the fax workflow named in client_state (never starts a call session)', async () => {
      const raw = fax('fax.failed', { failure_reason: 'user_busy' });
      unavailable(await post('/webhooks/telnyx', raw, signed(raw)));
      expect(gateway.temporalCalls).toContain('SignalWorkflowExecution');
      expect(gateway.temporalCalls).not.toContain('SignalWithStartWorkflowExecution');
    });

    it('refuses one without fax_id (400), and acknowledges fax.media.processed without Temporal', async () => {
      const noId = JSON.stringify(telnyxEvent('fax.delivered', { status: 'delivered', page_count: 1 }));
      refusedWithoutTemporal(await post('/webhooks/telnyx', noId, signed(noId)), 400, 'malformed webhook');
      const processed = fax('fax.media.processed');
      const res = await post('/webhooks/telnyx', processed, signed(processed));
      expect(res.statusCode).toBe(200);
      expect(gateway.temporalCalls).toEqual([]);
    });
  });
});

describe('signalwire: document fetches and status callbacks', () => {
  const signed = (path: string, raw: string, key = SIGNING_KEY) => ({
    'x-signalwire-signature': signSignalWireRequest(key, BASE + path, Buffer.from(raw)),
  });
  const fetchBody = (direction = 'inbound') =>
    JSON.stringify({
      call: { call_id: randomUUID(), call_state: 'created', direction, from: '+15557770100', to: '+15550001000' },
      vars: {},
      envs: {},
      params: {},
    });
  const documentPath = SIGNALWIRE_WEBHOOK_PATHS.document;

  it('refuses a document fetch with a bad or missing signature with 401 and starts nothing', async () => {
    const raw = fetchBody();
    refusedWithoutTemporal(
      await post(documentPath, raw, signed(documentPath, raw, 'other key')),
      401,
      'invalid signature',
    );
    refusedWithoutTemporal(await post(documentPath, raw, {}), 401, 'invalid signature');
  });

  it('refuses a signed fetch or a status callback whose URL token does not match its session', async () => {
    const workflowId = `call:signalwire:${randomUUID()}`;
    const forged = new URL(statusCallbackUrl(BASE, SIGNING_KEY, workflowId));
    forged.searchParams.set('wf', `call:signalwire:${randomUUID()}`);
    const status = forged.pathname + forged.search;
    refusedWithoutTemporal(await post(status, '{}', {}), 401, 'invalid callback url');

    const document = `${documentPath}${forged.search}`;
    const raw = fetchBody();
    refusedWithoutTemporal(await post(document, raw, signed(document, raw)), 401, 'invalid callback url');
  });

  it('refuses a status callback that carries neither our token nor a signature', async () => {
    refusedWithoutTemporal(await post(SIGNALWIRE_WEBHOOK_PATHS.status, '{}', {}), 401, 'invalid callback url');
  });

  it('answers 400 with the reason for an unreadable signed fetch, or an outbound one naming no session', async () => {
    const raw = JSON.stringify({ call: { call_id: 'x' } });
    refusedWithoutTemporal(await post(documentPath, raw, signed(documentPath, raw)), 400, 'malformed document fetch');
    const outbound = fetchBody('outbound');
    refusedWithoutTemporal(
      await post(documentPath, outbound, signed(documentPath, outbound)),
      400,
      'malformed document fetch',
    );
  });

  it('holds a new call with ringback when Temporal takes nothing; the hand-back carries its events, signed', async () => {
    const raw = fetchBody();
    const callId = (JSON.parse(raw) as { call: { call_id: string } }).call.call_id;
    const res = await post(documentPath, raw, signed(documentPath, raw));
    expect(res.statusCode).toBe(200);
    expect(gateway.temporalCalls).toContain('ExecuteMultiOperation');
    const { main } = res.json().sections;
    expect(main[0]).toEqual({ play: { url: expect.stringMatching(/^ring:\d+:us$/), auto_answer: false } });
    const dest = main[1].transfer.dest as string;
    const workflowId = `call:signalwire:${callId}`;
    const owner = callbackOwner(dest, SIGNING_KEY);
    expect(owner).toEqual({ ok: true, workflowId, carried: expect.any(String) });
    const carried = decodeCarried((owner as { carried: string }).carried) as { e: Array<{ kind: string }>; s?: 1 };
    expect(carried.s).toBe(1);
    expect(carried.e.map((e) => e.kind)).toContain('call.incoming');
    // Short-lived: the call comes back within seconds.
    expect(Number(new URL(dest).searchParams.get('exp')) - Date.now() / 1000).toBeLessThanOrEqual(660);

    // Back at the hold's URL, Temporal still down: held again, the events still carried (none lost).
    gateway.temporalCalls.length = 0;
    const back = new URL(dest);
    const backPath = back.pathname + back.search;
    const again = await post(backPath, raw, signed(backPath, raw));
    expect(again.statusCode).toBe(200);
    expect(gateway.temporalCalls).toContain('ExecuteMultiOperation');
    const next = again.json().sections.main[1];
    const carriedAgain = callbackOwner(next.transfer.dest as string, SIGNING_KEY) as { carried: string };
    expect(decodeCarried(carriedAgain.carried)).toEqual(carried);
  });

  it('refuses a hold URL whose carried events were altered, or that has expired, with 401', async () => {
    const workflowId = `call:signalwire:${randomUUID()}`;
    const carried = encodeCarried({ e: [] }) ?? '';
    const genuine = new URL(documentUrl(BASE, SIGNING_KEY, workflowId, { carried, expiresAt: nowS() + 60 }));
    genuine.searchParams.set('ev', encodeCarried({ e: [{ kind: 'call.ended' }] }) ?? '');
    const tampered = genuine.pathname + genuine.search;
    const raw = fetchBody();
    refusedWithoutTemporal(await post(tampered, raw, signed(tampered, raw)), 401, 'invalid callback url');

    const old = new URL(documentUrl(BASE, SIGNING_KEY, workflowId, { carried, expiresAt: nowS() - 1 }));
    const expired = old.pathname + old.search;
    const res = await post(expired, raw, signed(expired, raw));
    refusedWithoutTemporal(res, 401, 'invalid callback url');
    expect(res.json()).toMatchObject({ reason: expect.stringContaining('expired') });
  });

  it('answers a status callback 503 with retry-after when Temporal does not take it', async () => {
    const workflowId = `call:signalwire:${randomUUID()}`;
    const url = new URL(statusCallbackUrl(BASE, SIGNING_KEY, workflowId));
    const raw = JSON.stringify({
      event_type: 'calling.call.state',
      timestamp: Date.now() / 1000,
      params: { call_id: randomUUID(), call_state: 'ended', direction: 'inbound', from: '+1555', to: '+1556' },
    });
    const path = url.pathname + url.search;
    unavailable(await post(path, raw, {}));
  });
});

describe('jambonz: POST /webhooks/jambonz?hook=...', () => {
  const callInfo = () =>
    JSON.stringify({
      call_sid: randomUUID(),
      direction: 'inbound',
      from: '+15557779101',
      to: '+15550001000',
      call_id: `${randomUUID()}@10.0.1.5`,
      sip_status: 100,
      call_status: 'trying',
      account_sid: '9351f46a-678c-43f5-b8a6-d4eb58d131af',
    });
  const signed = (raw: string, secret = JAMBONZ_SECRET) => ({ 'jambonz-signature': signatureHeader(secret, raw) });
  const pathOf = (url: string) => {
    const parsed = new URL(url);
    return parsed.pathname + parsed.search;
  };

  it('refuses a bad or missing signature with 401 and starts nothing', async () => {
    const raw = callInfo();
    refusedWithoutTemporal(
      await post('/webhooks/jambonz?hook=call', raw, signed(raw, 'other')),
      401,
      'invalid signature',
    );
    refusedWithoutTemporal(await post('/webhooks/jambonz?hook=call', raw, {}), 401, 'invalid signature');
  });

  it('answers 400 for a hook it does not serve', async () => {
    const raw = callInfo();
    const res = await post('/webhooks/jambonz?hook=fax', raw, signed(raw));
    refusedWithoutTemporal(res, 400, 'unknown hook');
    expect(res.json()).toMatchObject({ reason: '?hook=fax is not a jambonz hook this gateway serves' });
  });

  it('refuses a hook URL whose token was not made with our secret, or that names no session', async () => {
    const workflowId = `call:jambonz:${randomUUID()}`;
    const raw = callInfo();
    const forged = pathOf(hookUrl(BASE, 'another-secret', workflowId, 'gather', `${workflowId}#2`));
    refusedWithoutTemporal(await post(forged, raw, signed(raw)), 401, 'invalid hook token');
    refusedWithoutTemporal(await post('/webhooks/jambonz?hook=gather', raw, signed(raw)), 401, 'invalid hook token');
  });

  it('answers 400 with the reason for a body it cannot read', async () => {
    refusedWithoutTemporal(
      await post('/webhooks/jambonz?hook=call', 'not json', signed('not json')),
      400,
      'malformed webhook',
    );
  });

  it('answers a status hook 503 with retry-after when Temporal takes nothing', async () => {
    const raw = callInfo();
    const workflowId = `call:jambonz:${randomUUID()}`;
    const status = pathOf(hookUrl(BASE, JAMBONZ_SECRET, workflowId, 'status'));
    unavailable(await post(status, raw, signed(raw)));
  });

  it('holds a new call when Temporal takes nothing: the redirect carries its events, signed, and starts it later', async () => {
    const raw = callInfo();
    const callSid = (JSON.parse(raw) as { call_sid: string }).call_sid;
    const res = await post('/webhooks/jambonz?hook=call', raw, signed(raw));
    expect(res.statusCode).toBe(200);
    expect(gateway.temporalCalls).toContain('ExecuteMultiOperation');
    const verbs = res.json<Array<{ verb: string; actionHook?: string }>>();
    expect(verbs.map((v) => v.verb)).toEqual(['pause', 'redirect']);
    const redirect = verbs[1].actionHook ?? '';
    const token = verifyHookToken(redirect, [JAMBONZ_SECRET]);
    expect(token).toEqual({
      ok: true,
      hook: 'next',
      workflowId: `call:jambonz:${callSid}`,
      controlId: undefined,
      carried: expect.any(String),
    });
    const carried = decodeCarried((token as { carried: string }).carried) as { e: Array<{ kind: string }>; s?: 1 };
    expect(carried).toMatchObject({ s: 1, e: [expect.objectContaining({ kind: 'call.incoming', callId: callSid })] });
    expect(redirect.length).toBeLessThan(2048);

    // jambonz follows the redirect while Temporal is still down: the session is still to be started
    // (update-with-start again) and the events ride on.
    gateway.temporalCalls.length = 0;
    const next = JSON.stringify({ ...JSON.parse(raw), call_status: 'in-progress', sip_status: 200 });
    const again = await post(pathOf(redirect), next, signed(next));
    expect(again.statusCode).toBe(200);
    expect(gateway.temporalCalls).toContain('ExecuteMultiOperation');
    const nextRedirect = again.json()[1].actionHook ?? '';
    const carriedAgain = verifyHookToken(nextRedirect, [JAMBONZ_SECRET]) as { carried: string };
    expect((decodeCarried(carriedAgain.carried) as { e: unknown[] }).e).toEqual(expect.arrayContaining(carried.e));
  });

  it('refuses a hold redirect whose carried events were altered, or that has expired, with 401', async () => {
    const workflowId = `call:jambonz:${randomUUID()}`;
    const carried = encodeCarried({ e: [] }) ?? '';
    const genuine = new URL(hookUrl(BASE, JAMBONZ_SECRET, workflowId, 'next', undefined, { carried }));
    genuine.searchParams.set('ev', encodeCarried({ e: [{ kind: 'call.ended' }] }) ?? '');
    const raw = callInfo();
    refusedWithoutTemporal(await post(pathOf(genuine.toString()), raw, signed(raw)), 401, 'invalid hook token');

    const expired = hookUrl(BASE, JAMBONZ_SECRET, workflowId, 'next', undefined, {
      carried,
      expiresAt: nowS() - 1,
    });
    const res = await post(pathOf(expired), raw, signed(raw));
    refusedWithoutTemporal(res, 401, 'invalid hook token');
    expect(res.json()).toMatchObject({ reason: expect.stringContaining('expired') });
  });
});

describe('deadlines: a Temporal that hangs', () => {
  const DEADLINE_MS = 1500;
  let hole: Awaited<ReturnType<typeof blackHole>>;
  let hanging: TestGateway;
  beforeAll(async () => {
    hole = await blackHole();
    hanging = await buildTestGateway(
      {
        TELNYX_PUBLIC_KEY: telnyx.publicKey,
        SIGNALWIRE_SIGNING_KEY: SIGNING_KEY,
        JAMBONZ_WEBHOOK_SECRET: JAMBONZ_SECRET,
        PUBLIC_BASE_URL: BASE,
        JAMBONZ_HOOK_WAIT_MS: '300',
        JAMBONZ_HOOK_DEADLINE_MS: String(DEADLINE_MS),
        SIGNALWIRE_DOCUMENT_WAIT_MS: '300',
        SIGNALWIRE_FETCH_DEADLINE_MS: String(DEADLINE_MS),
        TELNYX_WEBHOOK_DEADLINE_MS: '500',
      },
      hole.address,
    );
  });
  afterAll(async () => {
    await hanging.app.close();
    await hole.close();
  });
  const timed = async (url: string, raw: string, headers: Record<string, string>) => {
    const started = Date.now();
    const res = await hanging.app.inject({
      method: 'POST',
      url,
      headers: { 'content-type': 'application/json', ...headers },
      payload: raw,
    });
    return { res, elapsed: Date.now() - started };
  };

  it('answers a jambonz call_hook with holding verbs before the hook deadline', async () => {
    const raw = JSON.stringify({
      call_sid: randomUUID(),
      direction: 'inbound',
      from: '+15557779101',
      to: '+15550001000',
      call_id: `${randomUUID()}@10.0.1.5`,
      sip_status: 100,
      call_status: 'trying',
      account_sid: '9351f46a-678c-43f5-b8a6-d4eb58d131af',
    });
    const { res, elapsed } = await timed('/webhooks/jambonz?hook=call', raw, {
      'jambonz-signature': signatureHeader(JAMBONZ_SECRET, raw),
    });
    expect(elapsed).toBeLessThan(DEADLINE_MS);
    expect(res.statusCode).toBe(200);
    const verbs = res.json<Array<{ verb: string; actionHook?: string }>>();
    expect(verbs.map((v) => v.verb)).toEqual(['pause', 'redirect']);
    expect(verifyHookToken(verbs[1].actionHook ?? '', [JAMBONZ_SECRET])).toMatchObject({
      ok: true,
      carried: expect.any(String),
    });
    expect(hanging.temporalCalls).toContain('ExecuteMultiOperation');
  });

  it('answers a SignalWire fetch with a holding document before the fetch deadline', async () => {
    const raw = JSON.stringify({
      call: {
        call_id: randomUUID(),
        call_state: 'created',
        direction: 'inbound',
        from: '+15557770100',
        to: '+15550001000',
      },
      vars: {},
      envs: {},
      params: {},
    });
    const path = SIGNALWIRE_WEBHOOK_PATHS.document;
    const { res, elapsed } = await timed(path, raw, {
      'x-signalwire-signature': signSignalWireRequest(SIGNING_KEY, BASE + path, Buffer.from(raw)),
    });
    expect(elapsed).toBeLessThan(DEADLINE_MS);
    expect(res.statusCode).toBe(200);
    const { main } = res.json().sections;
    expect(callbackOwner(main[1].transfer.dest as string, SIGNING_KEY)).toMatchObject({
      ok: true,
      carried: expect.any(String),
    });
  });

  it('answers Telnyx 503 fast (it retries), within its deadline', async () => {
    const raw = JSON.stringify(
      telnyxEvent('call.initiated', legPayload(`v3:${randomUUID()}`, { direction: 'incoming' })),
    );
    const timestamp = String(Math.floor(Date.now() / 1000));
    const signature = sign(null, Buffer.from(`${timestamp}|${raw}`), telnyx.privateKey).toString('base64');
    const { res, elapsed } = await timed('/webhooks/telnyx', raw, {
      'telnyx-timestamp': timestamp,
      'telnyx-signature-ed25519': signature,
    });
    expect(elapsed).toBeLessThan(500);
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toBe('1');
  });
});
