import {
  PROVIDERS,
  SUPERVISOR_ROLES,
  controlCommand,
  controlRefusal,
  type CallState,
  type ControlFacts,
  type SupervisorFacts,
  type SupervisorRole,
} from '../../../src/calls';
import { CARRIER_CONTROLS } from '../../../src/providers/ops';

/**
 * The supervisor controls (`monitor`, `whisper`, `barge`) in the session's update validator, the same on every
 * carrier: only a bridged call takes a supervisor, one supervisor per call, and a switch needs a supervisor on the
 * call in another role. Every refusal path, with
 * nothing sent (the validator runs before the update is accepted).
 */

const SUPERVISOR = '+15550009000';

function facts(status: CallState['status'], supervisor?: SupervisorFacts): ControlFacts {
  return {
    state: { status, direction: 'inbound', callId: 'leg-1', provider: 'telnyx' },
    recording: false,
    recordingByCommand: false,
    flows: ['defaultIvr'],
    ...(supervisor ? { supervisor } : {}),
  };
}

const check = (carrier: (typeof PROVIDERS)[number], role: SupervisorRole, to: string | undefined, f: ControlFacts) =>
  controlRefusal(
    { request: { action: role, ...(to ? { to } : {}) }, carrier, route: CARRIER_CONTROLS[carrier][role] },
    f,
  );
describe('supervisor controls', () => {
  it.each(SUPERVISOR_ROLES)('telnyx %s: a supervisor dialed onto a bridged call', (role) => {
    expect(check('telnyx', role, SUPERVISOR, facts('bridged'))).toBeUndefined();
  });

  it.each(SUPERVISOR_ROLES.flatMap((role) => (['answered', 'queued', 'ringing'] as const).map((s) => [role, s])))(
    'telnyx %s: refused on a call that is %s, not bridged',
    (role, status) => {
      expect(check('telnyx', role as SupervisorRole, SUPERVISOR, facts(status as CallState['status']))).toEqual({
        kind: 'invalid-state',
        reason: `a supervisor joins a call bridged to an agent (it is ${status})`,
      });
    },
  );

  it.each(SUPERVISOR_ROLES)('telnyx %s: a switch needs a supervisor on the call', (role) => {
    expect(check('telnyx', role, undefined, facts('bridged'))).toEqual({
      kind: 'invalid-state',
      reason: `no supervisor is on the call: name one with "to" to ${role} the agent's call`,
    });
  });

  it('telnyx: one supervisor per call; switches to another role only', () => {
    const on = facts('bridged', { to: SUPERVISOR, role: 'monitor' });
    expect(check('telnyx', 'whisper', undefined, on)).toBeUndefined();
    expect(check('telnyx', 'barge', SUPERVISOR, on)).toBeUndefined();
    expect(check('telnyx', 'whisper', '+15550009999', on)).toEqual({
      kind: 'invalid-state',
      reason: `a supervisor (${SUPERVISOR}) is already on the call: switch its role without "to"`,
    });
    expect(check('telnyx', 'monitor', undefined, on)).toEqual({
      kind: 'invalid-state',
      reason: 'the supervisor is already in monitor mode',
    });
  });

  it.each(SUPERVISOR_ROLES)('jambonz %s: the same rules (the session moves the call into a conference)', (role) => {
    expect(check('jambonz', role, SUPERVISOR, facts('bridged'))).toBeUndefined();
    expect(check('jambonz', role, SUPERVISOR, facts('answered'))?.kind).toBe('invalid-state');
    expect(check('jambonz', role, undefined, facts('bridged'))?.kind).toBe('invalid-state');
    const on = facts('bridged', { to: SUPERVISOR, role: role === 'monitor' ? 'barge' : 'monitor' });
    expect(check('jambonz', role, undefined, on)).toBeUndefined();
  });

  it.each(SUPERVISOR_ROLES)('signalwire %s: the same rules (the session moves the call into a conference)', (role) => {
    expect(check('signalwire', role, SUPERVISOR, facts('bridged'))).toBeUndefined();
    expect(check('signalwire', role, SUPERVISOR, facts('queued'))?.kind).toBe('invalid-state');
  });

  it('is carried out by the session, not as a plain command', () => {
    for (const role of SUPERVISOR_ROLES)
      expect(controlCommand({ action: role, to: SUPERVISOR }, true, {})).toBe(undefined);
  });

  it('jambonz hold / unhold: conference members only (conf_hold_status), refused elsewhere', () => {
    for (const action of ['hold', 'unhold'] as const) {
      const route = CARRIER_CONTROLS.jambonz[action];
      const inConference = { ...facts('answered'), inConference: true };
      expect(controlRefusal({ request: { action }, carrier: 'jambonz', route }, inConference)).toBeUndefined();
      expect(controlRefusal({ request: { action }, carrier: 'jambonz', route }, facts('bridged'))).toEqual({
        kind: 'carrier-rule',
        reason:
          'jambonz: conf_hold_status (with wait_hook) holds conference members only; this call is in no conference',
      });
      expect(controlCommand({ action }, true, {})).toEqual({
        op: action === 'hold' ? 'conferenceHold' : 'conferenceUnhold',
      });
    }
  });
});
