import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { request } from 'undici';
import { PROVIDERS, type CallState, type Provider } from '../../src/calls';
import { eventually } from '../support/net';
import { startTestStack, type TestStack } from '../support/stack';

/**
 * Transfers of a bridged call from REST, on all three simulated carriers at once. A caller presses 1 in the
 * default IVR and is bridged to an agent; then a blind transfer (every carrier), and on Telnyx a warm transfer
 * consulted then completed, and one consulted then cancelled. The document carriers refuse a warm transfer
 * as unsupported; every carrier refuses a transfer of a call that is not bridged and a step without a consult.
 */

const IVR_NUMBER = '+15550004100';
const AGENT = '+15550004101';
/** The blind transfer's party: talks 8 s (simulated) and hangs up, which ends the call. */
const BLIND_PARTY = '+15550004102';
/** The consulted parties (warm transfers): they stay until the test hangs up. */
const CONSULTED = '+15550004103';

interface Leg {
  to: string;
  ended: boolean;
  heard: string[];
  bridgedWith?: string;
}

describe('transfers of a bridged call', () => {
  let stack: TestStack;
  beforeAll(async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'transfer-'));
    writeFileSync(
      path.join(dir, 'routes.json'),
      JSON.stringify({
        default: { flow: 'defaultIvr' },
        numbers: { [IVR_NUMBER]: { flow: 'defaultIvr', args: { agentNumber: AGENT } } },
      }),
    );
    stack = await startTestStack({
      simulate: [...PROVIDERS],
      timeScale: 0.25,
      env: {
        ROUTING_TABLE_PATH: path.join(dir, 'routes.json'),
        SIMULATOR_AGENTS: JSON.stringify({
          [AGENT]: { behaviour: 'answer', answerAfterMs: 1000, hangupAfterMs: 600_000 },
          [BLIND_PARTY]: { behaviour: 'answer', answerAfterMs: 1000, hangupAfterMs: 8000 },
          [CONSULTED]: { behaviour: 'answer', answerAfterMs: 1000, hangupAfterMs: 600_000 },
        }),
      },
    });
  });
  afterAll(async () => {
    await stack?.close();
  });
  afterEach(() => {
    if (expect.getState().assertionCalls !== expect.getState().numPassingAsserts)
      console.log(stack.output.slice(-200).join('\n'));
  });

  async function control(workflowId: string, action: string, body: object) {
    const res = await request(`${stack.gatewayUrl}/calls/${encodeURIComponent(workflowId)}/actions/${action}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: res.statusCode, body: (await res.body.json()) as Record<string, any> };
  }

  /** What each carrier's simulator knows of a leg, seen the same way. */
  const legOf = async (provider: Provider, id: string): Promise<Leg> => {
    if (provider === 'jambonz') return stack.jambonz.call(id);
    const leg = provider === 'telnyx' ? await stack.telnyx.call(id) : await stack.signalwire.call(id);
    return { ...leg, ended: leg.state === 'ended' };
  };

  /** A caller bridged to the agent through the IVR (pressing 1); its session and its leg's id. */
  async function bridgedCaller(provider: Provider, from: string) {
    const script = { from, to: IVR_NUMBER, presses: ['1'] };
    const placed =
      provider === 'telnyx'
        ? await stack.telnyx.placeCall(script).then((c) => ({ workflowId: c.workflowId, callId: c.callControlId }))
        : provider === 'signalwire'
          ? await stack.signalwire.placeCall(script)
          : await stack.jambonz.placeCall(script).then((c) => ({ workflowId: c.workflowId, callId: c.callSid }));
    const state = async () => stack.state(placed.workflowId);
    await eventually(`${provider}: answered`, async () => (await state().catch(() => undefined))?.answeredAt);
    // Not bridged yet: a transfer is refused before anything reaches the carrier.
    const early = await control(placed.workflowId, 'transfer', { to: BLIND_PARTY });
    expect(early.status).toBe(409);
    expect(early.body.detail).toContain('only a bridged call can be transferred');
    await eventually(`${provider}: bridged to the agent`, async () => (await state()).bridge?.since !== undefined);
    const agentLeg = await eventually(`${provider}: the agent's leg`, async () => {
      const id = (await legOf(provider, placed.callId)).bridgedWith;
      return id && (await legOf(provider, id)).to === AGENT ? id : undefined;
    });
    return {
      ...placed,
      agentLeg,
      state,
      partyOfCaller: async () => legOf(provider, (await legOf(provider, placed.callId)).bridgedWith ?? ''),
    };
  }

  const timeline = (state: CallState) => state.timeline.map((e) => e.text);

  /** A blind transfer on one carrier, and the refusal of a warm transfer's step without a consult. */
  async function blindTransfer(provider: Provider): Promise<void> {
    const caller = await bridgedCaller(provider, '+15557774101');
    // A step without a consult is refused (on the document carriers: warm transfers are unsupported).
    const stray = await control(caller.workflowId, 'warm-transfer', { step: 'complete' });
    expect(stray.status).toBe(provider === 'telnyx' ? 409 : 422);
    expect(stray.body.detail).toMatch(provider === 'telnyx' ? /follows a consult/ : /does not support warm-transfer/);

    const res = await control(caller.workflowId, 'transfer', { to: BLIND_PARTY });
    expect(res.status).toBe(200);
    expect(res.body.result).toMatchObject({ outcome: 'transferred', transfer: { kind: 'blind', step: 'completed' } });
    await eventually(`${provider}: the caller talks to the new party`, async () => {
      const party = await caller.partyOfCaller();
      return party.to === BLIND_PARTY && !party.ended;
    });
    const state = await caller.state();
    expect(state.bridge).toMatchObject({ address: BLIND_PARTY });
    await eventually(`${provider}: the agent released`, async () => (await legOf(provider, caller.agentLeg)).ended);
    expect(timeline(state)).toEqual(expect.arrayContaining([`blind transfer to ${BLIND_PARTY}`]));
    // The new party hangs up after its talk: the call ends, bridged.
    const outcome = await stack.outcome(caller.workflowId);
    expect(outcome).toMatchObject({ flowResult: `pressed 1, bridged to agent ${AGENT}` });
    expect((await caller.state()).outcome).toBe('bridged');
  }

  it('blind transfer connects the caller to the new party and releases the agent, on every carrier', async () => {
    await Promise.all(PROVIDERS.map(blindTransfer));
  });

  it('telnyx: warm transfer, consulted then completed, and consulted then cancelled', async () => {
    const [completes, cancels] = await Promise.all([
      bridgedCaller('telnyx', '+15557774102'),
      bridgedCaller('telnyx', '+15557774103'),
    ]);
    await Promise.all(
      [completes, cancels].map(async (caller) => {
        const res = await control(caller.workflowId, 'warm-transfer', { step: 'consult', to: CONSULTED });
        expect(res.status).toBe(200);
        expect(res.body.result).toMatchObject({
          outcome: 'consulting',
          transfer: { kind: 'warm', step: 'consulting' },
        });
        const state = await caller.state();
        expect(state.status).toBe('answered');
        // The caller holds (told so) while the agent's leg is bridged to the consulted party.
        expect((await stack.telnyx.call(caller.callId)).heard).toContain('Please hold while we connect you.');
        expect((await legOf('telnyx', (await legOf('telnyx', caller.agentLeg)).bridgedWith ?? '')).to).toBe(CONSULTED);
        // A second consult waits for this one to end.
        const again = await control(caller.workflowId, 'warm-transfer', { step: 'consult', to: BLIND_PARTY });
        expect(again.status).toBe(409);
        expect(again.body.detail).toContain('complete or cancel it first');
      }),
    );

    const completed = await control(completes.workflowId, 'warm-transfer', { step: 'complete' });
    expect(completed.body.result).toMatchObject({ outcome: 'transferred', transfer: { step: 'completed' } });
    expect((await completes.partyOfCaller()).to).toBe(CONSULTED);
    await eventually('the first agent released', async () => (await legOf('telnyx', completes.agentLeg)).ended);
    expect((await completes.state()).bridge).toMatchObject({ address: CONSULTED });

    const cancelled = await control(cancels.workflowId, 'warm-transfer', { step: 'cancel' });
    expect(cancelled.body.result).toMatchObject({ outcome: 'returned', transfer: { step: 'cancelled' } });
    expect((await cancels.partyOfCaller()).to).toBe(AGENT);
    await eventually('the consulted party released', async () =>
      (await cancels.state()).legs.some((l) => l.to === CONSULTED && l.status === 'ended'),
    );
    expect((await cancels.state()).bridge).toMatchObject({ address: AGENT });
    expect(timeline(await cancels.state())).toEqual(
      expect.arrayContaining([`warm transfer to ${CONSULTED} cancelled: back with ${AGENT}`]),
    );

    for (const caller of [completes, cancels]) {
      expect((await control(caller.workflowId, 'hangup', {})).status).toBe(200);
      await expect(stack.outcome(caller.workflowId)).resolves.toMatchObject({
        flowResult: `pressed 1, bridged to agent ${AGENT}`,
      });
    }
  });
});
