import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { request } from 'undici';
import {
  queueNoticeSignal,
  queueWorkflowId,
  type CallOutcome,
  type QueueNotice,
  type QueueView,
} from '../../src/calls';
import { validateTelnyxWebhook } from '../../src/simulator/telnyx/spec';
import type { CallerScript } from '../../src/simulator/telnyx/types';
import { eventually } from '../support/net';
import { replayCompletedSessions, startTestStack, type TestStack } from '../support/stack';

/**
 * A queue of our own on Telnyx, end to end: callers dial the `supportQueue` number and wait (hold music,
 * announcements), agents sign in through the gateway's REST API, the simulator's agents answer (one never
 * does), one caller hangs up while waiting, one presses * for a callback that happens once, later.
 */

const QUEUE = `qt${Date.now().toString(36)}`;
const NUMBER = '+15550001200';
const AGENTS = {
  alice: '+15550003001',
  bob: '+15550003002',
  /** Never answers: her offers are missed and the caller keeps their place. */
  carol: '+15550003003',
};
const CALLBACK_CUSTOMER = '+15557770106';

describe(`call queue on Telnyx, end to end`, () => {
  let stack: TestStack;
  beforeAll(async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'queue-telnyx-'));
    writeFileSync(
      path.join(dir, 'queues.json'),
      JSON.stringify({
        [QUEUE]: {
          holdMusicUrl: 'https://example.com/hold.mp3',
          announcementIntervalSeconds: 5,
          agentRingTimeoutSeconds: 6,
          wrapUpSeconds: 1,
          maxConsecutiveMisses: 2,
          callbackRetryDelaySeconds: 2,
        },
      }),
    );
    writeFileSync(
      path.join(dir, 'routes.json'),
      JSON.stringify({
        default: { flow: 'defaultIvr', args: { agentNumber: '+15550002000' } },
        numbers: { [NUMBER]: { flow: 'supportQueue', args: { queue: QUEUE } } },
      }),
    );
    stack = await startTestStack({
      env: {
        QUEUES_PATH: path.join(dir, 'queues.json'),
        ROUTING_TABLE_PATH: path.join(dir, 'routes.json'),
        // Agents talk 2 s (simulated 8 s at the stack's time scale); carol never picks up.
        SIMULATOR_AGENTS: JSON.stringify({
          [AGENTS.alice]: { behaviour: 'answer', hangupAfterMs: 8000 },
          [AGENTS.bob]: { behaviour: 'answer', hangupAfterMs: 8000 },
          [AGENTS.carol]: { behaviour: 'no-answer' },
        }),
      },
    });
  });
  afterAll(async () => {
    await stack?.client.workflow
      .getHandle(queueWorkflowId(QUEUE))
      .terminate('test over')
      .catch(() => undefined);
    await stack?.close();
  });
  afterEach(() => {
    if (expect.getState().assertionCalls !== expect.getState().numPassingAsserts) console.log(stack.output.join('\n'));
  });

  const api = async (method: 'GET' | 'POST', url: string, body?: unknown) => {
    const res = await request(`${stack.gatewayUrl}${url}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.statusCode, body: (await res.body.json()) as Record<string, unknown> };
  };
  const queueState = async () => (await api('GET', `/queues/${QUEUE}`)).body as unknown as QueueView;

  it('connects callers in order, lets one abandon, calls one back once, and keeps the figures', async () => {
    // The queue exists in the file but nobody has used it yet.
    expect((await api('GET', `/queues/${QUEUE}`)).body).toMatchObject({ name: QUEUE, started: false });
    expect((await api('GET', '/queues/nope')).status).toBe(404);

    const place = async (script: Partial<CallerScript>, inLine: (state: QueueView) => boolean) => {
      const call = await stack.telnyx.placeCall({ from: '', to: NUMBER, ...script } as CallerScript);
      // One at a time into the line, so arrival order is known.
      await eventually(`caller ${script.from} in line`, async () =>
        (await queueState()).waiting ? inLine(await queueState()) : false,
      );
      return call;
    };
    const waiters = [];
    for (let i = 1; i <= 4; i++) waiters.push(await place({ from: `+1555777010${i}` }, (s) => s.waiting.length === i));
    // Hangs up about 2 s after the answer: while waiting, before any agent signs in.
    const abandons = await place({ from: '+15557770105', hangupAfterMs: 14_000 }, (s) => s.waiting.length === 5);
    await expect(stack.outcome(abandons.workflowId)).resolves.toMatchObject({
      flowResult: 'caller hung up while waiting',
    });
    // Presses * at the first stretch of hold music: a callback, in line behind the four.
    const callback = await place({ from: CALLBACK_CUSTOMER, presses: ['*'] }, (s) =>
      s.waiting.some((w) => w.kind === 'callback'),
    );
    await expect(stack.outcome(callback.workflowId)).resolves.toMatchObject({ flowResult: 'callback scheduled' });
    const before = await queueState();
    expect(before.stats).toMatchObject({ abandoned: 1, callbacksRequested: 1, answered: 0 });
    expect(before.waiting.map((w) => w.kind)).toEqual(['caller', 'caller', 'caller', 'caller', 'callback']);
    // Positions were announced while they waited (every 5 s).
    const heard = (await stack.telnyx.call(waiters[0].callControlId)).heard.join(' | ');
    expect(heard).toMatch(/You are number 1 in line/);

    // Carol first: she is the longest idle, and misses.
    for (const [agentId, address] of [
      ['carol', AGENTS.carol],
      ['alice', AGENTS.alice],
      ['bob', AGENTS.bob],
    ]) {
      const res = await api('POST', `/queues/${QUEUE}/agents`, { op: 'sign-in', agentId, address });
      expect(res).toMatchObject({ status: 200, body: { agent: { id: agentId, state: expect.any(String) } } });
    }
    const bad = await api('POST', `/queues/${QUEUE}/agents`, { op: 'set-state', agentId: 'nobody', state: 'break' });
    expect(bad.status).toBe(400);

    const outcomes: CallOutcome[] = [];
    for (const w of waiters) outcomes.push(await stack.outcome(w.workflowId));
    for (const o of outcomes) expect(o.flowResult).toMatch(/^connected to agent (alice|bob) after \d+ s$/);

    const callbackId = `call:telnyx:out:queue-${QUEUE}-cb1`;
    const callbackOutcome = await stack.outcome(callbackId);
    expect(callbackOutcome.flowResult).toMatch(/^callback 1: connected to agent (alice|bob)$/);

    const final = await eventually('the queue to settle', async () => {
      const s = await queueState();
      return s.stats.waiting === 0 && s.agents.every((a) => a.state !== 'busy' && a.state !== 'offered')
        ? s
        : undefined;
    });
    expect(final.stats).toMatchObject({
      offered: 6,
      answered: 5,
      abandoned: 1,
      callbacksRequested: 1,
      callbacksAnswered: 1,
      waiting: 0,
    });
    expect(final.stats.missedOffers).toBeGreaterThanOrEqual(1);
    const handled = Object.fromEntries(final.agents.map((a) => [a.id, a.callsHandled]));
    expect(handled.carol).toBe(0);
    expect(handled.alice + handled.bob).toBe(5);
    const listed = (await api('GET', '/queues')).body.queues as Array<{ name: string; started: boolean }>;
    expect(listed).toContainEqual(expect.objectContaining({ name: QUEUE, started: true }));

    // Callers offered in arrival order, as the queue decided it: its history's offer notices, in order. (The
    // order the dials reach the carrier is not it: two offers made at once race to the simulator.)
    const queueHistory = await stack.client.workflow.getHandle(queueWorkflowId(QUEUE)).fetchHistory();
    const offeredTo: string[] = [];
    for (const event of queueHistory.events ?? []) {
      const sent = event.signalExternalWorkflowExecutionInitiatedEventAttributes;
      if (sent?.signalName !== queueNoticeSignal.name) continue;
      const notice = JSON.parse(Buffer.from(sent.input?.payloads?.[0]?.data ?? []).toString('utf8')) as QueueNotice;
      const target = sent.workflowExecution?.workflowId ?? '';
      if (notice.kind === 'offer' && !offeredTo.includes(target)) offeredTo.push(target);
    }
    const waiterIds = waiters.map((w) => w.workflowId);
    expect(offeredTo.filter((id) => waiterIds.includes(id))).toEqual(waiterIds);

    // The simulator's view: no command twice, one call to the customer.
    const commands = await stack.telnyx.commands();
    expect(commands.filter((c) => c.duplicate)).toEqual([]);
    const ids = commands.filter((c) => c.commandId).map((c) => `${c.callControlId ?? 'dial'}|${c.commandId}`);
    expect(new Set(ids).size).toBe(ids.length);
    const toCustomer = commands.filter(
      (c) => c.action === 'dial' && (c.body as { to?: string }).to === CALLBACK_CUSTOMER,
    );
    expect(toCustomer).toHaveLength(1);
    for (const w of await stack.telnyx.webhooks()) expect(validateTelnyxWebhook(w.body)).toEqual([]);
  }, 180_000);

  it('replays the queue sessions deterministically against the current workflow code', async () => {
    const n = await replayCompletedSessions(stack.client, `CallFlow IN ('supportQueue', 'queueCallback')`);
    expect(n).toBeGreaterThanOrEqual(6);
  });
});
