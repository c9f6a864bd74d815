import { existsSync } from 'node:fs';
import { generateKeyPairSync } from 'node:crypto';
import { request } from 'undici';
import {
  defaultSpecPath,
  startTelnyxSimulator,
  validateTelnyxRequest,
  validateTelnyxWebhook,
  type CommandLogEntry,
  type DeliveredWebhook,
  type TelnyxSimulator,
} from '../../../src/simulator';
import {
  signatureIsValid,
  startReceiver,
  TelnyxClient,
  type WebhookReceiver,
  API_KEY,
  TIME_SCALE,
  telnyxOptions,
} from './telnyx-support';

/** The wire protocol: auth, spec validation, errors, idempotency, faults, signing and delivery. */

let receiver: WebhookReceiver;
let sim: TelnyxSimulator;
let api: TelnyxClient;

beforeAll(async () => {
  expect(existsSync(defaultSpecPath())).toBe(true);
  receiver = await startReceiver();
  sim = await startTelnyxSimulator({
    ...telnyxOptions(receiver),
    agents: { '+15550002000': { behaviour: 'busy' }, '+15550003000': { behaviour: 'no-answer' } },
  });
  api = new TelnyxClient(sim.baseUrl, API_KEY);
});

afterAll(async () => {
  // Every webhook the simulator sent in this file matches its schema in the spec.
  for (const webhook of receiver.all) expect(validateTelnyxWebhook(webhook.raw.toString('utf8'))).toEqual([]);
  for (const webhook of sim.webhooks()) expect(webhook.specErrors).toEqual([]);
  await sim.close();
  await receiver.close();
});

async function answeredCall(script: Partial<Parameters<TelnyxSimulator['placeInboundCall']>[0]> = {}): Promise<string> {
  const { callControlId } = await sim.placeInboundCall({ from: '+15550001000', to: '+15550009999', ...script });
  await receiver.waitForEvent(callControlId, 'call.initiated');
  expect((await api.action(callControlId, 'answer')).status).toBe(200);
  await receiver.waitForEvent(callControlId, 'call.answered');
  return callControlId;
}

describe('spec validator', () => {
  it('rejects webhook properties the spec does not declare, and wrong enum values', () => {
    const body = {
      data: {
        record_type: 'event',
        event_type: 'call.hangup',
        id: '0ccc7b54-4df3-4bca-a65a-3da1ecc777f0',
        occurred_at: '2018-02-02T22:25:27.521992Z',
        payload: { call_control_id: 'v3:x', hangup_cause: 'hung_up', invented: true },
      },
    };
    const errors = validateTelnyxWebhook(body);
    expect(errors.some((e) => e.includes('invented'))).toBe(true);
    expect(errors.some((e) => e.includes('hangup_cause'))).toBe(true);
  });

  it('validates request bodies against the operation schema', () => {
    expect(validateTelnyxRequest('/calls', 'post', { connection_id: 'c', from: '+1', to: '+2' })).toEqual([]);
    expect(validateTelnyxRequest('/calls', 'post', { connection_id: 'c', from: '+1' })).toEqual([
      "/to: must have required property 'to'",
    ]);
  });
});

describe('REST surface', () => {
  it('answers 401 with a Telnyx error body without a valid Bearer key', async () => {
    const { callControlId } = await sim.placeInboundCall({ from: '+15550001000', to: '+15550009999' });
    for (const client of [new TelnyxClient(sim.baseUrl, undefined), new TelnyxClient(sim.baseUrl, 'wrong')]) {
      const response = await client.action(callControlId, 'answer');
      expect(response.status).toBe(401);
      expect(response.body.errors[0]).toMatchObject({ code: '10009', title: 'Authentication failed' });
    }
    expect(sim.getCall(callControlId)?.state).toBe('parked');
    await api.action(callControlId, 'hangup');
  });

  it('refuses bodies that break the spec with 422 and the matching Telnyx code', async () => {
    const id = await answeredCall();
    const noVoice = await api.action(id, 'gather_using_speak', { payload: 'Press 1' });
    expect(noVoice.status).toBe(422);
    expect(noVoice.body.errors[0]).toMatchObject({ code: '10004', source: { pointer: '/voice' } });

    const badEnum = await api.action(id, 'record_start', { format: 'mp3', channels: 'triple' });
    expect(badEnum.status).toBe(422);
    expect(badEnum.body.errors[0]).toMatchObject({ code: '10032', source: { pointer: '/channels' } });

    const badType = await api.action(id, 'gather', { maximum_digits: 'one' });
    expect(badType.status).toBe(422);
    expect(badType.body.errors[0]).toMatchObject({ code: '10015', source: { pointer: '/maximum_digits' } });

    const dialWithoutTo = await api.dial({ connection_id: sim.connectionId, from: '+15550009999' });
    expect(dialWithoutTo.status).toBe(422);
    expect(dialWithoutTo.body.errors[0]).toMatchObject({ code: '10004', source: { pointer: '/to' } });

    const wrongApp = await api.dial({ connection_id: 'nope', from: '+15550009999', to: '+15550004000' });
    expect(wrongApp.body.errors[0].code).toBe('10015');
    const notE164 = await api.dial({ connection_id: sim.connectionId, from: '555', to: '+15550004000' });
    expect(notE164.body.errors[0]).toMatchObject({ code: '10016', source: { pointer: '/from' } });

    // None of them ran: no speak or gather events on the leg.
    expect(receiver.events(id).map((w) => w.body.data.event_type)).toEqual(['call.initiated', 'call.answered']);
    await api.action(id, 'hangup');
  });

  it('answers 422 90015 for an unknown call, 404 for an action it does not have, 90034 before answer', async () => {
    const unknown = await api.action('v3:nope', 'hangup');
    expect(unknown.status).toBe(422);
    expect(unknown.body.errors[0]).toMatchObject({ code: '90015', title: 'Invalid Call Control ID' });
    expect((await api.call('GET', '/calls/v3:nope')).body.errors[0].code).toBe('90015');

    const { callControlId } = await sim.placeInboundCall({ from: '+15550001000', to: '+15550009999' });
    expect((await api.action(callControlId, 'dance')).status).toBe(404);
    expect(
      (await api.call('POST', `/calls/${callControlId}/actions/client_state_update`, { client_state: 'eA==' })).status,
    ).toBe(404);
    const early = await api.action(callControlId, 'speak', { payload: 'hi', voice: 'female' });
    expect(early.body.errors[0]).toMatchObject({ code: '90034' });
    await api.action(callControlId, 'hangup');
  });

  it('answers 422 90018 to any command after the call has ended, and GET shows is_alive false', async () => {
    const id = await answeredCall();
    expect((await api.call('GET', `/calls/${id}`)).body.data).toMatchObject({
      call_control_id: id,
      is_alive: true,
      record_type: 'call',
    });
    expect((await api.action(id, 'hangup')).status).toBe(200);
    for (const action of ['hangup', 'speak', 'answer']) {
      const response = await api.action(id, action, { payload: 'x', voice: 'female' });
      expect(response.status).toBe(422);
      expect(response.body).toEqual({
        errors: [
          {
            code: '90018',
            title: 'Call has already ended',
            detail: "This call is no longer active and can't receive commands.",
          },
        ],
      });
    }
    const status = await api.call('GET', `/calls/${id}`);
    expect(status.body.data).toMatchObject({ is_alive: false, call_control_id: id });
    expect(typeof status.body.data.end_time).toBe('string');
  });

  it('acknowledges a repeated command_id without running it again', async () => {
    const id = await answeredCall();
    const speak = { payload: 'Hello', voice: 'female', command_id: 'cmd-1' };
    expect((await api.action(id, 'speak', speak)).body).toEqual({ data: { result: 'ok' } });
    expect((await api.action(id, 'speak', speak)).body).toEqual({ data: { result: 'ok' } });
    // Same id for the same call, even on another action: ignored.
    expect((await api.action(id, 'hangup', { command_id: 'cmd-1' })).status).toBe(200);
    await receiver.waitForEvent(id, 'call.speak.ended');
    expect(sim.getCall(id)?.heard).toEqual(['Hello']);
    expect(sim.getCall(id)?.state).toBe('answered');
    const logged = sim.commands().filter((c) => c.callControlId === id && c.commandId === 'cmd-1');
    expect(logged.map((c) => c.duplicate)).toEqual([false, true, true]);

    const dial = { connection_id: sim.connectionId, from: '+15550009999', to: '+15550004000', command_id: 'dial-1' };
    const first = await api.dial(dial);
    const second = await api.dial(dial);
    expect(second.body).toEqual(first.body);
    expect(first.body.data).toMatchObject({ is_alive: false, record_type: 'call' });
    await api.action(id, 'hangup');
    await api.action(first.body.data.call_control_id as string, 'hangup');
  });

  it('updates client_state with PUT client_state_update and echoes the latest value on every later webhook', async () => {
    const { callControlId: id } = await sim.placeInboundCall({ from: '+15550001000', to: '+15550009999' });
    await api.action(id, 'answer', { client_state: 'Zmlyc3Q=' });
    expect((await api.action(id, 'client_state_update', { client_state: 'c2Vjb25k' })).status).toBe(200);
    await api.action(id, 'speak', { payload: 'Hi', voice: 'female' });
    await receiver.waitForEvent(id, 'call.speak.ended');
    await api.action(id, 'hangup');
    await sim.waitForCallEnd(id, 5_000);
    const states = receiver.events(id).map((w) => [w.body.data.event_type, w.body.data.payload.client_state]);
    expect(states).toEqual([
      ['call.initiated', undefined],
      ['call.answered', 'Zmlyc3Q='],
      ['call.speak.started', 'c2Vjb25k'],
      ['call.speak.ended', 'c2Vjb25k'],
      ['call.hangup', 'c2Vjb25k'],
    ]);
  });

  it('dials: a busy agent gives call.hangup user_busy, a silent one times out', async () => {
    const busy = await api.dial({
      connection_id: sim.connectionId,
      from: '+15550009999',
      to: '+15550002000',
      client_state: 'YWdlbnQ=',
    });
    expect(busy.status).toBe(200);
    const busyId = busy.body.data.call_control_id as string;
    expect(busy.body.data).toMatchObject({ is_alive: false, record_type: 'call', client_state: 'YWdlbnQ=' });
    const busyEnd = await sim.waitForCallEnd(busyId, 5_000);
    expect(busyEnd).toMatchObject({ direction: 'outgoing', hangupCause: 'user_busy', outcome: 'busy' });
    const [initiated, hangup] = receiver.events(busyId).map((w) => w.body.data);
    expect(initiated.payload).toMatchObject({ direction: 'outgoing', state: 'parked', client_state: 'YWdlbnQ=' });
    expect(hangup.payload).toMatchObject({
      hangup_cause: 'user_busy',
      hangup_source: 'callee',
      sip_hangup_cause: '486',
    });

    const silent = await api.dial({
      connection_id: sim.connectionId,
      from: '+15550009999',
      to: '+15550003000',
      timeout_secs: 10,
    });
    const started = Date.now();
    const silentEnd = await sim.waitForCallEnd(silent.body.data.call_control_id as string, 5_000);
    expect(silentEnd.hangupCause).toBe('timeout');
    expect(Date.now() - started).toBeGreaterThanOrEqual(10_000 * TIME_SCALE);
  });

  it('signs every webhook like Telnyx: Ed25519 over "timestamp|body", with Telnyx headers', async () => {
    const id = await answeredCall();
    await api.action(id, 'hangup');
    await sim.waitForCallEnd(id, 5_000);
    const webhooks = receiver.events(id);
    expect(webhooks.length).toBeGreaterThanOrEqual(3);
    for (const webhook of webhooks) {
      expect(signatureIsValid(sim.publicKeyBase64, webhook)).toBe(true);
      expect(webhook.headers['content-type']).toBe('application/json');
      expect(webhook.headers['user-agent']).toBe('telnyx-webhooks');
      expect(Math.abs(Number(webhook.headers['telnyx-timestamp']) - Date.now() / 1000)).toBeLessThan(5);
      const tampered = { ...webhook, raw: Buffer.from(webhook.raw.toString().replace('call.', 'call_')) };
      expect(signatureIsValid(sim.publicKeyBase64, tampered)).toBe(false);
    }
    expect(Buffer.from(sim.publicKeyBase64, 'base64')).toHaveLength(32);
  });

  it('exposes the same over HTTP under /_sim', async () => {
    const origin = sim.baseUrl.replace(/\/v2$/, '');
    const get = async <T = Record<string, unknown>>(path: string) =>
      (await (await request(`${origin}${path}`)).body.json()) as T;
    expect(await get('/healthz')).toEqual({ status: 'ok' });
    expect(await get('/_sim/public-key')).toEqual({ public_key: sim.publicKeyBase64, connection_id: sim.connectionId });
    const placed = await request(`${origin}/_sim/calls`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ from: '+15550001000', to: '+15550009999', hangupAfterMs: 100 }),
    });
    const { call_control_id: id } = (await placed.body.json()) as { call_control_id: string };
    await api.action(id, 'answer');
    const ended = await get(`/_sim/calls/${encodeURIComponent(id)}/ended?timeout_ms=5000`);
    expect(ended).toMatchObject({ callControlId: id, state: 'ended', hangupSource: 'caller' });
    expect(await get(`/_sim/calls/${encodeURIComponent(id)}`)).toMatchObject({ outcome: 'answered, caller hung up' });
    expect((await get<CommandLogEntry[]>('/_sim/commands')).some((c) => c.callControlId === id)).toBe(true);
    expect((await get<DeliveredWebhook[]>('/_sim/webhooks')).some((w) => w.callControlId === id)).toBe(true);
    const bad = await request(`${origin}/_sim/calls`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"from":1}',
    });
    expect(bad.statusCode).toBe(400);
    await bad.body.dump();
  });
});

describe('faults and delivery', () => {
  it('retries a webhook the receiver answered 503 until it is accepted', async () => {
    const { callControlId: id } = await sim.placeInboundCall({ from: '+15550001000', to: '+15550009999' });
    await receiver.waitForEvent(id, 'call.initiated');
    receiver.failNext(3, 503);
    await api.action(id, 'answer');
    await receiver.waitForEvent(id, 'call.answered', 10_000);
    const attempts = receiver.all.filter(
      (w) => w.body.data.event_type === 'call.answered' && w.body.data.payload.call_control_id === id,
    );
    expect(attempts.map((w) => w.answered)).toEqual([503, 503, 503, 200]);
    // Every attempt is signed afresh over the same bytes.
    expect(new Set(attempts.map((w) => w.raw.toString())).size).toBe(1);
    attempts.forEach((w) => expect(signatureIsValid(sim.publicKeyBase64, w)).toBe(true));
    await api.action(id, 'hangup');
    const record = sim.webhooks().find((w) => w.eventType === 'call.answered' && w.callControlId === id);
    expect(record).toMatchObject({ status: 'delivered', attempts: 4, lastStatusCode: 200 });
  });

  it('fails the first attempts of every command, then runs it exactly once; duplicates every webhook', async () => {
    const faulty = await startTelnyxSimulator({
      ...telnyxOptions(receiver),
      faults: { failFirstCommandAttempts: { status: 429, count: 2, retryAfterSeconds: 1 }, duplicateWebhooks: true },
    });
    try {
      const client = new TelnyxClient(faulty.baseUrl, API_KEY);
      const { callControlId: id } = await faulty.placeInboundCall({ from: '+15550001000', to: '+15550009999' });
      const statuses: number[] = [];
      for (let attempt = 0; attempt < 4; attempt++) {
        const response = await client.action(id, 'answer', { command_id: 'answer-1' });
        statuses.push(response.status);
        if (response.status === 429) {
          expect(response.headers['retry-after']).toBe('1');
          expect(response.body.errors[0].code).toBe('10011');
        }
      }
      expect(statuses).toEqual([429, 429, 200, 200]);
      expect(faulty.commands().map((c) => [c.status, c.duplicate])).toEqual([
        [429, false],
        [429, false],
        [200, false],
        [200, true],
      ]);
      // Every command fails twice first, without a command_id too (recognised by its content).
      const hangups = [
        await client.action(id, 'hangup'),
        await client.action(id, 'hangup'),
        await client.action(id, 'hangup'),
      ];
      expect(hangups.map((r) => r.status)).toEqual([429, 429, 200]);
      await faulty.waitForCallEnd(id, 5_000);
      const answered = receiver.events(id, 'call.answered');
      expect(answered).toHaveLength(2);
      expect(answered[0].body.data.id).toBe(answered[1].body.data.id);
    } finally {
      await faulty.close();
    }
  });

  it('runs without validation, warning once, when the spec file is missing', async () => {
    const lines: string[] = [];
    const options = {
      ...telnyxOptions(receiver),
      specPath: '/nonexistent/spec.json',
    };
    const unchecked = await startTelnyxSimulator({ ...options, log: (line) => lines.push(line) });
    await (await startTelnyxSimulator({ ...options, log: (line) => lines.push(line) })).close();
    try {
      expect(lines.filter((line) => line.includes('/nonexistent/spec.json'))).toHaveLength(1);
      const client = new TelnyxClient(unchecked.baseUrl, API_KEY);
      const { callControlId: id } = await unchecked.placeInboundCall({ from: '+15550001000', to: '+15550009999' });
      await client.action(id, 'answer');
      // `voice` is missing: the spec would refuse this, the unchecked simulator speaks.
      expect((await client.action(id, 'speak', { payload: 'Hi' })).status).toBe(200);
      await client.action(id, 'hangup');
      await unchecked.waitForCallEnd(id, 5_000);
    } finally {
      await unchecked.close();
    }
  });

  it('keeps its public key when restarted with the same private key', async () => {
    const pem = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    const first = await startTelnyxSimulator({ webhookUrl: receiver.url, apiKey: API_KEY, privateKey: pem });
    await first.close();
    const second = await startTelnyxSimulator({ webhookUrl: receiver.url, apiKey: API_KEY, privateKey: pem });
    await second.close();
    expect(second.publicKeyBase64).toBe(first.publicKeyBase64);
    const seed = Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64')
      .subarray(-32)
      .toString('base64');
    const third = await startTelnyxSimulator({ webhookUrl: receiver.url, apiKey: API_KEY, privateKey: seed });
    await third.close();
    expect(third.publicKeyBase64).toBe(first.publicKeyBase64);
  });
});
