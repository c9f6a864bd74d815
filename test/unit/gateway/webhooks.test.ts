import { randomUUID, sign } from 'node:crypto';
import { hookUrl } from '../../../src/providers/jambonz';
import { SIGNALWIRE_WEBHOOK_PATHS, signSignalWireRequest, statusCallbackUrl } from '../../../src/providers/signalwire';
import { signatureHeader } from '../../../src/simulator/jambonz/hooks';
import { legPayload, telnyxAccount, telnyxEvent } from '../../support/telnyx-client';
import { buildTestGateway, type TestGateway } from './helper';

/**
 * The webhook contract of every carrier plugin, through `app.inject` on the real gateway whose Temporal does not
 * answer: what is refused (401, 400) never reaches Temporal, and what should reach it gets 503 with retry-after.
 */

const BASE = 'https://gw.example.com';
const SIGNING_KEY = 'signalwire-signing-key';
const JAMBONZ_SECRET = 'jambonz-webhook-secret';
const telnyx = telnyxAccount();

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

  it('answers 503 with retry-after when Temporal takes neither the update nor the signal', async () => {
    const raw = fetchBody();
    unavailable(await post(documentPath, raw, signed(documentPath, raw)));
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

  it('answers 503 with retry-after when Temporal takes nothing of a call hook or a status hook', async () => {
    const raw = callInfo();
    unavailable(await post('/webhooks/jambonz?hook=call', raw, signed(raw)));
    gateway.temporalCalls.length = 0;
    const workflowId = `call:jambonz:${randomUUID()}`;
    const status = pathOf(hookUrl(BASE, JAMBONZ_SECRET, workflowId, 'status'));
    unavailable(await post(status, raw, signed(raw)));
  });
});
