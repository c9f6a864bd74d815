import Ajv from 'ajv';
import {
  PROVIDERS,
  controlRefusal,
  type CallCommand,
  type CallCommandBody,
  type CallState,
  type ControlFacts,
  type ControlRequest,
  type Provider,
  type TransferState,
} from '../../../src/calls';
import { CONTROL_BODY_SCHEMAS } from '../../../src/gateway/controls-api';
import { CARRIER_CONTROLS } from '../../../src/providers/ops';
import { normaliseStatusCallback } from '../../../src/providers/signalwire';
import { telnyxCommandRequest } from '../../../src/providers/telnyx';
import { validateTelnyxRequest } from '../../../src/simulator/telnyx/spec';

/**
 * Transfers as live controls: the refusal path of each (the call's state, the order of a warm transfer's steps),
 * the REST bodies, and the Telnyx requests a transfer sends, checked
 * against the official spec. (SignalWire and jambonz transfer with an `update` / `call_hook` redirect and a
 * SWML `connect` / `dial` verb, which their own spec tests cover.)
 */

const BLIND: ControlRequest = { action: 'transfer', to: '+15550002001' };
const CONSULT: ControlRequest = { action: 'warm-transfer', step: 'consult', to: '+15550002002' };
const COMPLETE: ControlRequest = { action: 'warm-transfer', step: 'complete' };
const CANCEL: ControlRequest = { action: 'warm-transfer', step: 'cancel' };

function facts(status: CallState['status'], transfer?: TransferState['step']): ControlFacts {
  return {
    state: { status, direction: 'inbound', callId: 'leg-1', provider: 'telnyx' },
    recording: false,
    recordingByCommand: false,
    flows: [],
    ...(transfer ? { transfer: { kind: 'warm', to: '+15550002002', step: transfer, at: '2026-01-01T00:00:00Z' } } : {}),
  };
}

const refusal = (carrier: Provider, request: ControlRequest, f: ControlFacts) =>
  controlRefusal({ request, carrier, route: CARRIER_CONTROLS[carrier][request.action] }, f);

describe('transfer controls: refusals', () => {
  it.each(PROVIDERS)('%s blind transfer: only a bridged call, and not while another transfer runs', (carrier) => {
    expect(refusal(carrier, BLIND, facts('bridged'))).toBeUndefined();
    for (const status of ['answered', 'queued', 'ringing'] as const) {
      expect(refusal(carrier, BLIND, facts(status))).toEqual({
        kind: 'invalid-state',
        reason: `only a bridged call can be transferred (it is ${status})`,
      });
    }
    expect(refusal(carrier, BLIND, facts('bridged', 'dialing'))?.reason).toBe(
      'a transfer to +15550002002 is under way',
    );
    expect(refusal(carrier, BLIND, facts('ended'))?.kind).toBe('call-ended');
  });

  it.each(PROVIDERS)('%s warm transfer: consult a bridged call, then complete or cancel, in that order', (carrier) => {
    expect(refusal(carrier, CONSULT, facts('bridged'))).toBeUndefined();
    expect(refusal(carrier, CONSULT, facts('answered'))?.kind).toBe('invalid-state');
    expect(refusal(carrier, { action: 'warm-transfer', step: 'consult' }, facts('bridged'))?.reason).toBe(
      'a consult names the party to consult (`to`)',
    );
    for (const step of [COMPLETE, CANCEL]) {
      // The caller holds (answered, not bridged) while consulting.
      expect(refusal(carrier, step, facts('answered', 'consulting'))).toBeUndefined();
      expect(refusal(carrier, step, facts('bridged'))?.reason).toMatch(/^no warm transfer is consulting anyone/);
      expect(refusal(carrier, step, facts('bridged', 'completed'))?.kind).toBe('invalid-state');
    }
    for (const request of [CONSULT, BLIND]) {
      expect(refusal(carrier, request, facts('answered', 'consulting'))?.reason).toBe(
        'a warm transfer is consulting +15550002002: complete or cancel it first',
      );
    }
  });
});

describe('a consult in a room', () => {
  it.each(['jambonz', 'signalwire'] as const)('%s: refused where the agent ends the room on leaving', (carrier) => {
    const f = facts('bridged');
    const inRoom = { ...f, state: { ...f.state, bridge: { callId: 'agent', room: 'supervised-leg-1' } } };
    expect(refusal(carrier, CONSULT, inRoom)).toEqual({
      kind: 'invalid-state',
      reason:
        'the call is already in a conference (supervised-leg-1) whose agent ends it on leaving: a consult would end it',
    });
    // The rule is the consult's: a blind transfer is not refused by it.
    expect(refusal(carrier, BLIND, inRoom)).toBeUndefined();
  });
});

describe('other controls while a transfer is under way', () => {
  it.each(PROVIDERS)('%s: a supervisor or a redirect waits for the consult to end', (carrier) => {
    for (const step of ['dialing', 'consulting'] as const) {
      for (const request of [
        { action: 'monitor', to: '+15550009000' },
        { action: 'barge' },
        { action: 'redirect', flow: 'defaultIvr' },
      ] as ControlRequest[]) {
        const f = { ...facts(step === 'dialing' ? 'bridged' : 'answered', step), flows: ['defaultIvr'] };
        expect(refusal(carrier, request, f)).toEqual({
          kind: 'invalid-state',
          reason: 'a transfer to +15550002002 is under way: complete or cancel it first',
        });
      }
    }
  });
});

describe('transfer controls: REST bodies', () => {
  const ajv = new Ajv({ allErrors: true });
  const valid = (action: 'transfer' | 'warm-transfer', body: unknown) =>
    ajv.validate(CONTROL_BODY_SCHEMAS[action], body);

  it('takes an E.164 number or a SIP URI to transfer to', () => {
    expect(valid('transfer', { to: '+15550002001', timeoutSeconds: 20 })).toBe(true);
    expect(valid('transfer', { to: 'sip:agent@pbx.example.com' })).toBe(true);
    expect(valid('transfer', { to: '5550002001' })).toBe(false);
    expect(valid('transfer', {})).toBe(false);
    expect(valid('transfer', { to: '+15550002001', timeoutSeconds: 600 })).toBe(false);
  });

  it('needs `to` for a consult only', () => {
    expect(valid('warm-transfer', { step: 'consult', to: '+15550002002' })).toBe(true);
    expect(valid('warm-transfer', { step: 'consult' })).toBe(false);
    expect(valid('warm-transfer', { step: 'complete' })).toBe(true);
    expect(valid('warm-transfer', { step: 'cancel', requestId: 'r-1' })).toBe(true);
    expect(valid('warm-transfer', { step: 'later' })).toBe(false);
  });
});

describe('transfer controls: the Telnyx requests they send', () => {
  const owner = 'call:telnyx:v3:caller';
  const options = { connectionId: '1684641123236054244', voice: 'AWS.Polly.Joanna-Neural' };
  /** Blind: `transfer` of the caller's leg; warm: `bridge` of the agent's leg, hold music, `bridge` back, `hangup`. */
  const sent: Array<[string, CallCommandBody]> = [
    ['v3:caller', { op: 'transfer', to: '+15550002001', timeoutSeconds: 20 }],
    ['v3:agent', { op: 'bridge', otherCallId: 'v3:party' }],
    ['v3:caller', { op: 'say', text: 'Please hold while we connect you.' }],
    ['v3:caller', { op: 'play', url: 'https://cdn.example.com/hold.mp3', loop: 100 }],
    ['v3:caller', { op: 'bridge', otherCallId: 'v3:party' }],
    ['v3:agent', { op: 'hangup' }],
  ];

  it.each(sent.map(([leg, body], i) => [`${body.op} on ${leg} #${i}`, leg, body] as const))(
    '%s validates against the spec',
    (_name, callId, body) => {
      const command = { ...body, callId, commandKey: `${owner}#4`, ownerWorkflowId: owner } as CallCommand;
      const request = telnyxCommandRequest(command, options);
      const path = request.path.replace(/^\/calls\/[^/]+\/actions\//, '/calls/{call_control_id}/actions/');
      expect(validateTelnyxRequest(path, request.method.toLowerCase(), request.body)).toEqual([]);
    },
  );
});

describe('transfer: the second bridge of a call', () => {
  it('SignalWire: a connect to a new peer is a new event, not a duplicate of the first (SWML connect has no control_id)', () => {
    const connected = (peer: string) =>
      normaliseStatusCallback(
        Buffer.from(
          JSON.stringify({
            event_type: 'calling.call.connect',
            timestamp: 1_700_000_000,
            params: { call_id: 'caller', connect_state: 'connected', peer: { call_id: peer } },
          }),
        ),
      )[0];
    const [first, second] = [connected('agent'), connected('party')];
    expect(second).toMatchObject({ kind: 'bridged', otherCallId: 'party' });
    expect(second.eventId).not.toBe(first.eventId);
    expect(connected('agent').eventId).toBe(first.eventId);
  });
});
