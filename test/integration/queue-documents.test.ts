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
import type { CallerScript } from '../../src/simulator/scripts';
import { eventually } from '../support/net';
import { replayCompletedSessions, startTestStack, type TestStack } from '../support/stack';
import { restartTestServer } from '../support/temporal-server';

/**
 * Our call queues on the document carriers, end to end, with the flow code the Telnyx test runs
 * (`supportQueue`, `queueCallback`): hold music and announcements as SWML / jambonz verbs, agents dialed and
 * bridged by the carrier, a whisper, a callback placed once. One stack simulates both carriers and each runs
 * its own queue at the same time: 8 callers (one with priority, one needing a skill, one abandoning, one
 * taking a callback), 3 agents (carol never answers).
 */

const CARRIERS = ['signalwire', 'jambonz'] as const;
type Carrier = (typeof CARRIERS)[number];

const RUN = Date.now().toString(36);
/** Per carrier: its queue, the numbers routed to it (plain, priority 5, needing French), agents and callers. */
const SETUP = {
  signalwire: { digit: '1' },
  jambonz: { digit: '2' },
} satisfies Record<Carrier, { digit: string }>;
const queueOf = (carrier: Carrier) => `qd${SETUP[carrier].digit}${RUN}`;
const numberOf = (carrier: Carrier, line: 'plain' | 'vip' | 'french') =>
  `+155500012${SETUP[carrier].digit}${{ plain: 0, vip: 1, french: 2 }[line]}`;
const agentsOf = (carrier: Carrier) => ({
  /** Speaks French. */
  alice: `+155500031${SETUP[carrier].digit}1`,
  bob: `+155500031${SETUP[carrier].digit}2`,
  /** Never answers: her offers are missed and the caller keeps their place. */
  carol: `+155500031${SETUP[carrier].digit}3`,
});
const customer = (carrier: Carrier, n: number) => `+155577712${SETUP[carrier].digit}${n}`;

/** The fault test's queue (SignalWire): callers wait through a worker SIGKILL and a Temporal restart. */
const FAULT_QUEUE = `qf${RUN}`;
const FAULT_NUMBER = '+15550001290';
const FAULT_AGENTS = { dora: '+15550003191', eric: '+15550003192' };

interface Placed {
  callId: string;
  workflowId: string;
}

describe('call queues on SignalWire and jambonz, end to end', () => {
  let stack: TestStack;
  beforeAll(async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'queue-documents-'));
    const queues: Record<string, unknown> = {};
    const numbers: Record<string, unknown> = {};
    const agents: Record<string, unknown> = {};
    for (const carrier of CARRIERS) {
      const queue = queueOf(carrier);
      queues[queue] = {
        holdMusicUrl: 'https://example.com/hold.mp3',
        announcementIntervalSeconds: 5,
        agentRingTimeoutSeconds: 6,
        wrapUpSeconds: 1,
        maxConsecutiveMisses: 2,
        callbackRetryDelaySeconds: 2,
      };
      numbers[numberOf(carrier, 'plain')] = { flow: 'supportQueue', args: { queue } };
      numbers[numberOf(carrier, 'vip')] = { flow: 'supportQueue', args: { queue, priority: 5 } };
      numbers[numberOf(carrier, 'french')] = { flow: 'supportQueue', args: { queue, skill: 'french' } };
      const { alice, bob, carol } = agentsOf(carrier);
      // Agents talk 8 s simulated (2 s at the stack's time scale); carol never picks up.
      agents[alice] = { behaviour: 'answer', hangupAfterMs: 8000 };
      agents[bob] = { behaviour: 'answer', hangupAfterMs: 8000 };
      agents[carol] = { behaviour: 'no-answer' };
    }
    queues[FAULT_QUEUE] = { announcementIntervalSeconds: 5, agentRingTimeoutSeconds: 6, wrapUpSeconds: 1 };
    numbers[FAULT_NUMBER] = { flow: 'supportQueue', args: { queue: FAULT_QUEUE } };
    for (const address of Object.values(FAULT_AGENTS)) agents[address] = { behaviour: 'answer', hangupAfterMs: 8000 };
    writeFileSync(path.join(dir, 'queues.json'), JSON.stringify(queues));
    writeFileSync(
      path.join(dir, 'routes.json'),
      JSON.stringify({ default: { flow: 'defaultIvr', args: { agentNumber: '+15550002000' } }, numbers }),
    );
    stack = await startTestStack({
      simulate: [...CARRIERS],
      env: {
        QUEUES_PATH: path.join(dir, 'queues.json'),
        ROUTING_TABLE_PATH: path.join(dir, 'routes.json'),
        SIMULATOR_AGENTS: JSON.stringify(agents),
      },
    });
  });
  afterAll(async () => {
    for (const queue of [...CARRIERS.map(queueOf), FAULT_QUEUE])
      await stack?.client.workflow
        .getHandle(queueWorkflowId(queue))
        .terminate('test over')
        .catch(() => undefined);
    await stack?.close();
  });
  afterEach(() => {
    if (expect.getState().assertionCalls !== expect.getState().numPassingAsserts)
      console.log(stack.output.slice(-300).join('\n'));
  });

  const api = async (method: 'GET' | 'POST', url: string, body?: unknown) => {
    const res = await request(`${stack.gatewayUrl}${url}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.statusCode, body: (await res.body.json()) as Record<string, unknown> };
  };

  /** The simulator of one carrier, seen the same way for both. */
  const simulator = (carrier: Carrier) => ({
    async place(script: CallerScript): Promise<Placed> {
      if (carrier === 'signalwire') return stack.signalwire.placeCall(script);
      const { callSid, workflowId } = await stack.jambonz.placeCall(script);
      return { callId: callSid, workflowId };
    },
    /** What a leg heard, and the leg it was (last) bridged with. */
    async leg(callId: string): Promise<{ heard: string[]; bridgedWith?: string }> {
      return carrier === 'signalwire' ? stack.signalwire.call(callId) : stack.jambonz.call(callId);
    },
    /** Every request to place a call that names `number`. */
    async dialsTo(number: string): Promise<number> {
      const dials =
        carrier === 'signalwire'
          ? (await stack.signalwire.commands()).filter((c) => c.command === 'dial')
          : (await stack.jambonz.commands()).filter((c) => c.action === 'createCall');
      return dials.filter((c) => JSON.stringify(c.body).includes(number)).length;
    },
  });

  /** The sessions the queue offered an agent, in the order of their first offer (its history's notices). */
  async function firstOffers(queue: string): Promise<string[]> {
    const history = await stack.client.workflow.getHandle(queueWorkflowId(queue)).fetchHistory();
    const offeredTo: string[] = [];
    for (const event of history.events ?? []) {
      const sent = event.signalExternalWorkflowExecutionInitiatedEventAttributes;
      if (sent?.signalName !== queueNoticeSignal.name) continue;
      const notice = JSON.parse(Buffer.from(sent.input?.payloads?.[0]?.data ?? []).toString('utf8')) as QueueNotice;
      const target = sent.workflowExecution?.workflowId ?? '';
      if (notice.kind === 'offer' && !offeredTo.includes(target)) offeredTo.push(target);
    }
    return offeredTo;
  }

  async function scenario(carrier: Carrier): Promise<void> {
    const queue = queueOf(carrier);
    const sim = simulator(carrier);
    const queueState = async () => (await api('GET', `/queues/${queue}`)).body as unknown as QueueView;
    const place = async (n: number, line: 'plain' | 'vip' | 'french', script: Partial<CallerScript> = {}) => {
      const call = await sim.place({ from: customer(carrier, n), to: numberOf(carrier, line), ...script });
      // One at a time into the line, so arrival order is known.
      await eventually(`${carrier} caller ${n} in line`, async () =>
        (await queueState()).waiting?.some((w) => w.sessionWorkflowId === call.workflowId) ? true : undefined,
      );
      return call;
    };

    const first = await place(1, 'plain');
    const french = await place(2, 'french');
    const third = await place(3, 'plain');
    // Hangs up about 2 s after the answer, before any agent signs in.
    const abandons = await place(4, 'plain', { hangupAfterMs: 14_000 });
    await expect(stack.outcome(abandons.workflowId)).resolves.toMatchObject({
      flowResult: 'caller hung up while waiting',
    });
    // Presses * at the first stretch of hold music: a callback, in line behind the three.
    const callback = await place(5, 'plain', { presses: ['*'] });
    await expect(stack.outcome(callback.workflowId)).resolves.toMatchObject({ flowResult: 'callback scheduled' });
    const vip = await place(6, 'vip');
    const last = await place(7, 'plain');
    const eighth = await place(8, 'plain');
    const waiters = [first, french, third, vip, last, eighth];

    const before = await queueState();
    expect(before.stats).toMatchObject({ abandoned: 1, callbacksRequested: 1, answered: 0 });
    // Priority first, then arrival order (the callback kept its place).
    expect(before.waiting.map((w) => w.kind)).toEqual([
      'caller',
      'caller',
      'caller',
      'caller',
      'callback',
      'caller',
      'caller',
    ]);
    expect(before.waiting[0].sessionWorkflowId).toBe(vip.workflowId);
    // The first in line heard their position announced (every 5 s).
    await eventually(`${carrier}: a position announced`, async () =>
      (await sim.leg(first.callId)).heard.some((h) => /You are number \d in line/.test(h)) ? true : undefined,
    );

    // Carol first: she is the longest idle, and misses.
    const agents = agentsOf(carrier);
    for (const [agentId, address, skills] of [
      ['carol', agents.carol, {}],
      ['alice', agents.alice, { french: 1 }],
      ['bob', agents.bob, {}],
    ] as const) {
      const res = await api('POST', `/queues/${queue}/agents`, { op: 'sign-in', agentId, address, skills });
      expect(res).toMatchObject({ status: 200, body: { agent: { id: agentId } } });
    }

    const outcomes: Record<string, CallOutcome> = {};
    for (const w of waiters) outcomes[w.workflowId] = await stack.outcome(w.workflowId);
    for (const o of Object.values(outcomes))
      expect(o.flowResult).toMatch(/^connected to agent (alice|bob) after \d+ s$/);
    // Each agent heard the whisper (the carrier's dial confirm) before being connected.
    for (const w of waiters)
      expect((await sim.leg((await sim.leg(w.callId)).bridgedWith ?? '')).heard).toContain(
        `Call from the ${queue} queue.`,
      );
    // Only alice speaks French.
    expect(outcomes[french.workflowId].flowResult).toMatch(/^connected to agent alice /);
    const callbackOutcome = await stack.outcome(`call:${carrier}:out:queue-${queue}-cb1`);
    expect(callbackOutcome.flowResult).toMatch(/^callback 1: connected to agent (alice|bob)$/);

    const final = await eventually(`${carrier}: the queue to settle`, async () => {
      const s = await queueState();
      return s.stats.waiting === 0 && s.agents.every((a) => a.state !== 'busy' && a.state !== 'offered')
        ? s
        : undefined;
    });
    expect(final.stats).toMatchObject({
      offered: 8,
      answered: 7,
      abandoned: 1,
      callbacksRequested: 1,
      callbacksAnswered: 1,
      waiting: 0,
    });
    expect(final.stats.missedOffers).toBeGreaterThanOrEqual(1);
    const handled = Object.fromEntries(final.agents.map((a) => [a.id, a.callsHandled]));
    expect(handled).toMatchObject({ carol: 0 });
    expect(handled.alice + handled.bob).toBe(7);

    // The queue's offers, in its history: the priority caller first, the others in arrival order.
    const offeredTo = await firstOffers(queue);
    const plainIds = [first, third, last, eighth].map((w) => w.workflowId);
    expect(offeredTo[0]).toBe(vip.workflowId);
    expect(offeredTo.filter((id) => plainIds.includes(id))).toEqual(plainIds);

    // The carrier saw one call to the customer who asked for a callback, and one dial per offer at most.
    expect(await sim.dialsTo(customer(carrier, 5))).toBe(1);
  }

  it('connects callers by priority, skill and arrival, lets one abandon and calls one back once, on both', async () => {
    await Promise.all(CARRIERS.map((carrier) => scenario(carrier)));
    // SignalWire saw no control id twice.
    expect((await stack.signalwire.commands()).filter((c) => c.duplicate)).toEqual([]);
  }, 120_000);

  it('keeps every place through a worker SIGKILL and a Temporal restart while callers wait and a callback is due', async () => {
    const sim = simulator('signalwire');
    const queueState = async () => (await api('GET', `/queues/${FAULT_QUEUE}`)).body as unknown as QueueView;
    const inLine = async (call: Placed) =>
      eventually(`caller ${call.workflowId} in line`, async () =>
        (await queueState()).waiting?.some((w) => w.sessionWorkflowId === call.workflowId) ? true : undefined,
      );
    const waiters: Placed[] = [];
    for (let n = 1; n <= 3; n++) {
      waiters.push(await sim.place({ from: `+15557771${n}90`, to: FAULT_NUMBER }));
      await inLine(waiters.at(-1)!);
    }
    const callbackCustomer = '+15557771490';
    const asker = await sim.place({ from: callbackCustomer, to: FAULT_NUMBER, presses: ['*'] });
    await inLine(asker);
    await expect(stack.outcome(asker.workflowId)).resolves.toMatchObject({ flowResult: 'callback scheduled' });
    const line = (await queueState()).waiting.map((w) => w.ticket);
    expect(line).toHaveLength(4);

    // A crash of the worker, and of Temporal itself, while they wait; then a new worker.
    await stack.worker.kill();
    await restartTestServer({ downMs: 2000 });
    await stack.startWorker('worker-2');
    // The line as it was (the first read may wait for the new worker).
    await eventually('the line after the restart', async () =>
      JSON.stringify((await queueState()).waiting?.map((w) => w.ticket)) === JSON.stringify(line) ? true : undefined,
    );

    for (const [agentId, address] of Object.entries(FAULT_AGENTS)) {
      const res = await api('POST', `/queues/${FAULT_QUEUE}/agents`, { op: 'sign-in', agentId, address });
      expect(res.status).toBe(200);
    }
    // While the calls run: no agent ever has two legs up at once at the carrier.
    let watching = true;
    let mostAtOnce = 0;
    const watch = (async () => {
      while (watching) {
        const legs = (await stack.signalwire.calls()).filter((c) => c.state !== 'ended' && c.state !== 'ending');
        for (const address of Object.values(FAULT_AGENTS))
          mostAtOnce = Math.max(mostAtOnce, legs.filter((c) => c.to === address).length);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    })();
    const outcomes = await Promise.all(waiters.map((w) => stack.outcome(w.workflowId)));
    const callback = await stack.outcome(`call:signalwire:out:queue-${FAULT_QUEUE}-cb1`);
    watching = false;
    await watch;
    for (const o of outcomes) expect(o.flowResult).toMatch(/^connected to agent (dora|eric) after \d+ s$/);
    expect(callback.flowResult).toMatch(/^callback 1: connected to agent (dora|eric)$/);
    expect(mostAtOnce).toBe(1);

    // Nobody lost their place: offered in the order they arrived (the callback, last, was a session the queue
    // started, once).
    expect(await firstOffers(FAULT_QUEUE)).toEqual(waiters.map((w) => w.workflowId));
    const final = await eventually('the queue to settle', async () => {
      const s = await queueState();
      return s.agents.every((a) => a.state !== 'busy' && a.state !== 'offered') ? s : undefined;
    });
    expect(final.stats).toMatchObject({ answered: 4, callbacksAnswered: 1, waiting: 0, abandoned: 0 });
    await expect(
      stack.client.workflow.getHandle(`call:signalwire:out:queue-${FAULT_QUEUE}-cb2`).describe(),
    ).rejects.toThrow();
    expect(await sim.dialsTo(callbackCustomer)).toBe(1);
    expect((await stack.signalwire.commands()).filter((c) => c.duplicate)).toEqual([]);
  }, 90_000);

  it('replays the queue sessions deterministically against the current workflow code', async () => {
    const n = await replayCompletedSessions(
      stack.client,
      `CallFlow IN ('supportQueue', 'queueCallback') AND CallProvider IN ('signalwire', 'jambonz')`,
    );
    expect(n).toBeGreaterThanOrEqual(16);
  });
});
