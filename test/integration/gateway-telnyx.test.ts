import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { Client, Connection } from '@temporalio/client';
import { FLOW_NAMES, inboundCallWorkflowId, type CallState } from '../../src/calls';
import { loadConfig } from '../../src/config';
import { startPart, type ManagedProcess } from '../../src/dev/processes';
import { buildGateway } from '../../src/gateway/app';
import { validateTelnyxWebhook } from '../../src/simulator/telnyx/spec';
import { eventually, freePorts } from '../support/net';
import { testWorkflowBundle } from '../support/stack';
import { captureCarrier, legPayload, postWebhook, telnyxAccount, telnyxEvent } from '../support/telnyx-client';
import { testServerAddress } from '../support/temporal-server';

/**
 * The gateway's contract with a carrier, driven by a plain HTTP client signing like Telnyx: what it
 * acknowledges, what it refuses, and that it acknowledges nothing before Temporal has it.
 */
describe('gateway: Telnyx webhooks', () => {
  const account = telnyxAccount();
  const taskQueue = `gateway-test-${randomUUID()}`;
  let carrier: Awaited<ReturnType<typeof captureCarrier>>;
  let worker: ManagedProcess;
  let gateway: FastifyInstance;
  let webhookUrl: string;
  let baseUrl: string;
  /** Real HTTP on loopback, as a client would call the REST API. */
  const api = async (method: 'GET' | 'POST', path: string, payload?: unknown) => {
    const res = await fetch(`${baseUrl}${path}`, {
      method,
      headers: payload === undefined ? {} : { 'content-type': 'application/json' },
      body: payload === undefined ? undefined : JSON.stringify(payload),
    });
    const body = (await res.json()) as any;
    return { statusCode: res.status, contentType: res.headers.get('content-type'), json: () => body };
  };
  let connection: Connection;
  let client: Client;
  const output: string[] = [];

  const env = () => ({
    ...process.env,
    TEMPORAL_ADDRESS: testServerAddress(),
    TEMPORAL_TASK_QUEUE: taskQueue,
    TELNYX_API_KEY: 'KEY-gateway-test',
    TELNYX_PUBLIC_KEY: account.publicKey,
    TELNYX_API_BASE_URL: carrier.baseUrl,
    LOG_LEVEL: 'warn',
  });

  beforeAll(async () => {
    carrier = await captureCarrier();
    worker = await startPart('worker', {
      env: { ...env(), WORKFLOW_BUNDLE_PATH: await testWorkflowBundle() },
      log: (l) => output.push(l),
    });
    connection = await Connection.connect({ address: testServerAddress() });
    client = new Client({ connection });
    gateway = await buildGateway({
      config: loadConfig(env()),
      client,
      connection,
      flows: [...FLOW_NAMES],
      logger: false,
    });
    baseUrl = await gateway.listen({ port: 0, host: '127.0.0.1' });
    webhookUrl = `${baseUrl}/webhooks/telnyx`;
  });
  afterAll(async () => {
    await gateway?.close();
    await worker?.stop();
    await connection?.close();
    await carrier?.close();
  });

  const newCallId = () => `v3:test-${randomUUID()}`;
  const exists = (workflowId: string) =>
    client.workflow
      .getHandle(workflowId)
      .describe()
      .then(() => true)
      .catch(() => false);
  const commandsFor = (callId: string) => carrier.requests.filter((r) => r.path.includes(encodeURIComponent(callId)));

  it('answers a signed call.initiated: the worker sends answer with the API key and a command_id; the prompt follows call.answered; a duplicate changes nothing', async () => {
    const callId = newCallId();
    const initiated = telnyxEvent('call.initiated', legPayload(callId, { direction: 'incoming', state: 'parked' }));
    expect(validateTelnyxWebhook(initiated)).toEqual([]);
    const res = await postWebhook(webhookUrl, initiated, { privateKey: account.privateKey });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'accepted', deliveries: [{ outcome: 'delivered', started: true }] });

    const answer = await eventually('answer command', () =>
      commandsFor(callId).find((r) => r.path.endsWith('/actions/answer')),
    );
    expect(answer.authorization).toBe('Bearer KEY-gateway-test');
    expect(answer.path).toBe(`/v2/calls/${encodeURIComponent(callId)}/actions/answer`);
    expect(answer.body.command_id).toBe(`${inboundCallWorkflowId('telnyx', callId)}#1`);

    const answered = telnyxEvent(
      'call.answered',
      legPayload(callId, { client_state: answer.body.client_state, state: 'answered' }),
    );
    expect((await postWebhook(webhookUrl, answered, { privateKey: account.privateKey })).status).toBe(200);
    const prompt = await eventually('menu prompt', () =>
      commandsFor(callId).find((r) => r.path.endsWith('/actions/gather_using_speak')),
    );
    expect(prompt.body.payload).toContain('Press 1');

    // The same delivery again (same event id): acknowledged, ignored by the session.
    expect((await postWebhook(webhookUrl, answered, { privateKey: account.privateKey })).status).toBe(200);
    expect((await postWebhook(webhookUrl, initiated, { privateKey: account.privateKey })).status).toBe(200);
    const workflowId = inboundCallWorkflowId('telnyx', callId);
    const state = await eventually('duplicates counted', async () => {
      const s = await client.workflow.getHandle(workflowId).query<CallState>('state');
      return s.duplicatesIgnored >= 2 ? s : undefined;
    });
    expect(state.status).toBe('answered');
    expect(commandsFor(callId).filter((r) => r.path.endsWith('/actions/answer'))).toHaveLength(1);
    expect(commandsFor(callId).filter((r) => r.path.endsWith('/actions/gather_using_speak'))).toHaveLength(1);

    // The caller hangs up: the session ends; a late event afterwards is acknowledged and starts nothing.
    const hangup = telnyxEvent(
      'call.hangup',
      legPayload(callId, { hangup_cause: 'normal_clearing', hangup_source: 'caller', state: 'hangup' }),
    );
    expect((await postWebhook(webhookUrl, hangup, { privateKey: account.privateKey })).status).toBe(200);
    const outcome = await client.workflow.getHandle(workflowId).result();
    expect(outcome).toMatchObject({ status: 'ended', endCause: 'normal' });
    const { runId } = await client.workflow.getHandle(workflowId).describe();

    const late = telnyxEvent('call.initiated', legPayload(callId, { direction: 'incoming', state: 'parked' }));
    const lateRes = await postWebhook(webhookUrl, late, { privateKey: account.privateKey });
    expect(lateRes.status).toBe(200);
    expect(lateRes.body.deliveries).toEqual([{ outcome: 'late', workflowId }]);
    const lateSpeak = telnyxEvent('call.speak.ended', legPayload(callId, { status: 'completed' }));
    expect((await postWebhook(webhookUrl, lateSpeak, { privateKey: account.privateKey })).body.deliveries).toEqual([
      { outcome: 'late', workflowId },
    ]);
    expect((await client.workflow.getHandle(workflowId).describe()).runId).toBe(runId);
  });

  it.each([
    ['unsigned', {}],
    ['signed with another key', { privateKey: telnyxAccount().privateKey }],
    ['stale (10 minutes old)', { privateKey: account.privateKey, timestamp: Math.floor(Date.now() / 1000) - 600 }],
    [
      'tampered after signing',
      { privateKey: account.privateKey, tamper: (raw: string) => raw.replace('+15557770100', '+15557770199') },
    ],
  ])('refuses a %s call.initiated with 401 and starts nothing', async (_name, signing) => {
    const callId = newCallId();
    const res = await postWebhook(
      webhookUrl,
      telnyxEvent('call.initiated', legPayload(callId, { direction: 'incoming', state: 'parked' })),
      signing,
    );
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ error: 'invalid signature', reason: expect.any(String) });
    expect(await exists(inboundCallWorkflowId('telnyx', callId))).toBe(false);
  });

  it.each([
    ['a body that is not JSON', 'not json at all'],
    ['JSON that is not a Telnyx event', JSON.stringify({ hello: 'world' })],
    ['an event without a call id', JSON.stringify(telnyxEvent('call.answered', {}))],
  ])('answers 400 with a JSON error for %s', async (_name, raw) => {
    const res = await postWebhook(webhookUrl, raw, { privateKey: account.privateKey });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: 'malformed webhook', reason: expect.any(String) });
  });

  it('answers 503 when Temporal is unreachable, so Telnyx retries', async () => {
    const [deadPort] = await freePorts(1);
    const deadConnection = Connection.lazy({ address: `127.0.0.1:${deadPort}` });
    const deadGateway = await buildGateway({
      config: loadConfig(env()),
      client: new Client({ connection: deadConnection }),
      connection: deadConnection,
      flows: [...FLOW_NAMES],
      logger: false,
    });
    try {
      const url = `${await deadGateway.listen({ port: 0, host: '127.0.0.1' })}/webhooks/telnyx`;
      const res = await postWebhook(
        url,
        telnyxEvent('call.initiated', legPayload(newCallId(), { direction: 'incoming', state: 'parked' })),
        {
          privateKey: account.privateKey,
        },
      );
      expect(res.status).toBe(503);
      expect(res.body).toMatchObject({ error: 'temporarily unavailable' });
      const health = await eventually('the probe of Temporal answered', async () => {
        const body = (await (await fetch(url.replace('/webhooks/telnyx', '/healthz'))).json()) as { temporal: string };
        return body.temporal === 'unknown' ? undefined : body;
      });
      expect(health).toEqual({ status: 'ok', temporal: 'down' });
    } finally {
      await deadGateway.close();
    }
  });

  it('serves GET /calls/:id with the session state and 404 for an unknown call', async () => {
    const callId = newCallId();
    await postWebhook(
      webhookUrl,
      telnyxEvent('call.initiated', legPayload(callId, { direction: 'incoming', state: 'parked' })),
      {
        privateKey: account.privateKey,
      },
    );
    const workflowId = inboundCallWorkflowId('telnyx', callId);
    const found = await api('GET', `/calls/${encodeURIComponent(workflowId)}`);
    expect(found.statusCode).toBe(200);
    expect(found.json()).toMatchObject({
      workflowId,
      state: { provider: 'telnyx', direction: 'inbound', from: '+15557770100', to: '+15550001000' },
    });
    const missing = await api('GET', `/calls/${encodeURIComponent(inboundCallWorkflowId('telnyx', 'nope'))}`);
    expect(missing.statusCode).toBe(404);
    await client.workflow.getHandle(workflowId).terminate('test done');
  });

  it('validates POST /calls and starts an outbound session', async () => {
    const bad = await api('POST', '/calls', { to: 'not-a-number', from: '+15550001000' });
    expect(bad.statusCode).toBe(400);
    expect(bad.contentType).toBe('application/problem+json; charset=utf-8');
    expect(bad.json()).toEqual({
      type: 'urn:durable-calls:problem:invalid-number',
      title: 'Invalid number',
      status: 400,
      detail: 'to must be an E.164 number (+15551234567) or a SIP URI',
      instance: '/calls',
      code: 'invalid-number',
      field: 'to',
    });
    const missing = await api('POST', '/calls', { from: '+15550001000' });
    expect(missing.statusCode).toBe(400);
    expect(missing.json()).toMatchObject({ code: 'validation-failed', status: 400 });
    const unknownFlow = await api('POST', '/calls', { to: '+15550003000', from: '+15550001000', flow: 'nope' });
    expect(unknownFlow.json()).toMatchObject({
      code: 'unknown-flow',
      status: 400,
      detail: expect.stringMatching(/"nope"/),
    });

    const requestId = `req-${randomUUID()}`;
    const placed = await api('POST', '/calls', { to: '+15550003000', from: '+15550001000', requestId });
    expect(placed.statusCode).toBe(202);
    const { workflowId } = placed.json();
    expect(workflowId).toBe(`call:telnyx:out:${requestId}`);
    const dial = await eventually('dial request', () =>
      carrier.requests.find((r) => r.path === '/v2/calls' && r.body.command_id === `${workflowId}#1`),
    );
    expect(dial.body).toMatchObject({ to: '+15550003000', from: '+15550001000' });
    // The same request id again names the same call: nothing new is started.
    const again = await api('POST', '/calls', { to: '+15550003000', from: '+15550001000', requestId });
    expect(again.statusCode).toBe(200);
    expect(again.json()).toMatchObject({ workflowId, started: false });
    await client.workflow.getHandle(workflowId).terminate('test done');
  });
});
