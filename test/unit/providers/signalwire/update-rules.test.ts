import { ErrorType, type CallStatus } from '../../../../src/calls';
import { CarrierError } from '../../../../src/providers/errors';
import {
  assertUpdateAllowed,
  hangupDocument,
  legStatusFromSession,
  legStatusFromWire,
  type CallUpdate,
  type LegStatus,
} from '../../../../src/providers/signalwire';

const statuses: LegStatus[] = [
  'queued',
  'ringing',
  'answered',
  'ending',
  'ended',
  'failed',
  'canceled',
  'completed',
  'busy',
  'no-answer',
];
const updates: Record<string, CallUpdate> = {
  cancel: { status: 'canceled' },
  complete: { status: 'completed' },
  'redirect (url)': { url: 'https://gw.example.com/webhooks/signalwire/swml' },
  'redirect (swml)': { swml: hangupDocument() },
};
// What the spec's rules allow; everything else must be refused.
const allowed: Record<string, LegStatus[]> = {
  cancel: ['queued', 'ringing'],
  complete: ['answered'],
  'redirect (url)': ['answered'],
  'redirect (swml)': ['answered'],
};

function refusal(update: CallUpdate, status: LegStatus): CarrierError | undefined {
  try {
    assertUpdateAllowed(update, status);
    return undefined;
  } catch (err) {
    if (err instanceof CarrierError) return err;
    throw err;
  }
}

describe('update rules', () => {
  const cases = Object.keys(updates).flatMap((name) => statuses.map((status) => [name, status] as const));

  it.each(cases)('%s while %s', (name, status) => {
    const error = refusal(updates[name], status);
    if (allowed[name].includes(status)) {
      expect(error).toBeUndefined();
    } else {
      expect(error).toBeDefined();
      expect(error!.type).toBe(ErrorType.InvalidCommand);
      expect(error!.retryable).toBe(false);
      expect(error!.details).toMatchObject({ provider: 'signalwire', operation: 'update' });
    }
  });

  it('says why it refused', () => {
    expect(refusal({ status: 'canceled' }, 'answered')?.message).toMatch(
      /"canceled" is only allowed while the call is queued or ringing, not answered/,
    );
    expect(refusal({ status: 'completed' }, 'ringing')?.message).toMatch(
      /"completed" is only allowed while the call is answered, not ringing/,
    );
    expect(refusal({ url: 'https://x.example.com' }, 'queued')?.message).toMatch(
      /redirect is only allowed while the call is answered/,
    );
    expect(refusal({ url: 'https://x.example.com' }, 'busy')?.message).toMatch(/terminal state/);
  });
});

describe('leg statuses', () => {
  it.each([
    ['queued', 'queued'],
    ['initiated', 'queued'],
    ['created', 'queued'],
    ['ringing', 'ringing'],
    ['answered', 'answered'],
    ['in-progress', 'answered'],
    ['joined', 'answered'],
    ['ending', 'ending'],
    ['ended', 'ended'],
    ['failed', 'failed'],
    ['canceled', 'canceled'],
    ['cancelled', 'canceled'],
    ['completed', 'completed'],
    ['busy', 'busy'],
    ['no-answer', 'no-answer'],
    ['noAnswer', 'no-answer'],
    ['no_answer', 'no-answer'],
  ])('reads the wire status %s as %s', (raw, status) => {
    expect(legStatusFromWire(raw)).toBe(status);
  });

  it('does not guess at a status it does not know', () => {
    expect(legStatusFromWire('parked')).toBeUndefined();
  });

  it('derives the leg status from the session view (a call in our queue is answered)', () => {
    const expected: Record<CallStatus, LegStatus> = {
      dialing: 'queued',
      ringing: 'ringing',
      answered: 'answered',
      bridged: 'answered',
      queued: 'answered',
      ended: 'ended',
    };
    for (const [status, leg] of Object.entries(expected)) expect(legStatusFromSession(status as CallStatus)).toBe(leg);
  });
});
