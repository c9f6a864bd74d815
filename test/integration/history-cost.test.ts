import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { request } from 'undici';
import type { FloorActivities } from '../../bench/floor-workflow';
import { inboundCallWorkflowId, type CallOutcome } from '../../src/calls';
import { formatReactionCosts, historyEvents, reactionCosts, type ReactionCost } from '../../src/dev/history-cost';
import { eventually } from '../support/net';
import { PROJECT_ROOT, startTestStack, type TestStack } from '../support/stack';
import { captureCarrier, legPayload, postWebhook, telnyxAccount, telnyxEvent } from '../support/telnyx-client';
import { testServerAddress } from '../support/temporal-server';

/**
 * What a call costs Temporal, in history events per reaction (carrier event in → next command out), against
 * the floor (bench/floor-workflow.ts: signal → workflow task → activity → one HTTP request) on the same dev
 * server. Both are driven one event at a time, each reaction over before the next event, so the history cuts
 * cleanly at the signals. The session may write at most one event more than the floor per reaction (a real
 * status change upserts a search attribute).
 */

interface Step {
  event: string;
  extra?: Record<string, unknown>;
  /** The Call Control action the session sends in reaction (none: the event only updates the state). */
  command?: string;
}

/** A Telnyx call as the carrier reports it, to `to`; the flow's result says how it went. */
interface ScriptedCall {
  to: string;
  steps: Step[];
  result: RegExp;
}

const hangup: Step = {
  event: 'call.hangup',
  extra: { hangup_cause: 'normal_clearing', hangup_source: 'caller', state: 'hangup' },
};

/** The default IVR: the caller presses 2 and leaves a voicemail. */
const IVR_CALL: ScriptedCall = {
  to: '+15550001000',
  steps: [
    { event: 'call.initiated', extra: { direction: 'incoming', state: 'parked' }, command: 'answer' },
    { event: 'call.answered', extra: { state: 'answered' }, command: 'gather_using_speak' },
    { event: 'call.speak.started' },
    { event: 'call.speak.ended', extra: { status: 'completed' } },
    { event: 'call.dtmf.received', extra: { digit: '2' } },
    { event: 'call.gather.ended', extra: { digits: '2', status: 'valid' }, command: 'speak' },
    { event: 'call.speak.started' },
    { event: 'call.speak.ended', extra: { status: 'completed' }, command: 'record_start' },
    hangup,
    { event: 'call.recording.saved', extra: { recording_urls: { mp3: 'https://example.invalid/voicemail.mp3' } } },
  ],
  result: /voicemail saved/,
};

/** A stretch of hold music in a queue (config/queues.json `support`): no key pressed, the next stretch follows. */
const holdStretch: Step[] = [
  { event: 'call.playback.started' },
  { event: 'call.playback.ended', extra: { status: 'completed' } },
  { event: 'call.gather.ended', extra: { digits: '', status: 'timeout' }, command: 'gather_using_audio' },
];

/** The support queue with no agent: welcome, then hold music, until the caller gives up. */
const QUEUE_CALL: ScriptedCall = {
  to: '+15550001200',
  steps: [
    { event: 'call.initiated', extra: { direction: 'incoming', state: 'parked' }, command: 'answer' },
    { event: 'call.answered', extra: { state: 'answered' }, command: 'speak' },
    { event: 'call.speak.started' },
    { event: 'call.speak.ended', extra: { status: 'completed' }, command: 'gather_using_audio' },
    ...holdStretch,
    ...holdStretch,
    hangup,
  ],
  result: /caller hung up while waiting/,
};

/** The in-call reactions of each call held to the floor: the trigger and its occurrence. */
const REACTIONS: Array<{ call: 'ivr' | 'queue'; trigger: string; occurrence?: number; what: string }> = [
  { call: 'ivr', trigger: 'signal callEvent(call.answered)', what: 'answered → menu (a status change)' },
  { call: 'ivr', trigger: 'signal callEvent(gather.ended)', what: 'digit → voicemail prompt' },
  { call: 'ivr', trigger: 'signal callEvent(speak.ended)', occurrence: 2, what: 'prompt over → record' },
  { call: 'queue', trigger: 'signal callEvent(gather.ended)', occurrence: 1, what: 'hold music → more hold music' },
  { call: 'queue', trigger: 'signal callEvent(gather.ended)', occurrence: 2, what: 'hold music → more hold music' },
];

/** Waits until no workflow task and no activity is open, and returns the history's events then. */
async function settledHistory(handle: WorkflowHandle) {
  return eventually(
    `${handle.workflowId} to settle`,
    async () => {
      const events = historyEvents(await handle.fetchHistory());
      const count = (...types: string[]) =>
        events.filter((e) => types.some((type) => e.eventType === `EVENT_TYPE_${type}`)).length;
      const openTasks =
        count('WORKFLOW_TASK_SCHEDULED') -
        count('WORKFLOW_TASK_COMPLETED', 'WORKFLOW_TASK_FAILED', 'WORKFLOW_TASK_TIMED_OUT');
      const openActivities =
        count('ACTIVITY_TASK_SCHEDULED') -
        count('ACTIVITY_TASK_COMPLETED', 'ACTIVITY_TASK_FAILED', 'ACTIVITY_TASK_TIMED_OUT', 'ACTIVITY_TASK_CANCELED');
      return openTasks === 0 && openActivities === 0 ? events : undefined;
    },
    10_000,
    25,
  );
}

/** The reaction started by `trigger` (its `occurrence`-th). */
function reaction(costs: readonly ReactionCost[], trigger: string, occurrence = 1): ReactionCost {
  const found = costs.filter((r) => r.trigger === trigger)[occurrence - 1];
  if (!found) throw new Error(`no reaction to ${trigger} (#${occurrence}) in\n${formatReactionCosts(costs)}`);
  return found;
}

describe('history events per reaction: a call session against the floor', () => {
  const account = telnyxAccount();
  let carrier: Awaited<ReturnType<typeof captureCarrier>>;
  let stack: TestStack;
  let nativeConnection: NativeConnection;
  let floorBundle: { code: string };

  beforeAll(async () => {
    try {
      Runtime.install({ logger: new DefaultLogger('WARN') });
    } catch {
      // already installed in this process
    }
    carrier = await captureCarrier();
    [stack, floorBundle, nativeConnection] = await Promise.all([
      startTestStack({
        simulate: [],
        env: {
          TEMPORAL_TASK_QUEUE: `history-cost-${randomUUID()}`,
          TELNYX_API_KEY: 'KEY-history-cost',
          TELNYX_PUBLIC_KEY: account.publicKey,
          TELNYX_API_BASE_URL: carrier.baseUrl,
        },
      }),
      bundleWorkflowCode({
        workflowsPath: path.join(PROJECT_ROOT, 'bench', 'floor-workflow.ts'),
        logger: new DefaultLogger('WARN'),
      }),
      NativeConnection.connect({ address: testServerAddress() }),
    ]);
  });
  afterAll(async () => {
    await stack?.close();
    await nativeConnection?.close();
    await carrier?.close();
  });
  afterEach(() => {
    if (expect.getState().assertionCalls !== expect.getState().numPassingAsserts) console.log(stack.output.join('\n'));
  });

  /** The next request for `action` on `callId` after the first `after` requests. */
  const commandArrived = (callId: string, action: string, after: number) =>
    eventually(`${action} for ${callId}`, () =>
      carrier.requests.slice(after).find((r) => r.path === `/v2/calls/${encodeURIComponent(callId)}/actions/${action}`),
    );

  /** Plays `call` to the real gateway and worker, one event at a time; returns the session's history. */
  async function runSession(call: ScriptedCall): Promise<ReactionCost[]> {
    const callId = `v3:history-cost-${randomUUID()}`;
    const handle = stack.client.workflow.getHandle(inboundCallWorkflowId('telnyx', callId));
    const webhookUrl = `${stack.gatewayUrl}/webhooks/telnyx`;
    let clientState: unknown;
    for (const step of call.steps) {
      const before = carrier.requests.length;
      // Telnyx echoes the leg's latest client_state on its webhooks.
      const payload = legPayload(callId, {
        to: call.to,
        ...step.extra,
        ...(clientState ? { client_state: clientState } : {}),
      });
      const res = await postWebhook(webhookUrl, telnyxEvent(step.event, payload), { privateKey: account.privateKey });
      expect(res.status).toBe(200);
      if (step.command) clientState = (await commandArrived(callId, step.command, before)).body.client_state;
      await settledHistory(handle);
      expect({ after: step.event, commands: carrier.requests.length - before }).toEqual({
        after: step.event,
        commands: step.command ? 1 : 0,
      });
    }
    expect((await handle.result()) as CallOutcome).toMatchObject({ flowResult: expect.stringMatching(call.result) });
    return reactionCosts(await handle.fetchHistory());
  }

  /** The floor sending the same commands, each on its own signal, on a worker in this process. */
  async function runFloor(): Promise<ReactionCost[]> {
    const taskQueue = `history-cost-floor-${randomUUID()}`;
    const activities: FloorActivities = {
      async sendAction(callId, action) {
        const res = await request(`${carrier.baseUrl}/calls/${encodeURIComponent(callId)}/actions/${action}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{}',
        });
        await res.body.text();
      },
    };
    const worker = await Worker.create({
      connection: nativeConnection,
      taskQueue,
      workflowBundle: floorBundle,
      activities,
    });
    return worker.runUntil(async () => {
      const callId = `floor-${randomUUID()}`;
      const handle = stack.client.workflow.getHandle(callId);
      for (const [i, step] of IVR_CALL.steps.filter((s) => s.command).entries()) {
        const action = step.command!;
        const before = carrier.requests.length;
        // By name, as the benchmark does (floor-workflow.ts defines them).
        if (i === 0)
          await stack.client.workflow.signalWithStart('floorWorkflow', {
            workflowId: callId,
            taskQueue,
            args: [callId],
            signal: 'action',
            signalArgs: [action],
          });
        else await handle.signal('action', action);
        await commandArrived(callId, action, before);
        await settledHistory(handle);
      }
      await handle.signal('action', 'end');
      await handle.result();
      return reactionCosts(await handle.fetchHistory());
    });
  }

  it('writes at most one event more than the floor per reaction, and a signal alone for an event with no command', async () => {
    const sessions = { ivr: await runSession(IVR_CALL), queue: await runSession(QUEUE_CALL) };
    const floor = await runFloor();
    console.log(
      `History events per reaction\n` +
        `durable-calls, Telnyx, default IVR (pressed 2, voicemail):\n${formatReactionCosts(sessions.ivr)}\n` +
        `durable-calls, Telnyx, support queue (hold music, caller gives up):\n${formatReactionCosts(sessions.queue)}\n` +
        `floor (bench/floor-workflow.ts):\n${formatReactionCosts(floor)}`,
    );

    // The floor's in-call reactions all cost the same: signal, workflow task, activity, workflow task.
    const commands = floor.filter((r) => r.trigger.startsWith('signal action(') && r.trigger !== 'signal action(end)');
    const floorCosts = new Set(commands.map((r) => r.events.length));
    expect(floorCosts.size).toBe(1);
    const [floorCost] = floorCosts;
    const compared = REACTIONS.map(({ call, trigger, occurrence, what }) => ({
      what,
      events: reaction(sessions[call], trigger, occurrence).events.length,
    }));
    expect(compared.filter((r) => r.events > floorCost + 1)).toEqual([]);

    // Events the flow does not react to cost the signal and the workflow task that records it, nothing more.
    for (const trigger of ['signal callEvent(speak.started)', 'signal callEvent(dtmf)']) {
      expect(reaction(sessions.ivr, trigger).events).toEqual([
        'Signaled',
        'WorkflowTaskScheduled',
        'WorkflowTaskStarted',
        'WorkflowTaskCompleted',
      ]);
    }
  });
});
