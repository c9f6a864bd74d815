import { PROVIDERS, type Provider } from '../../src/calls';
import {
  CHAOS_SCRIPTS,
  fetchCarrierLogs,
  judgeCall,
  runningSessions,
  sessionFacts,
  type CarrierLogs,
  type PlacedCall,
  type ScriptName,
} from '../../bench/chaos-analysis';
import { eventually } from '../support/net';
import { startTestStack, type TestStack } from '../support/stack';

/**
 * The chaos harness (`npm run chaos`) in small and deterministic: two callers per carrier, every webhook
 * duplicated, a call's webhooks reordered (seeded), every carrier command refused once with 503, and the
 * worker SIGKILLed while the callers are in the menu. Judged as the harness judges: from the simulators' logs
 * and Temporal, none lost, dropped, wrong, executed twice or left running.
 */

const FAULTS = {
  duplicateWebhooks: true,
  duplicateStatusHooks: true,
  reorderWebhooks: true,
  reorderDelayMs: [0, 150],
  faultSeed: 42,
  failFirstCommandAttempts: { status: 503, count: 1 },
};

/** The harness's callers (the agent caller stays a simulated minute: 15 s real at this time scale). */
const SCRIPTS: Record<ScriptName, object> = CHAOS_SCRIPTS;

async function place(stack: TestStack, carrier: Provider, script: ScriptName, n: number): Promise<PlacedCall> {
  const caller = { from: `+1555888${carrier.length}${n}00`, to: '+15550001000', ...SCRIPTS[script] };
  if (carrier === 'telnyx') {
    const { callControlId, workflowId } = await stack.telnyx.placeCall(caller);
    return { carrier, script, callId: callControlId, workflowId };
  }
  if (carrier === 'signalwire') {
    const { callId, workflowId } = await stack.signalwire.placeCall(caller);
    return { carrier, script, callId, workflowId };
  }
  const { callSid, workflowId } = await stack.jambonz.placeCall(caller);
  return { carrier, script, callId: callSid, workflowId };
}

describe('chaos, small and deterministic', () => {
  let stack: TestStack | undefined;
  afterAll(async () => {
    if (expect.getState().assertionCalls !== expect.getState().numPassingAsserts && stack)
      console.log(stack.output.slice(-200).join('\n'));
    await stack?.close();
  });

  it('6 calls with duplicates, reordering, 503s and a worker SIGKILL: 0 lost, dropped, wrong, duplicated or stuck', async () => {
    stack = await startTestStack({
      simulate: [...PROVIDERS],
      timeScale: 0.25,
      env: { SIMULATOR_FAULTS: JSON.stringify(FAULTS) },
    });
    const calls = await Promise.all(
      PROVIDERS.flatMap((carrier) => [place(stack!, carrier, 'agent', 1), place(stack!, carrier, 'voicemail', 2)]),
    );
    // Mid-call: every session has started and the callers are in the menu or on their way to it.
    const client = stack.client;
    await Promise.all(
      calls.map((c) =>
        eventually(
          `session ${c.workflowId}`,
          () =>
            client.workflow
              .getHandle(c.workflowId)
              .describe()
              .then(() => true),
          30_000,
          100,
        ),
      ),
    );
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    await stack.worker.kill();
    await stack.startWorker('worker-2');

    await Promise.all(calls.map((c) => stack!.outcome(c.workflowId)));
    await Promise.all(
      calls.map((c) =>
        c.carrier === 'telnyx'
          ? stack!.telnyx.waitForEnd(c.callId)
          : c.carrier === 'signalwire'
            ? stack!.signalwire.waitForEnd(c.callId)
            : stack!.jambonz.waitForEnd(c.callId),
      ),
    );

    const logs = {} as Record<Provider, CarrierLogs>;
    for (const carrier of PROVIDERS) logs[carrier] = await fetchCarrierLogs(carrier, stack.simulatorUrls[carrier]!);
    const running = await runningSessions(client);
    const verdicts = await Promise.all(
      calls.map(async (call) =>
        judgeCall(call, logs[call.carrier], await sessionFacts(client, call.workflowId), running),
      ),
    );
    const bad = verdicts.filter((v) => v.lost || v.dropped || v.wrong || v.stuck || v.duplicates.length > 0);
    expect(bad).toEqual([]);

    // The faults did happen: duplicates and reordered webhooks on every carrier, refused Telnyx commands.
    for (const carrier of PROVIDERS) {
      const hooks = logs[carrier].webhooks;
      expect(hooks.some((w) => w.duplicate)).toBe(true);
      expect(hooks.some((w) => w.reordered)).toBe(true);
    }
    expect(logs.telnyx.commands.filter((c) => c.status === 503).length).toBeGreaterThan(3);
  });
});
