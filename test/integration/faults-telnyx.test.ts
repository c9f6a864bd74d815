import type { CallState } from '../../src/calls';
import { eventually } from '../support/net';
import { startTestStack, type TestStack } from '../support/stack';
import { restartTestServer } from '../support/temporal-server';

/**
 * Calls survive the failures a production telephony service meets: a worker killed mid-call, the
 * Temporal server restarting, a carrier answering 5xx/429, duplicated webhooks. Assertions are on the
 * carrier's side (the simulator's log): every call ends where its flow says and no command runs twice.
 */

/** Each (leg, command_id) the carrier executed, and whether any was executed twice. */
async function commandSummary(stack: TestStack, callControlId: string) {
  const commands = (await stack.telnyx.commands()).filter((c) => c.callControlId === callControlId);
  const executed = commands.filter((c) => c.status === 200 && !c.duplicate);
  const keys = executed.map((c) => c.commandId);
  return { commands, executed, actions: executed.map((c) => c.action), uniqueKeys: new Set(keys).size === keys.length };
}

/**
 * Waits until the caller is in the menu: the session waits for the caller's input, the gather command
 * has reached the carrier and its activity's completion is recorded in Temporal (nothing in flight).
 */
async function waitInMenu(stack: TestStack, workflowId: string, callControlId: string): Promise<CallState> {
  return eventually('caller in the menu', async () => {
    const state = await stack.state(workflowId);
    const last = state.operations.at(-1);
    const acked = (await stack.telnyx.commands()).some(
      (c) => c.callControlId === callControlId && c.action === 'gather_using_speak' && c.status === 200,
    );
    const { raw } = await stack.client.workflow.getHandle(workflowId).describe();
    const idle = (raw.pendingActivities ?? []).length === 0;
    return last?.op === 'gather' && !last.endedAt && acked && idle ? state : undefined;
  });
}

describe('faults', () => {
  let stack: TestStack | undefined;
  afterEach(async () => {
    if (expect.getState().assertionCalls !== expect.getState().numPassingAsserts && stack)
      console.log(stack.output.join('\n'));
    await stack?.close();
    stack = undefined;
  });

  it('SIGKILL of the worker while the caller is in the menu: a new worker finishes the call, no command runs twice', async () => {
    stack = await startTestStack({ timeScale: 0.5 });
    const caller = await stack.telnyx.placeCall({
      from: '+15557771001',
      to: '+15550001000',
      presses: [null, '2'],
      voicemail: { talkMs: 1500 },
    });
    await waitInMenu(stack, caller.workflowId, caller.callControlId);

    await stack.worker.kill();
    const replacement = await stack.startWorker('worker-2');
    expect(replacement.child.pid).not.toBe(stack.worker.child.pid);

    const outcome = await stack.outcome(caller.workflowId);
    expect(outcome.flowResult).toMatch(/^pressed 2, voicemail saved at https?:\/\//);
    const summary = await commandSummary(stack, caller.callControlId);
    expect(summary.uniqueKeys).toBe(true);
    expect(summary.commands.filter((c) => c.duplicate)).toEqual([]);
    expect(summary.actions).toEqual(['answer', 'gather_using_speak', 'gather_using_speak', 'speak', 'record_start']);
  });

  it('restart of the Temporal server on its SQLite file mid-call: the call finishes its flow', async () => {
    stack = await startTestStack({ timeScale: 0.5 });
    const caller = await stack.telnyx.placeCall({
      from: '+15557771002',
      to: '+15550001000',
      presses: [null, '2'],
      voicemail: { talkMs: 1500 },
    });
    await waitInMenu(stack, caller.workflowId, caller.callControlId);

    // Webhooks sent while it is down get 503 from the gateway and are retried by the carrier.
    const before = Date.now();
    await restartTestServer({ downMs: 7000, signal: 'SIGKILL' });
    const downFor = Date.now() - before;

    const outcome = await stack.outcome(caller.workflowId);
    expect(outcome.flowResult).toMatch(/^pressed 2, voicemail saved at https?:\/\//);
    const summary = await commandSummary(stack, caller.callControlId);
    expect(summary.uniqueKeys).toBe(true);
    expect(summary.actions).toEqual(['answer', 'gather_using_speak', 'gather_using_speak', 'speak', 'record_start']);
    const webhooks = await stack.telnyx.webhooks();
    const ours = webhooks.filter((w) => w.callControlId === caller.callControlId);
    expect(ours.every((w) => w.status === 'delivered')).toBe(true);
    // The silent first gather (prompt + 2.5 s) ended while the server was down: refused (503), delivered later.
    expect(downFor).toBeGreaterThan(7000);
    expect(ours.some((w) => w.attempts > 1)).toBe(true);
  });

  it('a carrier answering 503 and 429 first: commands are retried with the same command_id and run once', async () => {
    stack = await startTestStack({
      env: {
        SIMULATOR_FAULTS: JSON.stringify({ failFirstCommandAttempts: { status: 429, count: 1, retryAfterSeconds: 1 } }),
      },
    });
    const caller = await stack.telnyx.placeCall({
      from: '+15557771003',
      to: '+15550001000',
      presses: ['2'],
      voicemail: { talkMs: 1000 },
    });
    const outcome = await stack.outcome(caller.workflowId);
    expect(outcome.flowResult).toMatch(/^pressed 2, voicemail saved/);
    const summary = await commandSummary(stack, caller.callControlId);
    const refused = summary.commands.filter((c) => c.status === 429);
    expect(refused.length).toBe(summary.executed.length);
    for (const c of summary.executed) expect(refused.some((r) => r.commandId === c.commandId)).toBe(true);
    expect(summary.uniqueKeys).toBe(true);
  });

  it('every webhook delivered twice: the session ignores the duplicates and ends as its script says', async () => {
    stack = await startTestStack({ env: { SIMULATOR_FAULTS: JSON.stringify({ duplicateWebhooks: true }) } });
    const caller = await stack.telnyx.placeCall({
      from: '+15557771004',
      to: '+15550001000',
      presses: ['2'],
      voicemail: { talkMs: 1000 },
    });
    const outcome = await stack.outcome(caller.workflowId);
    expect(outcome.flowResult).toMatch(/^pressed 2, voicemail saved/);
    expect(outcome.digits).toBe('2');
    expect(outcome.recordings).toHaveLength(1);
    const state = await stack.state(caller.workflowId);
    expect(state.duplicatesIgnored).toBeGreaterThan(5);
    const summary = await commandSummary(stack, caller.callControlId);
    expect(summary.actions).toEqual(['answer', 'gather_using_speak', 'speak', 'record_start']);
  });
});
