import { randomBytes } from 'node:crypto';
import type { CallCommand, PlaceCallRequest } from '../../../src/calls';
import { ErrorType, SUPERVISOR_ROLES } from '../../../src/calls';
import { CarrierError } from '../../../src/providers/errors';
import {
  createJambonzCommands,
  JAMBONZ_NO_SUPERVISOR,
  memberHookUrl,
  roomMemberDocument,
  verifyMemberHook,
} from '../../../src/providers/jambonz';
import {
  SIGNALWIRE_NO_SUPERVISOR,
  signalwireCommandRequest,
  signalwirePlaceCallRequest,
} from '../../../src/providers/signalwire';
import { telnyxCommandRequest, telnyxPlaceCallRequest } from '../../../src/providers/telnyx';
import { validateTelnyxRequest } from '../../../src/simulator/telnyx/spec';
import {
  closedRequestErrors,
  createCallSchema,
  STALE_IN_CREATE_CALL_SWAGGER,
  updateCallSchema,
} from './jambonz/swagger';
import { onTheWire, validateVerbDocument } from './jambonz/verb-spec';
import { callRequestErrors } from './signalwire/spec';

/**
 * Supervisor legs as carrier requests: on Telnyx a dial with `supervise_call_control_id` + `supervisor_role` and
 * `switch_supervisor_role` on the supervisor's leg, both valid against the Call Control spec. On jambonz the call is
 * moved into a conference (`child_call_hook`) and the supervisor placed into it (`call_hook` to a signed member
 * hook), valid against the swagger and the verb specs; on SignalWire the agent's leg is updated into the room and the
 * supervisor dialed into it (SWML `join_conference`: muted, `coach`, plain), valid against the Calling API spec.
 */

const owner = 'call:telnyx:v3:caller';
const telnyxOptions = { connectionId: '1684641123236054244', voice: 'AWS.Polly.Joanna-Neural' };
const supervisorDial = (role: (typeof SUPERVISOR_ROLES)[number]): PlaceCallRequest => ({
  to: '+15550009000',
  from: '+15550001000',
  timeoutSeconds: 12,
  commandKey: `${owner}#12`,
  ownerWorkflowId: owner,
  supervise: { callId: 'v3:agent-leg', role },
});
const switchTo = (role: (typeof SUPERVISOR_ROLES)[number]): CallCommand => ({
  op: 'switchSupervisorRole',
  role,
  callId: 'v3:supervisor-leg',
  commandKey: `${owner}#13`,
  ownerWorkflowId: owner,
});

function refusal(build: () => unknown): CarrierError {
  try {
    build();
  } catch (err) {
    return err as CarrierError;
  }
  throw new Error('expected a refusal');
}

describe('Telnyx supervisor requests', () => {
  it.each(SUPERVISOR_ROLES)('dials a supervisor in %s that validates against the spec', (role) => {
    const request = telnyxPlaceCallRequest(supervisorDial(role), telnyxOptions);
    expect(validateTelnyxRequest('/calls', 'post', request.body)).toEqual([]);
    expect(request.body).toMatchObject({ supervise_call_control_id: 'v3:agent-leg', supervisor_role: role });
  });

  it('dials an ordinary leg without the supervisor fields', () => {
    const { supervise: _supervise, ...plain } = supervisorDial('monitor');
    expect(telnyxPlaceCallRequest(plain, telnyxOptions).body).not.toHaveProperty('supervise_call_control_id');
  });

  it.each(SUPERVISOR_ROLES)('switches the supervisor leg to %s with a body that validates', (role) => {
    const request = telnyxCommandRequest(switchTo(role), telnyxOptions);
    expect(request.path).toBe('/calls/v3%3Asupervisor-leg/actions/switch_supervisor_role');
    // The spec's one action with neither client_state nor command_id.
    expect(request.body).toEqual({ role });
    expect(
      validateTelnyxRequest('/calls/{call_control_id}/actions/switch_supervisor_role', 'post', request.body),
    ).toEqual([]);
  });

  it('the spec refuses a role Telnyx does not have', () => {
    expect(
      validateTelnyxRequest('/calls/{call_control_id}/actions/switch_supervisor_role', 'post', { role: 'coach' }),
    ).not.toEqual([]);
  });
});

describe('jambonz supervisors, in the conference the call is moved into', () => {
  const secret = 'wh_secret';
  const jambonz = createJambonzCommands({
    accountSid: '9351f46a-678c-43f5-b8a6-d4eb58d131af',
    publicBaseUrl: 'https://gateway.example.com',
    hookSecret: secret,
  });
  const room = 'supervised-caller';
  const memberOf = (url: string) => verifyMemberHook(url, [secret]);

  it('moves the agent out of the dial into the room with child_call_hook alone (the caller follows)', () => {
    const request = jambonz.commandRequest({
      op: 'moveToConference',
      room,
      callId: 'caller',
      commandKey: `${owner}#14`,
      ownerWorkflowId: owner,
    });
    expect(request).toMatchObject({ method: 'PUT', path: expect.stringContaining('/Calls/caller') });
    const body = request.body as { child_call_hook: { url: string } };
    expect(Object.keys(body)).toEqual(['child_call_hook']);
    expect(closedRequestErrors(updateCallSchema, onTheWire(body) as object, [])).toBe('');
    expect(memberOf(body.child_call_hook.url)).toEqual({ ok: true, workflowId: owner, room, as: 'agent' });
  });

  it.each(SUPERVISOR_ROLES)(
    'places a supervisor in %s with the room as its call_hook, valid against the swagger',
    (role) => {
      const dial = supervisorDial(role);
      const request = jambonz.placeCallRequest({ ...dial, supervise: { ...dial.supervise!, room } });
      const body = request.body as { call_hook: { url: string }; call_status_hook: { url: string } };
      expect(closedRequestErrors(createCallSchema, body, STALE_IN_CREATE_CALL_SWAGGER)).toBe('');
      expect(memberOf(body.call_hook.url)).toEqual({ ok: true, workflowId: owner, room, as: role });
      // Its status still reaches the session, which waits for it to answer.
      expect(body.call_status_hook.url).toContain('hook=status');
    },
  );

  it.each(SUPERVISOR_ROLES)(
    'switches the supervisor to %s by rejoining the room (call_hook to the member hook)',
    (role) => {
      const body = jambonz.commandRequest({ ...switchTo(role), room } as CallCommand).body as {
        call_hook: { url: string };
      };
      expect(Object.keys(body)).toEqual(['call_hook']);
      expect(memberOf(body.call_hook.url)).toMatchObject({ ok: true, room, as: role });
    },
  );

  it("answers a member hook with the room in the member's role, valid against the verb specs", () => {
    const agent = roomMemberDocument(room, 'agent');
    const roles = SUPERVISOR_ROLES.map((role) => roomMemberDocument(room, role));
    for (const verbs of [agent, ...roles]) validateVerbDocument(onTheWire(verbs));
    expect(agent).toEqual([
      {
        verb: 'conference',
        name: room,
        beep: false,
        startConferenceOnEnter: true,
        memberTag: 'agent',
        endConferenceOnExit: true,
      },
      { verb: 'hangup' },
    ]);
    expect(roles.map((verbs) => verbs[0])).toEqual([
      expect.objectContaining({ joinMuted: true }),
      expect.objectContaining({ speakOnlyTo: 'agent' }),
      expect.not.objectContaining({ joinMuted: true, speakOnlyTo: 'agent' }),
    ]);
    expect(roles[2][0]).not.toHaveProperty('speakOnlyTo');
    expect(roles[2][0]).not.toHaveProperty('joinMuted');
  });

  it('refuses a member hook URL that was tampered with', () => {
    const url = new URL(memberHookUrl('https://gateway.example.com', secret, owner, `${owner}#2`, room, 'monitor'));
    url.searchParams.set('as', 'barge');
    expect(memberOf(url.toString())).toMatchObject({ ok: false });
    expect(memberOf(url.toString().replace('barge', 'monitor'))).toMatchObject({ ok: true });
  });
});

describe('SignalWire supervisors, in the conference the call is moved into', () => {
  const callbacks = { publicBaseUrl: 'https://gw.example.com', secret: randomBytes(32).toString('base64url') };
  const room = 'supervised-caller';
  const AGENT_LEG = 'b1c2d3e4-5717-4562-b3fc-2c963f66afa6';
  const SUPERVISOR_LEG = 'c2d3e4f5-5717-4562-b3fc-2c963f66afa6';
  const joinOf = (body: unknown) =>
    (body as { params: { swml: { sections: { main: Array<Record<string, unknown>> } } } }).params.swml.sections.main[0]
      .join_conference;

  it('updates the agent leg into the room with an inline document (the caller follows), valid against the spec', () => {
    const request = signalwireCommandRequest(
      {
        op: 'moveToConference',
        room,
        otherCallId: AGENT_LEG,
        callId: 'a0b1c2d3-5717-4562-b3fc-2c963f66afa6',
        commandKey: `${owner}#14`,
        ownerWorkflowId: owner,
      },
      { callbacks },
    );
    expect(callRequestErrors(request.body as { command: string })).toBe('');
    expect(request.body).toMatchObject({ command: 'update', params: { id: AGENT_LEG } });
    expect(joinOf(request.body)).toEqual({ name: room, beep: 'false', end_on_exit: true });
  });

  it.each([
    ['monitor', { muted: true }],
    ['whisper', { coach: AGENT_LEG }],
    ['barge', {}],
  ] as const)('dials a supervisor into the room in %s, valid against the spec', (role, how) => {
    const dial = supervisorDial(role);
    const request = signalwirePlaceCallRequest({ ...dial, supervise: { callId: AGENT_LEG, role, room } }, callbacks);
    expect(callRequestErrors(request.body as { command: string })).toBe('');
    expect(joinOf(request.body)).toEqual({ name: room, beep: 'false', ...how });
    // Its state callbacks still reach the session, which waits for it to answer.
    expect((request.body as { params: { status_url: string } }).params.status_url).toContain('/signalwire/');
  });

  it.each(SUPERVISOR_ROLES)('switches the supervisor to %s by updating its leg into the room again', (role) => {
    const request = signalwireCommandRequest(
      { ...switchTo(role), callId: SUPERVISOR_LEG, room, agentCallId: AGENT_LEG } as CallCommand,
      { callbacks },
    );
    expect(callRequestErrors(request.body as { command: string })).toBe('');
    expect(request.body).toMatchObject({ command: 'update', params: { id: SUPERVISOR_LEG } });
    expect(joinOf(request.body)).toMatchObject({ name: room });
  });
});

describe('a SignalWire whisper needs the agent it coaches', () => {
  const callbacks = { publicBaseUrl: 'https://gw.example.com', secret: randomBytes(32).toString('base64url') };

  it('refuses a whisper that names no agent call instead of letting the caller hear the supervisor', () => {
    const err = refusal(() =>
      signalwireCommandRequest({ ...switchTo('whisper'), room: 'supervised-caller' } as CallCommand, { callbacks }),
    );
    expect(err).toBeInstanceOf(CarrierError);
    expect(err.type).toBe(ErrorType.InvalidCommand);
    expect(err.message).toContain('coaches the agent');
  });
});

describe('SignalWire and jambonz need the room', () => {
  const jambonz = createJambonzCommands({
    accountSid: '9351f46a-678c-43f5-b8a6-d4eb58d131af',
    publicBaseUrl: 'https://gateway.example.com',
    hookSecret: 'wh_secret',
  });
  const callbacks = { publicBaseUrl: 'https://gw.example.com', secret: randomBytes(32).toString('base64url') };

  it('SignalWire refuses a supervisor dial and a role switch that name no room as Unsupported', () => {
    for (const err of [
      refusal(() => signalwirePlaceCallRequest(supervisorDial('monitor'), callbacks)),
      refusal(() => signalwireCommandRequest(switchTo('whisper'), { callbacks })),
    ]) {
      expect(err).toBeInstanceOf(CarrierError);
      expect(err.type).toBe(ErrorType.Unsupported);
      expect(err.message).toContain(SIGNALWIRE_NO_SUPERVISOR);
    }
  });

  it('jambonz refuses a supervisor dial and a role switch that name no room as Unsupported', () => {
    for (const err of [
      refusal(() => jambonz.placeCallRequest(supervisorDial('barge'))),
      refusal(() => jambonz.commandRequest(switchTo('monitor'))),
    ]) {
      expect(err).toBeInstanceOf(CarrierError);
      expect(err.type).toBe(ErrorType.Unsupported);
      expect(err.message).toContain(JAMBONZ_NO_SUPERVISOR);
    }
  });
});

/**
 * A warm transfer in a room (jambonz, SignalWire): the consulted party is placed into it as a plain member, the
 * agent moved there as one, and complete / cancel hand the room's end to the one who stays by a rejoin. Telnyx
 * re-bridges legs instead and refuses both.
 */
describe('warm transfers in a room', () => {
  const secret = 'wh_secret';
  const jambonz = createJambonzCommands({
    accountSid: '9351f46a-678c-43f5-b8a6-d4eb58d131af',
    publicBaseUrl: 'https://gateway.example.com',
    hookSecret: secret,
  });
  const callbacks = { publicBaseUrl: 'https://gw.example.com', secret: randomBytes(32).toString('base64url') };
  const room = 'transfer-caller';
  const PARTY_LEG = 'd3e4f5a6-5717-4562-b3fc-2c963f66afa6';
  const AGENT_LEG = 'b1c2d3e4-5717-4562-b3fc-2c963f66afa6';
  const partyDial: PlaceCallRequest = {
    to: '+15550004103',
    from: '+15550001000',
    timeoutSeconds: 20,
    commandKey: `${owner}#20`,
    ownerWorkflowId: owner,
    joinRoom: { room, as: 'member' },
  };
  const rejoin = (callId: string): CallCommand => ({
    op: 'rejoinConference',
    room,
    as: 'agent',
    callId,
    commandKey: `${owner}#21`,
    ownerWorkflowId: owner,
  });
  const moveAgent: CallCommand = {
    op: 'moveToConference',
    room,
    otherCallId: AGENT_LEG,
    as: 'member',
    callId: 'caller',
    commandKey: `${owner}#22`,
    ownerWorkflowId: owner,
  };
  const memberOf = (url: string) => verifyMemberHook(url, [secret]);
  const joinOf = (body: unknown) =>
    (body as { params: { swml: { sections: { main: Array<Record<string, unknown>> } } } }).params.swml.sections.main[0]
      .join_conference;

  it('jambonz: the party is placed with a member hook, the agent moved as a member, valid against the swagger', () => {
    const placed = jambonz.placeCallRequest(partyDial).body as { call_hook: { url: string }; call_status_hook: object };
    expect(closedRequestErrors(createCallSchema, placed, STALE_IN_CREATE_CALL_SWAGGER)).toBe('');
    expect(memberOf(placed.call_hook.url)).toEqual({ ok: true, workflowId: owner, room, as: 'member' });
    const moved = jambonz.commandRequest(moveAgent).body as { child_call_hook: { url: string } };
    expect(closedRequestErrors(updateCallSchema, onTheWire(moved) as object, [])).toBe('');
    expect(memberOf(moved.child_call_hook.url)).toMatchObject({ ok: true, room, as: 'member' });
  });

  it('jambonz: the one who stays rejoins as the agent (call_hook), and a plain member does not end the room', () => {
    const request = jambonz.commandRequest(rejoin('party-sid'));
    expect(request.path).toContain('/Calls/party-sid');
    const body = request.body as { call_hook: { url: string } };
    expect(Object.keys(body)).toEqual(['call_hook']);
    expect(closedRequestErrors(updateCallSchema, onTheWire(body) as object, [])).toBe('');
    expect(memberOf(body.call_hook.url)).toMatchObject({ ok: true, room, as: 'agent' });
    const member = roomMemberDocument(room, 'member');
    validateVerbDocument(onTheWire(member));
    expect(member[0]).toEqual({ verb: 'conference', name: room, beep: false, startConferenceOnEnter: true });
  });

  it('SignalWire: the party is dialed into the room and the agent updated into it as plain members', () => {
    const placed = signalwirePlaceCallRequest(partyDial, callbacks);
    expect(callRequestErrors(placed.body as { command: string })).toBe('');
    expect(joinOf(placed.body)).toEqual({ name: room, beep: 'false' });
    const moved = signalwireCommandRequest(moveAgent, { callbacks });
    expect(callRequestErrors(moved.body as { command: string })).toBe('');
    expect(moved.body).toMatchObject({ command: 'update', params: { id: AGENT_LEG } });
    expect(joinOf(moved.body)).toEqual({ name: room, beep: 'false' });
  });

  it('SignalWire: the one who stays is updated into the room again, now ending it on exit', () => {
    const request = signalwireCommandRequest(rejoin(PARTY_LEG), { callbacks });
    expect(callRequestErrors(request.body as { command: string })).toBe('');
    expect(request.body).toMatchObject({ command: 'update', params: { id: PARTY_LEG } });
    expect(joinOf(request.body)).toEqual({ name: room, beep: 'false', end_on_exit: true });
  });

  it('Telnyx refuses a leg dialed into a room and a rejoin as Unsupported (it re-bridges legs)', () => {
    for (const err of [
      refusal(() => telnyxPlaceCallRequest(partyDial, telnyxOptions)),
      refusal(() => telnyxCommandRequest(rejoin('v3:party'), telnyxOptions)),
    ]) {
      expect(err).toBeInstanceOf(CarrierError);
      expect(err.type).toBe(ErrorType.Unsupported);
    }
  });
});
