import { randomBytes } from 'node:crypto';
import type { CallCommand, PlaceCallRequest } from '../../../src/calls';
import { ErrorType, SUPERVISOR_ROLES } from '../../../src/calls';
import { CarrierError } from '../../../src/providers/errors';
import { createJambonzCommands, JAMBONZ_NO_SUPERVISOR } from '../../../src/providers/jambonz';
import {
  SIGNALWIRE_NO_SUPERVISOR,
  signalwireCommandRequest,
  signalwirePlaceCallRequest,
} from '../../../src/providers/signalwire';
import { telnyxCommandRequest, telnyxPlaceCallRequest } from '../../../src/providers/telnyx';
import { validateTelnyxRequest } from '../../../src/simulator/telnyx/spec';

/**
 * Supervisor legs as carrier requests: on Telnyx a dial with `supervise_call_control_id` + `supervisor_role` and
 * `switch_supervisor_role` on the supervisor's leg, both valid against the Call Control spec; SignalWire and
 * jambonz refuse both with `Unsupported` naming what they lack, before anything is sent.
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

describe('SignalWire and jambonz have no supervisor legs', () => {
  const jambonz = createJambonzCommands({
    accountSid: '9351f46a-678c-43f5-b8a6-d4eb58d131af',
    publicBaseUrl: 'https://gateway.example.com',
    hookSecret: 'wh_secret',
  });
  const callbacks = { publicBaseUrl: 'https://gw.example.com', secret: randomBytes(32).toString('base64url') };

  it('SignalWire refuses the supervisor dial and the role switch as Unsupported', () => {
    for (const err of [
      refusal(() => signalwirePlaceCallRequest(supervisorDial('monitor'), callbacks)),
      refusal(() => signalwireCommandRequest(switchTo('whisper'), { callbacks })),
    ]) {
      expect(err).toBeInstanceOf(CarrierError);
      expect(err.type).toBe(ErrorType.Unsupported);
      expect(err.message).toContain(SIGNALWIRE_NO_SUPERVISOR);
    }
  });

  it('jambonz refuses the supervisor dial and the role switch as Unsupported', () => {
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
