import { STATE_LIMITS, type CallEvent, type CallSessionInput, type CallState } from '../../../src/calls';
import { EventLedger, endedByHangup, type PendingOperation } from '../../../workflows/event-ledger';

/**
 * The event ledger is plain code (no workflow API), so its rules are tested here directly: dedupe,
 * events for legs not known yet, which waiting operation an event settles, and the effects it returns.
 */

const WORKFLOW_ID = 'call-wf';
const CALLER = 'leg-caller';
const AGENT = 'leg-agent';

const input: CallSessionInput = {
  provider: 'telnyx',
  direction: 'inbound',
  flow: 'defaultIvr',
  from: '+15557770001',
  to: '+15550001000',
  callId: CALLER,
};

function ledger(reportsDigitsInResult = false, from: CallSessionInput = input): EventLedger {
  return EventLedger.forRun(from, WORKFLOW_ID, '2026-01-01T00:00:00.000Z', { reportsDigitsInResult });
}

let nextEventId = 1;
/** An event on the caller's leg unless `callId` says otherwise; each gets a new event id unless given one. */
function event(body: Record<string, unknown> & { kind: CallEvent['kind'] }): CallEvent {
  return {
    provider: 'telnyx',
    eventId: `ev-${nextEventId++}`,
    callId: CALLER,
    occurredAt: '2026-01-01T00:00:01.000Z',
    ...body,
  } as CallEvent;
}

function waiting(l: EventLedger, seq: number, kinds: PendingOperation['kinds'], callId = CALLER): PendingOperation {
  const op: PendingOperation = { seq, key: `${WORKFLOW_ID}#${seq}`, op: `op${seq}`, callId, kinds };
  l.pending.push(op);
  return op;
}

describe('EventLedger', () => {
  it('starts a new inbound call ringing, with the caller as its primary leg', () => {
    const l = ledger();
    expect(l.state).toMatchObject({ workflowId: WORKFLOW_ID, status: 'ringing', callId: CALLER, runs: 1 });
    expect(l.state.legs).toEqual([
      { callId: CALLER, role: 'primary', from: input.from, to: input.to, status: 'ringing' },
    ]);
  });

  it('ignores an event id it has seen, and forgets the oldest ids beyond the limit', () => {
    const l = ledger();
    const first = event({ kind: 'dtmf', digit: '1' });
    l.receive(first);
    l.receive(first);
    expect(l.state).toMatchObject({ digits: '1', duplicatesIgnored: 1 });

    for (let i = 0; i < STATE_LIMITS.seenEventIds; i++) l.receive(event({ kind: 'playback.started' }));
    expect(l.carried().seenEventIds).toHaveLength(STATE_LIMITS.seenEventIds);
    // Forgotten, so a redelivery now counts again (the bound keeps the carried state small).
    l.receive(first);
    expect(l.state.digits).toBe('11');
  });

  it('carries its state across continue-as-new: one more run, the same seen ids and unclaimed events', () => {
    const l = ledger();
    const seen = event({ kind: 'dtmf', digit: '7' });
    l.receive(seen);
    l.receive(event({ kind: 'call.answered', callId: AGENT }));
    const carried = l.carried();
    const next = ledger(false, {
      ...input,
      carried: {
        state: JSON.parse(JSON.stringify(carried.state)) as CallState,
        seenEventIds: carried.seenEventIds,
        nextSequence: 4,
        checkpoint: { step: 'menu' },
        pendingEvents: carried.pendingEvents,
      },
    });
    expect(next.state).toMatchObject({ runs: 2, digits: '7' });
    next.receive(seen);
    expect(next.state).toMatchObject({ digits: '7', duplicatesIgnored: 1 });
    expect(next.carried().pendingEvents).toHaveLength(1);
  });

  it('keeps events for a leg it does not know yet and applies them when the leg is added', () => {
    const l = ledger();
    const answered = event({ kind: 'call.answered', callId: AGENT, controlId: `${WORKFLOW_ID}#2` });
    expect(l.receive(answered).effects).toEqual([]);
    expect(l.carried().pendingEvents).toEqual([answered]);

    const dial = waiting(l, 2, ['call.answered', 'call.ended'], AGENT);
    l.addLeg({ callId: AGENT, role: 'agent', to: '+15550002000', status: 'ringing' });
    expect(l.state.legs.find((leg) => leg.callId === AGENT)?.status).toBe('answered');
    expect(dial.event).toEqual(answered);
    expect(l.carried().pendingEvents).toEqual([]);
    // An agent leg answering does not change the call's status.
    expect(l.state.status).toBe('ringing');
  });

  it('keeps at most 50 unclaimed events', () => {
    const l = ledger();
    for (let i = 0; i < 60; i++) l.receive(event({ kind: 'dtmf', digit: '1', callId: `stray-${i}` }));
    expect(l.carried().pendingEvents).toHaveLength(50);
    expect(l.carried().pendingEvents[0].callId).toBe('stray-10');
  });

  it('settles the operation its control id names, else the oldest waiting one', () => {
    const l = ledger();
    const older = waiting(l, 3, ['playback.ended']);
    const newer = waiting(l, 4, ['playback.ended']);
    const forNewer = event({ kind: 'playback.ended', status: 'completed', controlId: `${WORKFLOW_ID}#4` });
    l.receive(forNewer);
    expect(newer.event).toEqual(forNewer);
    expect(older.event).toBeUndefined();

    // Telnyx echoes the latest client state, not the command's: an unknown tag falls back to the oldest.
    const untagged = event({ kind: 'playback.ended', status: 'completed', controlId: 'someone-else' });
    l.receive(untagged);
    expect(older.event).toEqual(untagged);
  });

  it('drops a late echo of an older operation of ours instead of settling a newer one with it', () => {
    const l = ledger();
    const gather = waiting(l, 5, ['gather.ended']);
    l.receive(event({ kind: 'gather.ended', reason: 'timeout', digits: '', controlId: `${WORKFLOW_ID}#3` }));
    expect(gather.event).toBeUndefined();
    const own = event({ kind: 'gather.ended', reason: 'complete', digits: '2', controlId: `${WORKFLOW_ID}#5` });
    l.receive(own);
    expect(gather.event).toEqual(own);
  });

  it('settles only operations on the event’s leg and of its kinds', () => {
    const l = ledger();
    const onAgent = waiting(l, 2, ['call.ended'], AGENT);
    const speech = waiting(l, 3, ['speak.ended']);
    l.receive(event({ kind: 'playback.ended', status: 'completed' }));
    expect(speech.event).toBeUndefined();
    l.receive(event({ kind: 'call.ended', cause: 'normal', source: 'caller' }));
    expect(onAgent.event).toBeUndefined();
  });

  it('returns the effects in the order the state changed: queue first, then status', () => {
    const l = ledger();
    expect(l.receive(event({ kind: 'call.answered' })).effects).toEqual([
      { kind: 'statusChanged', status: 'answered' },
      { kind: 'detailsChanged' },
    ]);
    expect(l.receive(event({ kind: 'queue.joined', queue: 'support', position: 2 })).effects).toEqual([
      { kind: 'queueJoined', queue: 'support' },
      { kind: 'statusChanged', status: 'queued' },
      { kind: 'detailsChanged' },
    ]);
    expect(l.receive(event({ kind: 'call.ended', cause: 'normal', source: 'caller' })).effects).toEqual([
      { kind: 'statusChanged', status: 'ended' },
      { kind: 'detailsChanged' },
      { kind: 'detailsChanged' },
    ]);
    expect(l.state).toMatchObject({ status: 'ended', endCause: 'normal', queue: undefined });
    expect(l.markEnded('gone')).toEqual([]);
    expect(l.state.endCause).toBe('normal');
  });

  it('adds a prompt’s digits from its result only where the carrier reports them there', () => {
    const telnyx = ledger(false);
    telnyx.receive(event({ kind: 'dtmf', digit: '4' }));
    telnyx.receive(event({ kind: 'gather.ended', reason: 'complete', digits: '4' }));
    expect(telnyx.state.digits).toBe('4');

    const documents = ledger(true);
    documents.receive(event({ kind: 'gather.ended', reason: 'complete', digits: '42' }));
    expect(documents.state.digits).toBe('42');
  });

  it('names a leg known only by its leg id (Telnyx recordings)', () => {
    const l = ledger();
    l.receive(event({ kind: 'call.answered', legId: 'telnyx-leg' }));
    l.recordingInProgress = true;
    l.receive(event({ kind: 'recording.saved', callId: '', legId: 'telnyx-leg', url: 'https://r/1.mp3' }));
    expect(l.state.recordings).toMatchObject([{ url: 'https://r/1.mp3' }]);
    expect(l.recordingInProgress).toBe(false);
  });

  it('never throws: an event it cannot apply is noted and returned as an error', () => {
    const l = ledger();
    const result = l.receive(null as unknown as CallEvent);
    expect(result.error).toMatch(/^event /);
    expect(l.state.eventErrors).toHaveLength(1);
  });

  it('knows which outcomes mean the caller hung up', () => {
    expect(endedByHangup(event({ kind: 'gather.ended', reason: 'hangup', digits: '' }))).toBe(true);
    expect(endedByHangup(event({ kind: 'speak.ended', status: 'hangup' }))).toBe(true);
    expect(endedByHangup(event({ kind: 'playback.ended', status: 'completed' }))).toBe(false);
    expect(endedByHangup(event({ kind: 'call.ended', cause: 'normal', source: 'caller' }))).toBe(false);
  });

  it('keeps a bridge moved into a conference until the caller leaves the room, not until the dial ends', () => {
    const l = ledger();
    l.receive(event({ kind: 'call.answered' }));
    l.receive(event({ kind: 'bridged', otherCallId: AGENT }));
    expect(l.state.status).toBe('bridged');
    l.moveBridgeInto('supervised-caller');
    // The dial the move killed reports the bridge's end: the bridge goes on in the room.
    l.receive(event({ kind: 'unbridged', otherCallId: AGENT }));
    expect(l.state.status).toBe('bridged');
    expect(l.state.bridge).toMatchObject({ callId: AGENT, room: 'supervised-caller', since: expect.any(String) });
    // The agent left, the room ended: the caller is back with its flow, and the talk time counts.
    const left = l.receive(event({ kind: 'conference.left', occurredAt: '2026-01-01T00:01:01.000Z' }));
    expect(left.effects).toContainEqual({ kind: 'statusChanged', status: 'answered' });
    expect(l.state.bridge).toEqual({ callId: AGENT, address: undefined });
    expect(l.state.talkSeconds).toBe(60);
    expect(l.state.timeline.map((line) => line.text)).toContain('bridge ended after 60 s');
  });

  it('takes a move into a conference back (the carrier refused it): the end of the dial ends the bridge again', () => {
    const l = ledger();
    l.receive(event({ kind: 'call.answered' }));
    l.receive(event({ kind: 'bridged', otherCallId: AGENT }));
    l.moveBridgeInto('supervised-caller');
    l.moveBridgeInto(undefined);
    expect(l.state.bridge).not.toHaveProperty('room');
    l.receive(event({ kind: 'unbridged', otherCallId: AGENT }));
    expect(l.state.status).toBe('answered');
    // A conference the caller left on its own (call.joinConference) changes no bridge.
    l.receive(event({ kind: 'conference.left' }));
    expect(l.state.status).toBe('answered');
  });

  it('a blind transfer out of the room: leaving the room is not the new bridge ending', () => {
    const l = ledger();
    l.receive(event({ kind: 'call.answered' }));
    l.receive(event({ kind: 'bridged', otherCallId: AGENT }));
    l.moveBridgeInto('supervised-caller');
    l.leaveBridgeFor({ address: '+15550002002' });
    expect(l.state.bridge).not.toHaveProperty('room');
    // The conference verb the redirect killed reports while the new party rings: the transfer goes on.
    const left = l.receive(event({ kind: 'conference.left', occurredAt: '2026-01-01T00:00:29.000Z' }));
    expect(left.effects).not.toContainEqual({ kind: 'statusChanged', status: 'answered' });
    l.receive(event({ kind: 'bridged', otherCallId: 'party-leg', occurredAt: '2026-01-01T00:00:30.000Z' }));
    expect(l.state.status).toBe('bridged');
    expect(l.state.bridge).toMatchObject({ callId: 'party-leg', since: '2026-01-01T00:00:30.000Z' });
  });
});
