import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { Client, Connection } from '@temporalio/client';
import { request } from 'undici';
import { FLOW_NAMES, inboundCallWorkflowId } from '../../src/calls';
import { loadConfig } from '../../src/config';
import { startPart, type ManagedProcess } from '../../src/dev/processes';
import { buildGateway } from '../../src/gateway/app';
import { hookUrl, verifyHookToken } from '../../src/providers/jambonz';
import { signatureHeader } from '../../src/simulator/jambonz/hooks';
import { IVR_PROMPTS } from '../../workflows/flows/default-ivr';
import { validateVerbDocument } from '../unit/providers/jambonz/verb-spec';
import { freePorts } from '../support/net';
import { testWorkflowBundle } from '../support/stack';
import { captureCarrier } from '../support/telnyx-client';
import { testServerAddress } from '../support/temporal-server';

/**
 * The gateway's contract with jambonz, driven by a plain HTTP client signing like jambonz: which hooks get
 * verbs, which are refused, what a hook gets while no worker or no Temporal answers.
 */

const SECRET = 'wh_secret_gateway_test';
const OLD_SECRET = 'wh_secret_before_rotation';
const HOOK_WAIT_MS = 500;

type Verb = { verb: string; actionHook?: string; say?: { text: string } };

describe('gateway: jambonz hooks', () => {
  const taskQueue = `gateway-jambonz-${randomUUID()}`;
  let carrier: Awaited<ReturnType<typeof captureCarrier>>;
  let worker: ManagedProcess;
  let connection: Connection;
  let client: Client;
  let gateway: FastifyInstance;
  let baseUrl = '';
  const output: string[] = [];
  const env = (extra: NodeJS.ProcessEnv = {}) => ({
    ...process.env,
    TEMPORAL_ADDRESS: testServerAddress(),
    TEMPORAL_TASK_QUEUE: taskQueue,
    TELNYX_API_KEY: '',
    TELNYX_PUBLIC_KEY: '',
    JAMBONZ_API_BASE_URL: carrier.baseUrl.replace(/\/v2$/, '/v1'),
    JAMBONZ_ACCOUNT_SID: '9351f46a-678c-43f5-b8a6-d4eb58d131af',
    JAMBONZ_API_KEY: 'gateway-test-key',
    // Rotation: hooks signed with either secret are accepted; the first keys our hook URLs.
    JAMBONZ_WEBHOOK_SECRET: `${SECRET},${OLD_SECRET}`,
    JAMBONZ_HOOK_WAIT_MS: String(HOOK_WAIT_MS),
    PUBLIC_BASE_URL: baseUrl || 'http://127.0.0.1:1',
    LOG_LEVEL: 'warn',
    ...extra,
  });

  /** A gateway of its own (on another task queue, or another Temporal), listening on loopback. */
  async function otherGateway(extra: NodeJS.ProcessEnv, address = testServerAddress()) {
    const conn = Connection.lazy({ address });
    const app = await buildGateway({
      config: loadConfig(env(extra)),
      client: new Client({ connection: conn }),
      connection: conn,
      flows: [...FLOW_NAMES],
      logger: false,
    });
    const url = await app.listen({ port: 0, host: '127.0.0.1' });
    return {
      url,
      close: async () => {
        await app.close();
        await conn.close();
      },
    };
  }

  beforeAll(async () => {
    carrier = await captureCarrier();
    const [port] = await freePorts(1);
    baseUrl = `http://127.0.0.1:${port}`;
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
    await gateway.listen({ port, host: '127.0.0.1' });
  });
  afterAll(async () => {
    await gateway?.close();
    await worker?.stop();
    await connection?.close();
    await carrier?.close();
  });
  afterEach(() => {
    if (expect.getState().assertionCalls !== expect.getState().numPassingAsserts) console.log(output.join('\n'));
  });

  const callInfo = (callSid: string, extra: Record<string, unknown> = {}) => ({
    call_sid: callSid,
    direction: 'inbound',
    from: '+15557779101',
    to: '+15550001000',
    call_id: `${callSid}@10.0.1.5`,
    sip_status: 100,
    sip_reason: 'Trying',
    call_status: 'trying',
    account_sid: '9351f46a-678c-43f5-b8a6-d4eb58d131af',
    ...extra,
  });
  async function hook(url: string, body: unknown, secret: string | undefined = SECRET) {
    const raw = typeof body === 'string' ? body : JSON.stringify(body);
    const res = await request(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(secret !== undefined && { 'jambonz-signature': signatureHeader(secret, raw) }),
      },
      body: raw,
    });
    const text = await res.body.text();
    return {
      status: res.statusCode,
      contentType: String(res.headers['content-type'] ?? ''),
      body: text ? (JSON.parse(text) as unknown) : undefined,
    };
  }
  const exists = (workflowId: string) =>
    client.workflow
      .getHandle(workflowId)
      .describe()
      .then(() => true)
      .catch(() => false);

  it("answers call_hook with the flow's first verbs, the same again for a retried request, and the menu on the next hook", async () => {
    const callSid = randomUUID();
    const workflowId = inboundCallWorkflowId('jambonz', callSid);
    const first = await hook(`${baseUrl}/webhooks/jambonz?hook=call`, callInfo(callSid), OLD_SECRET);
    expect(first.status).toBe(200);
    expect(first.contentType).toContain('application/json');
    expect(() => validateVerbDocument(first.body)).not.toThrow();
    const verbs = first.body as Verb[];
    expect(verbs.map((v) => v.verb)).toEqual(['answer', 'redirect']);
    // jambonz retries a hook with the same body: the same update, the same answer.
    const retried = await hook(`${baseUrl}/webhooks/jambonz?hook=call`, callInfo(callSid));
    expect(retried.body).toEqual(first.body);

    const next = verbs[1].actionHook!;
    expect(next.startsWith(`${baseUrl}/webhooks/jambonz?hook=next&`)).toBe(true);
    const menu = await hook(next, callInfo(callSid, { call_status: 'in-progress', sip_status: 200, sip_reason: 'OK' }));
    expect(menu.status).toBe(200);
    expect(() => validateVerbDocument(menu.body)).not.toThrow();
    const gather = (menu.body as Verb[])[0];
    expect(gather.verb).toBe('gather');
    expect(gather.say?.text).toBe(`${IVR_PROMPTS.greeting} ${IVR_PROMPTS.menu}`);
    const state = await client.workflow.getHandle(workflowId).query<{ status: string; provider: string }>('state');
    expect(state).toMatchObject({ status: 'answered', provider: 'jambonz' });
    await client.workflow.getHandle(workflowId).terminate('test done');
  });

  it('refuses bad hooks: unknown hook 400, forged or missing hook token 401, body that is no jambonz payload 400; nothing starts', async () => {
    const callSid = randomUUID();
    const workflowId = inboundCallWorkflowId('jambonz', callSid);
    const unknown = await hook(`${baseUrl}/webhooks/jambonz?hook=nope`, callInfo(callSid));
    expect(unknown).toMatchObject({ status: 400, body: { error: 'unknown hook' } });

    const genuine = hookUrl(baseUrl, SECRET, workflowId, 'gather', `${workflowId}#2`);
    const forged = genuine.replace(encodeURIComponent(`${workflowId}#2`), encodeURIComponent(`${workflowId}#3`));
    expect(verifyHookToken(forged, [SECRET]).ok).toBe(false);
    const gatherResult = callInfo(callSid, { call_status: 'in-progress', reason: 'dtmfDetected', digits: '1' });
    expect(await hook(forged, gatherResult)).toMatchObject({ status: 401, body: { error: 'invalid hook token' } });
    expect(await hook(`${baseUrl}/webhooks/jambonz?hook=gather`, gatherResult)).toMatchObject({
      status: 401,
      body: { error: 'invalid hook token' },
    });
    expect(
      await hook(hookUrl(baseUrl, 'another-secret', workflowId, 'gather', `${workflowId}#2`), gatherResult),
    ).toMatchObject({ status: 401 });

    const notJson = await hook(`${baseUrl}/webhooks/jambonz?hook=call`, 'not json');
    expect(notJson).toMatchObject({
      status: 400,
      body: { error: 'malformed webhook', reason: expect.stringMatching(/not JSON/) },
    });
    const noSid = await hook(`${baseUrl}/webhooks/jambonz?hook=call`, {
      direction: 'inbound',
      from: '+1555',
      to: '+1666',
    });
    expect(noSid).toMatchObject({
      status: 400,
      body: { error: 'malformed webhook', reason: expect.stringMatching(/call_sid/) },
    });
    expect(await exists(workflowId)).toBe(false);
  });

  it('acknowledges a status hook once Temporal has it, and one for a call with no session as late', async () => {
    const stray = await hook(
      `${baseUrl}/webhooks/jambonz?hook=status`,
      callInfo(randomUUID(), { call_status: 'completed', sip_status: 200, duration: 3 }),
    );
    expect(stray).toMatchObject({
      status: 200,
      body: { status: 'accepted', deliveries: [expect.objectContaining({ outcome: 'late' })] },
    });
  });

  it('holds the caller when no worker answers in time: the events are in Temporal first, then pause + redirect back', async () => {
    const noWorker = await otherGateway({
      TEMPORAL_TASK_QUEUE: `no-worker-${randomUUID()}`,
      PUBLIC_BASE_URL: 'http://gateway.invalid',
    });
    try {
      const callSid = randomUUID();
      const workflowId = inboundCallWorkflowId('jambonz', callSid);
      const started = Date.now();
      const held = await hook(`${noWorker.url}/webhooks/jambonz?hook=call`, callInfo(callSid));
      expect(Date.now() - started).toBeLessThan(HOOK_WAIT_MS + 4000);
      expect(held.status).toBe(200);
      expect(() => validateVerbDocument(held.body)).not.toThrow();
      const verbs = held.body as Verb[];
      expect(verbs.map((v) => v.verb)).toEqual(['pause', 'redirect']);
      expect(verbs[1].actionHook).toMatch(
        /^http:\/\/gateway\.invalid\/webhooks\/jambonz\?hook=next&wf=.+&token=.+&hold=[0-9a-f]{8}$/,
      );
      // The session exists and holds the call's first event, waiting for a worker.
      const handle = client.workflow.getHandle(workflowId);
      const history = await handle.fetchHistory();
      const signals = (history.events ?? []).filter(
        (e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'callEvent',
      );
      expect(signals.length).toBeGreaterThanOrEqual(1);
      await handle.terminate('test done');
    } finally {
      await noWorker.close();
    }
  });

  it('holds a new call within the hook deadline when Temporal takes nothing, carrying its events; status hooks get 503', async () => {
    const [deadPort] = await freePorts(1);
    const dead = await otherGateway({}, `127.0.0.1:${deadPort}`);
    try {
      const callSid = randomUUID();
      const started = Date.now();
      const callHook = await hook(`${dead.url}/webhooks/jambonz?hook=call`, callInfo(callSid));
      // jambonz rejects the call if a call_hook is not answered within 10 s: it is held instead, well inside.
      expect(Date.now() - started).toBeLessThan(8000);
      expect(callHook.status).toBe(200);
      expect(() => validateVerbDocument(callHook.body)).not.toThrow();
      const verbs = callHook.body as Verb[];
      expect(verbs.map((v) => v.verb)).toEqual(['pause', 'redirect']);
      // The call's first event travels, signed, in the redirect back, until Temporal takes it.
      expect(new URL(verbs[1].actionHook ?? '').searchParams.get('ev')).toBeTruthy();
      const status = await hook(
        `${dead.url}/webhooks/jambonz?hook=status`,
        callInfo(callSid, { call_status: 'in-progress', sip_status: 200 }),
      );
      expect(status.status).toBe(503);
    } finally {
      await dead.close();
    }
  });
});
