import type { CallOutcome } from '../../src/calls';
import { IVR_PROMPTS } from '../../workflows/flows/default-ivr';
import { eventually } from '../support/net';
import { startTestStack, type TestStack } from '../support/stack';

/** Session behaviour beyond the demo callers: continue-as-new, outbound calls. */
describe('call sessions', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack({
      // Continue-as-new early, so a short call crosses several runs.
      env: {
        SESSION_MAX_HISTORY_EVENTS: '25',
        SIMULATOR_AGENTS: JSON.stringify({ '+15550009001': { behaviour: 'busy' } }),
      },
    });
  });
  afterAll(async () => {
    await stack?.close();
  });
  afterEach(() => {
    if (process.env.DEBUG_STACK || expect.getState().assertionCalls !== expect.getState().numPassingAsserts)
      console.log(stack.output.join('\n'));
  });

  it('continues-as-new at menu checkpoints and carries state across runs', async () => {
    const caller = await stack.telnyx.placeCall({
      from: '+15557772001',
      to: '+15550001000',
      presses: [null, null, null],
    });
    const outcome = await stack.outcome(caller.workflowId);
    expect(outcome.flowResult).toBe('no valid choice after 3 tries');
    expect(outcome.runs).toBeGreaterThanOrEqual(2);
    const state = await stack.state(caller.workflowId);
    expect(state.runs).toBe(outcome.runs);
    // State from the first run survived: when the call was answered, and the operations' sequence.
    expect(state.answeredAt).toBeDefined();
    expect(state.status).toBe('ended');
    const sim = await stack.telnyx.call(caller.callControlId);
    expect(sim.heard.filter((p) => p.includes(IVR_PROMPTS.menu))).toHaveLength(3);
    expect(sim.heard.at(-1)).toBe(IVR_PROMPTS.goodbye);
    const commands = (await stack.telnyx.commands()).filter((c) => c.callControlId === caller.callControlId);
    const keys = commands.map((c) => c.commandId);
    expect(new Set(keys).size).toBe(keys.length);
  });

  const placeOutbound = async (to: string, requestId: string) => {
    const res = await fetch(`${stack.gatewayUrl}/calls`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ to, from: '+15550001000', requestId }),
    });
    expect(res.status).toBe(202);
    const { workflowId } = (await res.json()) as { workflowId: string };
    return workflowId;
  };

  it('places an outbound call through POST /calls and runs the outbound flow when it is answered', async () => {
    const workflowId = await placeOutbound('+15550009002', `outbound-${Date.now()}`);
    const outcome = (await stack.client.workflow.getHandle(workflowId).result()) as CallOutcome;
    // The simulated callee answers but never presses anything.
    expect(outcome.flowResult).toBe('not confirmed');
    const state = await stack.state(workflowId);
    expect(state).toMatchObject({ direction: 'outbound', to: '+15550009002', status: 'ended' });
    const dials = (await stack.telnyx.commands()).filter(
      (c) => c.action === 'dial' && c.commandId === `${workflowId}#1`,
    );
    expect(dials).toHaveLength(1);
    const status = await eventually('GET /calls/:id', async () => {
      const res = await fetch(`${stack.gatewayUrl}/calls/${encodeURIComponent(workflowId)}`);
      return res.status === 200 ? ((await res.json()) as { state: { flow: string } }) : undefined;
    });
    expect(status.state.flow).toBe('outboundNotice');
  });

  it('ends an outbound session as not answered when the callee is busy', async () => {
    const workflowId = await placeOutbound('+15550009001', `busy-${Date.now()}`);
    const outcome = (await stack.client.workflow.getHandle(workflowId).result()) as CallOutcome;
    expect(outcome).toMatchObject({ flowResult: 'not answered (busy)', endCause: 'busy' });
  });
});
