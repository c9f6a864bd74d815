import { randomUUID } from 'node:crypto';
import { WorkflowNotFoundError } from '@temporalio/client';
import { request } from 'undici';
import { signatureHeader } from '../../src/simulator/jambonz/hooks';
import type { JambonzHookDelivery } from '../../src/simulator/jambonz/types';
import { IVR_PROMPTS } from '../../workflows/flows/default-ivr';
import { validateVerbDocument } from '../unit/providers/jambonz/verb-spec';
import { eventually } from '../support/net';
import { startTestStack, replayCompletedSessions, type TestStack } from '../support/stack';

/**
 * The default IVR end to end on jambonz, with no change to the flow: simulator (feature server + api server)
 * → signed hooks → gateway → Temporal update → worker → verbs back in the hook's answer (and Live Call Control
 * when needed) → simulator, all real processes on loopback.
 */

/** The webhook secret `startStack` gives the simulated jambonz account and the gateway (src/dev/stack.ts). */
const WEBHOOK_SECRET = 'wh_secret_dev';
/** Short, so a hook waiting on a dead worker is held after 2 s + 2 s (jambonz gives up after 10 s). */
const HOOK_WAIT_MS = 2000;

/** Verbs a hook was answered with, parsed. */
function answerOf(hook: JambonzHookDelivery): unknown[] | undefined {
  if (hook.response === undefined || hook.response.trim() === '') return undefined;
  return JSON.parse(hook.response) as unknown[];
}

function isHolding(hook: JambonzHookDelivery): boolean {
  const verbs = answerOf(hook) as Array<{ verb?: string; actionHook?: string }> | undefined;
  return (
    verbs?.length === 2 &&
    verbs[0].verb === 'pause' &&
    verbs[1].verb === 'redirect' &&
    (verbs[1].actionHook ?? '').includes('hook=next')
  );
}

describe('default IVR on jambonz, end to end', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack({
      simulate: ['jambonz'],
      timeScale: 0.25,
      env: { JAMBONZ_HOOK_WAIT_MS: String(HOOK_WAIT_MS) },
    });
  });
  afterAll(async () => {
    await stack?.close();
  });
  afterEach(() => {
    if (expect.getState().assertionCalls !== expect.getState().numPassingAsserts) console.log(stack.output.join('\n'));
  });

  it('places an outbound call with createCall and runs the outbound flow on it (POST /calls)', async () => {
    const res = await request(`${stack.gatewayUrl}/calls`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        provider: 'jambonz',
        to: '+15550003000',
        from: '+15550001000',
        flow: 'outboundNotice',
        args: { message: 'Hello.' },
      }),
    });
    expect(res.statusCode).toBe(202);
    const { workflowId } = (await res.body.json()) as { workflowId: string };
    const outcome = await stack.outcome(workflowId);
    // The callee (a scripted agent) answers but presses nothing: three tries, then goodbye.
    expect(outcome.flowResult).toBe('not confirmed');
    const created = (await stack.jambonz.commands()).filter((c) => c.action === 'createCall');
    expect(created).toHaveLength(1);
    expect(created[0]).toMatchObject({
      status: 201,
      body: { to: { type: 'phone', number: '+15550003000' }, tag: { ownerWorkflowId: workflowId } },
    });
    const callSid = (created[0].response as { sid: string }).sid;
    const record = await stack.jambonz.waitForEnd(callSid);
    expect(record.heard.filter((h) => h.startsWith('Hello.'))).toHaveLength(3);
    expect(record.callTerminationBy).toBe('jambonz');
  });

  it('answers a jambonz-signed call_hook from any HTTP client with verbs valid against the verb specifications; 401 and nothing started otherwise', async () => {
    const sessionNew = (callSid: string) =>
      JSON.stringify({
        call_sid: callSid,
        direction: 'inbound',
        from: '+15557779001',
        to: '+15550001000',
        call_id: `${randomUUID()}@10.0.1.5`,
        sip_status: 100,
        sip_reason: 'Trying',
        call_status: 'trying',
        account_sid: '9351f46a-678c-43f5-b8a6-d4eb58d131af',
        application_sid: '7087fe50-8acb-4f3b-b820-97b573723aab',
        caller_name: '+15557779001',
      });
    const post = async (body: string, signature?: string) => {
      const res = await request(`${stack.gatewayUrl}/webhooks/jambonz?hook=call`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(signature !== undefined && { 'jambonz-signature': signature }),
        },
        body,
      });
      return { status: res.statusCode, body: await res.body.json() };
    };
    const notStarted = async (callSid: string) => {
      await expect(stack.client.workflow.getHandle(`call:jambonz:${callSid}`).describe()).rejects.toBeInstanceOf(
        WorkflowNotFoundError,
      );
    };

    const callSid = randomUUID();
    const body = sessionNew(callSid);
    const signed = await post(body, signatureHeader(WEBHOOK_SECRET, body));
    expect(signed.status).toBe(200);
    expect(() => validateVerbDocument(signed.body)).not.toThrow();
    const verbs = signed.body as Array<{ verb: string; actionHook?: string }>;
    expect(verbs.map((v) => v.verb)).toEqual(['answer', 'redirect']);
    expect(verbs[1].actionHook).toMatch(
      /^http:\/\/127\.0\.0\.1:\d+\/webhooks\/jambonz\?hook=next&wf=call%3Ajambonz%3A.+&op=.+&token=.+$/,
    );
    const handle = stack.client.workflow.getHandle(`call:jambonz:${callSid}`);
    expect((await handle.describe()).status.name).toBe('RUNNING');
    await handle.terminate('test: nobody follows the redirect');

    // Unsigned, signed with another secret, stale, malformed, or a valid signature of another body: 401, no session.
    const refusals: Array<(other: string) => string | undefined> = [
      () => undefined,
      (other) => signatureHeader('not-the-secret', other),
      (other) => signatureHeader(WEBHOOK_SECRET, other, Date.now() - 301_000),
      () => 't=abc,v1=xyz',
      () => signatureHeader(WEBHOOK_SECRET, body),
    ];
    for (const signatureFor of refusals) {
      const otherSid = randomUUID();
      const other = sessionNew(otherSid);
      const result = await post(other, signatureFor(other));
      expect(result).toMatchObject({ status: 401, body: { error: 'invalid signature' } });
      await notStarted(otherSid);
    }
  });

  it('SIGKILL of the worker while jambonz waits for a hook answer: the caller gets holding verbs, and the call goes on once a new worker is up', async () => {
    const sim = stack.jambonz;
    // Silent at the first menu, 2 at the second: jambonz's hook with the first menu's timeout finds no worker.
    const caller = await sim.placeCall({
      from: '+15557771001',
      to: '+15550001000',
      presses: [null, '2'],
      voicemail: { talkMs: 1500 },
    });
    const hooksOf = async () =>
      (await sim.webhooks()).filter((h) => h.callSid === caller.callSid && h.type !== 'call:status');

    // In the menu: jambonz runs the gather it was given, and no hook of the call is waiting for an answer.
    await eventually('caller in the menu', async () => {
      const record = await sim.call(caller.callSid);
      const hooks = await hooksOf();
      const gatherServed = hooks.some((h) =>
        (answerOf(h) as Array<{ verb?: string }> | undefined)?.some((v) => v.verb === 'gather'),
      );
      return record.verbs.at(-1) === 'gather' && gatherServed && hooks.every((h) => h.status !== 'pending')
        ? true
        : undefined;
    });
    await stack.worker.kill();
    const killedAt = Date.now();

    // The gather's actionHook arrives with no worker: jambonz waits on it, and gets holding verbs before its timeout.
    const held = await eventually(
      'holding verbs for the caller',
      async () => (await hooksOf()).find(isHolding),
      20_000,
    );
    expect(Date.parse(held.sentAt)).toBeGreaterThan(killedAt);
    expect(held.type).toBe('verb:hook');
    expect(Date.parse(held.answeredAt!) - Date.parse(held.sentAt)).toBeLessThan(10_000);
    await stack.startWorker('worker-2');
    const restartedAt = Date.now();

    const outcome = await stack.outcome(caller.workflowId);
    // Promptly: the updates the dead worker left behind apply their events but hand out no verbs, which
    // nobody would read (their answers were holds); so the menu the flow queues goes to the next live hook
    // instead of waiting out its timeout (about a minute).
    expect(Date.now() - restartedAt).toBeLessThan(25_000);
    expect(outcome.flowResult).toMatch(/^pressed 2, voicemail saved at http:\/\//);
    expect(outcome.digits).toBe('2');
    const record = await sim.waitForEnd(caller.callSid);
    expect(record.heard.join(' ')).toContain(IVR_PROMPTS.retry);
    expect(record.heard).toContain(IVR_PROMPTS.voicemail);
    expect(record.streams).toEqual([expect.objectContaining({ connected: true })]);
    // Every hook of the call got an answer (held ones included) and a valid document; none timed out.
    const hooks = await hooksOf();
    expect(hooks.filter(isHolding).length).toBeGreaterThanOrEqual(1);
    for (const hook of hooks) {
      expect(hook).toMatchObject({ status: 'answered', httpStatus: 200, attempts: 1 });
      expect(() => validateVerbDocument(answerOf(hook))).not.toThrow();
    }
  });

  it('replays the recorded jambonz histories (updates, holds, a killed worker) deterministically against the current workflow code', async () => {
    expect(await replayCompletedSessions(stack.client, `CallProvider = 'jambonz'`)).toBeGreaterThanOrEqual(2);
  });
});
