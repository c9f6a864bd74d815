import {
  CONTROL_ACTIONS,
  PROVIDERS,
  controlCommand,
  controlRefusal,
  isSupervisorRole,
  type CallState,
  type ControlAction,
  type ControlFacts,
  type ControlRequest,
  type Provider,
} from '../../../src/calls';
import { CARRIER_CONTROLS } from '../../../src/providers/ops';

/**
 * The session's update validator for live controls (`controlRefusal`): every control is refused, with a reason,
 * on an ended call, on a call whose state does not allow it, and where a carrier's rule or abilities forbid it.
 * A refused control never reaches the carrier (the validator runs before the update is accepted), so these are
 * the refusal paths of every control on every carrier.
 */

const FLOWS = ['defaultIvr', 'outboundNotice'];

const REQUESTS: Record<ControlAction, ControlRequest> = {
  hangup: { action: 'hangup' },
  redirect: { action: 'redirect', flow: 'outboundNotice' },
  play: { action: 'play', url: 'https://cdn.example.com/a.mp3' },
  say: { action: 'say', text: 'Hello' },
  'send-dtmf': { action: 'send-dtmf', digits: '12#' },
  'record-pause': { action: 'record-pause' },
  'record-resume': { action: 'record-resume' },
  mute: { action: 'mute' },
  unmute: { action: 'unmute' },
  hold: { action: 'hold' },
  unhold: { action: 'unhold' },
  // Transfers: their own rules are in transfer.test.ts.
  transfer: { action: 'transfer', to: '+15550002001' },
  'warm-transfer': { action: 'warm-transfer', step: 'consult', to: '+15550002001' },
  // supervisor controls (their own rules: test/unit/workflows/supervisor.test.ts):
  monitor: { action: 'monitor', to: '+15550009000' },
  whisper: { action: 'whisper', to: '+15550009000' },
  barge: { action: 'barge', to: '+15550009000' },
};

function facts(status: CallState['status'], more: Partial<Omit<ControlFacts, 'state'>> = {}): ControlFacts {
  return {
    state: { status, direction: 'inbound', callId: 'leg-1', provider: 'telnyx' },
    recording: false,
    recordingByCommand: false,
    flows: FLOWS,
    ...more,
  };
}

const refusal = (carrier: Provider, action: ControlAction, f: ControlFacts) =>
  controlRefusal({ request: REQUESTS[action], carrier, route: CARRIER_CONTROLS[carrier][action] }, f);

/** Whether the carrier can do the control at all. */
const supported = (carrier: Provider, action: ControlAction) =>
  CARRIER_CONTROLS[carrier][action].route !== 'unsupported';

const cases = PROVIDERS.flatMap((carrier) => CONTROL_ACTIONS.map((action) => [carrier, action] as const));

describe('live control validation', () => {
  it.each(cases)('%s %s: refused once the call has ended', (carrier, action) => {
    expect(refusal(carrier, action, facts('ended'))).toEqual({ kind: 'call-ended', reason: 'the call has ended' });
  });

  it.each(cases)('%s %s: refused before the call is placed', (carrier, action) => {
    const f = facts('dialing');
    f.state = { ...f.state, callId: undefined, direction: 'outbound' };
    expect(refusal(carrier, action, f)?.kind).toBe('invalid-state');
  });

  it.each(cases.filter(([carrier, action]) => !supported(carrier, action)))(
    '%s %s: unsupported, naming the carrier and the operation',
    (carrier, action) => {
      const refused = refusal(carrier, action, facts('bridged', { recording: true, recordingByCommand: true }));
      expect(refused?.kind).toBe('unsupported');
      expect(refused?.reason).toContain(`${carrier} does not support ${action}`);
    },
  );

  it.each(cases.filter(([carrier, action]) => supported(carrier, action) && action !== 'hangup'))(
    '%s %s: not valid on an unanswered call',
    (carrier, action) => {
      const refused = refusal(carrier, action, facts('ringing'));
      expect(refused?.kind).toBe('invalid-state');
      expect(refused?.reason).toContain('ringing');
    },
  );

  it.each(PROVIDERS)(
    '%s hangup: an unanswered inbound call (rejected), not an outbound one still being placed',
    (carrier) => {
      expect(refusal(carrier, 'hangup', facts('ringing'))).toBeUndefined();
      const outbound = facts('ringing');
      outbound.state = { ...outbound.state, direction: 'outbound' };
      expect(refusal(carrier, 'hangup', outbound)).toMatchObject({ kind: 'invalid-state' });
    },
  );

  it.each(PROVIDERS)('%s redirect: only an answered call that is not bridged or queued, to a known flow', (carrier) => {
    expect(refusal(carrier, 'redirect', facts('answered'))).toBeUndefined();
    expect(refusal(carrier, 'redirect', facts('bridged'))?.reason).toContain('bridged');
    expect(refusal(carrier, 'redirect', facts('queued'))?.reason).toContain('queued');
    const unknown = controlRefusal(
      { request: { action: 'redirect', flow: 'nope' }, carrier, route: CARRIER_CONTROLS[carrier].redirect },
      facts('answered'),
    );
    expect(unknown).toEqual({ kind: 'invalid-state', reason: 'no flow named "nope"' });
  });

  it.each(
    PROVIDERS.flatMap((carrier) => (['record-pause', 'record-resume'] as const).map((a) => [carrier, a] as const)),
  )('%s %s: only while a recording runs', (carrier, action) => {
    expect(refusal(carrier, action, facts('answered'))).toEqual({
      kind: 'invalid-state',
      reason: 'no recording is running on the call',
    });
  });

  it('jambonz: whisper (play, say) only during a dial or a listen; mute only during a dial or in a conference', () => {
    for (const action of ['play', 'say'] as const) {
      expect(refusal('jambonz', action, facts('answered'))).toMatchObject({ kind: 'carrier-rule' });
      expect(refusal('jambonz', action, facts('answered'))?.reason).toMatch(/^jambonz: whisper/);
      expect(refusal('jambonz', action, facts('bridged'))).toBeUndefined();
      expect(refusal('jambonz', action, facts('answered', { recording: true }))).toBeUndefined();
    }
    for (const action of ['mute', 'unmute'] as const) {
      expect(refusal('jambonz', action, facts('answered', { recording: true }))).toEqual({
        kind: 'carrier-rule',
        reason: 'jambonz: mute_status only while the call runs a dial or a conference',
      });
      expect(refusal('jambonz', action, facts('bridged'))).toBeUndefined();
      expect(refusal('jambonz', action, facts('answered', { inConference: true }))).toBeUndefined();
    }
    expect(refusal('jambonz', 'hold', facts('bridged'))?.reason).toContain('conf_hold_status');
  });

  it('signalwire: record pause/resume only for a recording started by REST (its control_id is ours)', () => {
    for (const action of ['record-pause', 'record-resume'] as const) {
      expect(refusal('signalwire', action, facts('answered', { recording: true }))).toMatchObject({
        kind: 'carrier-rule',
      });
      expect(refusal('signalwire', action, facts('answered', { recording: true, recordingByCommand: true }))).toBe(
        undefined,
      );
    }
  });

  it('telnyx: every control it supports is accepted on an answered call in the right state', () => {
    // Transfers and supervisors act on a bridged call only (transfer.test.ts, supervisor.test.ts).
    const transfers: readonly ControlAction[] = ['transfer', 'warm-transfer'];
    const answeredOnly = (a: ControlAction) => !transfers.includes(a) && !isSupervisorRole(a);
    for (const action of CONTROL_ACTIONS.filter((a) => supported('telnyx', a) && answeredOnly(a))) {
      expect(refusal('telnyx', action, facts('answered', { recording: true }))).toBeUndefined();
    }
  });
});

describe('the command a control sends', () => {
  it('hangs up an answered call, rejects an unanswered one', () => {
    expect(controlCommand({ action: 'hangup' }, true, {})).toEqual({ op: 'hangup' });
    expect(controlCommand({ action: 'hangup' }, false, {})).toEqual({ op: 'reject', reason: 'rejected' });
  });

  it('names the running recording for record pause/resume', () => {
    expect(controlCommand({ action: 'record-pause' }, true, { target: 'wf#3' })).toEqual({
      op: 'recordPause',
      target: 'wf#3',
    });
    expect(controlCommand({ action: 'record-resume' }, true, {})).toEqual({ op: 'recordResume' });
  });

  it('maps every other control to its flow operation', () => {
    expect(controlCommand({ action: 'say', text: 'Hi', voice: 'v' }, true, {})).toEqual({
      op: 'say',
      text: 'Hi',
      voice: 'v',
    });
    expect(controlCommand({ action: 'play', url: 'https://a/b.mp3' }, true, {})).toEqual({
      op: 'play',
      url: 'https://a/b.mp3',
    });
    expect(controlCommand({ action: 'send-dtmf', digits: '1' }, true, {})).toEqual({ op: 'sendDtmf', digits: '1' });
    expect(controlCommand({ action: 'mute' }, true, {})).toEqual({ op: 'mute' });
    expect(controlCommand({ action: 'redirect', flow: 'x' }, true, {})).toBeUndefined();
  });
});
