import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { request } from 'undici';
import { PROVIDERS, type CallState, type Provider } from '../../src/calls';
import { eventually } from '../support/net';
import { startTestStack, type TestStack } from '../support/stack';

/**
 * Transfers of a bridged call from REST, on all three simulated carriers at once. A caller presses 1 in the
 * default IVR and is bridged to an agent; then a blind transfer (every carrier), and on every carrier a warm
 * transfer consulted then completed, and one consulted then cancelled: Telnyx re-bridges the legs, jambonz and
 * SignalWire meet in a conference. Every carrier refuses a transfer of a call that is not bridged and a step
 * without a consult.
 */

const IVR_NUMBER = '+15550004100';
const AGENT = '+15550004101';
/** The blind transfer's party: talks 8 s (simulated) and hangs up, which ends the call. */
const BLIND_PARTY = '+15550004102';
/** The consulted parties (warm transfers): they stay until the test hangs up. */
const CONSULTED = '+15550004103';
/** A consulted party who hangs up 80 s (simulated, 20 s real) after answering: after a completed transfer that ends the call. */
const CONSULTED_LEAVING = '+15550004104';
const HOLD_MUSIC = 'https://example.com/hold.mp3';
const SUPERVISOR = '+15550009000';
/** A consulted party who hangs up 8 s (simulated) after answering, while the agent still consults. */
const CONSULTED_SHORT = '+15550004105';
/** An IVR whose agent hangs up 24 s (simulated) after answering, in the middle of a consult. */
const IVR_LEAVING_AGENT = '+15550004110';
const LEAVING_AGENT = '+15550004111';

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
        numbers: {
          [IVR_NUMBER]: { flow: 'defaultIvr', args: { agentNumber: AGENT } },
          [IVR_LEAVING_AGENT]: { flow: 'defaultIvr', args: { agentNumber: LEAVING_AGENT } },
        },
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
          [CONSULTED_LEAVING]: { behaviour: 'answer', answerAfterMs: 1000, hangupAfterMs: 80_000 },
          [CONSULTED_SHORT]: { behaviour: 'answer', answerAfterMs: 1000, hangupAfterMs: 8000 },
          [LEAVING_AGENT]: { behaviour: 'answer', answerAfterMs: 1000, hangupAfterMs: 24_000 },
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
    expect(stray.status).toBe(409);
    expect(stray.body.detail).toMatch(/follows a consult/);

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

  /** What a document carrier's simulator saw a leg do, as one line of milestones. */
  const milestonesOf = async (provider: 'jambonz' | 'signalwire', id: string): Promise<string> =>
    (provider === 'jambonz' ? await stack.jambonz.call(id) : await stack.signalwire.call(id)).outcome;

  /**
   * jambonz and SignalWire: the consulted party is placed into a room, the agent follows, and the caller holds; on
   * complete the party takes over the agent's part (ending the room when it leaves) and the caller joins it; on
   * cancel the party is released and the agent takes its part back.
   */
  async function warmTransferInRoom(provider: 'jambonz' | 'signalwire', callers: [string, string]): Promise<void> {
    const [completes, cancels] = await Promise.all(callers.map((from) => bridgedCaller(provider, from)));
    const endsRoom = provider === 'jambonz' ? '(tagged agent)' : '(ends it on exit)';
    const parties = new Map<string, string>();
    await Promise.all(
      [
        [completes, CONSULTED_LEAVING],
        [cancels, CONSULTED],
      ].map(async ([caller, party]) => {
        const c = caller as typeof completes;
        // The cancelled one holds to music too: cancel cuts it short.
        const music = c === cancels ? { holdMusicUrl: HOLD_MUSIC } : {};
        const res = await control(c.workflowId, 'warm-transfer', { step: 'consult', to: party, ...music });
        expect(res.status).toBe(200);
        expect(res.body.result).toMatchObject({
          outcome: 'consulting',
          transfer: { kind: 'warm', step: 'consulting' },
        });
        const partyLeg: string = res.body.result.transfer.partyCallId;
        parties.set(c.workflowId, partyLeg);
        const room = `transfer-${c.callId}`;
        expect((await c.state()).status).toBe('answered');
        // The agent and the party talk in the room, neither ending it; the caller holds outside, told so.
        await eventually(
          `${provider}: agent and party in ${room}, the caller holding`,
          async () =>
            (await milestonesOf(provider, c.agentLeg)).endsWith(`joined conference ${room}`) &&
            (await milestonesOf(provider, partyLeg)).endsWith(`joined conference ${room}`) &&
            (await legOf(provider, c.callId)).heard.includes('Please hold while we connect you.') &&
            (c === completes || (await legOf(provider, c.callId)).heard.includes(HOLD_MUSIC)),
        );
        expect(await milestonesOf(provider, c.callId)).not.toContain(`joined conference ${room}`);
        const again = await control(c.workflowId, 'warm-transfer', { step: 'consult', to: BLIND_PARTY });
        expect(again.status).toBe(409);
        expect(again.body.detail).toContain('complete or cancel it first');
        // No supervisor joins a consult (nothing is sent).
        const supervisor = await control(c.workflowId, 'monitor', { to: '+15550009000' });
        expect(supervisor.status).toBe(409);
        expect(supervisor.body.detail).toContain('is under way: complete or cancel it first');
      }),
    );

    // Complete: the party takes over the agent's part, the agent is released, the caller joins.
    const room1 = `transfer-${completes.callId}`;
    const completed = await control(completes.workflowId, 'warm-transfer', { step: 'complete' });
    expect(completed.body.result).toMatchObject({ outcome: 'transferred', transfer: { step: 'completed' } });
    const party1 = parties.get(completes.workflowId)!;
    await eventually(`${provider}: the caller with the party in the room, the agent released`, async () => {
      return (
        (await milestonesOf(provider, completes.callId)).includes(`joined conference ${room1}`) &&
        (await milestonesOf(provider, party1)).includes(`joined conference ${room1} ${endsRoom}`) &&
        (await legOf(provider, completes.agentLeg)).ended
      );
    });
    expect((await completes.state()).bridge).toMatchObject({ address: CONSULTED_LEAVING, room: room1 });
    expect((await completes.state()).status).toBe('bridged');
    // A supervisor joins the transfer room as it would a supervised one: muted, to monitor the new agent.
    const monitored = await control(completes.workflowId, 'monitor', { to: SUPERVISOR });
    expect(monitored.body.result).toMatchObject({ outcome: 'sent', supervisor: { role: 'monitor', answered: true } });
    const supervisorLeg: string = monitored.body.result.supervisor.callId;
    await eventually(`${provider}: the supervisor in ${room1}, muted`, async () =>
      (await milestonesOf(provider, supervisorLeg)).includes(`joined conference ${room1} (muted)`),
    );

    // Cancel: the party is released, the agent takes its part back, the caller joins.
    const room2 = `transfer-${cancels.callId}`;
    const cancelled = await control(cancels.workflowId, 'warm-transfer', { step: 'cancel' });
    expect(cancelled.body.result).toMatchObject({ outcome: 'returned', transfer: { step: 'cancelled' } });
    await eventually(`${provider}: the caller back with the agent in the room, the party released`, async () => {
      return (
        (await milestonesOf(provider, cancels.callId)).includes(`joined conference ${room2}`) &&
        (await milestonesOf(provider, cancels.agentLeg)).includes(`joined conference ${room2} ${endsRoom}`) &&
        (await cancels.state()).legs.some((l) => l.to === CONSULTED && l.status === 'ended')
      );
    });
    expect((await cancels.state()).bridge).toMatchObject({ address: AGENT, room: room2 });
    // A call in a room whose agent ends it cannot consult again: it would end the room.
    const again = await control(cancels.workflowId, 'warm-transfer', { step: 'consult', to: CONSULTED });
    expect(again.status).toBe(409);
    expect(again.body.detail).toContain('already in a conference');

    // The transferred party hangs up: the room ends, the caller is back with its flow, which hangs up.
    await expect(stack.outcome(completes.workflowId)).resolves.toMatchObject({
      flowResult: `pressed 1, bridged to agent ${AGENT}`,
    });
    expect(timeline(await completes.state())).toEqual(
      expect.arrayContaining([`warm transfer completed: connected to ${CONSULTED_LEAVING}`]),
    );
    expect((await control(cancels.workflowId, 'hangup', {})).status).toBe(200);
    await expect(stack.outcome(cancels.workflowId)).resolves.toMatchObject({
      flowResult: `pressed 1, bridged to agent ${AGENT}`,
    });
    // The caller hanging up ended the room: the agent left it and hung up.
    await eventually(
      `${provider}: the agent released with the room`,
      async () => (await legOf(provider, cancels.agentLeg)).ended,
    );
  }

  /** The consulted party hangs up during the consult: complete is refused, cancel returns the caller to the agent. */
  async function partyLeavesDuringConsult(provider: 'jambonz' | 'signalwire', from: string): Promise<void> {
    const caller = await bridgedCaller(provider, from);
    const res = await control(caller.workflowId, 'warm-transfer', { step: 'consult', to: CONSULTED_SHORT });
    expect(res.body.result).toMatchObject({ outcome: 'consulting' });
    await eventually(`${provider}: the consulted party hung up`, async () =>
      (await caller.state()).legs.some((l) => l.to === CONSULTED_SHORT && l.status === 'ended'),
    );
    const completed = await control(caller.workflowId, 'warm-transfer', { step: 'complete' });
    expect(completed.status).toBe(409);
    expect(completed.body.detail).toBe(`${CONSULTED_SHORT} has hung up: cancel the transfer`);
    const cancelled = await control(caller.workflowId, 'warm-transfer', { step: 'cancel' });
    expect(cancelled.body.result).toMatchObject({ outcome: 'returned', transfer: { step: 'cancelled' } });
    const room = `transfer-${caller.callId}`;
    await eventually(`${provider}: the caller back with the agent`, async () =>
      (await milestonesOf(provider, caller.callId)).includes(`joined conference ${room}`),
    );
    expect((await caller.state()).bridge).toMatchObject({ address: AGENT, room });
    // From the room, a blind transfer: the caller leaves it (ending it for the agent) for a new dial.
    const blind = await control(caller.workflowId, 'transfer', { to: BLIND_PARTY });
    expect(blind.body.result).toMatchObject({ outcome: 'transferred', transfer: { kind: 'blind', step: 'completed' } });
    await eventually(
      `${provider}: the agent released with the room`,
      async () => (await legOf(provider, caller.agentLeg)).ended,
    );
    expect((await caller.state()).bridge).toMatchObject({ address: BLIND_PARTY });
    expect((await caller.state()).bridge?.room).toBeUndefined();
    // The new party hangs up after its talk: the call ends.
    await expect(stack.outcome(caller.workflowId)).resolves.toMatchObject({
      flowResult: `pressed 1, bridged to agent ${AGENT}`,
    });
  }

  /** The agent hangs up during the consult: cancel is refused with nothing changed, complete still connects the party. */
  async function agentLeavesDuringConsult(provider: 'jambonz' | 'signalwire', from: string): Promise<void> {
    const script = { from, to: IVR_LEAVING_AGENT, presses: ['1'] };
    const placed =
      provider === 'signalwire'
        ? await stack.signalwire.placeCall(script)
        : await stack.jambonz.placeCall(script).then((c) => ({ workflowId: c.workflowId, callId: c.callSid }));
    const state = () => stack.state(placed.workflowId);
    await eventually(`${provider}: bridged to the agent`, async () => (await state()).bridge?.since !== undefined);
    const agentLeg = (await state()).bridge!.callId!;
    const res = await control(placed.workflowId, 'warm-transfer', { step: 'consult', to: CONSULTED });
    expect(res.body.result).toMatchObject({ outcome: 'consulting' });
    await eventually(`${provider}: the agent hung up`, async () => (await legOf(provider, agentLeg)).ended);
    const cancelled = await control(placed.workflowId, 'warm-transfer', { step: 'cancel' });
    expect(cancelled.status).toBe(409);
    expect(cancelled.body.detail).toMatch(/^the first agent could not rejoin .*: complete the transfer$/);
    expect((await state()).transfer).toMatchObject({ step: 'consulting' });
    const completed = await control(placed.workflowId, 'warm-transfer', { step: 'complete' });
    expect(completed.body.result).toMatchObject({ outcome: 'transferred', transfer: { step: 'completed' } });
    const room = `transfer-${placed.callId}`;
    await eventually(`${provider}: the caller with the party`, async () =>
      (await milestonesOf(provider, placed.callId)).includes(`joined conference ${room}`),
    );
    expect((await state()).bridge).toMatchObject({ address: CONSULTED, room });
    expect((await control(placed.workflowId, 'hangup', {})).status).toBe(200);
    await expect(stack.outcome(placed.workflowId)).resolves.toMatchObject({
      flowResult: `pressed 1, bridged to agent ${LEAVING_AGENT}`,
    });
  }

  it('jambonz and SignalWire: warm transfer in a conference (completed, cancelled, party or agent leaving mid-consult)', async () => {
    await Promise.all([
      warmTransferInRoom('jambonz', ['+15557774104', '+15557774105']),
      warmTransferInRoom('signalwire', ['+15557774106', '+15557774107']),
      partyLeavesDuringConsult('jambonz', '+15557774108'),
      partyLeavesDuringConsult('signalwire', '+15557774109'),
      agentLeavesDuringConsult('jambonz', '+15557774110'),
      agentLeavesDuringConsult('signalwire', '+15557774111'),
    ]);
  });
});
