import {
  STATE_LIMITS,
  type CallEvent,
  type CallSessionInput,
  type CallState,
  type TimelineEntry,
} from '../../../src/calls';
import { EventLedger } from '../../../workflows/event-ledger';
import { appendToTimeline, clock, commandSummary, storySearchAttributes } from '../../../workflows/timeline';

/**
 * The call's story: the timeline the ledger writes from the events it applies, the outcome, and the search
 * attributes the Temporal UI lists. Plain code, so tested here without a server.
 */

const START = Date.parse('2026-01-01T00:00:00.000Z');
const CALLER = 'leg-caller';
const AGENT = 'leg-agent';
const AGENT_NUMBER = '+15550002000';

const inbound: CallSessionInput = {
  provider: 'telnyx',
  direction: 'inbound',
  flow: 'defaultIvr',
  from: '+15557770001',
  to: '+15550001000',
  callId: CALLER,
};

/** ISO time `seconds` into the call. */
const at = (seconds: number) => new Date(START + seconds * 1000).toISOString();

function ledger(input: CallSessionInput = inbound, reportsDigitsInResult = false): EventLedger {
  return EventLedger.forRun(input, 'call-wf', at(0), { reportsDigitsInResult });
}

let nextEventId = 1;
function event(seconds: number, body: Record<string, unknown> & { kind: CallEvent['kind'] }): CallEvent {
  return {
    provider: 'telnyx',
    eventId: `ev-${nextEventId++}`,
    callId: CALLER,
    occurredAt: at(seconds),
    ...body,
  } as CallEvent;
}

/** The timeline as the current details show it: `01:12 caller hung up`. */
const told = (l: EventLedger) => l.state.timeline.map((e) => `${clock(e.at)} ${e.text}`);
const attributes = (state: CallState) =>
  Object.fromEntries(storySearchAttributes(state).map(({ key, value }) => [key.name, value]));

/** The session's own actions (dialing, hanging up) happen at workflow time: `Date.now()` in the sandbox. */
function atWorkflowTime<T>(seconds: number, action: () => T): T {
  jest.useFakeTimers({ now: START + seconds * 1000 });
  try {
    return action();
  } finally {
    jest.useRealTimers();
  }
}

describe('the call’s story', () => {
  it('tells an agent call in plain words, with time to answer, the agent, talk time and the outcome', () => {
    const l = ledger();
    l.receive(event(2, { kind: 'call.answered' }));
    l.receive(event(5, { kind: 'dtmf', digit: '1' }));
    atWorkflowTime(6, () => l.noteDialing(AGENT_NUMBER, 'agent'));
    l.addLeg({ callId: AGENT, role: 'agent', to: AGENT_NUMBER, status: 'ringing' });
    l.receive(event(8, { kind: 'call.answered', callId: AGENT }));
    l.receive(event(9, { kind: 'bridged', otherCallId: AGENT }));
    expect(attributes(l.state)).toEqual({ CallAnswerSeconds: 2, CallAgent: AGENT_NUMBER });
    l.receive(event(72, { kind: 'call.ended', cause: 'normal', source: 'caller' }));
    l.receive(event(73, { kind: 'call.ended', callId: AGENT, cause: 'normal', source: 'app' }));
    l.conclude(false);

    expect(told(l)).toEqual([
      '00:00 call from +15557770001 to +15550001000',
      '00:02 answered',
      '00:05 pressed 1',
      '00:06 dialing agent +15550002000',
      '00:08 agent +15550002000 answered',
      '00:09 bridged to +15550002000',
      '01:12 caller hung up',
      '01:13 agent +15550002000 left',
    ]);
    expect(l.state).toMatchObject({ outcome: 'bridged', talkSeconds: 63, endedBy: 'remote' });
    expect(attributes(l.state)).toEqual({
      CallAnswerSeconds: 2,
      CallAgent: AGENT_NUMBER,
      CallOutcome: 'bridged',
      CallTalkSeconds: 63,
    });
    const details = l.summary();
    expect(details).toContain('outcome: **bridged** · answered after 2 s · talked 63 s with +15550002000');
    expect(details).toContain('`01:12` caller hung up');
  });

  it('names a bridge the carrier made itself (document carriers) after the number the session dialed', () => {
    const l = ledger(inbound, true);
    l.receive(event(1, { kind: 'call.answered' }));
    l.receive(event(4, { kind: 'gather.ended', reason: 'complete', digits: '1' }));
    atWorkflowTime(5, () => l.noteDialing(AGENT_NUMBER, 'agent'));
    l.receive(event(7, { kind: 'bridged' }));
    l.receive(event(17, { kind: 'unbridged' }));
    expect(told(l).slice(2)).toEqual([
      '00:04 pressed 1',
      '00:05 dialing agent +15550002000',
      '00:07 bridged to +15550002000',
      '00:17 bridge ended after 10 s',
    ]);
    expect(l.state.talkSeconds).toBe(10);
  });

  it.each([
    {
      how: 'the flow hangs up after the menu',
      run: (l: EventLedger) => {
        l.receive(event(1, { kind: 'call.answered' }));
        l.pending.push({ seq: 9, key: 'call-wf#9', op: 'hangup', callId: CALLER, kinds: ['call.ended'] });
        l.receive(event(30, { kind: 'call.ended', cause: 'normal', source: 'app' }));
      },
      last: '00:30 the flow hung up',
      outcome: 'completed',
    },
    {
      how: 'the caller leaves a voicemail and hangs up',
      run: (l: EventLedger) => {
        l.receive(event(1, { kind: 'call.answered' }));
        l.receive(event(20, { kind: 'call.ended', cause: 'normal', source: 'caller' }));
        l.receive(event(21, { kind: 'recording.saved', url: 'https://r/1.mp3', durationMs: 3000 }));
      },
      last: '00:21 recording saved (3 s)',
      outcome: 'voicemail',
    },
    {
      how: 'the caller hangs up in the middle of the menu',
      run: (l: EventLedger) => {
        l.receive(event(1, { kind: 'call.answered' }));
        l.receive(event(3, { kind: 'call.ended', cause: 'normal', source: 'caller' }));
      },
      last: '00:03 caller hung up',
      outcome: 'abandoned',
    },
    {
      how: 'the carrier says the call is gone (a lost hang-up)',
      run: (l: EventLedger) => {
        l.receive(event(1, { kind: 'call.answered' }));
        l.markEnded('gone', at(40));
      },
      last: '00:40 the carrier says the call is gone',
      outcome: 'abandoned',
    },
  ])('ends the story when $how', ({ run, last, outcome }) => {
    const l = ledger();
    run(l);
    l.conclude(false);
    expect(told(l).at(-1)).toBe(last);
    expect(l.state.outcome).toBe(outcome);
  });

  it('tells an outbound call nobody answered, a rejected call and a failed flow apart', () => {
    const outbound = ledger({ ...inbound, direction: 'outbound', callId: undefined });
    atWorkflowTime(0, () => outbound.noteDialing('+15550009001', 'primary'));
    outbound.addLeg({ callId: CALLER, role: 'primary', to: '+15550009001', status: 'ringing' });
    outbound.receive(event(1, { kind: 'call.ended', cause: 'busy', source: 'callee' }));
    outbound.conclude(false);
    expect(told(outbound)).toEqual(['00:00 dialing +15550009001', '00:01 not answered (busy)']);
    expect(outbound.state.outcome).toBe('no-answer');
    expect(attributes(outbound.state)).toEqual({ CallOutcome: 'no-answer', CallTalkSeconds: 0 });

    const rejected = ledger();
    rejected.pending.push({ seq: 1, key: 'call-wf#1', op: 'reject', callId: CALLER, kinds: ['call.ended'] });
    rejected.receive(event(1, { kind: 'call.ended', cause: 'rejected', source: 'app' }));
    rejected.conclude(true);
    expect(told(rejected).at(-1)).toBe('00:01 the flow rejected the call (rejected)');
    expect(rejected.state.outcome).toBe('failed');
  });

  it('stays bounded on a long call: the first entries, the newest, and a count of those between', () => {
    const l = ledger();
    l.receive(event(1, { kind: 'call.answered' }));
    const hours = 4 * 3600;
    for (let s = 2; s < hours; s++) l.receive(event(s, { kind: 'dtmf', digit: String(s % 10) }));
    const { timelineHead, timelineTail } = STATE_LIMITS;
    const { timeline } = l.state;
    expect(timeline).toHaveLength(timelineHead + 1 + timelineTail);
    expect(timeline.slice(0, 2).map((e) => e.text)).toEqual(['call from +15557770001 to +15550001000', 'answered']);
    const entries = hours; // the call, the answer, and a digit every second after
    expect(timeline[timelineHead]).toEqual({
      at: timelineHead,
      text: `… ${entries - timelineHead - timelineTail} more …`,
      omitted: entries - timelineHead - timelineTail,
    });
    expect(timeline.at(-1)).toEqual({ at: hours - 1, text: `pressed ${(hours - 1) % 10}` });
    expect(clock(timeline.at(-1)!.at)).toBe('3:59:59');
  });

  it('keeps the gap where it is as entries keep coming', () => {
    let timeline: TimelineEntry[] = [{ at: 0, text: 'call from a to b' }];
    for (let i = 1; i <= 200; i++) timeline = appendToTimeline(timeline, { at: i, text: `entry ${i}` });
    expect(timeline).toHaveLength(STATE_LIMITS.timelineHead + 1 + STATE_LIMITS.timelineTail);
    expect(timeline.filter((e) => e.omitted !== undefined)).toHaveLength(1);
  });

  it('carries the story across continue-as-new, also from a run that had none', () => {
    const l = ledger();
    l.receive(event(2, { kind: 'call.answered' }));
    const carried = (state: CallState) => ({
      ...inbound,
      carried: { state, seenEventIds: [], nextSequence: 5, checkpoint: { step: 'menu' }, pendingEvents: [] },
    });
    const next = ledger(carried(JSON.parse(JSON.stringify(l.state)) as CallState));
    expect(told(next)).toEqual(told(l));

    const before = JSON.parse(JSON.stringify(l.state)) as Partial<CallState>;
    delete before.timeline;
    delete before.talkSeconds;
    const fromOldRun = ledger(carried(before as CallState));
    fromOldRun.receive(event(9, { kind: 'dtmf', digit: '3' }));
    expect(told(fromOldRun)).toEqual(['00:09 pressed 3']);
    expect(fromOldRun.state.talkSeconds).toBe(0);
  });

  it('names each command’s activity by what it does, so the event history is not a row of the same name', () => {
    expect(
      commandSummary({ op: 'say', text: 'Thank you for calling durable calls. Press 1 to speak to an agent.' }),
    ).toBe('say "Thank you for calling durable calls. Press 1 to…"');
    expect(commandSummary({ op: 'gather', prompt: { say: 'Press 1.' }, maxDigits: 1 })).toBe('gather after "Press 1."');
    expect(commandSummary({ op: 'transfer', to: AGENT_NUMBER })).toBe(`transfer ${AGENT_NUMBER}`);
    expect(commandSummary({ op: 'hangup' })).toBe('hangup');
  });
});
