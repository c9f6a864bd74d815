import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { request } from 'undici';
import { PROVIDERS, type Provider } from '../../src/calls';
import { CONFERENCE_PROMPTS } from '../../workflows/flows/conference';
import { eventually } from '../support/net';
import { replayCompletedSessions, startTestStack, type TestStack } from '../support/stack';

/**
 * A supervisor on an agent call, from REST (`POST /calls/:id/actions/{monitor,whisper,barge}`), on all three
 * simulated carriers at once: callers press 1 in the default IVR and are bridged to an agent. On Telnyx a
 * supervisor is dialed onto the agent's leg to monitor, then switched to whisper and barge; SignalWire and jambonz
 * refuse as unsupported with their reason, and nothing reaches the carrier for a refused control. Then a
 * conference as a flow operation on jambonz and on SignalWire: two callers in one room, the moderator leaves and
 * ends it for the other.
 */

const CALLER = '+15557770300';
const SUPERVISOR = '+15550009000';
const ROOM_MODERATOR = '+15550001300';
const ROOM_MEMBER = '+15550001301';
/** The jambonz supervisor case: its own caller, and an agent who hangs up 60 s (simulated) after answering. */
const JAMBONZ_CALLER = '+15557770350';
const SIGNALWIRE_CALLER = '+15557770360';
const SUPERVISED_LINE = '+15550001100';
const LEAVING_AGENT = '+15550002100';

describe('supervisor on a bridged agent call', () => {
  let stack: TestStack;
  beforeAll(async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'supervisor-'));
    const routes = path.join(dir, 'routes.json');
    writeFileSync(
      routes,
      JSON.stringify({
        default: { flow: 'defaultIvr', args: { agentNumber: '+15550002000' } },
        numbers: {
          [SUPERVISED_LINE]: { flow: 'defaultIvr', args: { agentNumber: LEAVING_AGENT } },
          [ROOM_MODERATOR]: { flow: 'conferenceRoom', args: { room: 'r1', moderator: true } },
          [ROOM_MEMBER]: { flow: 'conferenceRoom', args: { room: 'r1' } },
        },
      }),
    );
    stack = await startTestStack({
      simulate: [...PROVIDERS],
      timeScale: 0.25,
      env: {
        ROUTING_TABLE_PATH: routes,
        SIMULATOR_AGENTS: JSON.stringify({ [LEAVING_AGENT]: { behaviour: 'answer', hangupAfterMs: 60_000 } }),
      },
    });
  });
  afterAll(async () => {
    await stack?.close();
  });
  afterEach(() => {
    if (expect.getState().assertionCalls !== expect.getState().numPassingAsserts) console.log(stack.output.join('\n'));
  });

  async function control(workflowId: string, action: string, body?: object) {
    const res = await request(`${stack.gatewayUrl}/calls/${encodeURIComponent(workflowId)}/actions/${action}`, {
      method: 'POST',
      ...(body ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) } : {}),
    });
    return { status: res.statusCode, body: (await res.body.json()) as Record<string, any> };
  }

  async function placeBridgedCall(provider: Provider): Promise<string> {
    const script = { from: CALLER, to: '+15550001000', presses: ['1'] };
    const { workflowId } =
      provider === 'telnyx'
        ? await stack.telnyx.placeCall(script)
        : provider === 'signalwire'
          ? await stack.signalwire.placeCall(script)
          : await stack.jambonz.placeCall(script);
    await eventually(`${provider}: the caller bridged to the agent`, async () => {
      return (await stack.state(workflowId)).status === 'bridged';
    });
    return workflowId;
  }

  /** Every request a carrier received that names the supervisor's number. */
  async function sentToSupervisor(provider: Provider): Promise<unknown[]> {
    const log =
      provider === 'telnyx'
        ? await stack.telnyx.commands()
        : provider === 'signalwire'
          ? await stack.signalwire.commands()
          : await stack.jambonz.commands();
    return log.filter((entry) => JSON.stringify(entry).includes(SUPERVISOR));
  }

  it('Telnyx: monitors, whispers and barges on the agent leg', async () => {
    const provider = 'telnyx';
    const workflowId = await placeBridgedCall(provider);

    // A switch with no supervisor on the call is refused before anything is sent.
    const noSupervisor = await control(workflowId, 'whisper');
    expect(noSupervisor).toMatchObject({ status: 409, body: { code: 'invalid-state' } });
    expect(noSupervisor.body.detail).toContain('no supervisor is on the call');
    expect(await sentToSupervisor(provider)).toEqual([]);

    const monitored = await control(workflowId, 'monitor', { to: SUPERVISOR });
    expect(monitored).toMatchObject({
      status: 200,
      body: { action: 'monitor', result: { outcome: 'sent', supervisor: { role: 'monitor', answered: true } } },
    });
    const supervisorLeg: string = monitored.body.result.supervisor.callId;
    const agentLeg = (await stack.state(workflowId)).bridge?.callId;
    expect((await stack.telnyx.call(supervisorLeg)).supervising).toBe(agentLeg);

    expect(await control(workflowId, 'whisper')).toMatchObject({
      status: 200,
      body: { result: { supervisor: { callId: supervisorLeg, role: 'whisper' } } },
    });
    expect(await control(workflowId, 'barge')).toMatchObject({
      status: 200,
      body: { result: { supervisor: { callId: supervisorLeg, role: 'barge' } } },
    });
    expect((await stack.telnyx.call(supervisorLeg)).supervisorRoles).toEqual(['monitor', 'whisper', 'barge']);

    // One supervisor per call, and a switch to the role it is in is refused: nothing more is sent.
    const again = await control(workflowId, 'barge');
    expect(again).toMatchObject({ status: 409, body: { code: 'invalid-state' } });
    expect(again.body.detail).toBe('the supervisor is already in barge mode');
    const second = await control(workflowId, 'monitor', { to: '+15550009001' });
    expect(second.body.detail).toContain('already on the call');
    const switches = (await stack.telnyx.commands()).filter((c) => c.action === 'switch_supervisor_role');
    expect(switches.map((c) => c.body)).toEqual([{ role: 'whisper' }, { role: 'barge' }]);

    const state = await stack.state(workflowId);
    expect(state.legs.find((l) => l.callId === supervisorLeg)).toMatchObject({
      role: 'supervisor',
      to: SUPERVISOR,
      supervisorRole: 'barge',
    });

    // The supervisor leaves with the call.
    expect(await control(workflowId, 'hangup')).toMatchObject({
      status: 200,
      body: { result: { outcome: 'ended' } },
    });
    expect((await stack.telnyx.waitForEnd(supervisorLeg, 20_000)).state).toBe('ended');
    expect((await stack.outcome(workflowId)).status).toBe('ended');
    // The session that took (and refused) supervisor controls replays against the workflow code.
    expect(await replayCompletedSessions(stack.client, `CallFrom = '${CALLER}'`)).toBe(1);
  });

  it('jambonz: moves the call into a conference, where a supervisor monitors, whispers and barges', async () => {
    const { workflowId, callSid: caller } = await stack.jambonz.placeCall({
      from: JAMBONZ_CALLER,
      to: SUPERVISED_LINE,
      presses: ['1'],
    });
    await eventually(
      'the caller bridged to the agent',
      async () => (await stack.state(workflowId)).status === 'bridged',
    );
    const noSupervisor = await control(workflowId, 'whisper');
    expect(noSupervisor).toMatchObject({ status: 409, body: { code: 'invalid-state' } });
    expect(await sentToSupervisor('jambonz')).toEqual([]);

    const monitored = await control(workflowId, 'monitor', { to: SUPERVISOR });
    expect(monitored).toMatchObject({
      status: 200,
      body: { result: { outcome: 'sent', supervisor: { role: 'monitor', answered: true } } },
    });
    const supervisorLeg: string = monitored.body.result.supervisor.callId;
    const room = `supervised-${caller}`;
    // The agent left the dial for the room (Live Call Control child_call_hook to a member hook); the caller's
    // killed dial fetched the room; the supervisor was placed with the room as its call_hook, joining muted.
    const sent = await stack.jambonz.commands();
    const moves = sent.filter(
      (c) => c.action === 'updateCall' && c.callSid === caller && JSON.stringify(c.body).includes('child_call_hook'),
    );
    expect(moves).toHaveLength(1);
    expect(moves[0]).toMatchObject({
      status: 202,
      body: { child_call_hook: { url: expect.stringContaining('as=agent') } },
    });
    const placed = sent.find((c) => c.action === 'createCall' && JSON.stringify(c.body).includes(SUPERVISOR));
    expect(placed?.body).toMatchObject({ call_hook: { url: expect.stringContaining('hook=member') } });
    const agentLeg = (await stack.jambonz.calls()).find((c) => c.parentCallSid === caller);
    expect(agentLeg).toBeDefined();
    const milestones = async (callSid: string) => (await stack.jambonz.call(callSid)).outcome;
    await eventually(
      'all three in the room',
      async () =>
        (await milestones(caller)).includes(`joined conference ${room}`) &&
        (await milestones(agentLeg!.callSid)).includes(`joined conference ${room} (tagged agent)`) &&
        (await milestones(supervisorLeg)).includes(`joined conference ${room} (muted)`),
    );
    expect((await stack.state(workflowId)).status).toBe('bridged');

    // Switching the role rejoins the supervisor in it (a Live Call Control call_hook to the member hook).
    expect(await control(workflowId, 'whisper')).toMatchObject({
      status: 200,
      body: { result: { supervisor: { callId: supervisorLeg, role: 'whisper' } } },
    });
    await eventually('the supervisor heard by the agent only', async () =>
      (await milestones(supervisorLeg)).includes(`joined conference ${room} (heard only by agent)`),
    );
    expect(await control(workflowId, 'barge')).toMatchObject({
      status: 200,
      body: { result: { supervisor: { callId: supervisorLeg, role: 'barge' } } },
    });
    await eventually('the supervisor an equal member', async () =>
      (await milestones(supervisorLeg)).endsWith(`joined conference ${room}`),
    );
    const second = await control(workflowId, 'monitor', { to: '+15550009001' });
    expect(second.body.detail).toContain('already on the call');

    // The agent hangs up: the room ends for everyone, the supervisor's call ends, the caller is back in its
    // flow, which ends the call as it does after any bridge.
    const outcome = await stack.outcome(workflowId);
    expect(outcome.flowResult).toBe(`pressed 1, bridged to agent ${LEAVING_AGENT}`);
    expect((await stack.jambonz.waitForEnd(supervisorLeg, 20_000)).ended).toBe(true);
    const timeline = (await stack.state(workflowId)).timeline.map((line) => line.text);
    expect(timeline).toEqual(
      expect.arrayContaining([
        'moved into a conference for a supervisor',
        `supervisor ${SUPERVISOR} joined as monitor`,
      ]),
    );
    expect(timeline.some((text) => /^bridge ended after \d+ s$/.test(text))).toBe(true);
    expect(await replayCompletedSessions(stack.client, `CallFrom = '${JAMBONZ_CALLER}'`)).toBe(1);
  });

  it('SignalWire: moves the call into a conference, where a supervisor monitors, coaches and barges', async () => {
    const { workflowId, callId: caller } = await stack.signalwire.placeCall({
      from: SIGNALWIRE_CALLER,
      to: SUPERVISED_LINE,
      presses: ['1'],
    });
    await eventually(
      'the caller bridged to the agent',
      async () => (await stack.state(workflowId)).status === 'bridged',
    );
    const agentLeg = (await stack.state(workflowId)).bridge?.callId;
    expect(agentLeg).toBeDefined();

    const monitored = await control(workflowId, 'monitor', { to: SUPERVISOR });
    expect(monitored).toMatchObject({
      status: 200,
      body: { result: { outcome: 'sent', supervisor: { role: 'monitor', answered: true } } },
    });
    const supervisorLeg: string = monitored.body.result.supervisor.callId;
    const room = `supervised-${caller}`;
    // The agent's leg was updated into the room (leaving the caller's connect, which returned and fetched the
    // room from the session); the supervisor was dialed with the room as its document, joining muted.
    const sent = await stack.signalwire.commands();
    const moves = sent.filter((c) => JSON.stringify(c).includes('"update"') && JSON.stringify(c).includes(agentLeg!));
    expect(moves).toHaveLength(1);
    expect(JSON.stringify(moves[0])).toContain('"end_on_exit":true');
    const milestones = async (callId: string) => (await stack.signalwire.call(callId)).outcome;
    await eventually(
      'all three in the room',
      async () =>
        (await milestones(caller)).includes(`joined conference ${room} (ends it on exit)`) &&
        (await milestones(agentLeg!)).includes(`joined conference ${room} (ends it on exit)`) &&
        (await milestones(supervisorLeg)).includes(`joined conference ${room} (muted)`),
    );
    expect((await stack.state(workflowId)).status).toBe('bridged');

    // A role switch rejoins the room (an update of the supervisor's leg); a whisper coaches the agent's call.
    expect(await control(workflowId, 'whisper')).toMatchObject({
      status: 200,
      body: { result: { supervisor: { callId: supervisorLeg, role: 'whisper' } } },
    });
    await eventually('the supervisor coaching the agent', async () =>
      (await milestones(supervisorLeg)).includes(`joined conference ${room} (coaching ${agentLeg})`),
    );
    expect(await control(workflowId, 'barge')).toMatchObject({
      status: 200,
      body: { result: { supervisor: { callId: supervisorLeg, role: 'barge' } } },
    });
    await eventually(
      'the supervisor an equal member',
      async () =>
        (await milestones(supervisorLeg)).includes(`joined conference ${room}, `) ||
        (await milestones(supervisorLeg)).endsWith(`joined conference ${room}`),
    );

    // The agent hangs up: the room ends, the supervisor's call ends, the caller is back in its flow.
    const outcome = await stack.outcome(workflowId);
    expect(outcome.flowResult).toBe(`pressed 1, bridged to agent ${LEAVING_AGENT}`);
    expect((await stack.signalwire.waitForEnd(supervisorLeg, 20_000)).state).toBe('ended');
    expect((await stack.state(workflowId)).timeline.map((line) => line.text)).toContain(
      'moved into a conference for a supervisor',
    );
    expect(await replayCompletedSessions(stack.client, `CallFrom = '${SIGNALWIRE_CALLER}'`)).toBe(1);
  });

  it('jambonz: a conference as a flow operation, ended for the member when the moderator leaves', async () => {
    const member = await stack.jambonz.placeCall({ from: '+15557770301', to: ROOM_MEMBER });
    await eventually('the member in the conference', async () =>
      (await stack.state(member.workflowId)).operations.some((o) => o.op === 'joinConference' && !o.endedAt),
    );
    // Held, released, muted and unmuted from REST while in the conference (jambonz conf_hold_status, and
    // mute_status on the member's own call: conf_mute_status would mute every member but the moderators).
    for (const action of ['hold', 'unhold', 'mute', 'unmute']) {
      expect(await control(member.workflowId, action)).toMatchObject({
        status: 200,
        body: { result: { outcome: 'sent' } },
      });
    }
    await eventually('all four reach jambonz', async () => {
      const sent = (await stack.jambonz.commands())
        .map((c) => c.body as { conf_hold_status?: string; mute_status?: string } | undefined)
        .filter((body) => body?.conf_hold_status || body?.mute_status);
      return sent.length === 4 ? sent : undefined;
    });
    expect(
      (await stack.jambonz.commands()).some(
        (c) => (c.body as { conf_mute_status?: string } | undefined)?.conf_mute_status,
      ),
    ).toBe(false);
    // The moderator hangs up 3 s (simulated) after joining: the conference ends for the member.
    const moderator = await stack.jambonz.placeCall({
      from: '+15557770302',
      to: ROOM_MODERATOR,
      hangupAfterMs: 12_000,
    });
    expect((await stack.outcome(moderator.workflowId)).flowResult).toBe('hung up in conference r1');
    expect((await stack.outcome(member.workflowId)).flowResult).toBe('left conference r1');
    const heard = (await stack.jambonz.call(member.callSid)).heard;
    expect(heard).toContain(CONFERENCE_PROMPTS.ended);
    expect((await stack.jambonz.call(member.callSid)).outcome).toMatch(
      /joined conference r1, held, unheld, muted in conference, unmuted in conference, left conference r1/,
    );
  });

  it('SignalWire: a conference as a flow operation (SWML join_conference), ended for the member when the moderator leaves', async () => {
    const member = await stack.signalwire.placeCall({ from: '+15557770311', to: ROOM_MEMBER });
    await eventually('the member in the conference', async () =>
      (await stack.state(member.workflowId)).operations.some((o) => o.op === 'joinConference' && !o.endedAt),
    );
    // SignalWire has no command that holds or mutes a member: refused with the reason, nothing sent.
    const sentBefore = (await stack.signalwire.commands()).length;
    for (const action of ['hold', 'mute']) {
      const refused = await control(member.workflowId, action);
      expect(refused).toMatchObject({ status: 422, body: { code: 'unsupported' } });
    }
    expect((await stack.signalwire.commands()).length).toBe(sentBefore);
    const moderator = await stack.signalwire.placeCall({
      from: '+15557770312',
      to: ROOM_MODERATOR,
      hangupAfterMs: 12_000,
    });
    expect((await stack.outcome(moderator.workflowId)).flowResult).toBe('hung up in conference r1');
    expect((await stack.outcome(member.workflowId)).flowResult).toBe('left conference r1');
    const record = await stack.signalwire.waitForEnd(member.callId);
    expect(record.heard).toContain(CONFERENCE_PROMPTS.ended);
    // The simulator runs only documents valid against SignalWire's SWML schema (it ends the call on any other).
    expect(record.outcome).toMatch(/joined conference r1, left conference r1/);
  });
});
